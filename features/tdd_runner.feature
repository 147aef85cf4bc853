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

      @step("it touches {mib:d} MiB and keeps it")
      def touches(context, mib):
          context.ballast = bytearray(mib * 2**20)  # zero-filled by memset: every page touched

      @step("it allocates {mib:d} MiB with bytes(n) and keeps it")
      def callocs(context, mib):
          context.ballast = bytes(mib * 2**20)  # calloc: fresh zero pages, never touched

      @step("it touches {mib:d} MiB and frees it at once")
      def spikes(context, mib):
          block = bytearray(mib * 2**20)
          del block  # munmap: resident for well under a millisecond once the last page is touched

      LEFT_BEHIND = []

      @step("it leaves {mib:d} MiB resident for the features after it")
      def leaves(context, mib):
          LEFT_BEHIND.append(bytearray(mib * 2**20))
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
    And the output contains "failed    features/budget.feature:7  too big  -- peak heap 48."
    And the output contains "> budget 16.0 MiB (peak resident growth "
    And the output contains "features/steps/steps.py:"
    And the last line is "scenarios: 1 passed, 1 failed, 0 skipped"

  Scenario: each budget tag judges its own figure: touched pages are resident, pages calloc never touched only allocated
    Given the kernel's resident high-water mark can be reset here
    And a feature file "forms.feature":
      """
      Feature: budget forms
        @memory_budget_rss_64MiB
        Scenario: touched pages are resident
          Given it touches 128 MiB and keeps it

        @memory_budget_rss_64MiB
        Scenario: pages calloc never touched are not resident
          Given it allocates 128 MiB with bytes(n) and keeps it

        @memory_budget_heap_64MiB
        Scenario: but they are allocated
          Given it allocates 128 MiB with bytes(n) and keeps it

        @memory_budget_64MiB
        Scenario: the plain form judges both
          Given it allocates 128 MiB with bytes(n) and keeps it

        Scenario: no budget, no figures
          Given it passes
      """
    When I run the runner with "--json report.json"
    Then the exit code is 1
    And the output contains "failed    features/forms.feature:3  touched pages are resident  -- peak resident growth "
    And the output contains "> budget 64.0 MiB (peak heap 128."
    And the output contains "failed    features/forms.feature:11  but they are allocated  -- peak heap 128.0 MiB > budget 64.0 MiB (peak resident growth "
    And the output contains "failed    features/forms.feature:15  the plain form judges both  -- peak heap 128.0 MiB > budget 64.0 MiB (peak resident growth "
    And the report "report.json" has these memory figures:
      | location                  | status | heap budget | rss budget | peak heap MiB | peak resident growth MiB | source |
      | features/forms.feature:3  | failed | -           | 64 MiB     | 128..136      | 127..136                 | VmHWM  |
      | features/forms.feature:7  | passed | -           | 64 MiB     | 128..136      | 0..8                     | VmHWM  |
      | features/forms.feature:11 | failed | 64 MiB      | -          | 128..136      | 0..8                     | VmHWM  |
      | features/forms.feature:15 | failed | 64 MiB      | 64 MiB     | 128..136      | 0..8                     | VmHWM  |
      | features/forms.feature:18 | passed | -           | -          | -             | -                        | -      |
    And the last line is "scenarios: 2 passed, 3 failed, 0 skipped"

  Scenario: a spike freed at once is caught in full by a resident budget where the kernel's high-water mark can be reset
    Given the kernel's resident high-water mark can be reset here
    And a feature file "spike.feature":
      """
      Feature: spike
        @memory_budget_rss_64MiB
        Scenario: 200 MiB for an instant
          Given it touches 200 MiB and frees it at once
      """
    When I run the runner with "--json report.json"
    Then the exit code is 1
    And the output contains "failed    features/spike.feature:3  200 MiB for an instant  -- peak resident growth "
    And the report "report.json" has these memory figures:
      | location                 | status | heap budget | rss budget | peak heap MiB | peak resident growth MiB | source |
      | features/spike.feature:3 | failed | -           | 64 MiB     | 200..208      | 199..208                 | VmHWM  |

  Scenario: a budget is not charged for what earlier features on the same worker left resident
    Given the kernel's resident high-water mark can be reset here
    And a feature file "a_heavy.feature":
      """
      Feature: heavy
        Scenario: leaves 128 MiB behind after a 256 MiB spike
          Given it touches 256 MiB and frees it at once
          And it leaves 128 MiB resident for the features after it
      """
    And a feature file "b_budgeted.feature":
      """
      Feature: budgeted
        @memory_budget_64MiB
        Scenario: needs 40 MiB
          Given it touches 40 MiB and keeps it
      """
    When I run the runner with "-j 1 --json report.json"
    Then the exit code is 0
    And the output contains these lines in order
      | line                                 |
      | features/a_heavy.feature  passed     |
      | features/b_budgeted.feature  passed  |
    And the report "report.json" has these memory figures:
      | location                      | status | heap budget | rss budget | peak heap MiB | peak resident growth MiB | source |
      | features/b_budgeted.feature:3 | passed | 64 MiB      | 64 MiB     | 40..48        | 39..48                   | VmHWM  |

  Scenario: a budget that cannot be measured (memray already tracks the worker) errors its scenario
    Given the suite's environment:
      """
      import os
      import tempfile
      import memray

      def before_feature(context, feature):
          context.capture_dir = tempfile.TemporaryDirectory()
          context.tracker = memray.Tracker(os.path.join(context.capture_dir.name, "own.bin"))
          context.tracker.__enter__()

      def after_feature(context, feature):
          context.tracker.__exit__(None, None, None)
          context.capture_dir.cleanup()
      """
    And a feature file "tracked.feature":
      """
      Feature: tracked by the suite itself
        @memory_budget_64MiB
        Scenario: cannot be measured
          Given it passes
      """
    When I run the runner with "--json report.json"
    Then the exit code is 1
    And the output contains "errored   features/tracked.feature:3  cannot be measured  -- cannot check the memory budget of features/tracked.feature:3: No more than one Tracker instance can be active at the same time"
    And the report "report.json" has these memory figures:
      | location                   | status  | heap budget | rss budget | peak heap MiB | peak resident growth MiB | source |
      | features/tracked.feature:3 | errored | -           | -          | -             | -                        | -      |

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
