Feature: Report files: --json and --junit, streamed to disk, and shard reports merged into one

  The runner hands each finished feature to the reports as it arrives and closes them at the
  end. The files must parse whatever the tests printed, hold no more output than asked, cost
  memory that does not grow with the output, appear only complete, and still be written (marked
  partial) when the run was cut short. `merge-reports` merges the reports of CI shards; a
  missing or corrupt shard is reported and fails the merge, never silently skipped.

  Scenario: the JUnit report follows the common schema, one testcase per scenario and outline row
    Given a JUnit report at "report.xml" in a temporary directory
    When a JUnit report receives the feature "features/auth/login.feature" run by worker 3:
      | line | name                       | status    | tags                                     | error_type      | message                                                                                            |
      | 3    | logs in                    | passed    |                                          |                 |                                                                                                    |
      | 8    | refuses a wrong password   | failed    | auth                                     | AssertionError  | expected 401, got 200                                                                              |
      | 18   | locks out -- @1.1 attempts | passed    |                                          |                 |                                                                                                    |
      | 19   | locks out -- @1.2 attempts | failed    |                                          | AssertionError  | still open after 5 tries                                                                           |
      | 24   | remembers me               | xfailed   | tdd_issue tdd_issue_42 tdd_expected_fail | AssertionError  | issue #42: expected failure: cookie lost                                                           |
      | 28   | exports a csv              | xfailed   | tdd_issue tdd_issue_9 tdd_expected_fail  | AssertionError  | rows out of order                                                                                  |
      | 30   | logs out everywhere        | xpassed   | tdd_issue tdd_issue_7 tdd_expected_fail  |                 | issue #7: scenario passed but is tagged @tdd_expected_fail: the bug appears fixed; remove the tag |
      | 36   | resets a password          | errored   |                                          | ConnectionError | mail server down                                                                                   |
      | 41   | not selected               | skipped   |                                          |                 |                                                                                                    |
      | 45   | signs up                   | undefined |                                          |                 |                                                                                                    |
    And a JUnit report receives the feature "features/cart.feature" narrowed to line 2, run by worker 1:
      | line | name         | status | tags | error_type | message |
      | 2    | adds an item | passed |      |            |         |
    And a JUnit report receives the feature "features/pay.feature" whose worker died: "worker 2 died (SIGKILL)"
    And a JUnit report receives the feature "features/cart.feature" narrowed to line 5, run by worker 2:
      | line | name            | status | tags | error_type | message |
      | 5    | removes an item | passed |      |            |         |
    And a JUnit report is closed
    Then a JUnit report file parses and follows the common JUnit schema
    And a JUnit report has these testcases:
      | classname           | name                       | file                        | line | outcome | message                                                                                                      |
      | features.auth.login | logs in                    | features/auth/login.feature | 3    | passed  |                                                                                                              |
      | features.auth.login | refuses a wrong password   | features/auth/login.feature | 8    | failure | failed: expected 401, got 200                                                                                |
      | features.auth.login | locks out -- @1.1 attempts | features/auth/login.feature | 18   | passed  |                                                                                                              |
      | features.auth.login | locks out -- @1.2 attempts | features/auth/login.feature | 19   | failure | failed: still open after 5 tries                                                                             |
      | features.auth.login | remembers me               | features/auth/login.feature | 24   | skipped | xfailed: issue #42: expected failure: cookie lost                                                            |
      | features.auth.login | exports a csv              | features/auth/login.feature | 28   | skipped | xfailed: issue #9: rows out of order                                                                         |
      | features.auth.login | logs out everywhere        | features/auth/login.feature | 30   | failure | xpassed: issue #7: scenario passed but is tagged @tdd_expected_fail: the bug appears fixed; remove the tag   |
      | features.auth.login | resets a password          | features/auth/login.feature | 36   | error   | errored: mail server down                                                                                    |
      | features.auth.login | not selected               | features/auth/login.feature | 41   | skipped |                                                                                                              |
      | features.auth.login | signs up                   | features/auth/login.feature | 45   | failure | undefined: a step has no implementation                                                                      |
      | features.cart       | adds an item               | features/cart.feature       | 2    | passed  |                                                                                                              |
      | features.cart       | removes an item            | features/cart.feature       | 5    | passed  |                                                                                                              |
      | features.pay        | crashes                    | features/pay.feature        | 2    | error   | errored: worker 2 died (SIGKILL)                                                                             |
    And a JUnit report has the testsuites:
      | name                        | tests | failures | errors | skipped |
      | features/auth/login.feature | 10    | 4        | 1      | 3       |
      | features/cart.feature       | 2     | 0        | 0      | 0       |
      | features/pay.feature        | 1     | 0        | 1      | 0       |
    And a JUnit report's totals are 13 tests, 4 failures, 2 errors, 3 skipped
    And a JUnit report's run properties say it is complete, with the verdict "scenarios: 6 passed, 6 failed, 1 skipped"
    And a JUnit report's suite "features/cart.feature" has the properties:
      | name   | value |
      | worker | 1     |
      | lines  | 2     |
      | worker | 2     |
      | lines  | 5     |
    And a JUnit report's suite "features/pay.feature" has the properties:
      | name   | value                   |
      | worker | 2                       |
      | error  | worker 2 died (SIGKILL) |

  Scenario: output with control characters, "]]>" and markup still gives files that parse
    Given a JSON report and a JUnit report at "run.json" and "run.xml" in a temporary directory
    When a JSON report and a JUnit report receive a failing feature whose output and message hold every Latin-1 character, "]]>", markup and a lone surrogate
    Then a JUnit report file parses and follows the common JUnit schema
    And a JUnit report keeps that text readable, each character XML cannot carry escaped
    And a JSON report keeps that message, the lone surrogate replaced by a question mark

  Scenario: a failing feature's output is bounded to max_output: its tail, after a note of what was cut
    Given a JUnit report at "report.xml" with max output 992 bytes in a temporary directory
    When a JUnit report receives the feature "features/big.feature" with 3 failing scenarios whose stdout is 65010 bytes of numbered lines, of 5000000 written, spilled to "/tmp/spill/7.stdout"
    And a JUnit report receives the passing feature "features/quiet.feature" with 50000 bytes of stdout
    And a JUnit report is closed
    Then a JUnit report file parses and follows the common JUnit schema
    And a JUnit report attaches the last 992 bytes of the stdout of "features/big.feature" to its first failing testcase after the note:
      """
      [behave-bounded: stdout: 5000000 bytes written, 65010 kept by the capture, the last 991 shown here; full output: /tmp/spill/7.stdout]
      """
    And a JUnit report's failure messages of "features/big.feature" are one line of at most 500 characters, the whole message in their text
    And a JUnit report's other failing testcases of that feature only point to the first one
    And a JUnit report has no output for the testcases of "features/quiet.feature"

  Scenario: the JSON report lists scenarios, tasks with their output metadata, counts and the verdict
    Given a JSON report at "run.json" in a temporary directory
    When a JSON report receives the feature "features/auth/login.feature" run by worker 3 started at 1767225601.5 with stdout 20000 written, 10000 kept, spilled to "/spill/3.stdout":
      | line | name                       | status    | tags                                     | error_type      | message                                  |
      | 3    | logs in                    | passed    |                                          |                 |                                          |
      | 8    | refuses a wrong password   | failed    | auth                                     | AssertionError  | expected 401, got 200                    |
      | 18   | locks out -- @1.1 attempts | passed    |                                          |                 |                                          |
      | 19   | locks out -- @1.2 attempts | failed    |                                          | AssertionError  | still open after 5 tries                 |
      | 24   | remembers me               | xfailed   | tdd_issue tdd_issue_42 tdd_expected_fail | AssertionError  | issue #42: expected failure: cookie lost |
      | 30   | logs out everywhere        | xpassed   | tdd_issue tdd_issue_7 tdd_expected_fail  |                 | issue #7: scenario passed                |
      | 36   | resets a password          | errored   |                                          | ConnectionError | mail server down                         |
      | 41   | not selected               | skipped   |                                          |                 |                                          |
      | 45   | signs up                   | undefined |                                          |                 |                                          |
    And a JSON report receives the feature "features/cart.feature" whose worker died: "worker 2 died (SIGKILL)"
    And a JSON report is closed after a run of 2 jobs from 1767225600.0 to 1767225642.5
    Then a JSON report file has the schema "behave-bounded/run-report" version 1
    And a JSON report's run says 2 jobs, duration 42.5, not partial, with this run's versions, settings and argv
    And a JSON report's counts are:
      | passed | failed | errored | skipped | undefined | xfailed | xpassed | not_run |
      | 2      | 2      | 2       | 1       | 1         | 1       | 1       | 0       |
    And a JSON report's verdict is "scenarios: 3 passed, 6 failed, 1 skipped"
    And a JSON report's scenarios are:
      | location                       | feature                     | name                                  | status    | tags                                          | tdd_issue | error_type      | message                                  |
      | features/auth/login.feature:3  | features/auth/login.feature | logs in                               | passed    | []                                            | null      |                 |                                          |
      | features/auth/login.feature:8  | features/auth/login.feature | refuses a wrong password              | failed    | ["auth"]                                      | null      | AssertionError  | expected 401, got 200                    |
      | features/auth/login.feature:18 | features/auth/login.feature | locks out -- @1.1 attempts            | passed    | []                                            | null      |                 |                                          |
      | features/auth/login.feature:19 | features/auth/login.feature | locks out -- @1.2 attempts            | failed    | []                                            | null      | AssertionError  | still open after 5 tries                 |
      | features/auth/login.feature:24 | features/auth/login.feature | remembers me                          | xfailed   | ["tdd_issue", "tdd_issue_42", "tdd_expected_fail"] | 42   | AssertionError  | issue #42: expected failure: cookie lost |
      | features/auth/login.feature:30 | features/auth/login.feature | logs out everywhere                   | xpassed   | ["tdd_issue", "tdd_issue_7", "tdd_expected_fail"]  | 7    |                 | issue #7: scenario passed                |
      | features/auth/login.feature:36 | features/auth/login.feature | resets a password                     | errored   | []                                            | null      | ConnectionError | mail server down                         |
      | features/auth/login.feature:41 | features/auth/login.feature | not selected                          | skipped   | []                                            | null      |                 |                                          |
      | features/auth/login.feature:45 | features/auth/login.feature | signs up                              | undefined | []                                            | null      |                 |                                          |
      | features/cart.feature:2        | features/cart.feature       | crashes                               | errored   | []                                            | null      |                 | worker 2 died (SIGKILL)                  |
    And a JSON report's tasks are:
      | path                        | lines | worker | started      | error                   | feature_failed | status  | stdout                                       | stderr                 |
      | features/auth/login.feature | []    | 3      | 1767225601.5 |                         | true           | errored | 20000, 10000, 10000, true, /spill/3.stdout   | 0, 0, 0, false, null   |
      | features/cart.feature       | []    | 2      | null         | worker 2 died (SIGKILL) | true           | errored | 0, 0, 0, false, null                         | 0, 0, 0, false, null   |

  Scenario: the JSON report carries the tail of a failing task's output, at most --show-output, never a passing one's
    Given a JSON report at "run.json" with show output 1000 bytes in a temporary directory
    When a JSON report receives the failing feature "features/loud.feature" whose stdout is 4995 bytes of lines of 2-byte characters and whose stderr is "oops"
    And a JSON report receives the feature "features/cart.feature" whose worker died: "worker 2 died (SIGKILL)"
    And a JSON report receives the passing feature "features/quiet.feature" with 3000 bytes of stdout
    And a JSON report is closed after a run of 1 jobs from 0 to 1
    Then a JSON report's task "features/loud.feature" has as stdout tail the last 999 bytes of its stdout, no character cut, and as stderr tail "oops"
    And a JSON report's task "features/cart.feature" has empty tails
    And a JSON report's task "features/quiet.feature" has no tails

  Scenario Outline: a run cut short (<why>) still writes valid files, marked partial, listing what never ran
    Given a JSON report and a JUnit report at "run.json" and "run.xml" in a temporary directory
    When a JSON report and a JUnit report receive the passing feature "features/a.feature"
    And a JSON report and a JUnit report are closed as partial because "<reason>" (lost: <lost>), "features/b.feature" of 3 scenarios interrupted and "features/c.feature" of 2 never started
    Then a JSON report is marked partial with the reason "<reason>"
    And a JSON report lists as not run:
      | path               | lines | scenarios | status | reason                               |
      | features/b.feature | []    | 3         | <as>   | interrupted while running (<reason>) |
      | features/c.feature | []    | 2         | <as>   | never started (<reason>)             |
    And a JSON report's verdict is "<verdict>"
    And a JUnit report file parses and follows the common JUnit schema
    And a JUnit report's run properties say partial "true", reason "<reason>" and verdict "<verdict>"
    And a JUnit report has 5 not-run testcases, each <outcome> with a message starting "not run: "

    Examples:
      | why          | reason                                                       | lost | as      | outcome | verdict                                  |
      | interrupted  | interrupted by SIGINT                                        | no   | skipped | skipped | scenarios: 1 passed, 0 failed, 5 skipped |
      | crashes lost | 5 workers crashed, more than --max-worker-restarts 4 allows | yes  | errored | error   | scenarios: 1 passed, 5 failed, 0 skipped |

  Scenario: 2,000 features with 64 KiB of output each: memory stays bounded, the files appear only at close
    Given a JSON report and a JUnit report at "run.json" and "run.xml" in a temporary directory
    When a JSON report and a JUnit report receive 2000 failing features with 64 KiB of distinct stdout each while memray tracks the heap
    Then a JSON report and a JUnit report peaked below 16 MiB of heap while 125 MiB of text went through them
    And a JSON report and a JUnit report had nothing at their paths before close, only private part files next to them
    And a JSON report's directory holds only "run.json" and "run.xml" after close
    And a JUnit report file holds every failing feature with its own 64 KiB of output
    And a JSON report file lists every failing feature's scenario and task

  Scenario: an earlier report at the path stays whole until the new one replaces it at close
    Given a JSON report at "run.json" in a temporary directory that holds "run.json" from an earlier run
    When a JSON report receives the passing feature "features/a.feature"
    Then a JSON report's path still holds the earlier run's file
    When a JSON report's earlier file is opened by a reader
    And a JSON report is closed after a run of 1 jobs from 0 to 1
    Then a JSON report file has the schema "behave-bounded/run-report" version 1
    And a JSON report's reader still reads the whole earlier file: the new one was renamed over it
    And a JSON report's verdict is "scenarios: 1 passed, 0 failed, 0 skipped"

  Scenario: a report that cannot be written is refused before the run; a discarded one leaves nothing
    Then a JSON report at "missing/run.json" in a temporary directory is refused: "--json DIR/missing/run.json: cannot write the report: No such file or directory"
    And a JSON report and a JUnit report that are discarded leave nothing behind
    And a JSON report whose part files were removed fails at close and leaves nothing behind
    And a JSON report and a JUnit report refuse to be staged before they are sealed
    And a staged report is committed once; one whose temporary file was removed fails to commit and leaves nothing behind

  Scenario Outline: two <kind> shard reports merge into one with summed counts, the verdict last
    Given a JSON report and a JUnit report written for each shard:
      | shard   | features | passed | failed | skipped |
      | shard-1 | a b      | 3      | 1      | 0       |
      | shard-2 | c        | 2      | 0      | 1       |
    And merging reads the <kind> reports
    When merging "merged.<ext> --<flag> shard-1 shard-2" in the temporary directory
    Then merging exited with 1
    And merging reported no problem
    And merging printed "scenarios: 8 passed, 2 failed, 1 skipped" as the last line of stdout
    And the merged report holds exactly the scenarios of shard-1 and shard-2
    And the merged report's verdict is "scenarios: 8 passed, 2 failed, 1 skipped"
    And the merged report is not partial

    Examples:
      | kind  | ext  | flag  |
      | JSON  | json | json  |
      | JUnit | xml  | junit |

  Scenario: JUnit shards that ran parts of the same feature merge into one testsuite for it
    Given a JSON report and a JUnit report written for each shard:
      | shard   | features | passed | failed | skipped |
      | shard-1 | a b      | 2      | 0      | 0       |
      | shard-2 | b c      | 1      | 1      | 0       |
    And merging reads the JUnit reports
    When merging "merged.xml --junit shard-1 shard-2" in the temporary directory
    Then merging exited with 1
    And merging printed "scenarios: 6 passed, 2 failed, 0 skipped" as the last line of stdout
    And the merged report holds exactly the scenarios of shard-1 and shard-2
    And the merged report has the testsuites:
      | name               | tests | failures | errors | skipped |
      | features/a.feature | 2     | 0        | 0      | 0       |
      | features/b.feature | 4     | 1        | 0      | 0       |
      | features/c.feature | 2     | 1        | 0      | 0       |

  Scenario: a JUnit file from another tool merges too
    Given a JSON report and a JUnit report written for each shard:
      | shard   | features | passed | failed | skipped |
      | shard-1 | a        | 2      | 0      | 0       |
    And merging reads the JUnit reports
    And merging's input "other.xml" is a JUnit file from another tool
    When merging "merged.xml --junit shard-1 other.xml" in the temporary directory
    Then merging exited with 0
    And merging reported no problem
    And merging printed "scenarios: 3 passed, 0 failed, 0 skipped" as the last line of stdout
    And the merged report has the testsuites:
      | name               | tests | failures | errors | skipped |
      | features/a.feature | 2     | 0        | 0      | 0       |
      | other/tool         | 1     | 0        | 0      | 0       |

  Scenario Outline: <kind> shards that all passed merge with exit code 0
    Given a JSON report and a JUnit report written for each shard:
      | shard   | features | passed | failed | skipped |
      | shard-1 | a        | 2      | 0      | 0       |
      | shard-2 | b        | 1      | 0      | 0       |
    And merging reads the <kind> reports
    When merging "merged.<ext> --<flag> shard-1 shard-2" in the temporary directory
    Then merging exited with 0
    And merging reported no problem
    And merging printed "scenarios: 3 passed, 0 failed, 0 skipped" as the last line of stdout
    And the merged report holds exactly the scenarios of shard-1 and shard-2

    Examples:
      | kind  | ext  | flag  |
      | JSON  | json | json  |
      | JUnit | xml  | junit |

  Scenario Outline: a <kind> shard of an interrupted run makes the merged report partial and the merge fail
    Given a JSON report and a JUnit report written for each shard:
      | shard   | features | passed | failed | skipped | partial               |
      | shard-1 | a        | 2      | 0      | 0       |                       |
      | shard-2 | b        | 1      | 0      | 0       | interrupted by SIGINT |
    And merging reads the <kind> reports
    When merging "merged.<ext> --<flag> shard-1 shard-2" in the temporary directory
    Then merging exited with 1
    And merging warned exactly once: "partial run: shard-2.<ext>: interrupted by SIGINT"
    And merging printed "scenarios: 3 passed, 0 failed, 2 skipped" as the last line of stdout
    And the merged report holds exactly the scenarios of shard-1 and shard-2
    And the merged report is marked partial, its reason naming "shard-2.<ext>: interrupted by SIGINT"

    Examples:
      | kind  | ext  | flag  |
      | JSON  | json | json  |
      | JUnit | xml  | junit |

  Scenario Outline: a bad <kind> input (<what>) is reported as "PATH: reason", fails the merge, and the rest is still merged
    Given a JSON report and a JUnit report written for each shard:
      | shard   | features | passed | failed | skipped |
      | shard-1 | a b      | 1      | 0      | 0       |
      | shard-2 | c        | 1      | 0      | 0       |
    And merging reads the <kind> reports
    And merging's input "<bad>" is <what>
    When merging "merged.<ext> --<flag> shard-1 <bad> shard-2" in the temporary directory
    Then merging exited with 2
    And merging reported exactly one problem: "<bad>: <reason>"
    And merging printed "scenarios: 3 passed, 0 failed, 0 skipped; run failed: 1 input report could not be merged" as the last line of stdout
    And the merged report holds exactly the scenarios of shard-1 and shard-2
    And the merged report is marked partial, its reason naming "<bad>"
    And the merged report lists "<bad>" as its only bad input

    Examples:
      | kind  | ext  | flag  | bad          | what                                                       | reason                                                                   |
      | JSON  | json | json  | shard-3.json | the JSON report of shard-1 cut short by 20 bytes           | corrupt JSON:                                                            |
      | JSON  | json | json  | shard-3.json | missing                                                    | missing (no such file)                                                   |
      | JSON  | json | json  | shard-3.xml  | the JUnit report of shard-1                                | wrong kind: an XML file, not a JSON run report                           |
      | JSON  | json | json  | other.json   | a JSON file of another schema                              | wrong kind: not a behave-bounded/run-report file (schema 'someone-else/report') |
      | JSON  | json | json  | shard-3.json | the JSON report of shard-1 with version 2                  | unsupported report version 2                                             |
      | JSON  | json | json  | shard-3.json | the JSON report of shard-1 with its counts edited          | corrupt report: its counts do not match its scenarios                    |
      | JSON  | json | json  | shard-3.json | the JSON report of shard-1 with its jobs as a string       | corrupt report: run.jobs has the wrong type                              |
      | JSON  | json | json  | shard-3.json | the JSON report of shard-1 with a scenario's status edited | corrupt report: unknown status 'weird'                                   |
      | JSON  | json | json  | shard-3.json | an empty file                                              | corrupt JSON: the file is empty                                          |
      | JSON  | json | json  | shards       | a directory                                                | cannot read: Is a directory                                              |
      | JUnit | xml  | junit | shard-3.xml  | the JUnit report of shard-1 cut short by 20 bytes          | corrupt JUnit XML:                                                       |
      | JUnit | xml  | junit | shard-3.xml  | missing                                                    | missing (no such file)                                                   |
      | JUnit | xml  | junit | shard-3.json | the JSON report of shard-1                                 | wrong kind: a JSON file, not JUnit XML                                   |
      | JUnit | xml  | junit | other.xml    | an XML file whose root is <html>                           | wrong kind: the root element is <html>, not <testsuites>                 |
      | JUnit | xml  | junit | shard-3.xml  | the JUnit report of shard-1 with a DTD declaring an entity | refused: the file has a DTD                                              |
      | JUnit | xml  | junit | shard-3.xml  | a JUnit file with a testcase directly under testsuites     | corrupt JUnit XML: <testcase> inside <testsuites>                        |

  Scenario: merging without input files is a usage error
    Given merging reads the JSON reports
    When merging "merged.json --json" in the temporary directory
    Then merging failed with a usage error saying "the following arguments are required: FILES"

  Scenario: merge_reports returns the problems and the merged counts; an unknown kind is refused
    Given a JSON report and a JUnit report written for each shard:
      | shard   | features | passed | failed | skipped |
      | shard-1 | a        | 2      | 1      | 0       |
      | shard-2 | b        | 1      | 0      | 1       |
    When merging in-process the JUnit reports of shard-1, "gone.xml" and shard-2 into "merged.xml"
    Then merging returned the problem "DIR/gone.xml: missing (no such file)" and the counts:
      | passed | failed | errored | skipped | undefined | xfailed | xpassed | not_run |
      | 3      | 1      | 0       | 1       | 0         | 0       | 0       | 0       |
    And merging in-process with the kind "xml" is refused: "unknown report kind 'xml': expected 'json', 'junit' or 'html'"

  Scenario: merging --help prints the usage; an output that cannot be written is a usage error
    Given merging reads the JSON reports
    When merging "--help" in the temporary directory
    Then merging printed its usage
    When merging "missing/merged.json --json shard-1.json" in the temporary directory
    Then merging failed with a usage error saying "cannot write missing/merged.json: merge-reports missing/merged.json: cannot write the report: No such file or directory"
