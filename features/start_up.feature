Feature: Start-up loads only what the command needs

  A one-feature run should cost little more than plain behave's, and `--help`, `--version` and
  `validate-tags` are what a developer and a pre-commit hook run all day. Python's own import
  trace (PYTHONPROFILEIMPORTTIME) of the real command shows what each one loads: none of them
  loads behave's runner or tqdm, and a run loads a report's module only when it writes it.

  Background:
    Given 1 passing features
    And the environment variable PYTHONPROFILEIMPORTTIME is "1"

  Scenario Outline: "behave-bounded <command>" loads neither behave's runner nor tqdm
    When I run the runner with "<command>"
    Then the exit code is 0
    And the runner imported "behave_bounded.cli"
    And the runner imported none of "behave.runner, tqdm, behave_bounded.run, behave_bounded.supervisor"

    Examples:
      | command                |
      | --version              |
      | --help                 |
      | validate-tags features |

  Scenario: a run without report options loads no report writer, no tqdm off a terminal
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the runner imported "behave_bounded.supervisor"
    And the runner imported none of "tqdm, behave_bounded.reports.json, behave_bounded.reports.junit, behave_bounded.reports.html, behave.reporter.junit, statistics, uuid"

  Scenario: a run loads the report writers it was asked for
    When I run the runner with "-j 1 --json run.json --junit-xml run.xml --junit"
    Then the exit code is 0
    And the runner imported "behave_bounded.reports.json"
    And the runner imported "behave_bounded.reports.junit"
    And the runner imported "behave.reporter.junit"
