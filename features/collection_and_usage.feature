Feature: Features are collected as behave collects them; bad input gets one clear line and exit 2

  Background:
    Given the suite's steps:
      """
      from behave import step

      @step("it passes")
      def passes(context):
          with open("ran.log", "a") as log:
              log.write(context.scenario.name + "\n")

      @step("it fails")
      def fails(context):
          assert False, "it failed"
      """
    And a feature file "alpha.feature":
      """
      @smoke
      Feature: alpha
        Scenario: alpha one
          Given it passes

        @slow
        Scenario: alpha two
          Given it passes
      """
    And a feature file "sub/beta.feature":
      """
      Feature: beta
        Scenario: beta one
          Given it passes

        Scenario: beta two
          Given it fails
      """

  Scenario Outline: behave's selection options select the same scenarios as plain behave: <args>
    When I run the runner with "<args>"
    Then the exit code is <code>
    And the last line is "<verdict>"
    And the runner's outcome equals plain behave's for "<args>"

    Examples:
      | args                                 | code | verdict                               |
      | features                             | 1    | scenarios: 3 passed, 1 failed, 0 skipped |
      | -t @smoke                            | 0    | scenarios: 2 passed, 0 failed, 2 skipped |
      | -t "not @slow" features              | 1    | scenarios: 2 passed, 1 failed, 1 skipped |
      | -n "one"                             | 0    | scenarios: 2 passed, 0 failed, 2 skipped |
      | features/sub/beta.feature:2          | 0    | scenarios: 1 passed, 0 failed, 1 skipped |
      | -i beta                              | 1    | scenarios: 1 passed, 1 failed, 0 skipped |
      | -e beta                              | 0    | scenarios: 2 passed, 0 failed, 0 skipped |
      | --dry-run                            | 0    | scenarios: 0 passed, 0 failed, 4 skipped |
      | -t @nonexistent                      | 0    | scenarios: 0 passed, 0 failed, 4 skipped |

  Scenario: behave.ini is honoured
    Given a file "behave.ini":
      """
      [behave]
      default_tags = not @slow
      """
    When I run the runner without arguments
    Then the last line is "scenarios: 2 passed, 1 failed, 1 skipped"

  Scenario: --stop stops scheduling after the first failure and reports the rest as not run
    Given a feature file "sub/gamma.feature":
      """
      Feature: gamma
        Scenario: gamma one
          Given it passes
      """
    When I run the runner with "-j 1 --stop features/sub"
    Then the exit code is 1
    And the output contains "run stopped early: --stop after the first failure"
    And the output contains "features/sub/gamma.feature"
    And the last line is "scenarios: 1 passed, 1 failed, 1 skipped"

  Scenario: feature files that do not parse are all reported before any worker starts
    Given a feature file "broken_one.feature":
      """
      Feature: broken one
        Scenario: fine so far
          Given it passes
        This line is not Gherkin
      """
    And a feature file "broken_two.feature":
      """
      Feature: broken two
        Scenario Outline: no examples
          Given it <x>
          Examples:
            | x |
            | passes | extra |
      """
    When I run the runner without arguments
    Then the exit code is 2
    And stderr contains "features/broken_one.feature:4: "
    And stderr contains "features/broken_two.feature:6: "
    And stderr contains "2 problem(s) found while collecting features; no feature was run"
    And the output has no traceback
    And the file "ran.log" does not exist

  Scenario Outline: bad input is one line on stderr and exit code 2: <case>
    When I run the runner with "<args>"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "<message>"
    And no process of the run is left

    Examples:
      | case                | args                        | message                                                  |
      | unknown option      | --no-such-option            | unrecognized arguments: --no-such-option                 |
      | bad size            | --max-output 10XB           | --max-output: invalid value '10XB'                       |
      | zero size           | --show-output 0             | --show-output: invalid value '0'                         |
      | scientific size     | --max-spill 1e3             | --max-spill: invalid value '1e3'                         |
      | negative size       | --max-output=-5             | --max-output: invalid value '-5'                         |
      | zero jobs           | -j 0                        | --jobs: invalid value '0'                                |
      | bad timeout         | --timeout soon              | --timeout: invalid value 'soon'                          |
      | nonexistent path    | features/nope.feature       | features/nope.feature: no such file or directory         |
      | not a feature file  | features/steps/steps.py     | features/steps/steps.py: not a feature file (a path must end in .feature) |
      | more outfiles than formats | -f plain -o a.txt -o b.txt | CONFIG-ERROR: More outfiles (2) than formatters (1).     |
      | bad keep policy     | --keep middle               | --keep: invalid value 'middle': expected one of: head, tail, both |
      | option without value | --timeout                  | argument --timeout: expected one argument                |
      | bad tag expression  | -t "@a and"                 | TagExpressionError                                       |
      | bad module name     | --preimport 9lives          | --preimport: invalid value '9lives': '9lives' is not a module name |
      | bad restart count   | --max-worker-restarts -1    | --max-worker-restarts: invalid value '-1'                |
      | conflicting spill   | --no-spill --max-spill 1MiB | conflicting options: --max-spill has no effect with --no-spill |
      | conflicting keep    | --max-output unlimited --keep tail | conflicting options: --keep has no effect with --max-output unlimited |

  Scenario: an empty directory is a usage error
    Given a file "empty/features/steps/__init__.py":
      """
      """
    When I run the runner with "empty/features"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "No feature files in"

  Scenario: a steps module that raises on import is reported with its file and line
    Given a file "features/steps/broken_steps.py":
      """
      from behave import step

      raise ImportError("no such thing")
      """
    When I run the runner with "-j 2"
    Then the exit code is 2
    And stderr contains "features/steps/broken_steps.py:3: loading the suite raised ImportError: no such thing"
    And the output has no traceback
    And the file "ran.log" does not exist
    And no process of the run is left

  Scenario: before_all that raises is reported with its file and line
    Given the suite's environment:
      """
      def before_all(context):
          context.config.setup_logging()
          raise RuntimeError("database is down")
      """
    When I run the runner with "-j 2"
    Then the exit code is 2
    And stderr contains "features/environment.py:3: before_all hook raised RuntimeError: database is down"
    And the file "ran.log" does not exist
    And no process of the run is left

  Scenario: a feature file that is not UTF-8 is reported with its path
    Given a file "features/latin1.feature" with bytes "Feature: caf\xe9\n"
    When I run the runner without arguments
    Then the exit code is 2
    And stderr contains "features/latin1.feature:0: cannot read: "
