Feature: Configuration errors are one line naming the file, and exit code 2; contradictions are refused from every source

  A configuration file behave reads (behave.ini, setup.cfg, tox.ini, .behaverc,
  pyproject.toml) that it cannot read, a value it cannot convert, a missing @file and a feature
  file that does not parse each give one line on stderr naming the file (and the line, option
  or value when known) and the reason, and exit code 2, before any worker starts. Settings that
  contradict each other are checked once, after every source is read, and the message names
  where each side came from.

  Background:
    Given 2 passing features

  Scenario Outline: a configuration file that cannot be read: <case>
    Given a file "<file>" with bytes "<content>"
    When I run the runner with "features"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "<message>"

    Examples:
      | case                         | file           | content                                     | message                                                                                          |
      | a section header without ]   | behave.ini     | [behave\nstop = yes\n                       | behave.ini: cannot read: line 1: not a [section] header: '[behave'                               |
      | a boolean that is not one    | behave.ini     | [behave]\nformat = plain\njobs = 2\nstop = maybe\n | behave.ini: [behave] stop: invalid value 'maybe': Not a boolean: maybe                |
      | a number that is not one     | setup.cfg      | [behave]\njobs = many\n                     | setup.cfg: [behave] jobs: invalid value 'many'                                                   |
      | an option set twice          | behave.ini     | [behave]\nstop = yes\nstop = no\n           | behave.ini: cannot read: line 3: [behave] stop is set twice                                      |
      | a section twice              | behave.ini     | [behave]\nstop = yes\n[behave]\n           | behave.ini: cannot read: line 3: [behave] appears twice                                          |
      | an interpolation gone wrong  | behave.ini     | [behave]\ndefault_tags = %(nope)s\n       | behave.ini: cannot read: Bad value substitution: option 'default_tags' in section 'behave' contains an interpolation key 'nope' |
      | a line that is not key=value | tox.ini        | [behave]\nnot a setting\n                   | tox.ini: cannot read: line 2: cannot parse 'not a setting\n'                                    |
      | not UTF-8                    | behave.ini     | [behave]\nstop = caf\xe9\n                  | behave.ini: cannot read: 'utf-8' codec can't decode byte 0xe9                                    |
      | a TOML syntax error          | pyproject.toml | [tool.behave-bounded\njobs = 2\n            | pyproject.toml: cannot read: Expected ']' at the end of a table declaration (at line 1, column 21) |
      | a [tool.behave] of the wrong type | pyproject.toml | [tool.behave]\ntags = "@smoke"\n      | pyproject.toml [tool.behave]: config_tags = '@smoke' (expected: list<str>, was: str)             |
      | a [tool] that is not a table | pyproject.toml | tool = 3\n                                  | pyproject.toml: [tool.behave] cannot be read as behave's settings: TypeError: 'int' object is not subscriptable |
      | a [tool.behave] that is not a table | pyproject.toml | [tool]\nbehave = 3\n                | pyproject.toml: [tool.behave] cannot be read as behave's settings: TypeError                     |
      | our own key, a bad value     | pyproject.toml | [tool.behave-bounded]\nkeep = "middle"\n    | pyproject.toml [tool.behave-bounded] keep: invalid value 'middle': expected one of: head, tail, both |
      | our own key, a list for one value | pyproject.toml | [tool.behave-bounded]\njobs = [1, 2]\n | pyproject.toml [tool.behave-bounded] jobs: invalid value [1, 2]: expected a string, number or boolean |

  Scenario: a missing @file (behave's list of feature paths) is named
    When I run the runner with "@missing.txt"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "@missing.txt: no such file"

  Scenario: a feature file that does not parse is reported in behave's own words
    Given a feature file "e1.feature":
      """
      Featur: typo
      """
    When I run the runner with "features"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "features/e1.feature:1: Parser failure in state=initial at line 1: "Featur: typo"; REASON: No feature found."

  Scenario: a feature file in a language behave does not know is named, not a traceback
    Given a feature file "lang.feature":
      """
      # language: xx
      Feature: in no known language
      """
    When I run the runner with "features"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "features/lang.feature:0: cannot parse: KeyError: 'xx'"
    When I run the runner with "validate-tags features"
    Then the exit code is 2
    And stderr contains "features/lang.feature:0: cannot parse: KeyError: 'xx'"

  Scenario: behave --runner reports a missing @file and a parse error in the same words
    Given a feature file "e1.feature":
      """
      Featur: typo
      """
    When I run behave with "--runner behave_bounded:ParallelRunner features"
    Then the exit code is 2
    And stderr contains "features/e1.feature:1: Parser failure in state=initial at line 1: "Featur: typo""
    And the output has no traceback
    When I run behave with "--runner behave_bounded:ParallelRunner @missing.txt"
    Then the exit code is 2
    And stderr contains "@missing.txt: no such file"
    And the output has no traceback

  Scenario Outline: contradicting settings are refused from any source, naming both: <case>
    Given the runner's pyproject.toml sets "<pyproject>"
    And the runner's environment holds "<environment>"
    When I run the runner with "<args>"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "conflicting options: <message>"

    Examples:
      | case                                | pyproject                           | environment                                                  | args                                                                  | message                                                                                               |
      | both flags                          | -                                   | -                                                            | --no-spill --max-spill 1MiB features                                  | --max-spill has no effect with --no-spill                                                             |
      | both -D                             | -                                   | -                                                            | -D behave_bounded.spill=false -D behave_bounded.max_spill=1MiB features | -D behave_bounded.max_spill has no effect with -D behave_bounded.spill=false                        |
      | both in the environment             | -                                   | BEHAVE_BOUNDED_MAX_OUTPUT=unlimited BEHAVE_BOUNDED_KEEP=tail | features                                                              | BEHAVE_BOUNDED_KEEP has no effect with BEHAVE_BOUNDED_MAX_OUTPUT=unlimited                            |
      | both in pyproject.toml              | spill = false\nmax-spill = "1MiB"   | -                                                            | features                                                              | pyproject.toml [tool.behave-bounded] max-spill has no effect with pyproject.toml [tool.behave-bounded] spill = false |
      | a flag against pyproject.toml       | spill = false                       | -                                                            | --max-spill 1MiB features                                             | --max-spill has no effect with pyproject.toml [tool.behave-bounded] spill = false                     |
      | -D against the environment          | -                                   | BEHAVE_BOUNDED_MAX_OUTPUT=unlimited                          | -D behave_bounded.keep=head features                                  | -D behave_bounded.keep has no effect with BEHAVE_BOUNDED_MAX_OUTPUT=unlimited                         |
      | the environment against pyproject   | max-output = "unlimited"            | BEHAVE_BOUNDED_KEEP=head                                     | features                                                              | BEHAVE_BOUNDED_KEEP has no effect with pyproject.toml [tool.behave-bounded] max-output = "unlimited"  |

  Scenario Outline: a higher source that switches something off overrides what a lower one set for it: <case>
    Given the runner's pyproject.toml sets "<pyproject>"
    And the runner's environment holds "<environment>"
    When I run the runner with "<args> --json report.json features"
    Then the exit code is 0
    And the JSON report "report.json" records the setting <name> as <value>
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"

    Examples:
      | case                                     | pyproject          | environment                         | args         | name       | value |
      | --no-spill over pyproject's max-spill    | max-spill = "1MiB" | -                                   | --no-spill   | spill      | false |
      | the environment's unlimited over keep    | keep = "tail"      | BEHAVE_BOUNDED_MAX_OUTPUT=unlimited | -j 1         | max_output | null  |

  Scenario: behave --runner refuses the same contradictions, through -D and the environment
    Given the runner's environment holds "BEHAVE_BOUNDED_MAX_OUTPUT=unlimited"
    When I run behave with "--runner behave_bounded:ParallelRunner -D behave_bounded.keep=tail features"
    Then the exit code is 2
    And stderr contains "conflicting options: -D behave_bounded.keep has no effect with BEHAVE_BOUNDED_MAX_OUTPUT=unlimited"
    And the output has no traceback
