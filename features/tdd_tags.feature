Feature: TDD tags are validated before a run, expected failures are inverted, memory has a budget

  A scenario written for a tracked issue is tagged @tdd_issue @tdd_issue_<N>; while the bug is
  not fixed it is also tagged @tdd_expected_fail (or behave's @xfail). `behave-bounded
  validate-tags` finds every malformed tag at once with behave's parser alone. A scenario
  tagged @memory_budget_<SIZE> fails when its peak heap (memray) or its peak resident growth
  (the kernel's VmHWM, or memray's samples) exceeds SIZE; the tags @memory_budget_heap_<SIZE>
  and @memory_budget_rss_<SIZE> judge one of the two.

  Scenario: every malformed TDD tag is reported at once, as path:line: message with a hint
    Given a feature file "bad.feature":
      """
      Feature: bad tags

        @tdd_isue_12
        Scenario: misspelled issue tag
          Given a step

        @tdd_issue_ @tdd_issue_abc
        Scenario: issue tags without a number
          Given a step

        @tdd_issue @tdd_issue_3 @tdd_expected_failure
        Scenario: misspelled expected failure
          Given a step

        @tdd_issue_5
        Scenario: an issue number without @tdd_issue
          Given a step

        @tdd_expected_fail
        Scenario: an expected failure without its issue
          Given a step

        @tdd_issue
        Scenario Outline: a parametrized issue tag, row <issue>
          Given a step

          @tdd_issue_<issue>
          Examples:
            | issue |
            | 4     |
            | abc   |
      """
    And a feature file "good.feature":
      """
      @tdd_issue @tdd_issue_8
      Feature: good tags
        @tdd_expected_fail
        Scenario: reproduces issue 8
          Given a step

        @xfail
        Scenario: expected to fail without an issue
          Given a step
      """
    When I run the runner with "validate-tags features"
    Then the exit code is 2
    And validate-tags reported exactly these problems:
      | problem                                                                                                                                    |
      | features/bad.feature:4: unknown TDD tag @tdd_isue_12: did you mean @tdd_issue_12?                                                          |
      | features/bad.feature:8: unknown TDD tag @tdd_issue_: did you mean @tdd_issue_<N> with the issue number in digits, or @tdd_issue?           |
      | features/bad.feature:8: unknown TDD tag @tdd_issue_abc: did you mean @tdd_issue_<N> with the issue number in digits, or @tdd_issue?        |
      | features/bad.feature:12: unknown TDD tag @tdd_expected_failure: did you mean @tdd_expected_fail?                                           |
      | features/bad.feature:16: @tdd_issue_5 needs @tdd_issue as well (@tdd_issue @tdd_issue_5)                                                   |
      | features/bad.feature:20: @tdd_expected_fail needs @tdd_issue and @tdd_issue_<N> (the issue the scenario reproduces); missing: @tdd_issue, @tdd_issue_<N> |
      | features/bad.feature:31: unknown TDD tag @tdd_issue_abc: did you mean @tdd_issue_<N> with the issue number in digits, or @tdd_issue?       |
    And stderr contains "validate-tags: 2 feature files, 9 scenarios, 7 problems"

  Scenario: tags inherited from the Feature, a Rule and an Examples table satisfy the rules
    Given a feature file "inherited.feature":
      """
      @tdd_issue @tdd_issue_7
      Feature: the issue tags are on the feature
        Scenario Outline: reproduces issue 7 with <n>
          Given a step

          @tdd_expected_fail
          Examples:
            | n |
            | 1 |
            | 2 |

        @tdd_issue_9
        Rule: the rule names another issue
          @tdd_expected_fail
          Scenario: reproduces issue 9
            Given a step
      """
    And a feature file "orphan.feature":
      """
      Feature: the same Examples tag, but nothing to inherit the issue from
        Scenario Outline: orphan <n>
          Given a step

          @tdd_expected_fail
          Examples:
            | n |
            | 1 |
            | 2 |
      """
    When I run the runner with "validate-tags features/inherited.feature features/orphan.feature"
    Then the exit code is 2
    And validate-tags reported exactly these problems:
      | problem                                                                                                                                     |
      | features/orphan.feature:8: @tdd_expected_fail needs @tdd_issue and @tdd_issue_<N> (the issue the scenario reproduces); missing: @tdd_issue, @tdd_issue_<N> |
      | features/orphan.feature:9: @tdd_expected_fail needs @tdd_issue and @tdd_issue_<N> (the issue the scenario reproduces); missing: @tdd_issue, @tdd_issue_<N> |
    And stderr contains "validate-tags: 2 feature files, 5 scenarios, 2 problems"

  Scenario: validate-tags reads the effective tags behave would run with, outline rows included
    Given a feature file "tricky.feature":
      """
      @tdd_issue
      Feature: every way a tag reaches a scenario
        Background:
          Given a step

        @smoke
        Scenario: plain
          Given a step

        @tdd_issue_<issue> @row_<row.id>
        Scenario Outline: parametrized <issue>
          Given a step with <issue>

          @tdd_expected_fail
          Examples: first
            | issue |
            | 3     |
            | 4     |

        Scenario Outline: not parametrized <n>
          Given a step with <n>

          @tdd_issue_#5 @Examples_tag
          Examples:
            | n |
            | 1 |

          Examples: untagged
            | n |
            | 2 |
            | 3 |

        @tdd_issue_9
        Rule: a rule
          @xfail
          Scenario Outline: in the rule <n>
            Given a step with <n>

            @wip
            Examples:
              | n |
              | 1 |
      """
    Then validate-tags sees the 7 scenarios with the tags behave walks in "features/tricky.feature"

  Scenario: a clean suite passes, and validate-tags never imports step code or environment.py
    Given the suite's steps:
      """
      open("imported.log", "a").close()
      raise RuntimeError("step code must not be imported by validate-tags")
      """
    And the suite's environment:
      """
      open("imported.log", "a").close()
      raise RuntimeError("environment.py must not be imported by validate-tags")
      """
    And a feature file "clean.feature":
      """
      @tdd_issue @tdd_issue_12
      Feature: clean
        @tdd_expected_fail @memory_budget_64MiB
        Scenario: reproduces issue 12 within 64 MiB
          Given a step

        Scenario: an ordinary scenario
          Given a step
      """
    When I run the runner with "validate-tags"
    Then the exit code is 0
    And the last line is "validate-tags: 1 feature file, 2 scenarios, no problems"
    And the file "imported.log" does not exist

  Scenario: a file that does not parse or does not exist is a problem too, reported with the others
    Given a feature file "broken.feature":
      """
      Feature: broken
        Scenario: one
          Given a step
        this line is not Gherkin
      """
    And a feature file "typo.feature":
      """
      Feature: typo
        @tdd_expected_failure @tdd_issue_#12 @TDD_ISSUE
        Scenario: one
          Given a step
      """
    When I run the runner with "validate-tags features/broken.feature features/typo.feature:3 missing.feature"
    Then the exit code is 2
    And validate-tags reported exactly these problems:
      | problem                                                                                            |
      | missing.feature:0: no such file or directory                                                       |
      | features/broken.feature:4: Parser failure in state=steps at line 4: "this line is not Gherkin"     |
      | features/typo.feature:3: unknown TDD tag @TDD_ISSUE: did you mean @tdd_issue? (tags are case-sensitive) |
      | features/typo.feature:3: unknown TDD tag @tdd_expected_failure: did you mean @tdd_expected_fail?   |
      | features/typo.feature:3: unknown TDD tag @tdd_issue_#12: did you mean @tdd_issue_12?               |
    And stderr contains "validate-tags: 2 feature files, 1 scenario, 5 problems"

  Scenario: a memory budget tag has one of three forms and a valid size; a typo gets a hint
    Given a feature file "budget.feature":
      """
      Feature: budgets
        @memory_budget_lots
        Scenario: no size
          Given a step

        @memory_budget_64MiB @memory_budget_heap_32MiB @memory_budget_rss_1GiB
        Scenario: the three forms
          Given a step

        @memory_budget_rs_64MiB @memory_budget_peak_64MiB @memory_buget_64MiB
        Scenario: misspelled
          Given a step

        @Memory_Budget_64MiB @memory_budget_RSS_64MiB @memory_budget64MiB
        Scenario: the wrong case and a missing underscore
          Given a step

        @memory_budget_heap_0 @memory_budget @memory_budget_rss_ @memory_64MiB @budget_64MiB
        Scenario: no valid size, no size at all, and tags that are no budget
          Given a step
      """
    When I run the runner with "validate-tags features"
    Then the exit code is 2
    And validate-tags reported exactly these problems:
      | problem                                                                                                                           |
      | features/budget.feature:3: invalid memory budget tag @memory_budget_lots: 'lots': expected a positive size such as 4096, 512KiB, 10MiB or 1GiB |
      | features/budget.feature:11: unknown memory budget tag @memory_budget_peak_64MiB: did you mean @memory_budget_heap_64MiB?          |
      | features/budget.feature:11: unknown memory budget tag @memory_budget_rs_64MiB: did you mean @memory_budget_rss_64MiB?             |
      | features/budget.feature:11: unknown memory budget tag @memory_buget_64MiB: did you mean @memory_budget_64MiB?                     |
      | features/budget.feature:15: unknown memory budget tag @Memory_Budget_64MiB: did you mean @memory_budget_64MiB? (tags are case-sensitive) |
      | features/budget.feature:15: unknown memory budget tag @memory_budget64MiB: did you mean @memory_budget_64MiB?                     |
      | features/budget.feature:15: unknown memory budget tag @memory_budget_RSS_64MiB: did you mean @memory_budget_rss_64MiB? (tags are case-sensitive) |
      | features/budget.feature:19: malformed memory budget tag @memory_budget: expected @memory_budget_<SIZE>, @memory_budget_heap_<SIZE> or @memory_budget_rss_<SIZE>, e.g. @memory_budget_64MiB |
      | features/budget.feature:19: invalid memory budget tag @memory_budget_heap_0: '0': a size must be greater than 0                  |
      | features/budget.feature:19: invalid memory budget tag @memory_budget_rss_: 'rss_': expected a positive size such as 4096, 512KiB, 10MiB or 1GiB |
    And stderr contains "validate-tags: 1 feature file, 5 scenarios, 10 problems"

  Scenario: without memray a memory budget tag is an error that names the extra to install
    Given a file "hidden/memray.py":
      """
      raise ImportError("memray is hidden for this test")
      """
    And the environment variable PYTHONPATH is "hidden"
    And a feature file "budget.feature":
      """
      Feature: budgets
        @memory_budget_64MiB
        Scenario: a size
          Given a step

        @memory_budget_rss_64MiB
        Scenario: a resident budget needs memray too
          Given a step
      """
    When I run the runner with "validate-tags features"
    Then the exit code is 2
    And validate-tags reported exactly these problems:
      | problem                                                                                              |
      | features/budget.feature:3: @memory_budget_64MiB needs memray: pip install 'behave-bounded[memory]'     |
      | features/budget.feature:7: @memory_budget_rss_64MiB needs memray: pip install 'behave-bounded[memory]' |

  Scenario: the pre-commit hook checks the staged feature files it is given
    Given a feature file "staged.feature":
      """
      Feature: staged
        @tdd_isue_3
        Scenario: one
          Given a step
      """
    And a feature file "unstaged.feature":
      """
      Feature: unstaged
        @tdd_isue_4
        Scenario: one
          Given a step
      """
    When pre-commit runs the hook on the staged files "features/staged.feature" and "README.md"
    Then the exit code is 2
    And validate-tags reported exactly these problems:
      | problem                                                                              |
      | features/staged.feature:3: unknown TDD tag @tdd_isue_3: did you mean @tdd_issue_3? |

  Scenario Outline: an expected failure is inverted only when an assertion failed: <case>
    When a scenario tagged "<tags>" ends <before> with error "<error>" and message "<message>"
    Then classify with strict=<strict> makes it <after> with message "<result>"

    Examples:
      | case              | tags                                        | before  | error          | message | strict | after   | result                                                                                                             |
      | xfail by issue    | @tdd_issue @tdd_issue_42 @tdd_expected_fail | failed  | AssertionError | boom    | True   | xfailed | issue #42: expected failure: boom                                                                                  |
      | xfail, no issue   | @xfail                                      | failed  | AssertionError | boom    | True   | xfailed | boom                                                                                                               |
      | xpass by issue    | @tdd_issue @tdd_issue_42 @tdd_expected_fail | passed  | -              | -       | True   | xpassed | issue #42: scenario passed but is tagged @tdd_expected_fail: the bug appears fixed; remove the tag                 |
      | xpass, no issue   | @xfail                                      | passed  | -              | -       | True   | xpassed | scenario passed but is tagged @xfail: the bug appears fixed; remove the tag                                        |
      | lenient xpass     | @tdd_issue @tdd_issue_42 @tdd_expected_fail | passed  | -              | -       | False  | passed  | warning: issue #42: scenario passed but is tagged @tdd_expected_fail: the bug appears fixed; remove the tag        |
      | crash stays error | @tdd_issue @tdd_issue_42 @tdd_expected_fail | failed  | KeyError       | 'k'     | True   | errored | issue #42: tagged @tdd_expected_fail but failed with KeyError; only an AssertionError is an expected failure\n'k' |
      | undefined step    | @xfail                                      | undefined | -            | -       | True   | errored | tagged @xfail but has undefined steps; only an AssertionError is an expected failure                               |
      | not tagged        | @tdd_issue @tdd_issue_42                    | failed  | AssertionError | boom    | True   | failed  | boom                                                                                                               |
      | skipped           | @xfail                                      | skipped | -              | -       | True   | skipped | -                                                                                                                  |

  Scenario: classify keeps the TDD rules for every combination (Hypothesis)
    Then classify follows the TDD rules for any status, error type, tags and strictness

  Scenario: a block over its heap budget fails, naming the largest allocation sites
    When a block allocating 32 MiB runs under a heap budget of 8 MiB
    Then the budget check fails naming this steps file and the allocation line first

  Scenario: a block within its heap budget passes
    When a block allocating 32 MiB runs under a heap budget of 256 MiB
    Then the budget check passes with a peak heap of at least 32 MiB
    And measure_peak of the same block reports at least 32 MiB

  Scenario Outline: where the kernel's high-water mark cannot be used, memray's samples measure resident growth: <case>
    Given a /proc directory for this process where <case>
    When a block that touches 128 MiB for 100 ms runs under a resident budget of 64 MiB measured there
    Then the budget check fails by a peak resident growth of 128 MiB from "memray samples"

    Examples:
      | case                                            |
      | clear_refs does not exist                       |
      | writing clear_refs leaves VmHWM unchanged       |
      | there is no status file                         |
      | the status file vanishes before the block ends  |
      | the status file has no VmHWM line               |

  Scenario Outline: budget tags combine: the smallest size of each kind wins, a bad size is ignored (<tags>)
    Then the budget of a scenario tagged "<tags>" is heap <heap> and resident <rss>

    Examples:
      | tags                                                  | heap  | rss   |
      | @memory_budget_64MiB                                  | 64MiB | 64MiB |
      | @memory_budget_heap_1GiB                              | 1GiB  | -     |
      | @memory_budget_rss_8MiB @memory_budget_lots           | -     | 8MiB  |
      | @memory_budget_64MiB @memory_budget_rss_32MiB         | 64MiB | 32MiB |
      | @memory_budget_64MiB @memory_budget_heap_1GiB @smoke  | 64MiB | 64MiB |
      | @memory_budget_lots @smoke                            | -     | -     |

  Scenario: a child process's peak heap is measured with memray
    Given a child process that allocates 50 MiB and exits with code 3
    When the child runs under memray
    Then memray reports the child's exit code 3 and a peak heap of at least 50 MiB

  Scenario: a forked worker of the child is measured on its own
    Given a child process whose forked worker allocates 60 MiB
    When the child runs under memray
    Then memray reports a forked worker's peak heap of at least 60 MiB, the child's below 16 MiB

  Scenario: validate-tags reports paths it cannot check, and does not loop on a symlink cycle
    Given a feature file "odd.feature":
      """
      Feature: odd
        @tdd_xyz
        Scenario: one
          Given a step
      """
    And a file "features/notes.txt" with bytes "not a feature\n"
    And a file "features/latin1.feature" with bytes "Feature: caf\xe9\n"
    And a symlink "features/loop" to "."
    When I run the runner with "validate-tags features features/notes.txt"
    Then the exit code is 2
    And stderr contains "features/notes.txt:0: not a feature file (the name must end in .feature)"
    And stderr contains "features/latin1.feature:0: cannot read: "
    And stderr contains "features/odd.feature:3: unknown TDD tag @tdd_xyz: valid TDD tags are @tdd_issue, @tdd_issue_<N>, @tdd_expected_fail"

  Scenario Outline: validate-tags answers <args> like any command line tool
    When I run the runner with "validate-tags <args>"
    Then the exit code is <code>
    And the output or stderr contains "<text>"

    Examples:
      | args     | code | text                               |
      | --help   | 0    | usage:                             |
      | --bogus  | 2    | unrecognized arguments: --bogus    |
