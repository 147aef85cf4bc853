Feature: The CI files in ci/ work as they are: every behave-bounded command in them is run

  The pipelines of ci/ run here as their CI would run them (features/steps/ci_emulators.py):
  each job in a fresh workspace with a checkout of a generated suite, with the values the CI
  substitutes or sets (GitHub's matrix values, GitLab's CI_NODE_INDEX and CI_NODE_TOTAL), the
  caches and artifacts moved between jobs as the files declare them. Only the lines that
  install the runner are skipped; an action, expression or keyword the emulators do not know
  fails the scenario, so the files cannot grow past what is checked here.

  Scenario Outline: <file> parses as YAML
    Then the CI file "<file>" parses as YAML

    Examples:
      | file                      |
      | ci/github-actions.yml     |
      | ci/gitlab-ci.yml          |
      | ci/pre-commit-config.yaml |

  Scenario: GitHub Actions: the matrix shards partition the suite and the merge job merges them
    Given a suite for the CI files: 9 features, one of which fails and prints 1 MiB
    When the GitHub Actions workflow "ci/github-actions.yml" runs on the suite
    Then every behave-bounded command of the file ran
    And the job "features" ran 4 times, each with shard K of 4 for K = 1 to 4
    And each job "features" said its shard came from "--shard {matrix_shard}/{strategy_job_total}"
    And the JSON reports "**/shard-*.json" in the artifacts of the job "features" hold every scenario of the suite exactly once
    And the console of the job "features" that ran the loud feature stayed under 64 KiB, and its artifacts hold the full output
    And the merged JSON report "**/run.json" of the job "merge" holds every scenario once, with the verdict of an unsharded run
    And the merged JUnit report "**/run.xml" of the job "merge" holds a testcase per scenario
    And the durations cached for the next run hold every feature as the job "features" that ran it measured it
    When the pipeline runs again
    Then every job "features" restored the same durations, those the earlier run cached
    And the JSON reports "**/shard-*.json" in the artifacts of the job "features" hold every scenario of the suite exactly once
    And the durations cached for the next run hold every feature as the job "features" that ran it measured it

  Scenario: GitLab CI: the parallel jobs shard by --shard auto and the merge job merges them
    Given a suite for the CI files: 9 features, one of which fails and prints 1 MiB
    When the GitLab CI pipeline "ci/gitlab-ci.yml" runs on the suite
    Then every behave-bounded command of the file ran
    And the job "features" ran 4 times, each with shard K of 4 for K = 1 to 4
    And each job "features" said its shard came from "--shard auto: GitLab CI_NODE_INDEX={CI_NODE_INDEX}, CI_NODE_TOTAL={CI_NODE_TOTAL}"
    And the JSON reports "**/shard-*.json" in the artifacts of the job "features" hold every scenario of the suite exactly once
    And the JUnit files GitLab reads from the job "features" hold a testcase per scenario together
    And the console of the job "features" that ran the loud feature stayed under 64 KiB, and its artifacts hold the full output
    And the merged JSON report "**/run.json" of the job "merge" holds every scenario once, with the verdict of an unsharded run
    And the merged JUnit report "**/run.xml" of the job "merge" holds a testcase per scenario
    And the durations cached for the next run hold every feature as the job "features" that ran it measured it
    When the pipeline runs again
    Then every job "features" restored the same durations, those the earlier run cached
    And the JSON reports "**/shard-*.json" in the artifacts of the job "features" hold every scenario of the suite exactly once
    And the durations cached for the next run hold every feature as the job "features" that ran it measured it

  Scenario: pre-commit: the validate-tags hook passes a clean suite and stops a malformed tag
    Given a suite for the CI files: 9 features, one of which fails and prints 1 MiB
    When the pre-commit hook "behave-bounded-validate-tags" of "ci/pre-commit-config.yaml" runs on the suite's files
    Then the hook passed and said "no problems"
    Given a feature file "bad_tags.feature":
      """
      Feature: bad tags
        @tdd_expected_fail
        Scenario: tagged without its issue
          Given it passes
      """
    When the pre-commit hook "behave-bounded-validate-tags" of "ci/pre-commit-config.yaml" runs on the suite's files
    Then the hook failed with exit code 2, naming "features/bad_tags.feature:3"

  Scenario: pre-commit: lint is a gate too
    Then the pre-commit config "ci/pre-commit-config.yaml" gates on ruff's lint and format check

  Scenario: the README quotes the ci/ files, not copies of its own
    Then every excerpt of a ci/ file quoted in the README is in that file, line for line
