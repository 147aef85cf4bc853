Feature: A worker that dies, hangs or is interrupted does not stop the run, and nothing is lost

  Background:
    Given 4 passing features
    And a file "features/steps/fault_steps.py":
      """
      import ctypes
      import os
      import signal
      import sys
      import time
      from behave import step

      @step("it prints {text}")
      def prints(context, text):
          print(text)

      @step("the worker is killed by SIGKILL")
      def sigkill(context):
          sys.stdout.flush()
          os.kill(os.getpid(), signal.SIGKILL)

      @step("the worker crashes with a segmentation fault")
      def segfault(context):
          ctypes.string_at(0)

      @step("the worker calls os._exit({code:d})")
      def hard_exit(context, code):
          os._exit(code)

      @step("it calls sys.exit({code:d})")
      def soft_exit(context, code):
          sys.exit(code)

      @step("it raises KeyboardInterrupt")
      def keyboard_interrupt(context):
          raise KeyboardInterrupt

      @step("it hangs")
      def hangs(context):
          with open("hanging.flag", "w") as flag:
              flag.write(str(os.getpid()))
          time.sleep(600)
      """

  Scenario Outline: a worker that dies mid-feature: <cause>
    Given a feature file "zz_dies.feature":
      """
      Feature: dies
        Scenario: the victim
          Given it prints last words before dying
          And <step>
      """
    When I run the runner with "-j 2"
    Then the exit code is 1
    And the output contains "features/zz_dies.feature  errored"
    And the output contains "<message>"
    And the output contains "errored   features/zz_dies.feature:2  the victim"
    And the output contains "features/pass_003.feature  passed"
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"
    And no process of the run is left

    Examples:
      | cause    | step                                         | message                                                 |
      | SIGKILL  | the worker is killed by SIGKILL              | worker exited by signal 9 (SIGKILL), possibly out of memory |
      | segfault | the worker crashes with a segmentation fault | worker exited by signal 11 (SIGSEGV)                    |
      | os._exit | the worker calls os._exit(3)                 | worker exited with code 3                               |

  Scenario: the output a dead worker had printed is still shown
    Given a feature file "zz_dies.feature":
      """
      Feature: dies
        Scenario: the victim
          Given it prints last words before dying
          And the worker is killed by SIGKILL
      """
    When I run the runner with "-j 1 --no-capture"
    Then the exit code is 1
    And the output contains "last words before dying"

  Scenario Outline: a step that ends the interpreter is errored and the worker is replaced: <cause>
    Given a feature file "zz_exits.feature":
      """
      Feature: exits
        Scenario: leaves early
          Given <step>
      """
    When I run the runner with "-j 1"
    Then the exit code is 1
    And the output contains "<message>"
    And the output contains "features/pass_003.feature  passed"
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"

    Examples:
      | cause             | step                       | message                            |
      | sys.exit          | it calls sys.exit(0)       | a step or hook raised SystemExit   |
      | KeyboardInterrupt | it raises KeyboardInterrupt | errored   features/zz_exits.feature:2  leaves early |

  Scenario: after too many crashes the run aborts and names the features that never ran
    Given a feature file "a_dies.feature":
      """
      Feature: first to die
        Scenario: dies first
          Given the worker is killed by SIGKILL
      """
    And a feature file "b_dies.feature":
      """
      Feature: second to die
        Scenario: dies second
          Given the worker is killed by SIGKILL
      """
    When I run the runner with "-j 1 --max-worker-restarts 1"
    Then the exit code is 1
    And the output contains "2 workers crashed, more than --max-worker-restarts 1 allows"
    And the output contains these lines in order
      | line                     |
      | features that never ran: |
      | features/pass_000.feature |
      | features/pass_003.feature |
    And the last line is "scenarios: 0 passed, 6 failed, 0 skipped; run failed: 2 workers crashed, more than --max-worker-restarts 1 allows"
    And no process of the run is left

  Scenario: a hanging feature is killed at the timeout and the run goes on
    Given a feature file "a_hangs.feature":
      """
      Feature: hangs
        Scenario: never ends
          Given it hangs
      """
    When I run the runner with "-j 2 --timeout 3"
    Then the exit code is 1
    And the output contains "features/a_hangs.feature  errored"
    And the output contains "timed out after 3 s"
    And the output contains "features/pass_003.feature  passed"
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"
    And no process of the run is left

  Scenario Outline: <signal> stops the workers, prints what finished and exits <code>
    Given a feature file "a_hangs.feature":
      """
      Feature: hangs
        Scenario: never ends
          Given it hangs
      """
    When I start the runner with "-j 2"
    And I wait until the file "hanging.flag" exists
    And I send <signal> to the runner
    Then the exit code is <code>
    And the runner stopped within 5 seconds
    And the output contains "interrupted by <signal>"
    And the output contains these lines in order
      | line                                         |
      | features that did not finish (interrupted):  |
      | features/a_hangs.feature                      |
    And the last line matches "scenarios: \d+ passed, 0 failed, \d+ skipped; run failed: interrupted by <signal>"
    And no process of the run is left

    Examples:
      | signal  | code |
      | SIGINT  | 130  |
      | SIGTERM | 143  |

  Scenario: a worker killed by a signal without a name is still described
    Given a feature file "zz_dies.feature":
      """
      Feature: dies
        Scenario: the victim
          Given the worker is killed by a real-time signal
      """
    And a file "features/steps/rt_steps.py":
      """
      import os
      import signal
      from behave import step

      @step("the worker is killed by a real-time signal")
      def realtime(context):
          os.kill(os.getpid(), signal.SIGRTMIN + 3)
      """
    When I run the runner with "-j 1"
    Then the exit code is 1
    And the output contains "worker exited by signal 37 (unknown signal)"
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"

  Scenario: a dead worker's long output is shown head and tail, with the path of the full text
    Given a feature file "zz_dies.feature":
      """
      Feature: dies
        Scenario: the victim
          Given the feature prints a lot and dies
      """
    And a file "features/steps/lots_steps.py":
      """
      import os
      import signal
      import sys
      from behave import step

      @step("the feature prints a lot and dies")
      def lots(context):
          print("FIRST LINE")
          for number in range(2000):
              print(f"line {number:05d} of the dying feature")
          print("LAST LINE")
          sys.stdout.flush()
          os.kill(os.getpid(), signal.SIGKILL)
      """
    When I run the runner with "-j 1 --no-capture --show-output 4KiB"
    Then the exit code is 1
    And the output contains "FIRST LINE"
    And the output contains "LAST LINE"
    And the output contains "bytes not shown ...]"
    And the output contains "of the dead worker, read back from its spill file"
    And the output does not contain "line 01000 of the dying feature"

  Scenario Outline: a hook that fails outside any feature: <case>
    Given the suite's environment:
      """
      import os
      import time

      def <hook>(context):
          <body>
      """
    When I run the runner with "-j 2 <args>"
    Then the exit code is <code>
    And the output contains "<message>"
    And no process of the run is left

    Examples:
      | case                     | hook       | body                             | args        | code | message                                                   |
      | after_all raises         | after_all  | raise RuntimeError("teardown")   |             | 1    | after_all hook failed                                     |
      | after_all hangs          | after_all  | time.sleep(600)                  | --timeout 2 | 1    | after_all did not finish within 2 s (--timeout)           |
      | after_all kills worker   | after_all  | os._exit(4)                      |             | 1    | worker exited with code 4 while running after_all         |
      | before_all hangs         | before_all | time.sleep(600)                  | --timeout 2 | 2    | before_all did not finish within 2 s (--timeout)          |
      | before_all kills worker  | before_all | os._exit(5)                      |             | 2    | died while starting: worker exited with code 5            |

  Scenario Outline: a feature hook that raises fails the run as in plain behave: <hook>
    Given a feature file "hooked.feature":
      """
      Feature: hooked
        Scenario: first of it
          Given it prints one
        Scenario: second of it
          Given it prints two
      """
    And the suite's environment:
      """
      def <hook>(context, feature):
          if feature.name == "hooked":
              raise RuntimeError("no database")
      """
    When I run the runner with "-j 2 --json run.json"
    Then the exit code is 1
    And the summary lists "features/hooked.feature:1" as errored by "HOOK-ERROR in <hook>: RuntimeError: no database"
    And the last line is "scenarios: <passed> passed, 1 failed, <skipped> skipped"
    And plain behave exits with 1 too

    Examples:
      | hook           | passed | skipped |
      | before_feature | 4      | 2       |
      | after_feature  | 6      | 0       |

  Scenario: without spill files a dead worker's output is said to be lost, not silently missing
    Given a feature file "zz_dies.feature":
      """
      Feature: dies
        Scenario: the victim
          Given it prints last words before dying
          And the worker is killed by SIGKILL
      """
    When I run the runner with "-j 1 --no-capture --no-spill"
    Then the exit code is 1
    And the output contains "[stdout of the dead worker was not kept: spilling is off (--no-spill)]"

  Scenario: a spill file removed before the worker died is reported as unreadable
    Given a feature file "zz_dies.feature":
      """
      Feature: dies
        Scenario: the victim
          Given the feature removes its spill files and dies
      """
    And a file "features/steps/unspill_steps.py":
      """
      import glob
      import os
      import signal
      from behave import step

      @step("the feature removes its spill files and dies")
      def unspill(context):
          for path in glob.glob(".behave-bounded/run-*/*"):
              os.unlink(path)
          os.kill(os.getpid(), signal.SIGKILL)
      """
    When I run the runner with "-j 1"
    Then the exit code is 1
    And the output contains "could not be read from"
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"

  Scenario: a worker that closes its connection to the runner is reported and replaced
    Given a feature file "a_closes.feature":
      """
      Feature: closes
        Scenario: closes every inherited descriptor
          Given the feature closes every inherited descriptor and lingers
      """
    And a file "features/steps/close_steps.py":
      """
      import os
      import time
      from behave import step

      @step("the feature closes every inherited descriptor and lingers")
      def close_all(context):
          os.closerange(3, 1024)
          time.sleep(30)
      """
    When I run the runner with "-j 1"
    Then the exit code is 1
    And the output contains "worker stopped responding: its connection to the runner was closed"
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"
    And no process of the run is left

  Scenario: when the runner itself is killed, its workers do not outlive it
    Given a feature file "a_hangs.feature":
      """
      Feature: hangs
        Scenario: never ends
          Given it hangs
      """
    When I start the runner with "-j 2"
    And I wait until the file "hanging.flag" exists
    And I send SIGKILL to the runner
    Then no process of the run is left
