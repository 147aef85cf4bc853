Feature: Each worker has an identity a test can read, and queued tasks are never lost

  Suites written for one process need a resource per process (a scratch directory, a database
  file, a port). As pytest-xdist's PYTEST_XDIST_WORKER, every worker exposes its slot, the
  number of workers and the run's id, in the environment and in behave's userdata, and they
  are the only additions to a test's environment. A worker keeps the next task queued while it
  runs one; a worker that dies with a task queued loses nothing, and an idle worker takes over
  a task queued behind a long one.

  Background:
    Given the suite's steps:
      """
      import json
      import os
      import signal
      import time
      from behave import step

      @step("it records who runs it")
      def record(context):
          userdata = context.config.userdata
          os.makedirs("seen", exist_ok=True)
          name = context.feature.filename.replace("/", "_")
          with open(f"seen/{name}.json", "w") as out:
              json.dump(
                  {
                      "env": [os.environ.get(k) for k in ("BEHAVE_BOUNDED_WORKER",
                              "BEHAVE_BOUNDED_WORKER_COUNT", "BEHAVE_BOUNDED_RUN_ID")],
                      "userdata": [userdata.get(k) for k in ("behave_bounded.worker",
                                   "behave_bounded.worker_count", "behave_bounded.run_id")],
                      "pid": os.getpid(),
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
                          workers.add(json.load(record)["env"][0])
                      except ValueError:  # being written
                          pass
              if len(workers) >= count:
                  return
              time.sleep(0.02)
          raise AssertionError(f"only {sorted(workers)} recorded in 60 s")

      @step("its worker is killed")
      def killed(context):
          os.kill(os.getpid(), signal.SIGKILL)

      @step("it sleeps {seconds:g} s")
      def sleeps(context, seconds):
          time.sleep(seconds)
      """

  Scenario: two workers see distinct slots, the right count and one run id, in the environment and in userdata
    Given 6 features that record who runs them and wait until 2 workers have
    When I run the runner with "-j 2"
    Then the exit code is 0
    And the features were run by the workers "w0" and "w1", each told there are 2 workers
    And every feature saw the same run id, in the environment and in userdata alike
    And a second run has another run id

  Scenario: a worker that dies with a task queued behind the running one loses nothing; its replacement keeps its slot
    Given a feature file "a_dies.feature":
      """
      Feature: dies
        Scenario: kills its worker
          Given its worker is killed
      """
    And a feature file "b_queued.feature":
      """
      Feature: queued
        Scenario: was queued behind it
          Given it records who runs it
      """
    When I run the runner with "-j 1 --json run.json"
    Then the exit code is 1
    And the summary lists "features/a_dies.feature:2" as errored by "worker exited by signal 9 (SIGKILL)"
    And the output contains "features/b_queued.feature  passed"
    And the last line is "scenarios: 1 passed, 1 failed, 0 skipped"
    And "features/b_queued.feature" was run by the worker "w0" in another process than worker 1
    And the JSON report "run.json" lists worker 1 of slot 0 as crashed and worker 2 of slot 0 as exited

  Scenario: an idle worker takes the task queued behind a long one
    Given a feature file "a_long.feature":
      """
      Feature: long
        Scenario: takes a while
          Given it sleeps 4 s
      """
    And 5 features that record who runs them
    When I run the runner with "-j 2 --json run.json"
    Then the exit code is 0
    And in the JSON report "run.json" every other task ended before "features/a_long.feature" did
