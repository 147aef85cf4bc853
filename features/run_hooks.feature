Feature: Once-per-run hooks: before_all_workers and after_all_workers run in the runner, around every worker

  behavex's names, in environment.py, so that suites move between the two. before_all_workers
  runs once, in the runner's own process, before any worker is forked: what it sets up (an
  environment variable, a file, a server process) is inherited by every worker.
  after_all_workers runs once every worker has ended, also after a failure or an interrupt.
  A failing or hanging before_all_workers is exit code 2 with its file and line, and no worker
  starts; a failing after_all_workers fails the run, named in the verdict line.

  Background:
    Given the suite's steps:
      """
      import json
      import os
      import time
      from behave import step

      def parent_of(pid):
          if pid is None:
              return None
          with open(f"/proc/{pid}/stat") as stat:
              return int(stat.read().rsplit(")", 1)[1].split()[1])

      @step("it records what it saw")
      def record(context):
          os.makedirs("seen", exist_ok=True)
          name = context.feature.filename.replace("/", "_")
          with open(f"seen/{name}.json", "w") as out:
              json.dump(
                  {
                      "shared": os.environ.get("SHARED_BY_THE_RUN"),
                      "server": os.environ.get("SERVER_PID"),
                      "server_parent": parent_of(os.environ.get("SERVER_PID")),
                      "pid": os.getpid(),
                      "ppid": os.getppid(),
                      "worker": os.environ.get("BEHAVE_BOUNDED_WORKER"),
                      "run_id": os.environ.get("BEHAVE_BOUNDED_RUN_ID"),
                  },
                  out,
              )

      @step("it waits until {count:d} workers have recorded")
      def waits_for_workers(context, count):
          # Not a race against worker start-up on a loaded machine: the first worker's task
          # blocks until the other worker has run one (bounded: 60 s).
          deadline = time.monotonic() + 60
          while time.monotonic() < deadline:
              workers = set()
              for name in os.listdir("seen"):
                  with open(os.path.join("seen", name)) as record:
                      try:
                          workers.add(json.load(record)["worker"])
                      except ValueError:  # being written
                          pass
              if len(workers) >= count:
                  return
              time.sleep(0.02)
          raise AssertionError(f"only {sorted(workers)} recorded in 60 s")

      @step("it fails")
      def fails(context):
          raise AssertionError("failed on purpose")

      @step("it sleeps {seconds:g} s")
      def sleeps(context, seconds):
          open("sleeping", "w").close()
          time.sleep(seconds)
      """
    And the suite's environment:
      """
      import json
      import os


      def log(entry):
          with open("hooks.log", "a") as out:
              out.write(json.dumps(entry) + "\n")


      def before_all_workers(config):
          os.environ["SHARED_BY_THE_RUN"] = "set once"
          log({"hook": "before_all_workers", "pid": os.getpid(), "userdata": dict(config.userdata)})


      def after_all_workers(config):
          seen = os.listdir("seen") if os.path.isdir("seen") else []
          pids = [json.load(open(os.path.join("seen", name)))["pid"] for name in seen]
          alive = [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
          log({"hook": "after_all_workers", "pid": os.getpid(), "workers_alive": alive})
      """

  Scenario: before_all_workers runs once for 8 features on 2 workers, and every feature sees its environment variable
    Given 8 features that record what they saw and wait until 2 workers have
    When I run the runner with "-j 2"
    Then the exit code is 0
    And the hooks ran in the runner's process, once each, in this order: before_all_workers, after_all_workers
    And every feature saw "SHARED_BY_THE_RUN" as before_all_workers set it, in a worker the runner forked, on 2 workers
    And before_all_workers was told the worker count 2 and the run id the features saw
    And no worker was alive when after_all_workers ran

  Scenario: after_all_workers runs once after all workers ended, also when a feature fails
    Given 3 features that record what they saw
    And a feature file "fails.feature":
      """
      Feature: fails
        Scenario: fails
          Given it fails
      """
    When I run the runner with "-j 2"
    Then the exit code is 1
    And the hooks ran in the runner's process, once each, in this order: before_all_workers, after_all_workers
    And no worker was alive when after_all_workers ran
    And the last line is "scenarios: 3 passed, 1 failed, 0 skipped"

  Scenario: after_all_workers runs once when the run is interrupted by SIGINT
    Given 2 features that record what they saw
    And a feature file "sleeps.feature":
      """
      Feature: sleeps
        Scenario: sleeps
          Given it sleeps 300 s
      """
    When I start the runner with "-j 2 --json run.json"
    And I wait until the file "sleeping" exists
    And I send SIGINT to the runner
    Then the exit code is 130
    And the hooks ran in the runner's process, once each, in this order: before_all_workers, after_all_workers
    And no worker was alive when after_all_workers ran
    And the last line matches "scenarios: \d passed, 0 failed, \d skipped; run failed: interrupted by SIGINT"
    And the JSON report "run.json" has the runner's last line as its verdict

  Scenario: a failing before_all_workers is exit code 2 with its file and line, no worker starts, and the reports still say so
    Given 8 features that record what they saw
    And the suite's environment:
      """
      import os


      def before_all_workers(config):
          print("looking for the database")
          assert os.path.exists("database.sqlite3"), "no database"


      def after_all_workers(config):
          open("after_all_workers.ran", "w").close()
      """
    When I run the runner with "-j 2 --json run.json --junit-xml run.xml"
    Then the exit code is 2
    And stderr is one line
    And stderr contains "behave-bounded: error: features/environment.py:6: before_all_workers hook raised AssertionError: no database"
    And no feature ran
    And the output contains these lines in order
      | line                                                                                |
      | features that never ran:                                                            |
      | error: features/environment.py:6: before_all_workers hook raised AssertionError: no database |
      | ---- stdout of before_all_workers                                                   |
      | looking for the database                                                            |
    And the last line is "scenarios: 0 passed, 8 failed, 0 skipped; run failed: features/environment.py:6: before_all_workers hook raised AssertionError: no database"
    And the JSON report "run.json" has the runner's last line as its verdict
    And the JSON report "run.json" lists no worker and every one of the 8 features as not run
    And the JSON report "run.json" and the JUnit report "run.xml" have the verdict "scenarios: 0 passed, 8 failed, 0 skipped; run failed: features/environment.py:6: before_all_workers hook raised AssertionError: no database"
    And the file "after_all_workers.ran" exists

  Scenario Outline: a hanging before_all_workers is given up after --timeout: exit code 2, no worker (<case>)
    Given 2 features that record what they saw
    And the suite's environment:
      """
      import time


      def before_all_workers(config):
          try:
              time.sleep(3600)
          except <caught>:
              <then>
      """
    When I run the runner with "-j 2 --timeout 1 --json run.json"
    Then the exit code is 2
    And stderr contains "behave-bounded: error: features/environment.py:<line>: before_all_workers did not finish within 1 s (--timeout)"
    And no feature ran
    And the JSON report "run.json" has the runner's last line as its verdict
    And no process of the run is left

    Examples:
      | case                                           | caught            | then             | line |
      | it sleeps                                      | ZeroDivisionError | pass             | 6    |
      | it swallows the first interruption, sleeps on  | BaseException     | time.sleep(3600) | 8    |
      | it swallows the interruption and returns       | BaseException     | pass             | 4    |

  Scenario: SIGTERM while before_all_workers hangs (no --timeout) ends the run with 143, no worker, and the reports written
    Given 2 features that record what they saw
    And the suite's environment:
      """
      import time


      def before_all_workers(config):
          open("sleeping", "w").close()
          time.sleep(3600)


      def after_all_workers(config):
          open("after_all_workers.ran", "w").close()
      """
    When I start the runner with "-j 2 --json run.json"
    And I wait until the file "sleeping" exists
    And I send SIGTERM to the runner
    Then the exit code is 143
    And no feature ran
    And the last line is "scenarios: 0 passed, 0 failed, 2 skipped; run failed: interrupted by SIGTERM"
    And the JSON report "run.json" has the runner's last line as its verdict
    And the file "after_all_workers.ran" exists

  Scenario: a failing after_all_workers fails the run, named with its file and line in the verdict
    Given 2 features that record what they saw
    And the suite's environment:
      """
      def after_all_workers(config):
          print("stopping the server")
          raise RuntimeError("the server did not stop")
      """
    When I run the runner with "-j 2 --json run.json"
    Then the exit code is 1
    And the output contains these lines in order
      | line                                                                                  |
      | error: features/environment.py:3: after_all_workers hook raised RuntimeError: the server did not stop |
      | ---- stdout of after_all_workers                                                      |
      | stopping the server                                                                   |
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: features/environment.py:3: after_all_workers hook raised RuntimeError: the server did not stop"
    And the JSON report "run.json" has the runner's last line as its verdict

  Scenario: Ctrl-C while after_all_workers hangs (no --timeout) ends it and the run with 130, the reports written
    Given 2 features that record what they saw
    And the suite's environment:
      """
      import time


      def after_all_workers(config):
          open("sleeping", "w").close()
          time.sleep(3600)
      """
    When I start the runner with "-j 2 --json run.json"
    And I wait until the file "sleeping" exists
    And I send SIGINT to the runner
    Then the exit code is 130
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: interrupted by SIGINT; features/environment.py:6: after_all_workers was interrupted by SIGINT"
    And the JSON report "run.json" has the runner's last line as its verdict

  Scenario: a hanging after_all_workers is given up after --timeout and fails the run
    Given 2 features that record what they saw
    And the suite's environment:
      """
      import time


      def after_all_workers(config):
          time.sleep(3600)
      """
    When I run the runner with "-j 2 --timeout 1"
    Then the exit code is 1
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped; run failed: features/environment.py:5: after_all_workers did not finish within 1 s (--timeout)"

  Scenario: a server process before_all_workers starts is shared by the workers and ended after after_all_workers
    Given 4 features that record what they saw
    And the suite's environment:
      """
      import os
      import subprocess
      import sys


      def before_all_workers(config):
          server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
          os.environ["SERVER_PID"] = str(server.pid)


      def after_all_workers(config):
          alive = os.path.exists(f"/proc/{os.environ['SERVER_PID']}")
          open("server-alive-at-the-end" if alive else "server-gone-at-the-end", "w").close()
      """
    When I run the runner with "-j 2"
    Then the exit code is 0
    And every feature saw the same server process, a child of the runner
    And the file "server-alive-at-the-end" exists
    And stderr matches "features/environment.py's run hooks left 1 process running after after_all_workers had run, now killed: python\S* \(pid \d+\)"
    And no process of the run is left

  Scenario: loading environment.py in the runner changes nothing the workers see
    Given 2 features that record what they saw
    And a feature file "probe.feature":
      """
      Feature: probe
        Scenario: probe
          Given a step defined in environment.py
          And it probes what the worker sees
      """
    And a file "features/steps/probe.py":
      """
      import json
      import os
      import sys
      from behave import step

      @step("it probes what the worker sees")
      def probe(context):
          with open("probe.json", "w") as out:
              json.dump(
                  {
                      "cwd": os.getcwd(),
                      "sys.path": sys.path,
                  },
                  out,
              )
      """
    And the suite's environment:
      """
      import os
      from behave import given, use_step_matcher

      use_step_matcher("re")


      @given(r"a step defined in environment\.py")
      def defined_here(context):
          pass


      use_step_matcher("parse")


      def before_all_workers(config):
          os.chdir("/")


      def after_all_workers(config):
          pass
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And stderr contains "features/environment.py changed the working directory to / (restored to "
    And the probe saw the same working directory and sys.path as in a run whose environment.py has no run hooks

  Scenario: a suite without run hooks is not loaded in the runner; one with them is, once, and its steps never are
    Given 2 features that record what they saw
    And a file "features/steps/loaded.py":
      """
      import os

      with open("loaded-steps.log", "a") as log:
          log.write(f"{os.getpid()}\n")
      """
    And the suite's environment:
      """
      import os

      with open("loaded.log", "a") as log:
          log.write(f"{os.getpid()}\n")
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And environment.py was loaded 1 time, never in the runner's process
    And the step modules were loaded once, never in the runner's process
    Given the suite's environment:
      """
      import os

      with open("loaded.log", "a") as log:
          log.write(f"{os.getpid()}\n")


      def after_all_workers(config):
          pass
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And environment.py was loaded 2 times, once in the runner's process
    And the step modules were loaded once, never in the runner's process

  Scenario: --dry-run runs neither hook, as behave runs no hook on a dry run
    Given 2 features that record what they saw
    When I run the runner with "-j 2 --dry-run"
    Then the exit code is 0
    And the file "hooks.log" does not exist

  Scenario Outline: an environment.py the runner cannot load for its hooks is exit code 2 with its file and line: <case>
    Given 2 features that record what they saw
    And the suite's environment:
      """
      <first line>


      def after_all_workers(config):
          pass
      """
    When I run the runner with "-j 2"
    Then the exit code is 2
    And stderr contains "behave-bounded: error: <error>"
    And no feature ran

    Examples:
      | case               | first line                  | error                                                                                                       |
      | an import fails    | import no_such_module_here  | features/environment.py:1: loading environment.py raised ModuleNotFoundError: No module named 'no_such_module_here' |
      | not a function     | before_all_workers = 3      | features/environment.py: before_all_workers is not a function but a int                                    |

  Scenario Outline: an environment.py that names no run hook is left to the workers: <case>
    Given 2 features that record what they saw
    And a file "features/environment.py" with bytes "<bytes>"
    When I run the runner with "-j 1"
    Then the exit code is <code>
    And the output contains "<output>"

    Examples:
      | case                                   | bytes                                                                   | code | output                                                                                            |
      | a syntax error: the workers report it  | def broken(:\n    pass\n                                             | 2    | features/environment.py:1: loading the suite raised SyntaxError: invalid syntax                   |
      | a syntax error after a star import     | from os import *\ndef broken(:\n                                      | 2    | features/environment.py:2: loading the suite raised SyntaxError: invalid syntax                   |

  Scenario: an environment.py in Latin-1 (with its coding cookie) has its run hooks found
    Given 2 features that record what they saw
    And a file "features/environment.py" with bytes "# -*- coding: latin-1 -*-\n# caf\xe9\nimport os\ndef before_all_workers(config):\n    os.environ['SHARED_BY_THE_RUN'] = 'set once'\n"
    When I run the runner with "-j 1"
    Then the exit code is 0
    And every feature saw "SHARED_BY_THE_RUN" as before_all_workers set it, in a worker the runner forked, on 1 worker

  Scenario: hooks that environment.py imports with "import *" are found
    Given 2 features that record what they saw
    And a file "features/shared_hooks.py":
      """
      import os


      def before_all_workers(config):
          os.environ["SHARED_BY_THE_RUN"] = "set once"
      """
    And the suite's environment:
      """
      from shared_hooks import *
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And every feature saw "SHARED_BY_THE_RUN" as before_all_workers set it, in a worker the runner forked, on 1 worker
