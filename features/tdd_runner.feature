Feature: The runner applies the TDD tags and memory budgets when it evaluates results

  Background:
    Given the suite's steps:
      """
      from behave import step

      @step("it passes")
      def passes(context):
          pass

      @step("the bug bites")
      def bites(context):
          assert 2 + 2 == 5, "the bug is still there"

      @step("it raises KeyError")
      def key_error(context):
          {}["missing"]

      @step("it keeps {mib:d} MiB alive")
      def keeps(context, mib):
          context.ballast = [bytes(2**20) for _ in range(mib)]
      """

  Scenario: a bug reproduced by assertion is xfailed and counts as passed
    Given a feature file "bug.feature":
      """
      @tdd_issue @tdd_issue_42
      Feature: issue 42
        @tdd_expected_fail
        Scenario: reproduces the bug
          Given the bug bites

        Scenario: the rest works
          Given it passes
      """
    When I run the runner without arguments
    Then the exit code is 0
    And the output contains these lines in order
      | line                                                   |
      | expected failures (xfailed):                           |
      | features/bug.feature:4  reproduces the bug  (issue #42) |
    And the output contains "1 passed, 0 failed, 0 errored, 0 skipped, 0 undefined, 1 xfailed, 0 xpassed"
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"

  Scenario: a tagged scenario that passes fails the run: the bug appears fixed
    Given a feature file "fixed.feature":
      """
      @tdd_issue @tdd_issue_7
      Feature: issue 7
        @tdd_expected_fail
        Scenario: used to fail
          Given it passes
      """
    When I run the runner without arguments
    Then the exit code is 1
    And the output contains "xpassed   features/fixed.feature:4  used to fail  -- issue #7: scenario passed but is tagged @tdd_expected_fail: the bug appears fixed; remove the tag"
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"

  Scenario: --no-tdd-strict turns an xpass into a warning
    Given a feature file "fixed.feature":
      """
      @tdd_issue @tdd_issue_7
      Feature: issue 7
        @tdd_expected_fail
        Scenario: used to fail
          Given it passes
      """
    When I run the runner with "--no-tdd-strict"
    Then the exit code is 0
    And stderr contains "warning: features/fixed.feature:4: issue #7: scenario passed but is tagged @tdd_expected_fail"
    And the last line is "scenarios: 1 passed, 0 failed, 0 skipped"

  Scenario: a tagged scenario that fails by another exception is errored, never inverted
    Given a feature file "wrong.feature":
      """
      @tdd_issue @tdd_issue_9
      Feature: issue 9
        @tdd_expected_fail
        Scenario: fails for the wrong reason
          Given it raises KeyError
      """
    When I run the runner without arguments
    Then the exit code is 1
    And the output contains "errored   features/wrong.feature:4  fails for the wrong reason  -- KeyError: 'missing'"
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"

  Scenario: tags are inherited from the Feature and from Examples; behave's @xfail is honoured
    Given a feature file "outline.feature":
      """
      @tdd_issue @tdd_issue_3
      Feature: issue 3
        Scenario Outline: row <n>
          Given <step>

          @tdd_expected_fail
          Examples: before the fix
            | n | step          |
            | 1 | the bug bites |

          Examples: after the fix
            | n | step     |
            | 2 | it passes |

        @xfail
        Scenario: known to fail, no issue
          Given the bug bites
      """
    When I run the runner without arguments
    Then the exit code is 0
    And the output contains "1 passed, 0 failed, 0 errored, 0 skipped, 0 undefined, 2 xfailed, 0 xpassed"
    And the last line is "scenarios: 3 passed, 0 failed, 0 skipped"

  Scenario: a worker crash in a tagged scenario is errored, not xfailed
    Given a feature file "crash.feature":
      """
      @tdd_issue @tdd_issue_5 @tdd_expected_fail
      Feature: issue 5
        Scenario: crashes
          Given the worker dies by SIGKILL
      """
    And a file "features/steps/crash_steps.py":
      """
      import os
      import signal
      from behave import step

      @step("the worker dies by SIGKILL")
      def dies(context):
          os.kill(os.getpid(), signal.SIGKILL)
      """
    When I run the runner without arguments
    Then the exit code is 1
    And the output contains "errored   features/crash.feature:3  crashes"
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"

  Scenario: malformed TDD tags stop the run before any worker starts, all reported at once
    Given a feature file "typos.feature":
      """
      Feature: typos
        @tdd_isue_12
        Scenario: misspelled
          Given it passes

        @tdd_expected_fail
        Scenario: no issue named
          Given it passes
      """
    When I run the runner without arguments
    Then the exit code is 2
    And stderr contains "features/typos.feature:3: unknown TDD tag @tdd_isue_12: did you mean @tdd_issue_12?"
    And stderr contains "features/typos.feature:7: @tdd_expected_fail needs @tdd_issue and @tdd_issue_<N>"
    And stderr contains "2 problem(s) found while collecting features; no feature was run"
    And the output does not contain "typos.feature  "

  Scenario: a scenario within its memory budget passes, one over it fails with the sites
    Given a feature file "budget.feature":
      """
      Feature: budgets
        @memory_budget_64MiB
        Scenario: small enough
          Given it keeps 8 MiB alive

        @memory_budget_16MiB
        Scenario: too big
          Given it keeps 48 MiB alive
      """
    When I run the runner without arguments
    Then the exit code is 1
    And the output contains "failed    features/budget.feature:7  too big  -- memory budget exceeded: peak 48."
    And the output contains "> budget 16.0 MiB"
    And the output contains "features/steps/steps.py:"
    And the last line is "scenarios: 1 passed, 1 failed, 0 skipped"

  Scenario: a memory budget without memray installed is a preflight error naming the extra
    Given a file "no_memray/memray.py":
      """
      raise ImportError("memray is not installed here")
      """
    And a feature file "budget.feature":
      """
      Feature: budgets
        @memory_budget_64MiB
        Scenario: needs memray
          Given it passes
      """
    And PYTHONPATH points at "no_memray" in the suite
    When I run the runner without arguments
    Then the exit code is 2
    And stderr contains "features/budget.feature:3: @memory_budget_64MiB needs memray: pip install 'behave-bounded[memory]'"

  Scenario: the issue-7311 regression suite detects a regression: with the fix disabled it fails
    Given a copy of "features/tdd_bounded_output.feature" whose "after the fix" rows use "--max-output unlimited"
    When I run the runner with "-j 2 features/tdd_bounded_output.feature"
    Then the exit code is 1
    And the output contains "2 passed, 5 failed, 0 errored, 0 skipped, 0 undefined, 5 xfailed, 0 xpassed"
    And the output contains "(bounded capture) -- @2.1 after the fix"
    And the last line is "scenarios: 7 passed, 5 failed, 0 skipped"
