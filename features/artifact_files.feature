Feature: Files the runner leaves: concurrent runs, killed runs, full disks and file modes

  Runs share an artifact directory and report directories: a run never removes what a run still
  going needs, and removes what a killed run left. A full disk costs a report (the run fails,
  naming it) or a spill file (the output is truncated), never the disk space of a partial file.
  Reports are for CI tools and colleagues: they are created as the umask says; spill files and
  the artifact directory stay private.

  Background:
    Given a file "features/steps/hold_steps.py":
      """
      import os
      import time
      from behave import step

      @step('it prints {count:d} lines, writes "{flag}" and waits for "{release}"')
      def hold(context, count, flag, release):
          for number in range(count):
              print(f"held run output line {number:05d}")
          open(flag, "w").close()
          deadline = time.monotonic() + 120
          while not os.path.exists(release):
              assert time.monotonic() < deadline, f"{release} never appeared"
              time.sleep(0.05)

      @step("it passes")
      def passes(context):
          pass

      @step("it fails after printing {count:d} lines")
      def fails_loudly(context, count):
          for number in range(count):
              print(f"loud line {number:05d}")
          raise AssertionError("failed loudly")

      @step("it prints {mib:d} MiB")
      def prints(context, mib):
          line = "x" * 1023 + "\\n"
          for _ in range(mib * 1024):
              print(line, end="")

      @step('it fills the file system of "{directory}"')
      def fill(context, directory):
          with open(os.path.join(directory, "filler"), "wb") as filler:
              try:
                  while True:
                      filler.write(b"\\0" * 4096)
                      filler.flush()
              except OSError:
                  pass
      """
    And a feature file "quick.feature":
      """
      Feature: quick
        Scenario: passes at once
          Given it passes
      """

  Scenario: ten runs that end during a long run do not prune the long run's directory
    Given a feature file "long.feature":
      """
      Feature: long
        Scenario: runs while others come and go
          Given it prints 3000 lines, writes "long.flag" and waits for "long.release"
          Then it fails after printing 10 lines
      """
    # Each short run keeps its spill file (more output than the console shows), hence its directory.
    And a feature file "short.feature":
      """
      Feature: short
        Scenario: fails with more output than the console shows
          Given it fails after printing 500 lines
      """
    When I start the runner with "-j 1 --no-capture --show-output 1KiB --json long.json features/long.feature"
    And I wait until the file "long.flag" exists
    And 10 other runs of "--no-capture --show-output 1KiB features/short.feature" end meanwhile, each exiting with 1
    And I create the file "long.release" and the runner ends
    Then the exit code is 1
    And the spill file of "features/long.feature" named in "long.json" holds "held run output line 02999"
    And the artifact directory holds the long run's directory and 10 others

  Scenario: the part files of a killed run are removed by the next run writing that report; a live run's are not
    Given a feature file "held_a.feature":
      """
      Feature: held a
        Scenario: waits
          Given it prints 1 lines, writes "a.flag" and waits for "a.release"
      """
    And a feature file "held_b.feature":
      """
      Feature: held b
        Scenario: waits
          Given it prints 1 lines, writes "b.flag" and waits for "b.release"
      """
    When I start the runner with "-j 1 --json reports/run.json --junit-xml reports/run.xml features/held_a.feature"
    And I wait until the file "a.flag" exists
    And I send SIGKILL to the runner
    Then no process of the run is left
    And the directory "reports" holds the part files the killed run left
    When I start the runner with "-j 1 --json reports/run.json --junit-xml reports/run.xml features/held_b.feature"
    And I wait until the file "b.flag" exists
    Then the part files the killed run left are gone, and the live run has its own
    When 1 other run of "features/quick.feature --json reports/run.json --junit-xml reports/run.xml" ends meanwhile, each exiting with 0
    Then the live run's part files are still there
    When I create the file "b.release" and the runner ends
    Then the exit code is 0
    And the directory "reports" holds only "run.json" and "run.xml"
    And the JSON report "reports/run.json" holds the scenarios of "features/held_b.feature" only

  Scenario: a report that cannot be written on a full disk fails the run, naming the file
    Given a feature file "fills.feature":
      """
      Feature: fills the disk
        Scenario: fills it
          Given it fills the file system of "reports"
      """
    When I run the runner with "-j 1 --json reports/run.json features/fills.feature" on a file system of 256 KiB at "reports"
    Then the exit code is 1
    And stderr contains "behave-bounded: error: cannot write reports/run.json: No space left on device"
    And the output contains "error: cannot write reports/run.json: No space left on device"
    And the last line is "scenarios: 1 passed, 0 failed, 0 skipped; run failed: cannot write reports/run.json: No space left on device"
    And the file system at "reports" held only "filler" when the run ended

  Scenario: a disk that fills during the run costs the report, not the run: the other features still run
    Given a feature file "a_fills.feature":
      """
      Feature: fills the disk
        Scenario: fills it
          Given it fills the file system of "reports"
      """
    And a feature file "b_loud.feature":
      """
      Feature: loud failure after the disk is full
        Scenario: fails with 20000 lines of output
          Given it fails after printing 20000 lines
      """
    When I run the runner with "-j 1 --no-capture --json reports/run.json --junit-xml reports/run.xml features/a_fills.feature features/b_loud.feature features/quick.feature" on a file system of 256 KiB at "reports"
    Then the exit code is 1
    And the output has no traceback
    And the output contains "features/quick.feature  passed"
    And stderr contains "behave-bounded: error: cannot write reports/run.json: No space left on device"
    And stderr contains "behave-bounded: error: cannot write reports/run.xml: No space left on device"
    And the last line is "scenarios: 2 passed, 1 failed, 0 skipped; run failed: cannot write reports/run.json: No space left on device; cannot write reports/run.xml: No space left on device"
    And the file system at "reports" held only "filler" when the run ended

  Scenario: a spill that fills the disk is removed when its feature ends: the output is only truncated, the disk not kept full
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints more than the disk holds
          Given it prints 3 MiB
      """
    When I run the runner with "-j 1 --no-capture --max-output 64KiB --json run.json features/loud.feature" on a file system of 1 MiB at ".behave-bounded"
    Then the exit code is 0
    And stderr matches "features/loud\.feature: stdout truncated: \d+ bytes written, 65536 kept, \d+ dropped; full output: none"
    And the JSON report "run.json" names no spill file of "features/loud.feature"
    And the file system at ".behave-bounded" held no spill file when the run ended

  Scenario Outline: reports follow the umask (<umask>: <mode>); spill files and the artifact directory stay private
    Given a feature file "loud_fail.feature":
      """
      Feature: loud failure
        Scenario: fails with more output than the console shows
          Given it fails after printing 500 lines
      """
    When I run the runner with the umask <umask> and "-j 1 --no-capture --show-output 1KiB --json reports/run.json --junit-xml reports/run.xml --html reports/run.html"
    Then the exit code is 1
    And the files "reports/run.json", "reports/run.xml" and "reports/run.html" have the mode <mode>
    And the artifact directory ".behave-bounded" is 0700, holding only files of mode 0600 and directories of mode 0700, a spill file of "features/loud_fail.feature" among them

    Examples:
      | umask | mode |
      | 022   | 0644 |
      | 002   | 0664 |
      | 077   | 0600 |

  Scenario: the sweep removes exactly the unlocked temporary files of its destination
    Given a report directory holding next to "run.json":
      | name                                | what                                   |
      | .run.json.live0001.tasks.part       | a part file a live writer holds        |
      | .run.json.dead0001.tasks.part       | a part file whose writer closed it     |
      | .run.json.dead0002.tmp              | an unlocked file                       |
      | .run.json.dead0003.probe            | an unlocked file                       |
      | .run.json.young001.scenarios.part.new | an unlocked file made a minute ago   |
      | .run.json.old00001.scenarios.part.new | an unlocked file made two hours ago  |
      | .run.json.backup                    | an unlocked file                       |
      | .run.json.notafile.tmp              | a directory                            |
      | .run.json.symlink1.tmp              | a symbolic link to an unlocked file    |
      | .run.xml.dead0004.tmp               | an unlocked file                       |
      | run.json                            | an unlocked file                       |
    When a temporary file is made next to "run.json"
    Then the sweep removed exactly ".run.json.dead0001.tasks.part, .run.json.dead0002.tmp, .run.json.dead0003.probe, .run.json.old00001.scenarios.part.new"
    And the temporary file made is locked and private, and no sweep removes it while it is open

  Scenario: pruning removes the oldest directories of runs that have ended, never a live run's
    Given an artifact directory holding, oldest first:
      | name              | what                                   |
      | run-live0001      | a run directory a live run holds       |
      | run-ended001      | a run directory with an unlocked lock  |
      | run-oldver01      | a run directory without a lock file    |
      | run-linked01      | a run directory whose lock is a link   |
      | run-ended002      | a run directory with an unlocked lock  |
      | run-ended003      | a run directory with an unlocked lock  |
      | .new-run-old001   | a staging directory of two hours ago   |
      | .new-run-young1   | a staging directory of a minute ago    |
    When a new run directory is made there, keeping 3 runs
    Then pruning removed exactly "run-ended001, run-oldver01, .new-run-old001"
    And the new run directory is named run-*, locked, and pruning keeps it while it is held
    And a run directory under a regular file is refused with a warning
