Feature: Reruns and flake hunting: --reruns N runs a failed scenario again, --repeat N measures how often each passes

  A scenario that failed or errored (its worker crashed or timed out included) runs again, up to
  --reruns times, preferably on a worker of another slot; only the scenarios that failed run
  again, never those expected to fail. One that then passes is flaky: it counts as passed and
  is listed with its attempts in the summary, in --json and in --junit-xml (Maven Surefire's
  flakyFailure and rerunFailure elements). --repeat N runs every selected scenario N times and
  reports each one's pass rate.

  Every scenario of the generated suite notes each of its runs in a file of its own (runs/NAME:
  one line per run, the worker that ran it), so the features count runs without timing them.

  Background:
    Given the suite's steps:
      """
      import fcntl
      import os
      import signal
      import time
      from behave import step

      def ran(name):
          # How many times this scenario ran before; this run is noted with its worker (under
          # a lock: runs of one scenario on two workers may overlap).
          os.makedirs("runs", exist_ok=True)
          with open(os.path.join("runs", name), "a+") as runs:
              fcntl.flock(runs, fcntl.LOCK_EX)
              runs.seek(0)
              before = len(runs.read().split())
              runs.write(os.environ["BEHAVE_BOUNDED_WORKER"] + "\n")
          return before

      @step("it passes ({name})")
      def passes(context, name):
          ran(name)

      @step("it fails the first {count:d} time(s) ({name})")
      def fails_first(context, count, name):
          before = ran(name)
          assert before >= count, f"run {before + 1} fails on purpose"

      @step("it always fails ({name})")
      def always_fails(context, name):
          ran(name)
          raise AssertionError("fails every time")

      @step("it fails on its run {number:d} ({name})")
      def fails_on_run(context, number, name):
          assert ran(name) + 1 != number, f"run {number} fails on purpose"

      @step("its worker is killed the first time ({name})")
      def killed_first(context, name):
          if ran(name) == 0:
              os.kill(os.getpid(), signal.SIGKILL)

      @step("its worker is always killed ({name})")
      def killed_always(context, name):
          ran(name)
          os.kill(os.getpid(), signal.SIGKILL)

      @step("it hangs the first time ({name})")
      def hangs_first(context, name):
          if ran(name) == 0:
              time.sleep(120)

      @step("it fails the first time, then hangs ({name})")
      def fails_then_hangs(context, name):
          assert ran(name), "the first run fails"
          open("rerun-running", "w").close()
          time.sleep(120)

      @step("it fails the first time unless it runs on w{number:d} ({name})")
      def fails_first_unless(context, number, name):
          before = ran(name)
          assert before or os.environ["BEHAVE_BOUNDED_WORKER"] == f"w{number}", "first run"
      """

  Scenario: a scenario that fails once and then passes is flaky: exit 0, listed with its attempts in the summary, the JSON and the JUnit report
    Given a feature file "login.feature":
      """
      Feature: login
        Scenario: flaky login
          Given it fails the first 1 time(s) (flaky)

        Scenario: steady login
          Given it passes (steady)
      """
    When I run the runner with "-j 1 --reruns 2 --json run.json --junit-xml run.xml"
    Then the exit code is 0
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"
    And the summary lists "features/login.feature:2  flaky login" as flaky with the attempts "failed (w0), passed (w0)"
    And the output contains "scenarios by status: 2 passed, 0 failed, 0 errored, 0 skipped, 0 undefined, 0 xfailed, 0 xpassed, 1 flaky"
    And the output contains "features/login.feature  passed"
    And the scenario "flaky" ran 2 times and "steady" 1 time
    And the JSON report "run.json" has "features/login.feature:2" passed, flaky, with the attempts "failed, passed"
    And the JSON report "run.json" has the first attempt of "features/login.feature:2" failed with "run 1 fails on purpose"
    And the JSON report "run.json" has "features/login.feature:5" passed with no attempts
    And the JSON report "run.json" counts 1 flaky scenario
    And the JUnit file "run.xml" follows the JUnit schema with Surefire's rerun elements
    And the JUnit testcase "flaky login" of "run.xml" has the children "flakyFailure", the first saying "run 1 fails on purpose"
    And the JUnit testcase "steady login" of "run.xml" has no children

  Scenario: a scenario that never passes fails the run with its last failure and every attempt
    Given a feature file "broken.feature":
      """
      Feature: broken
        Scenario: always broken
          Given it always fails (broken)
      """
    When I run the runner with "-j 1 --reruns 2 --json run.json --junit-xml run.xml"
    Then the exit code is 1
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"
    And the summary lists "features/broken.feature:2" as failed after 3 attempts
    And the scenario "broken" ran 3 times
    And the JSON report "run.json" has "features/broken.feature:2" failed, not flaky, with the attempts "failed, failed, failed"
    And the JSON report "run.json" counts 0 flaky scenarios
    And the JSON report "run.json" has 3 tasks of "features/broken.feature", the attempts 1, 2 and 3, each but the last rerun
    And the JUnit file "run.xml" follows the JUnit schema with Surefire's rerun elements
    And the JUnit testcase "always broken" of "run.xml" has the children "failure, rerunFailure, rerunFailure", the first saying "fails every time"

  Scenario: with behave's --stop the scenarios it skipped run with the rerun, and the run stops at a failure no rerun made good
    Given a feature file "a.feature":
      """
      Feature: a
        Scenario: flaky
          Given it fails the first 1 time(s) (flaky)

        Scenario: steady
          Given it passes (steady)

        Scenario: broken
          Given it always fails (broken)
      """
    And a feature file "b.feature":
      """
      Feature: b
        Scenario: after the stop
          Given it passes (late)
      """
    When I run the runner with "-j 1 --reruns 1 --stop --json run.json"
    Then the exit code is 1
    And the last line is "scenarios: 2 passed, 1 failed, 1 skipped"
    And the scenario "flaky" ran 2 times and "steady" 1 time
    And the scenario "broken" ran 1 time and "late" 0 times
    And the JSON report "run.json" has "features/a.feature:2" passed, flaky, with the attempts "failed, passed"
    And the JSON report "run.json" has "features/a.feature:5" passed, not flaky, with the attempts "skipped, passed"
    And the output contains these lines in order
      | line                     |
      | features that never ran: |
      | features/b.feature       |

  Scenario: a scenario whose worker is killed is rerun, and so is the scenario it kept from starting
    Given a feature file "crash.feature":
      """
      Feature: crash
        Scenario: before the crash
          Given it passes (before)

        Scenario: kills its worker
          Given its worker is killed the first time (killer)

        Scenario: after the crash
          Given it passes (after)
      """
    When I run the runner with "-j 1 --reruns 1 --json run.json --junit-xml run.xml"
    Then the exit code is 0
    And the last line is "scenarios: 3 passed, 0 failed, 0 skipped"
    And the scenario "killer" ran 2 times and "before" 1 time
    And the scenario "after" ran 1 time
    And the JSON report "run.json" has "features/crash.feature:5" passed, flaky, with the attempts "errored, passed"
    And the JSON report "run.json" has the first attempt of "features/crash.feature:5" errored with "worker exited by signal 9 (SIGKILL)"
    And the JSON report "run.json" has "features/crash.feature:8" passed, not flaky, with the attempts "skipped, passed"
    And the JSON report "run.json" has "features/crash.feature:2" passed with no attempts
    And the JUnit file "run.xml" follows the JUnit schema with Surefire's rerun elements
    And the JUnit testcase "kills its worker" of "run.xml" has the children "flakyError", the first saying "worker exited by signal 9 (SIGKILL)"

  Scenario: a scenario whose worker is killed every time errors after its last attempt
    Given a feature file "crash.feature":
      """
      Feature: crash
        Scenario: kills its worker every time
          Given its worker is always killed (killer)
      """
    # Each crash counts against --max-worker-restarts (2 x workers by default), reruns' too.
    When I run the runner with "-j 1 --reruns 2 --max-worker-restarts 3 --json run.json --junit-xml run.xml"
    Then the exit code is 1
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"
    And the scenario "killer" ran 3 times
    And the JSON report "run.json" has "features/crash.feature:2" errored, not flaky, with the attempts "errored, errored, errored"
    And the JUnit file "run.xml" follows the JUnit schema with Surefire's rerun elements
    And the JUnit testcase "kills its worker every time" of "run.xml" has the children "error, rerunError, rerunError", the first saying "worker exited by signal 9 (SIGKILL)"

  Scenario: a scenario that times out is rerun
    Given a feature file "slow.feature":
      """
      Feature: slow
        Scenario: hangs once
          Given it hangs the first time (hangs)
      """
    When I run the runner with "-j 1 --reruns 1 --timeout 2 --json run.json"
    Then the exit code is 0
    And the last line is "scenarios: 1 passed, 0 failed, 0 skipped"
    And the scenario "hangs" ran 2 times
    And the JSON report "run.json" has "features/slow.feature:2" passed, flaky, with the attempts "errored, passed"
    And the JSON report "run.json" has the first attempt of "features/slow.feature:2" errored with "timed out after 2 s"
    And no process of the run is left

  Scenario: a run interrupted while a rerun runs reports the scenario with the attempts it had, not as interrupted
    Given a feature file "stuck.feature":
      """
      Feature: stuck
        Scenario: hangs on its rerun
          Given it fails the first time, then hangs (stuck)
      """
    When I start the runner with "-j 1 --reruns 1 --json run.json"
    And I wait until the file "rerun-running" exists
    And I send SIGINT to the runner
    Then the exit code is 130
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped; run failed: interrupted by SIGINT"
    And the output does not contain "features that did not finish (interrupted)"
    And the JSON report "run.json" has "features/stuck.feature:2" failed with no attempts
    And no process of the run is left

  Scenario: scenarios expected to fail are never rerun, even when their worker crashes
    Given a feature file "expected.feature":
      """
      Feature: expected failures
        @xfail
        Scenario: known bug
          Given it always fails (xfail)

        @tdd_issue @tdd_issue_7 @tdd_expected_fail
        Scenario: tracked bug
          Given it always fails (tracked)

        @xfail
        Scenario: known crash
          Given its worker is killed the first time (xcrash)
      """
    When I run the runner with "-j 1 --reruns 2 --json run.json"
    Then the exit code is 1
    And the last line is "scenarios: 2 passed, 1 failed, 0 skipped"
    And the scenario "xfail" ran 1 time and "tracked" 1 time
    And the scenario "xcrash" ran 1 time
    And the JSON report "run.json" has "features/expected.feature:3" xfailed with no attempts
    And the JSON report "run.json" has "features/expected.feature:7" xfailed with no attempts
    And the JSON report "run.json" has "features/expected.feature:11" errored with no attempts

  Scenario: only the failed scenarios of a feature run again: its other scenarios and Outline rows run once
    Given a feature file "mixed.feature":
      """
      Feature: mixed
        Background:
          Given it passes (background)

        Scenario: passes
          Given it passes (passes)

        Scenario: flaky
          Given it fails the first 1 time(s) (flaky)

        Scenario Outline: row <n>
          Given it fails the first <failures> time(s) (row-<n>)
          Examples:
            | n | failures |
            | 1 | 0        |
            | 2 | 2        |
            | 3 | 0        |
      """
    When I run the runner with "-j 1 --reruns 2 --json run.json"
    Then the exit code is 0
    And the scenario "passes" ran 1 time and "flaky" 2 times
    And the scenario "row-1" ran 1 time and "row-2" 3 times
    And the scenario "row-3" ran 1 time and "background" 8 times
    And the JSON report "run.json" has "features/mixed.feature:16" passed, flaky, with the attempts "failed, failed, passed"
    And the JSON report "run.json" has "features/mixed.feature:15" passed with no attempts
    And the JSON report "run.json" counts 2 flaky scenarios
    And the JSON report "run.json" has 3 tasks of "features/mixed.feature" on the lines "all", "8 16" and "16"

  Scenario: with two workers a rerun runs on the other worker's slot
    Given a feature file "a_first.feature":
      """
      Feature: first
        Scenario: fails on its first run only
          Given it fails the first 1 time(s) (moving)
      """
    And a feature file "b_second.feature":
      """
      Feature: second
        Scenario: passes
          Given it passes (other)
      """
    When I run the runner with "-j 2 --reruns 2 --json run.json"
    Then the exit code is 0
    And the JSON report "run.json" has "features/a_first.feature:2" passed, flaky, with the attempts "failed, passed"
    And the attempts of "features/a_first.feature:2" in the JSON report "run.json" ran on the slots the scenario "moving" saw, two different ones

  Scenario: with one worker a rerun runs on the same slot, as best it can
    Given a feature file "a_first.feature":
      """
      Feature: first
        Scenario: fails unless on w1
          Given it fails the first time unless it runs on w1 (lonely)
      """
    When I run the runner with "-j 1 --reruns 1 --json run.json"
    Then the exit code is 0
    And the attempts of "features/a_first.feature:2" in the JSON report "run.json" ran on the slots the scenario "lonely" saw, both w0

  Scenario: --reruns-delay makes a rerun wait
    Given a feature file "flaky.feature":
      """
      Feature: flaky
        Scenario: flaky
          Given it fails the first 1 time(s) (flaky)
      """
    When I run the runner with "-j 1 --reruns 1 --reruns-delay 1.5 --json run.json"
    Then the exit code is 0
    And in the JSON report "run.json" the rerun of "features/flaky.feature" started at least 1.5 s after its first run ended

  Scenario: behave's formatters write a rerun feature as its scenarios last ran
    Given a feature file "login.feature":
      """
      Feature: login
        Scenario: flaky login
          Given it fails the first 1 time(s) (flaky)

        Scenario: broken login
          Given it always fails (broken)

        Scenario: steady login
          Given it passes (steady)
      """
    When I run the runner with "-j 1 --reruns 1 -f json -o behave.json -f plain -o plain.txt"
    Then the exit code is 1
    And behave's JSON report "behave.json" has the scenarios "flaky login: passed, broken login: failed, steady login: passed"
    And the file "plain.txt" contains "flaky login"

  Scenario: behave's own @autoretry recipe works inside a worker as in plain behave
    Given the suite's environment:
      """
      from behave.contrib.scenario_autoretry import patch_scenario_with_autoretry

      def before_feature(context, feature):
          for scenario in feature.walk_scenarios():
              if "autoretry" in scenario.effective_tags:
                  patch_scenario_with_autoretry(scenario, max_attempts=3)
      """
    And a feature file "auto.feature":
      """
      Feature: auto
        @autoretry
        Scenario: retried in its worker
          Given it fails the first 2 time(s) (auto)
      """
    When I run the runner with "-j 1 --json run.json"
    Then the exit code is 0
    And the scenario "auto" ran 3 times
    And the JSON report "run.json" has "features/auto.feature:3" passed with no attempts
    And the JSON report "run.json" has no flaky count

  Scenario: the HTML report of a run with a flaky scenario shows the flaky count and its attempts, and no failure
    Given a feature file "crash.feature":
      """
      Feature: crash
        Scenario: kills its worker once
          Given its worker is killed the first time (killer)
      """
    When I run the runner with "-j 1 --reruns 1 --html run.html"
    Then the exit code is 0
    And the HTML report "run.html" parses, its tags balanced, with no script and no external URL
    And the HTML report's counts show 1 flaky
    And the HTML report lists the flaky scenario "features/crash.feature:2" with attempts "errored, passed" and the message "worker exited by signal 9 (SIGKILL), possibly out of memory"
    And the HTML report has no section "failures"

  Scenario: merging shard reports carries their flaky counts
    Given a feature file "a.feature":
      """
      Feature: a
        Scenario: flaky a
          Given it fails the first 1 time(s) (flaky-a)
      """
    And a feature file "b.feature":
      """
      Feature: b
        Scenario: flaky b
          Given it fails the first 1 time(s) (flaky-b)
      """
    When I run the runner with "--shard 1/2 --artifacts job-1 --reruns 1 --json shard-1.json --junit-xml shard-1.xml"
    And I run the runner with "--shard 2/2 --artifacts job-2 --reruns 1 --json shard-2.json --junit-xml shard-2.xml"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json"
    Then the exit code is 0
    And the output contains "0 not_run, 2 flaky"
    And the JSON report "merged.json" counts 2 flaky scenarios
    When I run the runner with "merge-reports merged.xml --junit shard-1.xml shard-2.xml"
    Then the exit code is 0
    And the output contains "0 not_run, 2 flaky"
    And the JUnit file "merged.xml" follows the JUnit schema with Surefire's rerun elements

  Scenario: --repeat N runs every scenario N times and lists each one's pass rate, failing ones first
    Given a feature file "hunt.feature":
      """
      Feature: hunt
        Scenario: fails on its second run
          Given it fails on its run 2 (second)

        Scenario: always passes
          Given it passes (steady)

        @later
        Scenario: not selected
          Given it passes (later)
      """
    When I run the runner with "-j 2 --repeat 3 --tags ~@later --json run.json --junit-xml run.xml"
    Then the exit code is 1
    And the last line is "scenarios: 5 passed, 1 failed, 1 skipped"
    And the scenario "later" ran 0 times
    And the scenario "second" ran 3 times and "steady" 3 times
    And the output contains these lines in order
      | line                                                                 |
      | pass rates over 3 runs (--repeat), failing ones first:               |
      | 2/3 passed (67%)  features/hunt.feature:2  fails on its second run   |
      | 3/3 passed (100%)  features/hunt.feature:5  always passes            |
    And the JSON report "run.json" has the pass rates "features/hunt.feature:2 2/3, features/hunt.feature:5 3/3" over 3 runs
    And the JSON report "run.json" has the runs 1, 2 and 3 of "features/hunt.feature:2", one of them failed
    And the JSON report "run.json" has no flaky count
    And the JUnit file "run.xml" follows the JUnit schema with Surefire's rerun elements
    And the JUnit file "run.xml" has the testcases "fails on its second run (run 1), fails on its second run (run 2), fails on its second run (run 3)" among others

  Scenario: merging the shard reports of --repeat runs counts the pass rates again
    Given a feature file "a.feature":
      """
      Feature: a
        Scenario: fails on its first run
          Given it fails on its run 1 (first-a)
      """
    And a feature file "b.feature":
      """
      Feature: b
        Scenario: passes
          Given it passes (steady-b)
      """
    When I run the runner with "--shard 1/2 --artifacts job-1 --repeat 2 --json shard-1.json"
    And I run the runner with "--shard 2/2 --artifacts job-2 --repeat 2 --json shard-2.json"
    And I run the runner with "merge-reports merged.json --json shard-1.json shard-2.json"
    Then the exit code is 1
    And the last line is "scenarios: 3 passed, 1 failed, 0 skipped"
    And the JSON report "merged.json" has the pass rates "features/a.feature:2 1/2, features/b.feature:2 2/2" over 2 runs

  Scenario Outline: --repeat and --reruns together are a usage error, wherever each was given
    Given the environment variable BEHAVE_BOUNDED_RERUNS is "<variable>"
    When I run the runner with "<args>"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "conflicting options: <first> and <second> cannot be used together (--repeat measures how often each scenario passes, --reruns hides the failures that pass on a rerun)"

    Examples:
      | args                   | variable | first      | second                   |
      | --repeat 3 --reruns 2  | -        | --repeat 3 | --reruns 2               |
      | --repeat 2             | 1        | --repeat 2 | BEHAVE_BOUNDED_RERUNS=1  |

  Scenario Outline: bad values of --reruns, --reruns-delay and --repeat are usage errors naming the option and the value
    When I run the runner with "<args>"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "<message>"

    Examples:
      | args                  | message                                                               |
      | --reruns 101          | --reruns: invalid value '101': expected a whole number from 0 to 100  |
      | --reruns -1           | --reruns: invalid value '-1': expected a whole number from 0 to 100   |
      | --repeat 0            | --repeat: invalid value '0': expected a whole number from 1 to 1000   |
      | --reruns-delay soon   | --reruns-delay: invalid value 'soon': expected a number of seconds, 0 or more |

  # -- in-process: the parts that hold and hand out reruns ------------------------------------

  Scenario: tasks waiting for their reruns are held within a memory bound, the rest in a private file
    Then any results held with any memory bound come back as they were, memory never holding more than the bound

  Scenario: a waiting rerun goes to a worker of another slot than the one that failed, from its time on
    Then the rerun queue hands out a rerun like this:
      | avoids | starts at | asking slot | other live slots | now | hands out |
      | 0      | 0         | 0           | 1                | 1   | nothing   |
      | 0      | 0         | 1           | 0                | 1   | the rerun |
      | 0      | 0         | 0           |                  | 1   | the rerun |
      | 0      | 0         | 0           | 0                | 1   | the rerun |
      | 1      | 5         | 0           | 1                | 1   | nothing   |
      | 1      | 5         | 0           | 1                | 5   | the rerun |
    And a rerun a dead worker had not begun waits again, ahead of the others, until its result is back
