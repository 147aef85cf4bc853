Feature: The HTML run report: a timeline per worker, failures with their output, the slow and the flaky

  `--html PATH` draws one self-contained page from the run's JSON report when the run closes:
  the verdict and counts, a timeline with one lane per worker, the failing scenarios with their
  message and the tail of their output, expected failures, flaky scenarios, the slowest
  features, every feature, the settings. The page is read back with the standard library's HTML
  parser: its tags must balance, it must load nothing from anywhere, and every name and line of
  output a test produced must stay text. `merge-reports --html` draws one page from shard JSON
  reports. The pure-view scenarios render JSON documents built here, without a run.

  Background:
    Given the suite's steps:
      """
      import os
      import shutil
      import time
      from behave import step

      @step("it sleeps {ms:d} ms")
      def sleeps(context, ms):
          time.sleep(ms / 1000)

      @step("it prints {count:d} numbered lines and fails")
      def prints_and_fails(context, count):
          for number in range(count):
              print(f"output line {number:05d} <i>not markup</i> &amp;")
          print("LAST LINE BEFORE THE FAILURE")
          assert False, "expected 401, got 200 <b>&</b>"

      @step("it hangs")
      def hangs(context):
          open("hanging.flag", "w").close()
          time.sleep(600)

      @step("the report directory is removed")
      def removes_reports(context):
          shutil.rmtree("reports")

      @step("its worker is killed")
      def killed(context):
          os.kill(os.getpid(), 9)

      @step("the record for --last-failed is blocked by a directory")
      def blocks_last_failed(context):
          os.makedirs(".behave-bounded/last-failed.json/blocked")
      """
    And a feature file "a_slow.feature":
      """
      Feature: slow
        Scenario: takes a while
          Given it sleeps 600 ms
      """
    And a feature file "b_quick.feature":
      """
      Feature: quick
        Scenario: one
          Given it sleeps 100 ms
        Scenario: two
          Given it sleeps 100 ms
      """
    And a feature file "c_medium.feature":
      """
      Feature: medium
        Scenario: takes a bit
          Given it sleeps 300 ms
      """
    And a feature file "d_fails.feature":
      """
      Feature: fails
        Scenario: <script>alert("x")</script>
          Given it sleeps 100 ms
          And it prints 200 numbered lines and fails
      """
    And a feature file "e_known_bug.feature":
      """
      @tdd_issue @tdd_issue_42
      Feature: a known bug
        @tdd_expected_fail
        Scenario: still broken
          Given it prints 3 numbered lines and fails
      """

  Scenario: a run's page names every feature, shows the failure with its message and output tail, one lane per worker
    When I run the runner with "-j 2 --no-capture --max-output 4KiB --show-output 1KiB --html reports/run.html --json reports/run.json"
    Then the exit code is 1
    And the HTML report "reports/run.html" parses, its tags balanced, with no script and no external URL
    And the HTML report's verdict is the runner's last line: "scenarios: 5 passed, 1 failed, 0 skipped"
    And the HTML report's counts are 4 passed, 1 failed, 0 errored, 0 skipped, 0 undefined, 1 xfailed, 0 xpassed
    And the HTML report names every feature file of the suite in its table of features
    And the HTML report's timeline has one lane per worker of the JSON report "reports/run.json"
    And the HTML report's timeline has a bar for every task of the JSON report, titled with its feature, status and duration
    And the HTML report lists "d_fails.feature" as failing with the message "expected 401, got 200 <b>&</b>"
    And the HTML report shows the last at most 1024 bytes of the output of "d_fails.feature", ending in the spill file it names
    And the HTML report says the stdout of "d_fails.feature" was truncated, with the bytes written, kept and dropped of the JSON report
    And the HTML report shows the scenario named "<script>alert("x")</script>" as text
    And the HTML report lists "e_known_bug.feature:4" as xfailed for issue #42
    And the HTML report lists "a_slow.feature" first among the slowest features
    And the HTML report's settings name the behave version and the setting "show_output"
    And no temporary report part is left in the suite

  Scenario: a worker killed in a real run is marked where it died, on the lane of its slot
    Given a feature file "k_dies.feature":
      """
      Feature: dies
        Scenario: kills its worker
          Given its worker is killed
      """
    When I run the runner with "-j 2 --html reports/run.html --json reports/run.json"
    Then the exit code is 1
    And the HTML report "reports/run.html" parses, its tags balanced, with no script and no external URL
    And the HTML report's timeline marks the lane of the worker that ran "features/k_dies.feature" with its crash: "worker exited by signal 9 (SIGKILL), possibly out of memory"

  Scenario: a failing scenario's page shows what behave captured of it, the tail within --show-output
    When I run the runner with "-j 2 --show-output 1KiB --html reports/run.html"
    Then the exit code is 1
    And the HTML report "reports/run.html" parses, its tags balanced, with no script and no external URL
    And the HTML report shows what behave captured of "d_fails.feature", the last at most 1024 bytes ending in "LAST LINE BEFORE THE FAILURE"

  Scenario Outline: --html comes from the <source> too
    Given a file "pyproject.toml":
      """
      [tool.behave-bounded]
      html = "reports/from-pyproject.html"
      """
    And the environment variable BEHAVE_BOUNDED_HTML is "<env>"
    When I run the runner with "-j 2 <args>"
    Then the exit code is 1
    And the HTML report "<path>" parses, its tags balanced, with no script and no external URL
    And the HTML report names every feature file of the suite in its table of features

    Examples:
      | source       | env                     | args                   | path                        |
      | pyproject    | -                       |                        | reports/from-pyproject.html |
      | environment  | reports/from-env.html   |                        | reports/from-env.html       |
      | command line | reports/from-env.html   | --html reports/cli.html | reports/cli.html            |

  Scenario Outline: an --html path that cannot be used is refused before anything runs: <case>
    Given a file "blocked" with bytes "x"
    When I run the runner with "<args>"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "<message>"
    And the output does not contain "passed"

    Examples:
      | case                         | args                                   | message                                     |
      | a directory                  | --html features                        | --html features: is a directory             |
      | under a regular file         | --html blocked/run.html                | --html blocked/run.html: cannot create its directory |
      | the same file as --json      | --json report.out --html report.out    | --json and --html name the same file        |
      | where no file can be made    | --html /proc/run.html                  | --html /proc/run.html: cannot write the report: No such file or directory |

  Scenario: a page that cannot be written when the run ends fails the run, saying why
    Given a feature file "f_removes.feature":
      """
      Feature: removes the report directory
        Scenario: removes it
          Given the report directory is removed
      """
    When I run the runner with "-j 2 --html reports/run.html features/a_slow.feature features/f_removes.feature"
    Then the exit code is 1
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: cannot write reports/run.html: No such file or directory"
    And stderr contains "behave-bounded: error: cannot write reports/run.html: "
    And the file "reports/run.html" does not exist

  Scenario: the record for --last-failed that cannot be written is only a warning: it is no report asked for
    Given a feature file "g_removes.feature":
      """
      Feature: blocks the record for --last-failed
        Scenario: blocks it
          Given the record for --last-failed is blocked by a directory
      """
    When I run the runner with "-j 2 --html reports/run.html features/a_slow.feature features/g_removes.feature"
    Then the exit code is 0
    And stderr contains "behave-bounded: warning: cannot write .behave-bounded/last-failed.json: "
    And the HTML report "reports/run.html" parses, its tags balanced, with no script and no external URL

  Scenario: an interrupted run still writes its page, marked partial first, listing what did not finish
    Given a feature file "f_hangs.feature":
      """
      Feature: hangs
        Scenario: never ends
          Given it hangs
      """
    When I start the runner with "-j 2 --html reports/run.html"
    And I wait until the file "hanging.flag" exists
    And I send SIGINT to the runner
    Then the exit code is 130
    And the HTML report "reports/run.html" parses, its tags balanced, with no script and no external URL
    And the HTML report says first that the run is partial: "interrupted by SIGINT"
    And the HTML report lists "features/f_hangs.feature" as not run: "interrupted while running (interrupted by SIGINT)"
    And no temporary report part is left in the suite

  Scenario: merge-reports --html draws one page from two shards' JSON reports, a lane group per shard
    When I run the runner for shards 1/2 and 2/2 with "-j 2 --artifacts artifacts-K --json shard-K.json"
    And I merge the reports with "merge-reports merged.html --html shard-1.json shard-2.json"
    Then the merge exited with 1, its last line "scenarios: 5 passed, 1 failed, 0 skipped"
    And the HTML report "merged.html" parses, its tags balanced, with no script and no external URL
    And the HTML report's timeline has 2 lane groups, named "shard-1.json" and "shard-2.json"
    And the HTML report's timeline has one lane per worker of each shard
    And the HTML report names every feature file of the suite in its table of features
    And the HTML report's verdict is "scenarios: 5 passed, 1 failed, 0 skipped"

  Scenario: merge-reports --html with a bad input still draws the good shards, marked partial, and fails
    When I run the runner for shards 1/2 and 2/2 with "-j 2 --artifacts artifacts-K --json shard-K.json"
    And I merge the reports with "merge-reports merged.html --html shard-1.json missing.json shard-2.json"
    Then the merge exited with 2, its stderr saying "missing.json: missing (no such file)"
    And the HTML report "merged.html" parses, its tags balanced, with no script and no external URL
    And the HTML report says first that the run is partial: "bad input missing.json: missing (no such file)"
    And the HTML report's timeline has 2 lane groups, named "shard-1.json" and "shard-2.json"

  Scenario: merge-reports --html refuses an output it cannot write before reading anything
    When I merge the reports with "merge-reports missing/merged.html --html shard-1.json"
    Then the merge exited with 2, its stderr saying "merge-reports missing/merged.html: cannot write the report: No such file or directory"

  # -- the page as a pure view of a JSON document (no run) -------------------------------------

  Scenario: worker slots are the lanes; a crash is marked where it happened; flaky scenarios show their attempts
    Given a JSON run report of 100 s on 2 worker slots, where worker 2 on slot 1 crashed at +40 s ("worker exited by signal 9 (SIGKILL)") and worker 3 took its slot
    And the JSON run report has a flaky scenario "features/retry.feature:3" that failed with "timeout talking to db" on worker 1, then passed
    When the JSON run report is drawn as a page
    Then the HTML report's timeline has 2 lanes, named "slot 0" and "slot 1"
    And the HTML report's timeline marks lane "slot 1" at +40 s of 100 s, titled "worker 2 crashed here: worker exited by signal 9 (SIGKILL); a new one started"
    And the HTML report's lane "slot 1" is idle 70% of the run
    And the HTML report's counts show 1 flaky
    And the HTML report lists the flaky scenario "features/retry.feature:3" with attempts "failed, passed" and the message "timeout talking to db"

  Scenario: without slots and worker lives the page draws a lane per worker and marks the task that died
    Given a JSON run report of 100 s whose worker 2 died running "features/dies.feature" from +10 s to +20 s: "worker exited by signal 11 (SIGSEGV)"
    And the JSON run report has a feature "features/inner.feature" that worker 1 ran from +20 s to +30 s, inside another one's time
    And the JSON run report has a feature "features/unselected.feature" that no worker ran
    When the JSON run report is drawn as a page
    Then the HTML report's timeline has 2 lanes, named "worker 1" and "worker 2"
    And the HTML report's timeline marks lane "worker 2" at +20 s of 100 s, titled "features/dies.feature: worker exited by signal 11 (SIGSEGV)"
    And the HTML report's lane "worker 1" is idle 10% of the run
    And the HTML report's lane "worker 2" is idle 80% of the run
    And the HTML report lists "dies.feature" as failing with the message "worker exited by signal 11 (SIGSEGV)"
    And the HTML report's counts show no flaky count

  Scenario: bars narrower than a pixel merge into one bar per run of one status; every feature is still named
    Given a JSON run report of 2000 features of 10 ms each on 1 worker slot in a 100 s run, every 500th one failing
    When the JSON run report is drawn as a page
    Then the HTML report's timeline has fewer than 40 bars, which stand for all 2000 features
    And the HTML report's merged bars are titled with their count, status, total time, first and last feature
    And the HTML report's failing features each have a bar of their own
    And the HTML report names all 2000 features in its table of features

  Scenario: the page grows with the scenarios, not with their output: tails and messages stop at a budget
    Given a JSON run report of 400 failing features, each with 64 KiB of output tail per stream and a 4000-character message
    When the JSON run report is drawn as a page
    Then the HTML report is smaller than 6 MiB
    And the HTML report shows the output of the first failing features in full and says of the others "Output not shown"
    And the HTML report's footer counts the messages shortened and the streams not shown

  Scenario: at 10,000 features the page stays under 10 MB
    Given a JSON run report of 10000 features of 3 scenarios each on 8 worker slots, 1% failing with 64 KiB of output
    When the JSON run report is drawn as a page
    Then the HTML report is smaller than 10 MB
    And the HTML report names all 10000 features in its table of features

  Scenario: the page of a JSON report file is the same whether the file is streamed or was re-indented by a tool
    Given a JSON report file written by the runner's JSON view for 3 features, one failing with output
    When the file is drawn as a page, and again after re-indenting it with 4 spaces
    Then the two pages are the same
    And the HTML report lists "features/f1.feature" as failing with the message "boom"
    And a JSON file that holds a list is refused as "not a JSON object"

  Scenario: a document with missing and mistyped fields still draws, showing what it can
    Given a JSON run report whose fields have the wrong types
    When the JSON run report is drawn as a page
    Then the HTML report parses, its tags balanced, with no script and no external URL
    And the HTML report's timeline says no task ran
    And the HTML report lists "features/odd.feature" as failing with the message "still shown"
    And the HTML report lists "features/odd.feature:9" as undefined among the failing scenarios
    And the HTML report shows of "features/odd.feature" "10 bytes written, 10 kept" and no output tail: its JSON has none
    And the HTML report lists "features/hook.feature" as failing with the message "after_feature raised"

  Scenario: an empty document draws a page that says nothing ran; a run without failures says so
    Given a JSON run report with nothing in it
    When the JSON run report is drawn as a page
    Then the HTML report parses, its tags balanced, with no script and no external URL
    And the HTML report's timeline says no task ran
    And the HTML report's header says the run passed, and its failures section that nothing failed
    And the HTML report has no section "slowest"

  Scenario: any text a test produces stays text: names, messages and output (property)
    Then for any scenario name, message and output the page shows each as text, nothing of it markup
