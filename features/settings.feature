Feature: Settings are parsed strictly and merged in a fixed order (in-process checks)

  Scenario Outline: sizes: "<text>" is <result>
    When the size "<text>" is parsed
    Then the result is <result>

    Examples:
      | text     | result                     |
      | 4096     | 4096                       |
      | 512KiB   | 524288                     |
      | 10MiB    | 10485760                   |
      | 1GiB     | 1073741824                 |
      | 2KB      | 2000                       |
      | 3 MB     | 3000000                    |
      | 1GB      | 1000000000                 |
      | 7b       | 7                          |
      | -5       | an error "expected a positive size" |
      | 10XB     | an error "expected a positive size" |
      | 0        | an error "greater than 0"  |
      | 0KiB     | an error "greater than 0"  |
      | 1e3      | an error "expected a positive size" |
      | 1.5MiB   | an error "expected a positive size" |
      |          | an error "expected a positive size" |

  Scenario Outline: the sources are merged command line > environment > pyproject > defaults: <case>
    Given the pyproject table "<pyproject>"
    And the environment "<env>"
    And the command line values "<cli>"
    When the settings are resolved
    Then the setting <name> is <value>

    Examples:
      | case                           | pyproject                      | env                              | cli              | name        | value      |
      | default                        |                                |                                  |                  | max_output  | 10485760   |
      | pyproject                      | max-output = "1MiB"            |                                  |                  | max_output  | 1048576    |
      | pyproject underscores          | max_output = "2MiB"            |                                  |                  | max_output  | 2097152    |
      | env beats pyproject            | max-output = "1MiB"            | BEHAVE_BOUNDED_MAX_OUTPUT=3MiB   |                  | max_output  | 3145728    |
      | cli beats env                  | max-output = "1MiB"            | BEHAVE_BOUNDED_MAX_OUTPUT=3MiB   | max_output=4096  | max_output  | 4096       |
      | unlimited on the command line  |                                | BEHAVE_BOUNDED_MAX_OUTPUT=3MiB   | max_output=unlimited | max_output | None   |
      | auto on the command line       | jobs = 3                       |                                  | jobs=auto        | jobs        | None       |
      | empty env is ignored           | jobs = 3                       | BEHAVE_BOUNDED_JOBS=             |                  | jobs        | 3          |
      | pyproject bool                 | spill = false                  |                                  |                  | spill       | False      |
      | env bool                       |                                | BEHAVE_BOUNDED_SPILL=no          |                  | spill       | False      |
      | env bool true                  | spill = false                  | BEHAVE_BOUNDED_SPILL=yes         |                  | spill       | True       |
      | keep policy                    | keep = "tail"                  |                                  | keep=HEAD        | keep        | 'head'     |
      | pyproject list                 | preimport = ["a.b", "c"]       |                                  |                  | preimport   | ('a.b', 'c') |
      | env list                       |                                | BEHAVE_BOUNDED_PREIMPORT=x, y.z  |                  | preimport   | ('x', 'y.z') |
      | pyproject number               | timeout = 2.5                  |                                  |                  | timeout     | 2.5        |
      | shard                          |                                | BEHAVE_BOUNDED_SHARD= 2 / 4      |                  | shard       | (2, 4)     |
      | serial tag with @              | serial-tag = "@alone"          |                                  |                  | serial_tag  | 'alone'    |
      | scheme                         | scheme = "Scenario"            |                                  |                  | scheme      | 'scenario' |

  Scenario Outline: a bad value names its source: <case>
    Given the pyproject table "<pyproject>"
    And the environment "<env>"
    And the command line values ""
    When the settings are resolved
    Then resolving fails with "<message>"

    Examples:
      | case                | pyproject              | env                               | message                                                         |
      | unknown key         | colour = "red"         |                                   | [tool.behave-bounded] colour: unknown setting                    |
      | bad pyproject value | timeout = -1           |                                   | [tool.behave-bounded] timeout: invalid value '-1'                |
      | bad env bool        |                        | BEHAVE_BOUNDED_SPILL=maybe        | BEHAVE_BOUNDED_SPILL: invalid value 'maybe': expected one of      |
      | bad env keep        |                        | BEHAVE_BOUNDED_KEEP=all           | BEHAVE_BOUNDED_KEEP: invalid value 'all'                          |
      | infinite timeout    |                        | BEHAVE_BOUNDED_TIMEOUT=inf        | BEHAVE_BOUNDED_TIMEOUT: invalid value 'inf'                       |
      | unknown scheme      |                        | BEHAVE_BOUNDED_SCHEME=rows        | BEHAVE_BOUNDED_SCHEME: invalid value 'rows': expected one of: feature, scenario |
      | shard past the end  |                        | BEHAVE_BOUNDED_SHARD=3/2          | BEHAVE_BOUNDED_SHARD: invalid value '3/2': expected K/N with 1 <= K <= N |
      | shard zero          |                        | BEHAVE_BOUNDED_SHARD=0/2          | BEHAVE_BOUNDED_SHARD: invalid value '0/2'                        |
      | shard not numbers   |                        | BEHAVE_BOUNDED_SHARD=a/b          | BEHAVE_BOUNDED_SHARD: invalid value 'a/b'                        |
      | serial tag spaces   |                        | BEHAVE_BOUNDED_SERIAL_TAG=one two | BEHAVE_BOUNDED_SERIAL_TAG: invalid value 'one two'               |
      | blank report path   | json = " "             |                                   | [tool.behave-bounded] json: invalid value ' ': expected a file path |

  Scenario: a pyproject.toml that is not TOML is named
    Given the pyproject file text "[tool.behave-bounded\njobs = "
    When the settings are resolved
    Then resolving fails with "pyproject.toml: cannot read"

  Scenario: a [tool.behave-bounded] that is not a table is named
    Given the pyproject file text "[tool]\nbehave-bounded = 3\n"
    When the settings are resolved
    Then resolving fails with "[tool.behave-bounded] must be a table"

  Scenario Outline: -D behave_bounded.NAME=VALUE userdata: <case>
    When the userdata "<userdata>" is read
    Then the userdata result is "<result>"

    Examples:
      | case             | userdata                                 | result                                      |
      | a setting        | behave_bounded.max-output=1KiB           | {'max_output': 1024}                        |
      | other userdata   | browser=firefox                          | {}                                          |
      | unknown setting  | behave_bounded.colour=red                | error: -D behave_bounded.colour: unknown setting |
      | bad value        | behave_bounded.jobs=0                    | error: -D behave_bounded.jobs: invalid value '0' |

  Scenario Outline: the worker count: <case>
    Given the settings jobs=<jobs> and max_jobs=<max jobs>
    When the worker count is computed for <tasks> tasks with CI_MAX_PROCESSES "<ci>" on <cpus> CPUs
    Then the worker count is <workers>

    Examples:
      | case                 | jobs | max jobs | tasks | ci | cpus | workers |
      | auto is the CPUs     | None | None     | 10    |    | 4    | 4       |
      | capped by tasks      | 8    | None     | 3     |    | 4    | 3       |
      | no task still one    | 8    | None     | 0     |    | 4    | 1       |
      | capped by max_jobs   | None | 2        | 10    |    | 4    | 2       |
      | capped by CI         | 6    | None     | 10    | 2  | 4    | 2       |
      | CI cap blank ignored | 6    | None     | 10    |    | 4    | 6       |

  Scenario: a bad CI_MAX_PROCESSES is a usage error naming the variable
    Given the settings jobs=2 and max_jobs=None
    When the worker count is computed for 4 tasks with CI_MAX_PROCESSES "many" on 2 CPUs
    Then resolving fails with "CI_MAX_PROCESSES: invalid value 'many'"

  Scenario: clipped messages keep head and tail within the limit, for any text
    Then clipping any text keeps it within the limit with its head and tail

  Scenario Outline: memory sizes are written for people: <size> bytes is "<text>"
    Then the memory size <size> reads "<text>"

    Examples:
      | size          | text       |
      | 512           | 512 B      |
      | 1536          | 1.5 KiB    |
      | 2199023255552 | 2.0 TiB    |

  Scenario: a memory budget must be positive, and budgets cannot nest (memray tracks one at a time)
    Then a memory budget of 0 bytes, or without any limit, is refused
    And a memory budget inside another one says it cannot check the inner block

  Scenario: a child measured by memray that outlives its timeout is stopped and reported
    Then measuring a child that sleeps 30 s with a timeout of 1 s raises TimeoutError within 10 s
