Feature: Every option is one entry of one table, read alike from every source and documented

  Scenario: every option reads the same value from the command line, -D, the environment and pyproject.toml
    Then each option given this text reads the same value from every source
      | option              | text     | value        |
      | jobs                | 3        | 3            |
      | max_jobs            | 2        | 2            |
      | timeout             | 2.5      | 2.5          |
      | preimport           | a.b      | ('a.b',)     |
      | preimport_timeout   | 4        | 4.0          |
      | max_worker_restarts | 0        | 0            |
      | max_output          | 1MiB     | 1048576      |
      | keep                | tail     | 'tail'       |
      | max_spill           | 2MiB     | 2097152      |
      | spill               | false    | False        |
      | artifacts           | out      | 'out'        |
      | show_output         | 1KiB     | 1024         |
      | tdd_strict          | false    | False        |
      | scheme              | scenario | 'scenario'   |
      | shard               | 2/3      | (2, 3)       |
      | last_failed         | true     | True         |
      | serial_tag          | @alone   | 'alone'      |
      | random_order        | true     | True         |
      | random_seed         | 42       | 42           |
      | reruns              | 2        | 2            |
      | reruns_delay        | 0.5      | 0.5          |
      | repeat              | 3        | 3            |
      | junit_xml           | r.xml    | 'r.xml'      |
      | json                | r.json   | 'r.json'     |
      | html                | r.html   | 'r.html'     |
      | ci_max_processes    | 4        | 4            |

  Scenario: the README's options table documents every option
    Then the README's options table has a row for every option, with its flag, variable and key
