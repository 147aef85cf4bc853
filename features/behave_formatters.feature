Feature: behave's formatters and reporters write what plain behave writes, from a parallel run

  Workers run, the parent reports: every worker records what behave tells its formatters, and
  the parent replays it, feature by feature in collection order, into the formatters and
  reporters the user configured. Each scenario here runs the same generated suite twice, under
  plain behave and under the runner with two workers, each in its own copy of the suite, and
  compares the files they wrote after normalising durations, timestamps and random ids only.
  The suite has passing, failing, errored, undefined, pending and skipped steps, Scenario
  Outlines with tagged Examples, Rules with Backgrounds, hooks that turn a background off (as
  behave's own fixtures do: the parent's model must get the steps the worker's run had),
  hook errors before and after a scenario, tables, doc strings, tags, an embedding and
  non-ASCII text.

  Background:
    Given a suite that uses every part of behave's model

  Scenario Outline: -f <format> -o <out> writes the same file as plain behave
    When I run plain behave and the runner with "-f <format> -o <out>"
    Then both runs exit with the same code
    And "<out>" is the same in both runs

    Examples:
      | format        | out            |
      | plain         | plain.txt      |
      | pretty        | pretty.txt     |
      | progress      | progress.txt   |
      | progress2     | progress2.txt  |
      | progress3     | progress3.txt  |
      | json          | report.json    |
      | json.pretty   | report.json    |
      | rerun         | rerun.txt      |
      | tags          | tags.txt       |
      | tags.location | tags.txt       |
      | steps         | steps.txt      |
      | steps.doc     | steps.txt      |
      | steps.usage   | usage.txt      |
      | steps.catalog | catalog.txt    |

  Scenario: the null formatter writes nothing, as in plain behave (not even its outfile)
    When I run plain behave and the runner with "-f null -o null.txt"
    Then both runs exit with the same code
    And neither run wrote "null.txt"

  Scenario: sphinx.steps writes the same documents into its directory
    When I run plain behave and the runner with "-f sphinx.steps -o docs"
    Then both runs exit with the same code
    And the directory "docs" holds the same files in both runs

  Scenario: two formatters at once, under a tag selection, each to its own file
    When I run plain behave and the runner with "-f json.pretty -o a/report.json -f pretty -o b/pretty.txt --tags 'not @wip'"
    Then both runs exit with the same code
    And "a/report.json" is the same in both runs
    And "b/pretty.txt" is the same in both runs

  Scenario Outline: <option> means what it means to plain behave
    When I run plain behave and the runner with "-f pretty -o pretty.txt <option>"
    Then both runs exit with the same code
    And "pretty.txt" is the same in both runs

    Examples:
      | option                 |
      | --no-timings           |
      | --no-skipped           |
      | --no-multiline         |
      | --no-source            |
      | --show-timings         |
      | --dry-run              |
      | --name 'in rule'       |

  Scenario: --stop with one worker stops where plain behave stops
    When I run plain behave with "-f pretty -o pretty.txt --stop" and the runner with "-f pretty -o pretty.txt --stop -j 1"
    Then both runs exit with the same code
    And "pretty.txt" is the same in both runs

  Scenario: scenarios cut into separate tasks are put back together in one report
    When I run plain behave with "-f json.pretty -o report.json --junit" and the runner with "-f json.pretty -o report.json --junit --scheme scenario"
    Then both runs exit with the same code
    And "report.json" is the same in both runs
    And the directory "reports" holds the same files in both runs

  Scenario: behave's JUnit reporter runs once, in the parent: the same TESTS-*.xml files
    When I run plain behave and the runner with "--junit --junit-directory build/junit"
    Then both runs exit with the same code
    And the directory "build/junit" holds the same files in both runs

  Scenario: a formatter writing to stdout writes there, before the runner's summary
    When I run plain behave with "-f progress --no-summary" and the runner with "-f progress"
    Then both runs exit with the same code
    And the runner's stdout before its summary is plain behave's stdout

  Scenario: -f json to stdout prints every feature, the passing ones too
    When I run plain behave with "-f json.pretty --no-summary" and the runner with "-f json.pretty"
    Then the runner's stdout before its summary is plain behave's stdout

  Scenario: a dry run with steps.usage prints the usage report
    When I run plain behave with "--dry-run -f steps.usage --no-summary" and the runner with "--dry-run -f steps.usage"
    Then both runs exit with the same code
    And the runner's stdout holds the usage of every step definition
    And the runner's stdout before its summary is plain behave's stdout

  Scenario: undefined steps get behave's snippets, on stderr
    When I run plain behave and the runner with "-f plain -o plain.txt"
    Then the runner's stderr ends with the snippets plain behave printed

  Scenario: the formatters, outfiles and JUnit setting of a behave.ini: the same files
    Given a file "behave.ini":
      """
      [behave]
      format = rerun
               progress3
      outfiles = rerun.txt
                 build/reports/progress3.txt
      junit = true
      """
    When I run plain behave and the runner without arguments
    Then both runs exit with the same code
    And "rerun.txt" is the same in both runs
    And "build/reports/progress3.txt" is the same in both runs
    And the directory "reports" holds the same files in both runs

  Scenario: @rerun.txt reruns exactly the scenarios plain behave reruns
    When I run plain behave and the runner with "-f rerun -o rerun.txt"
    And I run plain behave and the runner with "@rerun.txt -f json.pretty -o rerun.json"
    Then "rerun.json" is the same in both runs
    And the JSON formatter's "rerun.json" of the rerun has the same scenarios in both runs

  Scenario: a formatter named through [behave.formatters] in a config file
    Given a file "setup.cfg":
      """
      [behave.formatters]
      mine = behave.formatter.plain:PlainFormatter
      """
    When I run plain behave and the runner with "-f mine -o mine.txt"
    Then both runs exit with the same code
    And "mine.txt" is the same in both runs

  Scenario: allure-behave runs in the workers: the same results, attachments included
    When I run plain behave and the runner with "-f allure_behave.formatter:AllureFormatter -o allure-results"
    Then both runs exit with the same code
    And the allure results in "allure-results" name the same scenarios with the same status and attachments in both runs

  Scenario: behave-html-pretty-formatter writes the same page
    When I run plain behave and the runner with "-f behave_html_pretty_formatter:PrettyHTMLFormatter -o report.html"
    Then both runs exit with the same code
    And "report.html" parses as HTML, names every scenario of the suite and is the same in both runs

  Scenario: a worker killed mid-feature: the JSON formatter, behave's JUnit file and --json agree
    Given a feature file "crash.feature" whose third scenario kills its worker
    When I run the runner with "-f json.pretty -o formatter.json --junit --json run.json" while a step kills its worker
    Then the runner's JSON formatter file, behave's JUnit file and --json agree on every scenario of "crash.feature"

  Scenario: a feature's record holds at most --max-output of text; what is cut is said
    Given a feature file "loud.feature" whose 4 failing scenarios each print 48 KiB
    When I run the runner with "-f plain -o plain.txt --max-output 64KiB features/loud.feature" in its copy of the suite
    Then the runner's "plain.txt" shows the 4 failing scenarios in under 80 KiB, saying how many characters were not recorded
