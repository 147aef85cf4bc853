Feature: --shard auto takes the shard from the CI's parallel job variables; merge-durations joins the jobs' durations

  GitLab numbers its parallel jobs CI_NODE_INDEX = 1 to CI_NODE_TOTAL; CircleCI
  (CIRCLE_NODE_INDEX, CIRCLE_NODE_TOTAL) and Buildkite (BUILDKITE_PARALLEL_JOB,
  BUILDKITE_PARALLEL_JOB_COUNT) from 0. The runner prints the shard it chose, and why, first.

  Background:
    Given 7 passing features

  Scenario Outline: --shard auto with <ci>'s variables partitions the suite completely
    When each of 3 parallel jobs runs "--shard auto" with <index> counted from <first> and <total> set
    Then the shards together hold every scenario of the suite exactly once
    And each job's first line says that <ci>'s <index> and <total> gave its shard, numbered from <first>

    Examples:
      | ci        | index                  | total                        | first |
      | GitLab    | CI_NODE_INDEX          | CI_NODE_TOTAL                | 1     |
      | CircleCI  | CIRCLE_NODE_INDEX      | CIRCLE_NODE_TOTAL            | 0     |
      | Buildkite | BUILDKITE_PARALLEL_JOB | BUILDKITE_PARALLEL_JOB_COUNT | 0     |

  Scenario: for any number of jobs, each CI's numbering gives the shards 1 to N, each once
    Then for any N from 1 to 64, the N parallel jobs of each CI get the shards 1 to N, each once

  Scenario Outline: without shard variables --shard auto is one shard, and says why: <case>
    Given the runner's environment holds "<environment>"
    When I run the runner with "<args>"
    Then the exit code is 0
    And the first line is "shard 1/1 (<origin>): 7 of 7 feature file(s)"
    And the last line is "scenarios: 7 passed, 0 failed, 0 skipped"

    Examples:
      | case                         | environment              | args         | origin                                                                  |
      | no CI at all                 | -                        | --shard auto | --shard auto: no CI parallel job variables are set, so one shard        |
      | a GitLab job without parallel | CI_NODE_TOTAL=1         | --shard auto | --shard auto: GitLab CI_NODE_TOTAL=1, so one shard                      |
      | auto from the environment    | BEHAVE_BOUNDED_SHARD=auto | features    | BEHAVE_BOUNDED_SHARD=auto: no CI parallel job variables are set, so one shard |

  Scenario Outline: a bad shard variable is a usage error naming the variable and its value: <case>
    Given the runner's environment holds "<environment>"
    When I run the runner with "<args>"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "<message>"
    And the file ".behave-bounded/durations.json" does not exist

    Examples:
      | case                 | environment                                                      | args         | message                                                                                                        |
      | GitLab counts from 1 | CI_NODE_INDEX=0 CI_NODE_TOTAL=2                                  | --shard auto | --shard auto: CI_NODE_INDEX: invalid value '0': expected a whole number 1 or more (GitLab numbers its parallel jobs from 1) |
      | past the last job    | CIRCLE_NODE_INDEX=2 CIRCLE_NODE_TOTAL=2                          | --shard auto | --shard auto: CIRCLE_NODE_INDEX=2 is past CIRCLE_NODE_TOTAL=2 (CircleCI numbers its parallel jobs from 0)      |
      | not a number         | BUILDKITE_PARALLEL_JOB=first BUILDKITE_PARALLEL_JOB_COUNT=2      | --shard auto | --shard auto: BUILDKITE_PARALLEL_JOB: invalid value 'first': expected a whole number 0 or more                 |
      | no jobs at all       | BUILDKITE_PARALLEL_JOB=0 BUILDKITE_PARALLEL_JOB_COUNT=0          | --shard auto | --shard auto: BUILDKITE_PARALLEL_JOB_COUNT: invalid value '0': expected a whole number 1 or more               |
      | an index, no total   | CI_NODE_INDEX=1                                                  | --shard auto | --shard auto: CI_NODE_INDEX=1 is set but CI_NODE_TOTAL is not                                                  |
      | a total, no index    | CIRCLE_NODE_TOTAL=3                                              | --shard auto | --shard auto: CIRCLE_NODE_TOTAL=3 is set but CIRCLE_NODE_INDEX is not                                          |
      | two CI systems       | CI_NODE_INDEX=1 CI_NODE_TOTAL=2 CIRCLE_NODE_INDEX=0 CIRCLE_NODE_TOTAL=2 | --shard auto | --shard auto: variables of several CI systems are set: GitLab (CI_NODE_INDEX, CI_NODE_TOTAL), CircleCI (CIRCLE_NODE_INDEX, CIRCLE_NODE_TOTAL) |
      | named by its source  | BEHAVE_BOUNDED_SHARD=auto CI_NODE_INDEX=9 CI_NODE_TOTAL=4        | features     | BEHAVE_BOUNDED_SHARD=auto: CI_NODE_INDEX=9 is past CI_NODE_TOTAL=4                                             |
      | neither K/N nor auto | -                                                                | --shard some | --shard: invalid value 'some': expected K/N with 1 <= K <= N (e.g. 2/4) or auto                                |

  Scenario: merge-durations joins the durations of a run's shards; a missing or corrupt one is named
    When I run the runner with "--shard 1/2 --artifacts one"
    And I run the runner with "--shard 2/2 --artifacts two"
    And I run the runner with "merge-durations merged/durations.json one/durations.json two/durations.json"
    Then the exit code is 0
    And the output contains "merge-durations: 7 feature(s) from 2 file(s) into merged/durations.json"
    And the durations file "merged/durations.json" holds every feature of "one/durations.json" and "two/durations.json" as each measured it
    Given a file "corrupt.json":
      """
      {"version": 1, "run":
      """
    When I run the runner with "merge-durations again.json one/durations.json corrupt.json missing.json"
    Then the exit code is 2
    And stderr contains "corrupt.json: not JSON"
    And stderr contains "missing.json: no such file"
    And the output contains "from 1 file(s) into again.json"
    And the file "again.json" exists
    When I run the runner with "merge-durations nothing.json missing.json"
    Then the exit code is 2
    And the file "nothing.json" does not exist
    When I run the runner with "merge-durations corrupt.json/durations.json one/durations.json"
    Then the exit code is 2
    And stderr contains "corrupt.json/durations.json: cannot write: "
    When I run the runner with "merge-durations only-out.json"
    Then the exit code is 2
    And stderr is one line
