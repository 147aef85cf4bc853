Feature: --random-order shuffles the task order by a seed that is printed, and --random-seed S runs that order again

  As pytest-randomly does for pytest: a test that passes only after another one (shared state,
  an order dependency) fails in some order, and the seed that made it is named on the first
  line, before the verdict and in the reports, so `--random-seed S` reproduces it. The shuffle
  starts from collection order, so the seed alone (not the durations a machine recorded) makes
  the order; it replaces longest first. @serial tasks still run after the rest.

  Background:
    Given the suite's steps:
      """
      from behave import step

      @step("it records its place")
      def records(context):
          with open("order.log", "a") as log:
              log.write(f"{context.feature.filename} {context.scenario.name}\n")
      """
    And 8 features that record their place

  Scenario: the same seed gives the same order, another seed another, and neither is file order
    When I run the runner with "-j 1 --random-seed 7" and note the order
    And I run the runner with "-j 1 --random-seed 7" and note the order
    And I run the runner with "-j 1 --random-seed 8" and note the order
    And I run the runner with "-j 1" and note the order
    Then the orders of "-j 1 --random-seed 7" were the same each time, and every feature ran once
    And the orders of "-j 1 --random-seed 7" and "-j 1 --random-seed 8" differ
    And the order of "-j 1 --random-seed 7" is not the order of "-j 1"
    And the output does not contain "random order:"

  Scenario: --random-order alone names a fresh seed first and before the verdict, records it in the reports, and the seed runs that order again
    When I run the runner with "-j 1 --random-order --json run.json --junit-xml run.xml" and note the order
    Then the first line and the line before the last are "random order: --random-seed S", the same S
    And the JSON report "run.json" and the JUnit report "run.xml" record that seed
    When I run the runner with the seed it named and note the order
    Then that order is the order of "-j 1 --random-order --json run.json --junit-xml run.xml"

  Scenario: with --scheme scenario the scenarios of all features are shuffled together
    Given a feature file "many.feature":
      """
      Feature: many
        Scenario: one
          Given it records its place
        Scenario: two
          Given it records its place
        Scenario: three
          Given it records its place
        Scenario: four
          Given it records its place
      """
    When I run the runner with "-j 1 --scheme scenario --random-seed 1" and note the order
    And I run the runner with "-j 1 --scheme scenario --random-seed 1" and note the order
    Then the orders of "-j 1 --scheme scenario --random-seed 1" were the same each time, and every feature ran once
    And in that order the scenarios of "features/many.feature" are not next to each other

  Scenario: @serial features still run after all the others, alone
    Given a feature file "serial_a.feature":
      """
      @serial
      Feature: serial a
        Scenario: serial a
          Given it records its place
      """
    And a feature file "serial_b.feature":
      """
      @serial
      Feature: serial b
        Scenario: serial b
          Given it records its place
      """
    When I run the runner with "-j 2 --random-seed 11 --json run.json" and note the order
    Then the exit code is 0
    And in the JSON report "run.json" the tasks of "features/serial_a.feature" and "features/serial_b.feature" started after every other task ended, one after the other

  Scenario: --no-random-order with a seed is refused, naming both
    When I run the runner with "--no-random-order --random-seed 3"
    Then the exit code is 2
    And stderr contains "conflicting options: --random-seed has no effect with --no-random-order"

  Scenario: the shuffle is a permutation of the tasks, made from collection order by the seed alone
    Then for any suite and seed, the shuffled tasks are a permutation of the tasks, the same for the same seed whatever order they come in, with the serial ones apart
