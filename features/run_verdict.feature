Feature: The verdict never reads as a pass when the run failed; hooks outside features say what they printed

  The last line is `scenarios: P passed, F failed, S skipped` (CI systems parse it). When the run
  failed for a reason outside its scenarios (after_all, a report it could not write, a lost run,
  a signal) the line goes on with `; run failed: REASON`, and the JSON report's `run.verdict` and
  the JUnit report's verdict property say the same.

  Background:
    Given a feature file "a.feature":
      """
      Feature: a
        Scenario: a passes
          Given it passes
      """
    And a feature file "b.feature":
      """
      Feature: b
        Scenario: b passes
          Given it passes
      """
    And a file "features/steps/steps.py":
      """
      from behave import step

      @step("it passes")
      def passes(context):
          pass
      """

  Scenario: a failing after_all: exit code 1, and every verdict says so
    Given the suite's environment:
      """
      def after_all(context):
          raise RuntimeError("the database would not close")
      """
    When I run the runner with "-j 1 --json run.json --junit-xml run.xml"
    Then the exit code is 1
    And the output contains "error: worker 1: after_all hook failed"
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: after_all failed in worker 1"
    And the JSON report "run.json" and the JUnit report "run.xml" have the verdict "scenarios: 2 passed, 0 failed, 0 skipped; run failed: after_all failed in worker 1"
    And the JSON report "run.json" says the run failed because "after_all failed in worker 1"

  Scenario: a report that cannot be written is named in the verdict of the reports that were written
    Given a feature file "c_blocks.feature":
      """
      Feature: blocks the JUnit report
        Scenario: puts a directory where the JUnit report goes
          Given the JUnit report's place is taken by a directory
      """
    And a file "features/steps/block_steps.py":
      """
      import os
      from behave import step

      @step("the JUnit report's place is taken by a directory")
      def block(context):
          os.makedirs("reports/run.xml/blocked")
      """
    When I run the runner with "-j 1 --json reports/run.json --junit-xml reports/run.xml"
    Then the exit code is 1
    And stderr contains "behave-bounded: error: cannot write reports/run.xml: "
    And the last line starts with "scenarios: 3 passed, 0 failed, 0 skipped; run failed: cannot write reports/run.xml: "
    And the JSON report "reports/run.json" has the runner's last line as its verdict

  Scenario: SIGINT while after_all hangs: the reports are partial, the verdict says the run was interrupted
    Given the suite's environment:
      """
      import time

      def after_all(context):
          open("after_all.flag", "w").close()
          time.sleep(600)
      """
    When I start the runner with "-j 1 --json run.json --junit-xml run.xml"
    And I wait until the file "after_all.flag" exists
    And I send SIGINT to the runner
    Then the exit code is 130
    And the JSON report "run.json" is marked partial with the reason "interrupted by SIGINT"
    And the JUnit report "run.xml" has the properties partial "true" and reason "interrupted by SIGINT"
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: interrupted by SIGINT"
    And the JSON report "run.json" and the JUnit report "run.xml" have the verdict "scenarios: 2 passed, 0 failed, 0 skipped; run failed: interrupted by SIGINT"
    And no process of the run is left

  Scenario: a before_all that fails shows what it printed, bounded
    Given the suite's environment:
      """
      import sys

      def before_all(context):
          print("connecting to the test database at db:5432")
          print("retrying " * 2000)
          print("the database said: authentication failed", file=sys.stderr)
          raise RuntimeError("no database")
      """
    When I run the runner with "-j 1 --json run.json"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "before_all hook raised RuntimeError: no database"
    And the output contains "error: features/environment.py:"
    And the output contains "connecting to the test database at db:5432"
    And the output contains "the database said: authentication failed"
    And the summary is shorter than 12000 characters
    And the last line starts with "scenarios: 0 passed, 2 failed, 0 skipped; run failed: features/environment.py:"
    And the JSON report "run.json" says why it is partial in one line: "features/environment.py:"

  Scenario: merge-reports says a shard's run failed, even when all its scenarios passed
    # Without recorded durations shard 1 of 2 runs a.feature and shard 2 b.feature.
    Given the suite's environment:
      """
      ran = []

      def before_feature(context, feature):
          ran.append(feature.name)

      def after_all(context):
          if "b" in ran:
              raise RuntimeError("teardown failed in the job that ran b")
      """
    When I run the runner with "--shard 1/2 --artifacts job-1 --json shard-1.json"
    Then the exit code is 0
    When I run the runner with "--shard 2/2 --artifacts job-2 --json shard-2.json"
    Then the exit code is 1
    When I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json"
    Then the exit code is 1
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: shard-2.json: after_all failed in worker 1"
    And the JSON report "merged.json" has the runner's last line as its verdict

  Scenario: the reasons the verdict names, shortest first of what the summary says in full
    Then a run that failed like this has the verdict reason:
      | interrupted by | setup error                                        | lost by                                          | teardown errors                                                    | report errors                                        | reason                                                                                                   |
      | 2              |                                                    |                                                  |                                                                    |                                                      | interrupted by SIGINT                                                                                    |
      | 15             |                                                    |                                                  |                                                                    |                                                      | interrupted by SIGTERM                                                                                   |
      |                | features/environment.py:2: before_all hook raised RuntimeError: no db\n---- stdout of the worker's setup\nlots | |                                                                    |                                                      | features/environment.py:2: before_all hook raised RuntimeError: no db                                    |
      |                |                                                    | 3 workers crashed, more than --max-worker-restarts 2 allows |                                                         |                                                      | 3 workers crashed, more than --max-worker-restarts 2 allows                                              |
      |                |                                                    |                                                  | worker 2: after_all hook failed\noutput \| worker 1: after_all did not finish within 2 s (--timeout) |                                 | after_all failed in workers 2, 1                                                                         |
      |                |                                                    |                                                  | worker 1: cleanup after all features raised OSError: gone          |                                                      | cleanup after all features failed in worker 1                                                            |
      |                |                                                    |                                                  | features/environment.py:9: after_all_workers hook raised OSError: x\nmore |                                                      | features/environment.py:9: after_all_workers hook raised OSError: x                                      |
      |                |                                                    |                                                  |                                                                    | cannot write a.json: No space left on device         | cannot write a.json: No space left on device                                                             |
      | 2              |                                                    |                                                  | worker 1: after_all hook failed                                    | cannot write a.json: x \| cannot write b.xml: y      | interrupted by SIGINT; after_all failed in worker 1; cannot write a.json: x; and 1 more                  |
      |                |                                                    |                                                  |                                                                    |                                                      |                                                                                                          |
    And a reason longer than 160 characters is cut to that length, ending with "..."
