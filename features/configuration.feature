Feature: Settings come from the command line, the environment and pyproject.toml, in that order

  Background:
    Given 3 passing features

  Scenario Outline: the worker count: <case>
    Given a file "pyproject.toml":
      """
      [tool.behave-bounded]
      jobs = 3
      """
    And the environment variable BEHAVE_BOUNDED_JOBS is "<env jobs>"
    And the environment variable CI_MAX_PROCESSES is "<ci cap>"
    When I run the runner with "<args>"
    Then the exit code is 0
    And the output contains "<workers> worker(s)"
    And the last line is "scenarios: 3 passed, 0 failed, 0 skipped"

    Examples:
      | case                                 | args              | env jobs | ci cap | workers |
      | pyproject when nothing else is given | features          | -        | -      | 3       |
      | the environment beats pyproject      | features          | 2        | -      | 2       |
      | the command line beats both          | -j 1 features     | 2        | -      | 1       |
      | CI_MAX_PROCESSES caps the workers    | -j 3 features     | -        | 1      | 1       |
      | --max-jobs caps the workers          | -j 3 --max-jobs 2 | -        | -      | 2       |
      | never more workers than features     | -j 8              | -        | -      | 3       |

  Scenario: a bad value in the environment names the variable
    Given the environment variable BEHAVE_BOUNDED_MAX_OUTPUT is "lots"
    When I run the runner without arguments
    Then the exit code is 2
    And stderr is one line
    And stderr contains "BEHAVE_BOUNDED_MAX_OUTPUT: invalid value 'lots'"

  Scenario: a bad key in pyproject.toml names the file and the key
    Given a file "pyproject.toml":
      """
      [tool.behave-bounded]
      max-outptu = "1MiB"
      """
    When I run the runner without arguments
    Then the exit code is 2
    And stderr is one line
    And stderr contains "[tool.behave-bounded] max-outptu: unknown setting"

  Scenario: a hanging --preimport is given up after its timeout and the run goes on
    Given a file "slow_to_import.py":
      """
      import time
      time.sleep(600)
      """
    When I run the runner with "--preimport slow_to_import --preimport-timeout 1"
    Then the exit code is 0
    And stderr contains "--preimport slow_to_import: import did not finish within 1 s (--preimport-timeout); continuing without it"
    And the last line is "scenarios: 3 passed, 0 failed, 0 skipped"

  Scenario: a --preimport that raises is reported once and the run goes on
    Given a file "broken_module.py":
      """
      raise RuntimeError("cannot configure the database")
      """
    When I run the runner with "--preimport broken_module"
    Then the exit code is 0
    And stderr contains "--preimport broken_module: import raised RuntimeError: cannot configure the database; continuing without it"
    And the last line is "scenarios: 3 passed, 0 failed, 0 skipped"

  Scenario: a --preimport-ed module is imported once, before the workers, and shared by them
    Given a file "shared_module.py":
      """
      import os
      with open("imports.log", "a") as log:
          log.write(f"{os.getpid()}\n")
      """
    And a file "features/steps/uses_shared.py":
      """
      import sys
      from behave import step

      @step("the shared module is already imported")
      def already(context):
          assert "shared_module" in sys.modules
      """
    And a feature file "shared.feature":
      """
      Feature: shared
        Scenario: uses it
          Given the shared module is already imported
      """
    When I run the runner with "-j 2 --preimport shared_module"
    Then the exit code is 0
    And the file "imports.log" has 1 lines with 1 distinct values
    And the last line is "scenarios: 4 passed, 0 failed, 0 skipped"

  Scenario: behave --runner behave_bounded:ParallelRunner runs the suite in parallel
    Given a feature file "zz_fails.feature":
      """
      Feature: fails
        Scenario: fails
          Given it burns 5000 ms of CPU
      """
    When I run behave with "--runner behave_bounded:ParallelRunner --jobs 2 -D behave_bounded.timeout=2 features"
    Then the exit code is 1
    And the output contains "2 worker(s)"
    And the output contains "timed out after 2 s"
    And the last line is "scenarios: 3 passed, 1 failed, 0 skipped"

  Scenario: behave --runner keeps exit code 2 for usage errors
    When I run behave with "--runner behave_bounded:ParallelRunner -D behave_bounded.max_output=0 features"
    Then the exit code is 2
    And stderr contains "-D behave_bounded.max_output: invalid value '0'"

  Scenario: a test and its subprocesses see what they see under plain behave
    Given a file "features/steps/probe_steps.py":
      """
      import io
      import json
      import os
      import signal
      import subprocess
      import sys
      from behave import step

      CHILD = "import json, os, sys; print(json.dumps([os.getcwd(), sorted(os.environ)]))"

      @step("it records what it sees")
      def record(context):
          child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
          config = context.config
          seen = {
              "cwd": os.getcwd(),
              "environment": sorted(os.environ),
              "child": json.loads(child.stdout),
              "format": config.format,
              "capture": [config.capture, config.capture_stdout, config.capture_stderr,
                          config.capture_log, config.logging_level],
              # behave's capture is replaced by a bounded one (its class differs on purpose):
              # what code relies on is that it is a writable text stream, not a terminal.
              "stdout": [isinstance(sys.stdout, io.TextIOBase), sys.stdout.writable(),
                         sys.stdout.isatty(), hasattr(sys.stdout, "getvalue")],
              "stdin": sys.stdin is None or sys.stdin.closed,
              "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
          }
          with open(os.environ["PROBE_OUTPUT"], "w") as out:
              json.dump(seen, out, indent=1)
      """
    And a feature file "probe.feature":
      """
      Feature: probe
        Scenario: probe
          Given it records what it sees
      """
    When I run the probe under the runner with "-j 1 features/probe.feature" and under plain behave
    Then the probe saw the same under both, apart from the worker identity variables

  Scenario: a --preimport that hangs leaves none of its half-imported modules behind
    Given a file "slow_parent.py":
      """
      import slow_helper
      import time
      time.sleep(600)
      """
    And a file "slow_helper.py":
      """
      VALUE = 1
      """
    And a file "features/steps/helper_check.py":
      """
      import sys
      from behave import step

      @step("the half-imported helper is not in the worker")
      def not_there(context):
          assert "slow_helper" not in sys.modules, "slow_helper leaked into the worker"
      """
    And a feature file "check.feature":
      """
      Feature: check
        Scenario: check
          Given the half-imported helper is not in the worker
      """
    When I run the runner with "--preimport slow_parent --preimport-timeout 1"
    Then the exit code is 0
    And stderr contains "--preimport slow_parent: import did not finish within 1 s"
    And the last line is "scenarios: 4 passed, 0 failed, 0 skipped"

  Scenario: Ctrl-C while a --preimport runs ends the run with 130 and no traceback
    Given a file "interrupting.py":
      """
      raise KeyboardInterrupt
      """
    When I run the runner with "--preimport interrupting"
    Then the exit code is 130
    And stderr contains "behave-bounded: interrupted"
    And the output has no traceback

  Scenario: an artifact directory that cannot be created costs the spill files, not the run
    Given a file "not-a-directory":
      """
      I am a file
      """
    When I run the runner with "--artifacts not-a-directory/sub"
    Then the exit code is 0
    And stderr contains "cannot use the artifact directory not-a-directory/sub"
    And the last line is "scenarios: 3 passed, 0 failed, 0 skipped"

  Scenario: behave --runner without --jobs takes the job count from pyproject.toml
    Given a file "pyproject.toml":
      """
      [tool.behave-bounded]
      jobs = 2
      """
    When I run behave with "--runner behave_bounded:ParallelRunner features"
    Then the exit code is 0
    And the output contains "2 worker(s)"
    And the last line is "scenarios: 3 passed, 0 failed, 0 skipped"

  Scenario: behave --runner reports feature files that do not parse, with exit code 2
    Given a feature file "broken.feature":
      """
      Feature: broken
        Scenario: fine
          Given it burns 1 ms of CPU
        Not Gherkin at all
      """
    When I run behave with "--runner behave_bounded:ParallelRunner features"
    Then the exit code is 2
    And stderr contains "features/broken.feature:4: "
