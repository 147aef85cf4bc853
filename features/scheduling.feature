Feature: Scheduling: longest-first tasks, serial tasks, shards, durations and the last failed

  The scheduler turns collected features into tasks: longest first by the durations earlier
  runs recorded in ARTIFACTS/durations.json (estimated from the number of selected scenarios
  when none is recorded), @serial ones apart, one task per feature or one per scenario.
  Sharding splits a suite over N CI jobs the same way on every machine. --last-failed reads
  the previous run's report and narrows the suite to the scenarios that failed it.

  # -- longest first -------------------------------------------------------------------------

  Scenario: tasks come longest first; an unknown feature costs the median seconds per scenario
    Given the scheduler knows these recorded runs:
      | path      | seconds | scenarios |
      | a.feature | 10      | 2         |
      | b.feature | 1       | 1         |
      | c.feature | 8       | 4         |
      | f.feature | 9       | 6         |
    And the scheduler collected these features:
      | path      | scenarios |
      | a.feature | 2         |
      | b.feature | 1         |
      | c.feature | 4         |
      | d.feature | 4         |
      | e.feature | 1         |
      | f.feature | 3         |
      | g.feature | 0         |
    When the scheduler makes tasks with the scheme "feature"
    Then the scheduler estimates these seconds:
      | path      | seconds | why                                                 |
      | a.feature | 10      | recorded                                            |
      | c.feature | 8       | recorded                                            |
      | d.feature | 7       | 4 scenarios x median(5, 1, 2, 1.5) s per scenario   |
      | f.feature | 4.5     | recorded for 6 scenarios, 3 selected now: scaled    |
      | e.feature | 1.75    | 1 scenario x the median                             |
      | b.feature | 1       | recorded                                            |
      | g.feature | 0       | no selected scenario                                |
    And the scheduler's parallel tasks are "a.feature, c.feature, d.feature, f.feature, e.feature, b.feature"
    And the scheduler's serial tasks are ""
    And the scheduler's task indexes follow collection order from 0

  Scenario: with nothing recorded, tasks are ordered by scenario count, ties in collection order
    Given the scheduler collected these features:
      | path      | scenarios |
      | a.feature | 1         |
      | b.feature | 3         |
      | c.feature | 1         |
      | d.feature | 2         |
    When the scheduler makes tasks with the scheme "feature"
    Then the scheduler's parallel tasks are "b.feature, d.feature, a.feature, c.feature"
    And the scheduler estimates these seconds:
      | path      | seconds | why                                    |
      | b.feature | 3       | 3 x DEFAULT_SECONDS_PER_SCENARIO (1.0) |

  Scenario: any suite with recorded durations is ordered longest first, every selected feature once
    Then the scheduler orders any recorded suite longest first with unique indexes

  Scenario: an unknown scheme is a usage error
    Given the scheduler collected these features:
      | path      | scenarios |
      | a.feature | 1         |
    Then the scheduler refuses the scheme "rows" with "unknown scheme 'rows'"

  # -- serial tasks and the scenario scheme --------------------------------------------------

  Scenario: @serial features and scenarios are set apart; a Feature's tag is inherited
    Given the scheduler's suite has the file "plain.feature":
      """
      Feature: plain

        Scenario: plain one
          Given a step

        Scenario: plain two
          Given a step

        Scenario: plain three
          Given a step
      """
    And the scheduler's suite has the file "whole.feature":
      """
      @serial
      Feature: whole

        Scenario: whole one
          Given a step

        Scenario: whole two
          Given a step
      """
    And the scheduler's suite has the file "mixed.feature":
      """
      Feature: mixed

        Scenario: mixed one
          Given a step

        @serial
        Scenario: mixed two
          Given a step

        Scenario: mixed three
          Given a step

        Scenario: mixed four
          Given a step
      """
    And the scheduler's suite has the file "deselected.feature":
      """
      Feature: deselected

        @serial @wip
        Scenario: deselected serial
          Given a step

        Scenario: deselected kept one
          Given a step

        Scenario: deselected kept two
          Given a step
      """
    And the scheduler's suite has the file "nothing.feature":
      """
      Feature: nothing

        @wip
        Scenario: nothing selected
          Given a step
      """
    When the scheduler collects its suite with "--tags='not @wip'"
    And the scheduler makes tasks with the scheme "feature"
    Then the scheduler made exactly these tasks:
      | list     | file               | scenario | count |
      | parallel | plain.feature      |          | 3     |
      | parallel | deselected.feature |          | 2     |
      | serial   | mixed.feature      |          | 4     |
      | serial   | whole.feature      |          | 2     |
    When the scheduler makes tasks with the scheme "scenario"
    Then the scheduler made exactly these tasks (equal estimates: collection order):
      | list     | file               | scenario                      | count |
      | parallel | deselected.feature | Scenario: deselected kept one | 1     |
      | parallel | deselected.feature | Scenario: deselected kept two | 1     |
      | parallel | mixed.feature      | Scenario: mixed one           | 1     |
      | parallel | mixed.feature      | Scenario: mixed three         | 1     |
      | parallel | mixed.feature      | Scenario: mixed four          | 1     |
      | parallel | plain.feature      | Scenario: plain one           | 1     |
      | parallel | plain.feature      | Scenario: plain two           | 1     |
      | parallel | plain.feature      | Scenario: plain three         | 1     |
      | serial   | mixed.feature      | Scenario: mixed two           | 1     |
      | serial   | whole.feature      | Scenario: whole one           | 1     |
      | serial   | whole.feature      | Scenario: whole two           | 1     |
    And the scheduler's task indexes are 0 to 10 without gaps

  Scenario Outline: the serial tag may be another one, written <written>
    Given the scheduler's suite has the file "tagged.feature":
      """
      Feature: tagged

        @exclusive
        Scenario: tagged exclusive
          Given a step

        @serial
        Scenario: tagged serial
          Given a step
      """
    When the scheduler collects its suite with ""
    And the scheduler makes tasks with the scheme "scenario" and the serial tag "<tag>"
    Then the scheduler made exactly these tasks:
      | list     | file           | scenario                   | count |
      | parallel | tagged.feature | Scenario: tagged serial    | 1     |
      | serial   | tagged.feature | Scenario: tagged exclusive | 1     |

    Examples:
      | written     | tag        |
      | with "@"    | @exclusive |
      | without "@" | exclusive  |

  Scenario: scheme scenario makes one task per scenario and per outline row, each selecting itself
    Given the scheduler's suite has the file "outline.feature":
      """
      Feature: outline

        Background:
          Given a step

        Scenario: outline plain
          Given a step

        Scenario Outline: outline rows <n>
          Given a step <n>

          Examples: first
            | n |
            | 1 |
            | 2 |

          @slow
          Examples: second
            | n |
            | 3 |

          Examples: third
            | n  |
            | 40 |
      """
    When the scheduler collects its suite with "--tags='not @slow'"
    And the scheduler makes tasks with the scheme "scenario"
    Then the scheduler made exactly these tasks:
      | list     | file            | scenario               | count |
      | parallel | outline.feature | Scenario: outline plain | 1     |
      | parallel | outline.feature | row 1                   | 1     |
      | parallel | outline.feature | row 2                   | 1     |
      | parallel | outline.feature | row 40                  | 1     |
    And behave selects exactly the scenario of each of the scheduler's tasks

  Scenario: scheme feature keeps the lines the user gave
    Given the scheduler's suite has the file "lines.feature":
      """
      Feature: lines

        Scenario: lines one
          Given a step

        Scenario: lines two
          Given a step

        Scenario: lines three
          Given a step
      """
    When the scheduler collects "lines.feature" at the lines of "Scenario: lines one" and "Scenario: lines three"
    And the scheduler makes tasks with the scheme "feature"
    Then the scheduler's only task has the lines of "Scenario: lines one" and "Scenario: lines three" and 2 scenarios

  # -- shards --------------------------------------------------------------------------------

  Scenario Outline: sharding parses K/N: <text>
    When sharding parses "<text>"
    Then sharding parsed <result>

    Examples: valid
      | text  | result |
      | 1/1   | (1, 1) |
      | 2/3   | (2, 3) |
      | 8/8   | (8, 8) |
      | 12/20 | (12, 20) |

    Examples: invalid
      | text  | result                                   |
      | 0/2   | an error "expected K/N with 1 <= K <= N" |
      | 3/2   | an error "expected K/N with 1 <= K <= N" |
      | a/b   | an error "expected K/N with 1 <= K <= N" |
      | 1/0   | an error "expected K/N with 1 <= K <= N" |
      |       | an error "expected K/N with 1 <= K <= N" |
      | 1/2/3 | an error "expected K/N with 1 <= K <= N" |
      | -1/2  | an error "expected K/N with 1 <= K <= N" |
      | 1/    | an error "expected K/N with 1 <= K <= N" |
      | ١/٢   | an error "expected K/N with 1 <= K <= N" |

  Scenario: sharding places the longest features first, each on the emptiest shard
    Given the scheduler knows these recorded runs:
      | path      | seconds | scenarios |
      | a.feature | 10      | 1         |
      | b.feature | 6       | 1         |
      | c.feature | 5       | 1         |
      | d.feature | 4       | 1         |
      | e.feature | 3       | 1         |
      | f.feature | 2       | 1         |
    And the scheduler collected these features:
      | path      | scenarios |
      | f.feature | 1         |
      | e.feature | 1         |
      | d.feature | 1         |
      | c.feature | 1         |
      | b.feature | 1         |
      | a.feature | 1         |
    Then sharding 1/2 gives "f.feature, d.feature, a.feature"
    And sharding 2/2 gives "e.feature, c.feature, b.feature"
    And sharding 1/1 gives "f.feature, e.feature, d.feature, c.feature, b.feature, a.feature"
    And sharding 7/6 is refused

  Scenario: sharding any suite covers every feature exactly once, in collection order, every time
    Then sharding any suite over 1 to 8 jobs is a deterministic partition in collection order

  Scenario: sharding a suite with recorded durations stays within the LPT bound
    Then sharding any recorded suite keeps the largest shard within total/N + the longest feature

  Scenario: sharding gives the same shards in processes with different hash seeds
    Given sharding has a suite of 60 features with many ties, saved in a duration store
    Then sharding every K of 4 gives the same shards here and in processes with PYTHONHASHSEED 1 and 2

  # -- the duration store --------------------------------------------------------------------

  Scenario: a duration store round-trips its entries through the file; one feature's tasks sum
    When a duration store records run 1:
      | path      | seconds | scenarios |
      | a.feature | 2.5     | 3         |
      | b.feature | 0.125   | 1         |
      | c.feature | 3       | 1         |
      | c.feature | 4       | 1         |
    Then the duration store file has version 1 and these entries:
      | path      | seconds | scenarios | seen |
      | a.feature | 2.5     | 3         | 1    |
      | b.feature | 0.125   | 1         | 1    |
      | c.feature | 7       | 2         | 1    |
    And a loaded duration store gives these seconds:
      | path      | seconds |
      | a.feature | 2.5     |
      | b.feature | 0.125   |
      | c.feature | 7       |
      | x.feature |         |
    And the duration store directory holds only "durations.json"

  Scenario: a duration store merges runs: a moving average, or the newest value when the count changed
    When a duration store records run 1:
      | path      | seconds | scenarios |
      | a.feature | 10      | 2         |
      | b.feature | 4       | 1         |
      | d.feature | 6       | 2         |
    And a duration store records run 2:
      | path      | seconds | scenarios |
      | a.feature | 20      | 2         |
      | c.feature | 3       | 1         |
      | d.feature | 3       | 3         |
    Then a loaded duration store gives these seconds:
      | path      | seconds | why                                |
      | a.feature | 15      | 0.5 x 20 + 0.5 x 10                |
      | b.feature | 4       | not run again: kept                |
      | c.feature | 3       | new                                |
      | d.feature | 3       | 3 scenarios instead of 2: replaced |
    And the duration store file has version 1 and these entries:
      | path      | seconds | scenarios | seen |
      | a.feature | 15      | 2         | 2    |
      | b.feature | 4       | 1         | 1    |
      | c.feature | 3       | 1         | 2    |
      | d.feature | 3       | 3         | 2    |

  Scenario: two runs sharing the directory keep each other's measurements
    When two duration stores are loaded from the same directory
    And the first duration store records "a.feature" in 5 seconds and saves
    And the second duration store records "b.feature" in 7 seconds and saves
    Then a loaded duration store gives these seconds:
      | path      | seconds |
      | a.feature | 5       |
      | b.feature | 7       |

  Scenario: two runs sharing a directory that already holds a durations file keep each other's measurements
    When a duration store records run 1:
      | path      | seconds | scenarios |
      | c.feature | 3       | 1         |
    And two duration stores are loaded from the same directory
    And the first duration store records "a.feature" in 5 seconds and saves
    And the second duration store records "b.feature" in 7 seconds and saves
    Then a loaded duration store gives these seconds:
      | path      | seconds |
      | a.feature | 5       |
      | b.feature | 7       |
      | c.feature | 3       |

  Scenario: a duration store keeps at most its bound, dropping the features not seen for longest
    Given a duration store holds at most 3 features
    When a duration store records run 1:
      | path      | seconds | scenarios |
      | a.feature | 1       | 1         |
      | b.feature | 2       | 1         |
    And a duration store records run 2:
      | path      | seconds | scenarios |
      | c.feature | 3       | 1         |
    And a duration store records run 3:
      | path      | seconds | scenarios |
      | d.feature | 4       | 1         |
      | a.feature | 1       | 1         |
    Then the duration store file has version 1 and these entries:
      | path      | seconds | scenarios | seen |
      | a.feature | 1       | 1         | 3    |
      | c.feature | 3       | 1         | 2    |
      | d.feature | 4       | 1         | 3    |
    When a duration store records run 4:
      | path      | seconds | scenarios |
      | z.feature | 1       | 1         |
      | y.feature | 1       | 1         |
      | x.feature | 1       | 1         |
      | w.feature | 1       | 1         |
    Then the duration store file has version 1 and these entries:
      | path      | seconds | scenarios | seen |
      | w.feature | 1       | 1         | 4    |
      | x.feature | 1       | 1         | 4    |
      | y.feature | 1       | 1         | 4    |

  Scenario: the default bound of a duration store is 20 000 features
    Then a duration store holds at most 20000 features by default

  Scenario Outline: a corrupt durations file gives an empty store and a warning, and is rewritten: <case>
    Given the duration store file contains <content>
    When a duration store is loaded
    Then the duration store is empty with a warning naming its file
    When the loaded duration store records "a.feature" in 2 seconds and saves
    Then the duration store file has version 1 and these entries:
      | path      | seconds | scenarios | seen |
      | a.feature | 2       | 1         | 1    |

    Examples:
      | case              | content                                                                                      |
      | not JSON          | "{not json"                                                                                  |
      | not UTF-8         | "\xff\xfe"                                                                                   |
      | a list            | "[]"                                                                                         |
      | another version   | "{\"version\": 2, \"run\": 1, \"features\": {}}"                                             |
      | no run counter    | "{\"version\": 1, \"features\": {}}"                                                         |
      | a missing field   | "{\"version\": 1, \"run\": 1, \"features\": {\"b.feature\": {\"seconds\": 1, \"seen\": 1}}}" |
      | negative seconds  | "{\"version\": 1, \"run\": 1, \"features\": {\"b.feature\": {\"seconds\": -1, \"scenarios\": 1, \"seen\": 1}}}" |
      | infinite seconds  | "{\"version\": 1, \"run\": 1, \"features\": {\"b.feature\": {\"seconds\": Infinity, \"scenarios\": 1, \"seen\": 1}}}" |
      | seen in the future | "{\"version\": 1, \"run\": 1, \"features\": {\"b.feature\": {\"seconds\": 1, \"scenarios\": 1, \"seen\": 9}}}" |

  Scenario: an unreadable durations file (a directory) gives a warning on load and on save
    Given the duration store file is a directory
    When a duration store is loaded
    Then the duration store is empty with a warning naming its file
    When the loaded duration store records "a.feature" in 2 seconds and saves
    Then the duration store save warned "cannot save durations to"
    And the duration store directory holds only "durations.json"

  Scenario: a missing durations file gives an empty store without a warning
    When a duration store is loaded
    Then the duration store is empty without a warning

  Scenario: saving under a regular file warns instead of raising
    Given the duration store directory lies under a regular file
    When a duration store is loaded
    And the loaded duration store records "a.feature" in 2 seconds and saves
    Then the duration store save warned "cannot save durations to"

  Scenario: saving replaces the file atomically: a reader of the old file still reads it whole
    When a duration store records run 1:
      | path      | seconds | scenarios |
      | a.feature | 1       | 1         |
    And a reader opens the duration store file
    And a duration store records run 2:
      | path      | seconds | scenarios |
      | b.feature | 2       | 1         |
    Then the reader still reads the first duration store file whole
    And the duration store directory holds only "durations.json"

  # -- last failed ---------------------------------------------------------------------------

  Scenario: the last-failed reader finds no previous report
    When the last-failed reader reads a report that does not exist
    Then the last-failed reader found no previous run

  Scenario: the last-failed reader finds nothing failing
    Given the last-failed reader's report has these scenarios:
      | location          | status  |
      | a.feature:3       | passed  |
      | a.feature:7       | skipped |
      | b.feature:4       | xfailed |
    When the last-failed reader reads the report
    Then the last-failed reader found the locations ""

  Scenario: the last-failed reader returns the locations whose status fails the run
    Given the last-failed reader's report has these scenarios:
      | location          | status    |
      | a.feature:3       | passed    |
      | a.feature:7       | failed    |
      | b.feature:4       | errored   |
      | b.feature:9       | skipped   |
      | c.feature:12      | undefined |
      | c.feature:20      | xfailed   |
      | d/e.feature:5     | xpassed   |
      | a.feature:7       | failed    |
    When the last-failed reader reads the report
    Then the last-failed reader found the locations "a.feature:7, b.feature:4, c.feature:12, d/e.feature:5"

  Scenario Outline: the last-failed reader refuses a corrupt report, naming it: <case>
    Given the last-failed reader's report contains <content>
    When the last-failed reader reads the report
    Then the last-failed reader refused the report, naming its file

    Examples:
      | case              | content                                                              |
      | not JSON          | "{"                                                                  |
      | not UTF-8         | "\xff"                                                               |
      | no scenarios      | "{\"features\": []}"                                                 |
      | scenarios no list | "{\"scenarios\": {}}"                                                |
      | an item no object | "{\"scenarios\": [1]}"                                               |
      | no location       | "{\"scenarios\": [{\"status\": \"failed\"}]}"                        |
      | a bad location    | "{\"scenarios\": [{\"location\": \"a.feature\", \"status\": \"failed\"}]}" |
      | an unknown status | "{\"scenarios\": [{\"location\": \"a.feature:3\", \"status\": \"broken\"}]}" |
      | a list status     | "{\"scenarios\": [{\"location\": \"a.feature:3\", \"status\": []}]}" |

  Scenario: the last-failed locations narrow the collected suite; locations gone are ignored
    Given the scheduler's suite has the file "again.feature":
      """
      Feature: again

        Scenario: again one
          Given a step

        Scenario: again two
          Given a step

        Scenario Outline: again rows <n>
          Given a step <n>

          Examples:
            | n |
            | 1 |
            | 2 |
      """
    And the scheduler's suite has the file "passing.feature":
      """
      Feature: passing

        Scenario: passing one
          Given a step
      """
    When the scheduler collects its suite with ""
    And the scheduler narrows its suite to these locations:
      | file          | at                  |
      | again.feature | Scenario: again two |
      | again.feature | row 2               |
      | again.feature | Given a step <n>    |
      | again.feature | line 99             |
      | gone.feature  | line 3              |
    Then the scheduler's narrowed suite selects only these scenarios:
      | file          | at                  |
      | again.feature | Scenario: again two |
      | again.feature | row 2               |
    When the scheduler makes tasks with the scheme "scenario"
    Then the scheduler made exactly these tasks:
      | list     | file          | scenario            | count |
      | parallel | again.feature | Scenario: again two | 1     |
      | parallel | again.feature | row 2               | 1     |
