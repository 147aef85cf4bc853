Feature: What one feature changes in its worker, and what it starts, does not outlive it

  Plain behave runs every feature in one process, so the issue is not that a feature changes its
  process: it is that under the runner which features share a worker depends on timing. After
  each task the worker puts back what `before_all` left (working directory, environment, resource
  limits) and says so in one warning; what it cannot put back retires it, and a fresh worker runs
  the next feature. Every process a feature starts ends with it, however it detaches; processes
  `before_all` starts live as long as their worker. Issue 13.

  Each scenario runs the real runner on a generated suite; "no process of the run is left" scans
  the whole process table for the run's marker (in a process's environment or command line).

  Background:
    Given a file "features/steps/isolation_steps.py":
      """
      import os
      import resource
      import signal
      import subprocess
      import sys
      import time
      from behave import step

      # Writes its pid where it is told, then sleeps: the process a step leaves behind.
      SLEEPER = (
          "import os, sys, time\n"
          "with open(sys.argv[1] + '.tmp', 'w') as out:\n"
          "    out.write(str(os.getpid()))\n"
          "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
          "time.sleep(300)\n"
      )

      def wait_for(path):
          deadline = time.monotonic() + 30
          while not os.path.exists(path):
              assert time.monotonic() < deadline, f"{path} did not appear"
              time.sleep(0.01)

      def running(pid):
          try:
              with open(f"/proc/{pid}/stat") as stat:
                  return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
          except OSError:
              return False

      @step('it moves into the directory "{name}"')
      def move(context, name):
          os.makedirs(name, exist_ok=True)
          os.chdir(name)

      @step("it runs where the run started")
      def where(context):
          assert os.path.isdir("features/steps"), f"working directory {os.getcwd()}"

      @step("it changes the environment")
      def change_environment(context):
          os.environ["BB_SECRET_TOKEN"] = "hunter2"
          os.environ["BB_KEPT"] = "changed"
          del os.environ["BB_DROPPED"]
          for number in range(11):
              os.environ[f"BB_MANY_{number:02d}"] = "many"

      @step("the environment is the one the run started with")
      def environment_back(context):
          assert "BB_SECRET_TOKEN" not in os.environ, "BB_SECRET_TOKEN leaked"
          assert os.environ.get("BB_KEPT") == "kept", os.environ.get("BB_KEPT")
          assert os.environ.get("BB_DROPPED") == "dropped", os.environ.get("BB_DROPPED")
          assert not [name for name in os.environ if name.startswith("BB_MANY_")]

      @step("it lowers the soft limit of open files to {soft:d}")
      def lower_soft(context, soft):
          hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
          resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

      @step("it lowers the hard limit of open files to {hard:d}")
      def lower_hard(context, hard):
          resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

      @step("its resource limits are the runner's")
      def runner_limits(context):
          with open("/proc/self/limits") as mine, open(f"/proc/{os.getppid()}/limits") as runner:
              assert mine.read() == runner.read(), "the worker's limits differ from the runner's"
          files = [open(os.devnull) for _ in range(64)]
          for file in files:
              file.close()

      @step("it closes its standard output and every copy the worker keeps of it")
      def close_stdout_copies(context):
          sys.stdout.flush()
          stdout = os.readlink("/proc/self/fd/1")
          for name in os.listdir("/proc/self/fd"):
              fd = int(name)
              try:
                  if fd != 2 and os.readlink(f"/proc/self/fd/{fd}") == stdout:
                      os.close(fd)
              except OSError:
                  pass

      @step('it records the pid of its worker in "{name}"')
      def record_pid(context, name):
          with open(name, "w") as out:
              out.write(str(os.getpid()))

      @step('it runs in another worker than the one in "{name}"')
      def other_worker(context, name):
          with open(name) as recorded:
              assert int(recorded.read()) != os.getpid(), "the retired worker ran it"

      @step("it starts a process that detaches by {how}")
      def detach(context, how):
          os.makedirs("scratch", exist_ok=True)
          pid_file = os.path.abspath("scratch/detached.pid")
          argv = [sys.executable, "-c", SLEEPER, pid_file]
          if how == "starting a new session":
              subprocess.Popen(argv, start_new_session=True)
          elif how == "dropping its environment":  # found by the marker in its command line
              argv.append(os.environ["BB_TEST_MARKER"])
              subprocess.Popen(argv, env={}, start_new_session=True)
          else:
              assert how == "a double fork and setsid", how
              child = os.fork()
              if child == 0:
                  os.setsid()
                  if os.fork() == 0:
                      os.execv(sys.executable, argv)
                  os._exit(0)
              os.waitpid(child, 0)
          wait_for(pid_file)

      @step("the process it started is no longer running")
      def detached_gone(context):
          with open("scratch/detached.pid") as recorded:
              pid = int(recorded.read())
          assert not running(pid), f"process {pid} of the previous feature is still running"

      @step("the process before_all started is running")
      def before_all_alive(context):
          with open("scratch/before_all.pid") as recorded:
              pid = int(recorded.read())
          assert running(pid), f"process {pid} of before_all is gone"

      @step("it hangs")
      def hangs(context):
          with open("hanging.flag", "w") as flag:
              flag.write(str(os.getpid()))
          time.sleep(600)

      @step("it kills its worker")
      def kill_worker(context):
          os.kill(os.getpid(), signal.SIGKILL)

      @step("it passes")
      def passes(context):
          pass
      """

  Scenario: a feature that changes the working directory: the next one runs where the run started
    Given a feature file "a_moves.feature":
      """
      Feature: moves
        Scenario: moves away
          Given it moves into the directory "scratch"
      """
    And a feature file "b_next.feature":
      """
      Feature: next
        Scenario: runs next on the same worker
          Given it runs where the run started
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"
    And stderr matches "behave-bounded: warning: features/a_moves\.feature changed the working directory to /\S+/scratch \(restored to /\S+\)\n"
    And the file "scratch/.behave-bounded" does not exist

  Scenario: a feature that changes the environment: the next one sees the run's, and no value is shown
    Given the environment variable BB_KEPT is "kept"
    And the environment variable BB_DROPPED is "dropped"
    And a feature file "a_changes.feature":
      """
      Feature: changes
        Scenario: changes the environment
          Given it changes the environment
      """
    And a feature file "b_next.feature":
      """
      Feature: next
        Scenario: runs next on the same worker
          Given the environment is the one the run started with
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"
    And stderr contains "behave-bounded: warning: features/a_changes.feature changed the environment (restored): added BB_MANY_00, BB_MANY_01, BB_MANY_02, BB_MANY_03, BB_MANY_04, BB_MANY_05, BB_MANY_06, BB_MANY_07, BB_MANY_08, BB_MANY_09 and 2 more; changed BB_KEPT; removed BB_DROPPED"
    And the output or stderr does not contain "hunter2"

  Scenario: a feature that lowers the soft limit of open files: the limit is put back for the next one
    Given a feature file "a_lowers.feature":
      """
      Feature: lowers
        Scenario: lowers the soft limit
          Given it lowers the soft limit of open files to 12
      """
    And a feature file "b_next.feature":
      """
      Feature: next
        Scenario: runs next on the same worker
          Given its resource limits are the runner's
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"
    And stderr matches "behave-bounded: warning: features/a_lowers\.feature changed the resource limits \(soft/hard\) RLIMIT_NOFILE from \d+/\d+ to 12/\d+ \(restored\)\n"
    And the runner's stderr has no traceback

  Scenario Outline: a feature that leaves what cannot be put back retires its worker: <what>
    Given a feature file "a_breaks.feature":
      """
      Feature: breaks
        Scenario: leaves its worker unusable
          Given it records the pid of its worker in "a.pid"
          And <step>
      """
    And a feature file "b_next.feature":
      """
      Feature: next
        Scenario: runs next, in a fresh worker
          Given it runs in another worker than the one in "a.pid"
          And its resource limits are the runner's
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"
    And stderr contains "behave-bounded: warning: features/a_breaks.feature <warning>"
    And stderr contains ": the worker is retired after it"
    And the runner's stderr has no traceback

    Examples:
      | what                   | step                                                                  | warning                                                         |
      | a lowered hard limit   | it lowers the hard limit of open files to 512                         | lowered the hard limit of RLIMIT_NOFILE from                    |
      | a lost standard output | it closes its standard output and every copy the worker keeps of it    | closed or replaced the worker's standard output (fd 1) for good |

  Scenario Outline: a process a feature starts ends with the feature, even one that detaches by <how>
    Given a feature file "a_starts.feature":
      """
      Feature: starts
        Scenario: starts a process and passes
          Given it starts a process that detaches by <how>
      """
    And a feature file "b_next.feature":
      """
      Feature: next
        Scenario: runs next on the same worker
          Given the process it started is no longer running
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"
    And stderr matches "behave-bounded: warning: features/a_starts\.feature left 1 process running when it ended, now killed: \S+ \(pid \d+\)\n"
    And no process of the run is left

    Examples:
      | how                      |
      | starting a new session   |
      | a double fork and setsid |
      | dropping its environment |

  Scenario Outline: a process a feature starts ends when the feature ends by <end> (it detached by <how>)
    Given a feature file "a_starts.feature":
      """
      Feature: starts
        Scenario: starts a process and ends badly
          Given it starts a process that detaches by <how>
          And <step>
      """
    When I run the runner with "-j 1 <args>"
    Then the exit code is 1
    And the output contains "<message>"
    And no process of the run is left

    Examples:
      | end       | how                      | step                | args        | message                   |
      | --timeout | a double fork and setsid | it hangs            | --timeout 3 | timed out after 3 s       |
      | a crash   | starting a new session   | it kills its worker |             | worker exited by signal 9 |
      | a crash   | dropping its environment | it kills its worker |             | worker exited by signal 9 |

  Scenario Outline: a process a feature starts ends when the runner is stopped by <signal> (it detached by <how>)
    Given a feature file "a_starts.feature":
      """
      Feature: starts
        Scenario: starts a process and hangs
          Given it starts a process that detaches by <how>
          And it hangs
      """
    When I start the runner with "-j 2"
    And I wait until the file "hanging.flag" exists
    Then the process in "scratch/detached.pid" is found in the process table by the run's marker
    When I send <signal> to the runner
    Then no process of the run is left

    Examples:
      | signal  | how                      |
      | SIGINT  | a double fork and setsid |
      | SIGTERM | starting a new session   |
      | SIGKILL | a double fork and setsid |
      | SIGKILL | dropping its environment |

  Scenario: processes before_all starts live as long as their worker, and end with it
    Given the suite's environment:
      """
      import os
      import subprocess
      import sys
      import time

      def before_all(context):
          os.makedirs("scratch", exist_ok=True)
          code = "import os, time; open('scratch/before_all.pid', 'w').write(str(os.getpid())); time.sleep(300)"
          subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
          deadline = time.monotonic() + 30
          while not os.path.exists("scratch/before_all.pid") or not os.path.getsize("scratch/before_all.pid"):
              assert time.monotonic() < deadline, "the process did not start"
              time.sleep(0.01)
      """
    And a feature file "a_first.feature":
      """
      Feature: first
        Scenario: sees the process
          Given the process before_all started is running
      """
    And a feature file "b_second.feature":
      """
      Feature: second
        Scenario: still sees it
          Given the process before_all started is running
      """
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the last line is "scenarios: 2 passed, 0 failed, 0 skipped"
    And stderr does not contain "left 1 process running"
    And no process of the run is left
