Feature: Features run in parallel worker processes and every result is reported

  Background:
    Given the suite's steps:
      """
      import os
      from behave import step

      @step("it passes")
      def passes(context):
          print("output of a passing step")

      @step("it fails")
      def fails(context):
          print("output of a failing step")
          assert 1 == 2, "one is not two"

      @step("it raises {name}")
      def raises(context, name):
          raise {"ValueError": ValueError, "KeyError": KeyError}[name]("boom")
      """

  Scenario: a passing suite reports every feature and ends with the verdict line
    Given 5 passing features
    When I run the runner with "-j 2"
    Then the exit code is 0
    And the output contains "features/pass_000.feature  passed"
    And the output contains "features/pass_004.feature  passed"
    And the output contains "wall time"
    And the output contains "2 worker(s)"
    And the output does not contain "output of a passing step"
    And the last line is "scenarios: 5 passed, 0 failed, 0 skipped"
    And no process of the run is left

  Scenario: a failing feature shows behave's report, the passing ones stay quiet
    Given a feature file "good.feature":
      """
      Feature: good
        Scenario: quiet
          Given it passes
      """
    And a feature file "bad.feature":
      """
      Feature: bad
        Scenario: loud
          Given it passes
          When it fails
          Then it passes
      """
    When I run the runner with "-j 2"
    Then the exit code is 1
    And the output contains "features/bad.feature  failed"
    And the output contains "one is not two"
    And the output contains "output of a failing step"
    And the output contains "failed    features/bad.feature:2  loud"
    And the output contains "scenarios by status: 1 passed, 1 failed, 0 errored, 0 skipped, 0 undefined"
    And the last line is "scenarios: 1 passed, 1 failed, 0 skipped"

  Scenario: an unexpected exception is errored, an undefined step is undefined; both fail the run
    Given a feature file "mixed.feature":
      """
      Feature: mixed
        Scenario: raises
          Given it raises ValueError
        Scenario: undefined
          Given a step nobody wrote
        Scenario: fine
          Given it passes
      """
    When I run the runner with "-j 1"
    Then the exit code is 1
    And the output contains "errored   features/mixed.feature:2  raises"
    And the output contains "undefined features/mixed.feature:4  undefined"
    And the output contains "1 passed, 0 failed, 1 errored, 0 skipped, 1 undefined"
    And the last line is "scenarios: 1 passed, 2 failed, 0 skipped"

  Scenario: outline rows count one scenario each
    Given a feature file "outline.feature":
      """
      Feature: outline
        Scenario Outline: row <n>
          Given it <what>
          Examples:
            | n | what   |
            | 1 | passes |
            | 2 | fails  |
            | 3 | passes |
      """
    When I run the runner without arguments
    Then the exit code is 1
    And the output contains "failed    features/outline.feature:7  row 2 -- @1.2"
    And the last line is "scenarios: 2 passed, 1 failed, 0 skipped"

  Scenario: before_all and after_all run once per worker, the other hooks once per feature
    Given 6 passing features
    And the suite's environment:
      """
      import os

      def before_all(context):
          with open("before_all.log", "a") as log:
              log.write(f"{os.getpid()}\n")

      def after_all(context):
          with open("after_all.log", "a") as log:
              log.write(f"{os.getpid()}\n")

      def before_feature(context, feature):
          with open("before_feature.log", "a") as log:
              log.write(f"{feature.name}\n")
      """
    When I run the runner with "-j 2"
    Then the exit code is 0
    And the file "before_all.log" has 2 lines with 2 distinct values
    And the file "after_all.log" has 2 lines with 2 distinct values
    And the file "before_feature.log" has 6 lines with 6 distinct values

  Scenario: -j 1 still runs the feature in a worker process
    Given a feature file "pid.feature":
      """
      Feature: pid
        Scenario: records its process
          Given it records its process id
      """
    And a file "features/steps/pid_steps.py":
      """
      import os
      from behave import step

      @step("it records its process id")
      def record(context):
          with open("pid.log", "w") as log:
              log.write(f"{os.getpid()} {os.getppid()}")
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the step ran in a child of the runner process

  Scenario: the console shows at most --show-output of a failing feature, the tail first
    Given a feature file "noisy.feature":
      """
      Feature: noisy
        Scenario: prints a lot, then fails
          Given it prints 3000 numbered lines
          Then it fails
      """
    And a file "features/steps/noisy_steps.py":
      """
      from behave import step

      @step("it prints {count:d} numbered lines")
      def numbered(context, count):
          for number in range(count):
              print(f"noisy line {number:05d}")
      """
    When I run the runner with "--no-capture --show-output 2KiB"
    Then the exit code is 1
    And the output contains "bytes above not shown"
    And the output contains "one is not two"
    And the output does not contain "noisy line 00010"
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"

  Scenario: the summary lists at most 100 failing scenarios and counts the rest
    Given a feature file "many.feature" with an outline of 120 failing rows
    When I run the runner without arguments
    Then the exit code is 1
    And the output contains "... and 20 more"
    And the last line is "scenarios: 0 passed, 120 failed, 0 skipped"

  Scenario: a huge assertion message takes one short line in the summary
    Given a feature file "huge.feature":
      """
      Feature: huge
        Scenario: huge message
          Given it fails with a message of 100000 characters
      """
    And a file "features/steps/huge_steps.py":
      """
      from behave import step

      @step("it fails with a message of {size:d} characters")
      def huge(context, size):
          assert False, "START" + "x" * size + "END"
      """
    When I run the runner without arguments
    Then the exit code is 1
    And the summary line of "huge message" is shorter than 400 characters
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"

  Scenario: behave's formatter, JUnit reporter and hooks work as in plain behave
    Given a feature file "bad.feature":
      """
      Feature: bad
        Scenario: loud
          Given it fails
      """
    And a feature file "good.feature":
      """
      Feature: good
        Scenario: quiet
          Given it passes
      """
    When I run the runner with "-f plain --junit --junit-directory junit"
    Then the exit code is 1
    And the output contains "Given it fails ... failed in"
    And the file "junit/TESTS-bad.xml" exists
    And the file "junit/TESTS-good.xml" exists
    And the file "junit/TESTS-good.xml" contains "output of a passing step"

  Scenario: a hook error in a scenario is errored, never failed
    Given a feature file "hooked.feature":
      """
      Feature: hooked
        Scenario: its before_scenario hook raises
          Given it passes
      """
    And the suite's environment:
      """
      def before_scenario(context, scenario):
          raise AssertionError("the hook is broken")
      """
    When I run the runner without arguments
    Then the exit code is 1
    And the output contains "errored   features/hooked.feature:2  its before_scenario hook raises"

  Scenario: a cleanup registered in before_all that fails is reported after the run
    Given the suite's environment:
      """
      def before_all(context):
          def broken_cleanup():
              raise RuntimeError("cannot drop the database")
          context.add_cleanup(broken_cleanup)
      """
    And 2 passing features
    When I run the runner with "-j 1"
    Then the exit code is 1
    And the output contains "cleanup after all features raised RuntimeError: cannot drop the database"
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: cleanup after all features failed in worker 1"
