Feature: The README's recipe gives each worker its own scratch directory, database file and port, and leaves nothing behind

  The README shows an environment.py for suites written for one process: a run root made once
  by before_all_workers, a scratch directory, a database file (mkstemp, not mktemp: reference
  issue 9798's race) and a port per worker from BEHAVE_BOUNDED_WORKER, removed by after_all
  and, for a worker that crashed, by after_all_workers. These scenarios run that very snippet,
  read from README.md, on a generated suite.

  Background:
    Given the suite's environment is the README's per-worker recipe
    And the suite's steps:
      """
      import json
      import os
      import signal
      import sqlite3
      import time
      from behave import step

      @step("it uses its worker's database, port and scratch directory")
      def uses(context):
          with sqlite3.connect(context.database) as database:
              database.execute("create table if not exists ran (feature text)")
              database.execute("insert into ran values (?)", (context.feature.filename,))
              rows = [row[0] for row in database.execute("select feature from ran")]
          with open(os.path.join(context.scratch, "scratch.txt"), "a") as scratch:
              scratch.write(context.feature.filename + "\n")
          os.makedirs("seen", exist_ok=True)
          name = context.feature.filename.replace("/", "_")
          with open(os.path.join("seen", name + ".json"), "w") as out:
              json.dump(
                  {
                      "worker": os.environ.get("BEHAVE_BOUNDED_WORKER", "w0"),
                      "database": context.database,
                      "port": context.port,
                      "scratch": context.scratch,
                      "root": os.environ.get("SUITE_RUN_ROOT"),
                      "feature": context.feature.filename,
                      "rows": rows,
                  },
                  out,
              )

      @step("it waits until {count:d} workers have recorded")
      def waits_for_workers(context, count):
          # The first worker's task blocks until the other worker has run one (bounded: 60 s).
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

      @step("its worker is killed")
      def killed(context):
          os.kill(os.getpid(), signal.SIGKILL)
      """
    And the suite's temporary directory is a private one

  Scenario: at -j 2, two workers get distinct database files, ports and scratch directories, and nothing is left
    Given 6 features that use their worker's resources and wait until 2 workers have
    When I run the runner with "-j 2"
    Then the exit code is 0
    And 2 workers each used one database file, port and scratch directory, none shared
    And each database file held only the features its worker ran, in its worker's scratch directory, under the run's root, which is gone
    And the suite's temporary directory is empty

  Scenario: a worker killed by a feature runs no after_all; after_all_workers still removes what it made
    Given 4 features that use their worker's resources and wait until 2 workers have
    And a feature file "z_dies.feature":
      """
      Feature: dies
        Scenario: kills its worker
          Given it uses its worker's database, port and scratch directory
          And its worker is killed
      """
    When I run the runner with "-j 2"
    Then the exit code is 1
    And the summary lists "features/z_dies.feature:2" as errored by "worker exited by signal 9 (SIGKILL)"
    And the suite's temporary directory is empty

  Scenario: under plain behave the recipe is one worker, w0, and leaves nothing either
    Given 3 features that use their worker's resources
    When I run behave with "features"
    Then the exit code is 0
    And 1 workers each used one database file, port and scratch directory, none shared
    And the suite's temporary directory is empty
