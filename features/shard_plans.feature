Feature: Shard plans: merge-reports refuses shards that do not cover one plan, naming the features

  Every CI job of a sharded run plans the split itself, from its checkout and its durations.json.
  Jobs that planned from different durations split differently: a feature runs in two shards and
  another in none. So each shard report carries its plan (fingerprints of the collected features
  and of the partition, and every shard's features), and merge-reports refuses shards of
  different plans, a shard given twice or missing, a feature in two shards or in none, naming
  the features (exit code 2). Nothing is lost silently.

  Background:
    Given a feature file "a.feature":
      """
      Feature: a
        Scenario: a passes
          Given it burns 1 ms of CPU
      """
    And a feature file "b.feature":
      """
      Feature: b
        Scenario: b passes
          Given it burns 1 ms of CPU
      """
    And a feature file "c.feature":
      """
      Feature: c
        Scenario: c fails
          Given it fails
      """
    And a feature file "d.feature":
      """
      Feature: d
        Scenario: d passes
          Given it burns 1 ms of CPU
      """
    And a file "features/steps/steps.py":
      """
      import time
      from behave import step

      @step("it burns {ms:d} ms of CPU")
      def burn(context, ms):
          end = time.process_time() + ms / 1000
          while time.process_time() < end:
              pass

      @step("it fails")
      def fails(context):
          raise AssertionError("c is broken")
      """

  Scenario: every shard report carries its plan: both fingerprints and every shard's features
    When I run the runner with "--shard 2/3 --json shard-2.json --junit-xml shard-2.xml"
    Then the exit code is 0
    And the JSON report "shard-2.json" carries the plan of shard 2 of 3 over the suite's 4 features
    And the JSON report "shard-2.json" ran exactly the features its plan gives shard 2
    And the JUnit report "shard-2.xml" carries the same plan as the JSON report "shard-2.json"
    When I run the runner with "--json unsharded.json"
    Then the JSON report "unsharded.json" carries no plan

  Scenario Outline: <kind> shards planned from different durations are refused, naming the feature run twice and the one never run
    # Job 1 restored durations in which a is longest, job 2 others in which a and d are:
    # job 1 plans {a, d} and {b, c}, job 2 plans {a, c} and {b, d}; d runs twice, c (failing) never.
    Given the artifact directory "job-1" holds the durations a 4 s, b 3 s, c 2 s, d 1 s
    And the artifact directory "job-2" holds the durations a 4 s, b 1 s, c 1 s, d 3 s
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json --junit-xml shard-1.xml"
    And I run the runner with "--shard 2/2 --artifacts job-2 --json shard-2.json --junit-xml shard-2.xml"
    Then the exit code is 0
    When I run the runner with "merge-reports merged.<ext> --<flag> shard-1.<input> shard-2.<input>"
    Then the exit code is 2
    And stderr contains "behave-bounded merge-reports: error: shard-2.<input>: the same features split another way (planned from another durations.json: restore the same one in every job) than shard-1.<input>"
    And stderr contains "behave-bounded merge-reports: error: shard plan: 1 feature(s) in more than one shard report: features/d.feature (shard-1.<input>, shard-2.<input>)"
    And stderr contains "behave-bounded merge-reports: error: shard plan: 1 feature(s) of the plan in no shard report: features/c.feature"
    And the last line is "scenarios: 4 passed, 0 failed, 0 skipped; run failed: the shard reports do not cover one shard plan"

    Examples:
      | kind  | ext  | flag  | input |
      | JSON  | json | json  | json  |
      | JUnit | xml  | junit | xml   |
      | HTML  | html | html  | json  |

  Scenario: the merged JSON report says why it is partial, with the verdict the merge printed
    Given the artifact directory "job-1" holds the durations a 4 s, b 3 s, c 2 s, d 1 s
    And the artifact directory "job-2" holds the durations a 4 s, b 1 s, c 1 s, d 3 s
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json"
    And I run the runner with "--shard 2/2 --artifacts job-2 --json shard-2.json"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json"
    Then the JSON report "merged.json" is partial, its reason naming "features/c.feature" and "features/d.feature"
    And the JSON report "merged.json" has the verdict "scenarios: 4 passed, 0 failed, 0 skipped; run failed: the shard reports do not cover one shard plan"

  Scenario: shards of one plan merge cleanly; a missing shard is named with its features
    When I run the runner with "--shard 1/3 --artifacts job-1 --json shard-1.json"
    And I run the runner with "--shard 2/3 --artifacts job-2 --json shard-2.json"
    And I run the runner with "--shard 3/3 --artifacts job-3 --json shard-3.json"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json shard-3.json"
    Then the exit code is 1
    And the last line is "scenarios: 3 passed, 1 failed, 0 skipped"
    When I run the runner with "merge-reports merged.json --json shard-1.json shard-3.json"
    Then the exit code is 2
    And stderr contains "behave-bounded merge-reports: error: shard plan: no report of shard 2/3"
    And stderr names as in no shard report every feature that "shard-2.json" ran, as "(shard 2/3)"

  Scenario: a shard given twice is refused, naming its features as run twice
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json"
    And I run the runner with "--shard 2/2 --artifacts job-2 --json shard-2.json"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json shard-1.json"
    Then the exit code is 2
    And stderr contains "behave-bounded merge-reports: error: shard-1.json: shard 1/2 again (also shard-1.json)"
    And stderr names as run twice every feature that "shard-1.json" ran

  Scenario: a report of an unsharded run merged with shards is refused when it holds their features
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json"
    And I run the runner with "--shard 2/2 --artifacts job-2 --json shard-2.json"
    And I run the runner with "--artifacts job-3 --json everything.json"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json everything.json"
    Then the exit code is 2
    And stderr contains "behave-bounded merge-reports: error: everything.json: no shard of the plan (a run without --shard?), yet it holds 4 of its feature(s): features/a.feature, features/b.feature, features/c.feature, features/d.feature"

  Scenario: a report without a plan that holds none of the plan's features merges with the shards
    Given a file "other/features/other.feature":
      """
      Feature: other
        Scenario: another suite's scenario
          Given it burns 1 ms of CPU
      """
    And a file "other/features/steps/steps.py":
      """
      from behave import step

      @step("it burns {ms:d} ms of CPU")
      def burn(context, ms):
          pass
      """
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json"
    And I run the runner with "--shard 2/2 --artifacts job-2 --json shard-2.json"
    And I run the runner with "--artifacts job-3 --json other.json other/features"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json other.json"
    Then the exit code is 1
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"

  Scenario: a report whose plan was edited is a bad input
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json"
    And I run the runner with "--shard 2/2 --artifacts job-2 --json shard-2.json"
    And the plan of the JSON report "shard-2.json" loses its last shard
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json"
    Then the exit code is 2
    And stderr contains "behave-bounded merge-reports: error: shard-2.json: corrupt report: run.plan does not list the features of its 2 shards"

  Scenario Outline: shards planned from <what> are refused, saying so
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json"
    And I run the runner with "<second> --artifacts job-2 --json shard-2.json"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json"
    Then the exit code is 2
    And stderr contains "behave-bounded merge-reports: error: shard-2.json: <message> shard-1.json"

    Examples:
      | what                           | second                    | message                                                                                   |
      | another selection of scenarios | --shard 2/2 -n "b passes" | planned from other features (another checkout, or another selection of scenarios) than |
      | another number of shards       | --shard 2/3               | split into 3 shards, not 2 as                                                             |

  Scenario: a plan read back from a report is refused when it is not one
    Then a plan read back from a report is refused like this:
      | plan                                                                                              | message                                                        |
      | []                                                                                                | run.plan is not an object                                      |
      | {"version": 2}                                                                                    | run.plan has the unknown version 2                             |
      | {"version": 1, "shard": 3, "of": 2, "shards": [[], []]}                                           | run.plan names no shard K of N (shard 3 of 2)                  |
      | {"version": 1, "shard": true, "of": 2, "shards": [[], []]}                                        | run.plan names no shard K of N (shard True of 2)               |
      | {"version": 1, "shard": 1, "of": 2, "shards": [[]]}                                               | run.plan does not list the features of its 2 shards            |
      | {"version": 1, "shard": 1, "of": 2, "shards": [["a.feature"], [7]]}                               | run.plan lists something other than feature paths              |
      | {"version": 1, "shard": 1, "of": 2, "shards": [[], []], "features": "f"}                          | run.plan.partition is not a fingerprint                        |
      | {"version": 1, "shard": 1, "of": 1, "shards": [["a.feature"]], "features": "f", "partition": "p"} |                                                                |
    And a JUnit shard report whose plan property is not JSON is a bad input: "corrupt report: its plan property is not JSON"

  Scenario: the fingerprints follow what was collected and how it was split, not the order of collection
    Then for any suite, a shard plan's fingerprints do not change with the order of collection
    And for any suite, selecting another scenario changes the features fingerprint
    And for any suite, moving one feature to another shard changes only the partition fingerprint

  Scenario: a plan of 10,000 features costs each shard report little more than the features' paths
    When the plan of shard 1 of 4 over 10000 features is written into a JSON and a JUnit report
    Then the plan in the JSON report takes at most the features' paths plus 3 bytes each and 1 KiB
    And the plan in the JUnit report takes at most the features' paths plus 13 bytes each and 1 KiB
