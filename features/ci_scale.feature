Feature: CI at scale: report files, longest-first scheduling, serial features, shards, reruns

  Background:
    Given the suite's steps:
      """
      import time
      from behave import step

      @step("it passes")
      def passes(context):
          print("passing output")

      @step("it fails")
      def fails(context):
          print("failing output <&> ]]> \x1b[31m")
          assert False, "it failed <badly> & loudly"

      @step("it raises KeyError")
      def raises(context):
          {}["missing"]

      @step("it sleeps {ms:d} ms")
      def sleeps(context, ms):
          time.sleep(ms / 1000)
      """
    And a feature file "a_mixed.feature":
      """
      Feature: mixed
        Scenario: passes
          Given it passes

        Scenario: fails
          Given it fails

        Scenario: errors
          Given it raises KeyError

        Scenario Outline: row <n>
          Given it passes
          Examples:
            | n |
            | 1 |
            | 2 |
      """
    And a feature file "b_tdd.feature":
      """
      @tdd_issue @tdd_issue_77
      Feature: tdd
        @tdd_expected_fail
        Scenario: reproduces issue 77
          Given it fails
      """
    And a feature file "c_slow.feature":
      """
      Feature: slow
        Scenario: takes a while
          Given it sleeps 600 ms
      """

  Scenario: --junit-xml writes one JUnit file that a JUnit parser reads, a testcase per scenario
    When I run the runner with "-j 2 --junit-xml reports/junit.xml"
    Then the exit code is 1
    And the JUnit file "reports/junit.xml" parses and has these testcases
      | classname         | name                     | outcome |
      | features.a_mixed  | passes                   | passed  |
      | features.a_mixed  | fails                    | failure |
      | features.a_mixed  | errors                   | error   |
      | features.a_mixed  | row 1 -- @1.1            | passed  |
      | features.a_mixed  | row 2 -- @1.2            | passed  |
      | features.b_tdd    | reproduces issue 77      | skipped |
      | features.c_slow   | takes a while            | passed  |
    And the JUnit testcase "reproduces issue 77" is skipped with a message naming "issue #77"
    And the JUnit testcase "fails" has a failure message with "it failed <badly> & loudly"

  Scenario: --json writes the documented run report
    When I run the runner with "-j 2 --json report.json"
    Then the exit code is 1
    And the JSON report "report.json" has schema "behave-bounded/run-report" version 1
    And the JSON report "report.json" counts 4 passed, 1 failed, 1 errored, 1 xfailed
    And the JSON report "report.json" has scenario "features/b_tdd.feature:4" with status "xfailed" and tdd issue 77
    And the JSON report "report.json" has scenario "features/a_mixed.feature:5" with status "failed" and error type "AssertionError"
    And every task in the JSON report "report.json" has a worker, a duration and output counts

  Scenario: an interrupted run still writes its reports, complete and marked partial
    Given a feature file "d_hangs.feature":
      """
      Feature: hangs
        Scenario: never ends
          Given it hangs forever
      """
    And a file "features/steps/hang_steps.py":
      """
      import time
      from behave import step

      @step("it hangs forever")
      def hangs(context):
          open("hanging.flag", "w").close()
          time.sleep(600)
      """
    When I start the runner with "-j 2 --json report.json --junit-xml junit.xml"
    And I wait until the file "hanging.flag" exists
    And I send SIGINT to the runner
    Then the exit code is 130
    And the JSON report "report.json" is marked partial with the reason "interrupted by SIGINT"
    And the JUnit file "junit.xml" parses
    And no temporary report part is left in the suite

  Scenario: durations are recorded and the longest feature starts first next time; one worker keeps behave's order
    When I run the runner with "-j 1 --json first.json"
    And I run the runner with "-j 1 --json second.json"
    And I run the runner with "-j 2 --json third.json"
    Then in the JSON report "first.json" the tasks started in the order a_mixed, b_tdd, c_slow
    And in the JSON report "second.json" the tasks started in the order a_mixed, b_tdd, c_slow
    And in the JSON report "third.json" the task of "features/c_slow.feature" started before any task ended

  Scenario: @serial features run alone, after the others
    Given a feature file "e_serial.feature":
      """
      @serial
      Feature: serial
        Scenario: shares a resource
          Given it sleeps 300 ms
      """
    When I run the runner with "-j 2 --json report.json"
    Then in the JSON report "report.json" the task of "features/e_serial.feature" overlaps no other task

  Scenario: shards split the suite deterministically, every scenario in exactly one shard
    Given 7 passing features
    When I run the runner for every shard of 3 with a JSON report each
    Then the shards together hold every scenario of the suite exactly once
    And running shard 2 of 3 again selects the same scenarios

  Scenario: merge-reports merges shard reports and reports a corrupt shard instead of skipping it
    # Each job plans from the same durations (here none), as CI jobs restoring one cache do.
    When I run the runner with "--shard 1/2 --json shard1.json --artifacts job-1"
    And I run the runner with "--shard 2/2 --json shard2.json --artifacts job-2"
    And I run the runner with "merge-reports merged.json --json shard1.json shard2.json"
    Then the exit code is 1
    And the last line is "scenarios: 5 passed, 2 failed, 0 skipped"
    Given a file "corrupt.json":
      """
      {"schema": "behave-bounded/run-report", "version": 1, "run": {
      """
    When I run the runner with "merge-reports merged.json --json shard1.json shard2.json corrupt.json missing.json"
    Then the exit code is 2
    And stderr contains "corrupt.json: "
    And stderr contains "missing.json: "
    And the last line is "scenarios: 5 passed, 2 failed, 0 skipped; run failed: 2 input reports could not be merged"

  Scenario: --last-failed reruns only what failed or errored, and nothing when nothing did
    When I run the runner with "--last-failed"
    Then the output contains "--last-failed: no previous run recorded; running everything"
    And the last line is "scenarios: 5 passed, 2 failed, 0 skipped"
    When I run the runner without arguments
    And I run the runner with "--last-failed"
    Then the output contains "--last-failed: rerunning 2 scenario(s) of the previous run"
    And the last line is "scenarios: 0 passed, 2 failed, 3 skipped"
    Given a feature file "a_mixed.feature":
      """
      Feature: mixed, fixed
        Scenario: passes
          Given it passes
      """
    When I run the runner with "--last-failed"
    And I run the runner with "--last-failed"
    Then the exit code is 0
    And the output contains "--last-failed: the previous run had no failures; nothing to rerun"
    And the last line is "scenarios: 0 passed, 0 failed, 0 skipped"

  Scenario: --scheme scenario gives the same results as --scheme feature
    When I run the runner with "-j 2 --scheme feature --json by_feature.json"
    And I run the runner with "-j 2 --scheme scenario --json by_scenario.json"
    Then the JSON reports "by_feature.json" and "by_scenario.json" have the same status for every scenario
    And the JSON report "by_scenario.json" has 7 tasks

  Scenario: without a terminal every finished feature is one plain line: path, status, duration
    When I run the runner with "-j 2"
    Then every line before the summary that names a feature reads "path  status  duration"
    And the last line is "scenarios: 5 passed, 2 failed, 0 skipped"

  Scenario: on a terminal a live line shows done/total features, counts, elapsed time and ETA
    When I run the runner on a terminal with "-j 2"
    Then the terminal showed a progress line like "3/3 features ..., 5 passed, 1 failed, 1 errored [00:00, ETA 00:00]"
    And the terminal's last line is "scenarios: 5 passed, 2 failed, 0 skipped"

  Scenario: the artifact directory keeps the spill files of the last 10 runs only
    Given 15 earlier runs left spill files in the artifact directory
    When I run the runner without arguments
    Then the artifact directory holds at most 10 run directories, the newest of the earlier ones among them

  Scenario: after --stop the @serial features are not run either, and say so
    Given a feature file "e_serial.feature":
      """
      @serial
      Feature: serial
        Scenario: shares a resource
          Given it passes
      """
    When I run the runner with "-j 1 --stop"
    Then the exit code is 1
    And the output contains these lines in order
      | line                     |
      | features that never ran: |
      | features/e_serial.feature |
    And the output contains "run stopped early: --stop after the first failure"

  Scenario: a report whose directory disappears during the run is an error, not a lost verdict
    Given a feature file "zz_removes.feature":
      """
      Feature: removes the report directory
        Scenario: removes it
          Given the reports directory is removed
      """
    And a file "features/steps/remove_steps.py":
      """
      import shutil
      from behave import step

      @step("the reports directory is removed")
      def remove(context):
          shutil.rmtree("reports")
      """
    When I run the runner with "-j 1 --json reports/run.json"
    Then the exit code is 1
    And stderr contains "behave-bounded: error: cannot write reports/run.json:"
    And the last line is "scenarios: 6 passed, 2 failed, 0 skipped; run failed: cannot write reports/run.json: No such file or directory"

  Scenario: with a selection, --scheme scenario reports unselected scenarios as skipped, as --scheme feature does
    When I run the runner with "-j 2 -n row --json by_feature.json"
    And I run the runner with "-j 2 -n row --scheme scenario --json by_scenario.json"
    Then the JSON reports "by_feature.json" and "by_scenario.json" have the same status for every scenario
    And the last line is "scenarios: 2 passed, 0 failed, 5 skipped"
