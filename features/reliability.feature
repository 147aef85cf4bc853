Feature: Faults and bad input: the run ends, every result is reported, nothing is left behind

  Each scenario runs the real runner, as a subprocess, on a generated suite with ONE misbehaving
  feature (a hook, a step or the input itself) among well-behaved ones, and checks the invariants
  of a run: it ends (a run longer than 120 s fails the scenario); its exit code is the documented
  one; the verdict `scenarios: P passed, F failed, S skipped` is the last line; every other
  feature's result is reported, the misbehaving one with its cause; memory stays bounded; no
  process of the run is left; no temporary file is left outside the artifact directory.

  How memory is measured (see features/steps/reliability_steps.py): every run is reaped with
  `os.wait4`, whose `ru_maxrss` on Linux is the peak RSS of the largest process among the runner
  and every process it reaped, recursively (each worker, each child process a worker waited
  for): exact, no sampling, a maximum over those processes. Output-heavy scenarios also run
  under memray following every fork: each process's peak heap, and their sum, are bounded.
  How temporary files are found: the runner's TMPDIR is a fresh empty directory that must stay
  empty, and the suite may only gain the artifact directory (`.behave-bounded/`: durations.json,
  last-failed.json, run-*/*.log), what the generated steps write under `scratch/` and the report
  files a step names.

  Already covered elsewhere and not repeated here (features/worker_faults.feature): SIGKILL,
  segfault, os._exit, sys.exit(0) and KeyboardInterrupt in a step, a step that hangs past
  --timeout, after_all failures, before_all that hangs in every worker, SIGINT and SIGTERM without
  report files, a killed runner; (features/collection_and_usage.feature) malformed sizes, counts
  and options, nonexistent paths, more outfiles than formats, a directory with only a steps
  directory.

  # -- hooks that hang --------------------------------------------------------------------------

  Scenario: before_all that hangs in one worker is stopped at --timeout while the other runs everything
    Given 4 passing features
    And the suite's environment:
      """
      import os
      import time

      def before_all(context):
          os.makedirs("scratch", exist_ok=True)
          try:
              os.close(os.open("scratch/first.flag", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
          except FileExistsError:
              return  # the second worker starts normally
          time.sleep(600)
      """
    When I run the runner on the faulty suite with "-j 2 --timeout 3"
    Then the exit code is 2
    And the run ended within 20 seconds
    And stderr is one line
    And stderr contains "before_all did not finish within 3 s (--timeout)"
    And every passing feature is reported passed
    And the last line matches "scenarios: 4 passed, 0 failed, 0 skipped; run failed: worker [12]: before_all did not finish within 3 s \(--timeout\)"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

  Scenario: after_feature that hangs is stopped at --timeout: its feature is errored, its finished scenario keeps its result
    Given 4 passing features
    And the suite's environment:
      """
      import time

      def after_feature(context, feature):
          if feature.name == "hangs after":
              time.sleep(600)
      """
    And a feature file "a_hangs.feature":
      """
      Feature: hangs after
        Scenario: finishes its steps
          Given it burns 1 ms of CPU
      """
    When I run the runner on the faulty suite with "-j 2 --timeout 3"
    Then the exit code is 1
    And the run ended within 20 seconds
    And the output contains "features/a_hangs.feature  errored"
    And the summary lists "features/a_hangs.feature:1" as errored by "timed out after 3 s"
    And the summary does not list "features/a_hangs.feature:2"
    And every passing feature is reported passed
    And the last line is "scenarios: 5 passed, 1 failed, 0 skipped"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

  # -- a step that breaks its own stdout --------------------------------------------------------
  # -j 1: the misbehaving feature runs first, the well-behaved ones and z_after.feature after it
  # on the same worker (or on the worker that replaced it), so z_after shows whether the worker's
  # capture of print, fd 1 and child processes survived the fault.

  Scenario Outline: a step that <fault> errors its feature, and the next features are captured whole (<capture>)
    Given 4 passing features
    And a last feature that prints through every channel and fails
    And a file "features/steps/abuse_steps.py":
      """
      import io
      import os
      import sys
      from behave import step

      @step('it says "{text}"')
      def says(context, text):
          print(text)

      @step("it closes sys.stdout")
      def close_stdout(context):
          sys.stdout.close()

      @step("it replaces sys.stdout with {what}")
      def replace_stdout(context, what):
          sys.stdout = {"an int": 42, "a BytesIO": io.BytesIO()}[what]

      @step("it closes fd {fd:d}")
      def close_fd(context, fd):
          sys.stdout.flush()
          sys.stderr.flush()
          os.close(fd)
      """
    And a feature file "a_abuse.feature":
      """
      Feature: abuses stdout
        Scenario: misbehaves
          Given it says "before the fault"
          When it <fault>
          Then it says "after the fault"
      """
    When I run the runner on the faulty suite with "-j 1 <options>"
    Then the exit code is 1
    And the output contains "features/a_abuse.feature  errored"
    And the summary lists "features/a_abuse.feature:2" as errored by "<cause>"
    And the output of "features/a_abuse.feature" includes "before the fault"
    And the output of "features/z_after.feature" shows "after the fault" via print, fd 1 and a child process
    And every passing feature is reported passed
    And the last line is "scenarios: 4 passed, 2 failed, 0 skipped"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

    Examples:
      | fault                              | capture         | options      | cause                                                 |
      | closes sys.stdout                  | behave captures |              | ValueError: I/O operation on closed file              |
      | closes sys.stdout                  | --no-capture    | --no-capture | ValueError: I/O operation on closed file              |
      | replaces sys.stdout with an int    | --no-capture    | --no-capture | AttributeError: 'int' object has no attribute 'write' |
      | replaces sys.stdout with a BytesIO | --no-capture    | --no-capture | TypeError: a bytes-like object is required, not 'str' |

  Scenario Outline: a step that <fault> does not break its worker (<capture>)
    Given 4 passing features
    And a last feature that prints through every channel and fails
    And a file "features/steps/abuse_steps.py":
      """
      import io
      import os
      import sys
      from behave import step

      @step('it says "{text}"')
      def says(context, text):
          print(text)

      @step("it replaces sys.stdout with {what}")
      def replace_stdout(context, what):
          sys.stdout = {"an int": 42, "a BytesIO": io.BytesIO()}[what]

      @step("it closes fd {fd:d}")
      def close_fd(context, fd):
          sys.stdout.flush()
          sys.stderr.flush()
          os.close(fd)
      """
    And a feature file "a_abuse.feature":
      """
      Feature: abuses stdout
        Scenario: misbehaves
          Given it says "before the fault"
          When it <fault>
          Then it says "after the fault"
      """
    When I run the runner on the faulty suite with "-j 1 <options>"
    Then the exit code is 1
    And the output contains "features/a_abuse.feature  passed"
    And the output of "features/z_after.feature" shows "after the fault" via print, fd 1 and a child process
    And every passing feature is reported passed
    And the last line is "scenarios: 5 passed, 1 failed, 0 skipped"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

    Examples:
      | fault                              | capture         | options      |
      | replaces sys.stdout with an int    | behave captures |              |
      | replaces sys.stdout with a BytesIO | behave captures |              |
      | closes fd 1                        | behave captures |              |
      | closes fd 1                        | --no-capture    | --no-capture |
      | closes fd 2                        | behave captures |              |
      | closes fd 2                        | --no-capture    | --no-capture |

  # -- output that is hard to keep -----------------------------------------------------------

  Scenario: invalid UTF-8 and lone surrogates on every channel: shown as U+FFFD, reports still parse
    Given 4 passing features
    And a file "features/steps/bytes_steps.py":
      """
      import os
      import sys
      from behave import step

      @step("it writes invalid UTF-8 on every channel and fails")
      def invalid(context):
          sys.stdout.buffer.write(b"buffer:\xff\xfe:end\n")
          print("surrogate:\udcff:end")
          sys.stdout.flush()
          os.write(1, b"fd1:\xc3\x28:end\n")
          os.write(2, b"fd2:\xed\xa0\x80:end\n")
          sys.stderr.buffer.write(b"errbuf:\xf0\x9f:end\n")
          line = b"\xff" + "é€😀".encode() * 7 + b"\n"  # cut anywhere by --max-output 4097
          for _ in range(3000):
              os.write(1, line)
          assert False, "a message with a lone surrogate \udcff, NUL \x00 and ESC \x1b[31m"
      """
    And a feature file "a_bytes.feature":
      """
      Feature: bad bytes
        Scenario: writes invalid UTF-8
          Given it writes invalid UTF-8 on every channel and fails
      """
    When I run the runner on the faulty suite with "-j 2 --no-capture --max-output 4097 --json report.json --junit-xml report.xml"
    Then the exit code is 1
    And the output contains "features/a_bytes.feature  failed"
    And the output contains "buffer:��:end"
    And the output contains "surrogate:\udcff:end"
    And the output contains "fd1:�(:end"
    And the output contains "fd2:���:end"
    And the output contains "errbuf:�:end"
    And the output contains "[behave-bounded: stdout truncated: "
    And the output of "features/a_bytes.feature" has no character cut in two
    And the reports "report.json" and "report.xml" parse and list 5 scenarios
    And every passing feature is reported passed
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"
    And every spill file the run names holds what it claims
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind but "report.json, report.xml"

  Scenario Outline: 1 GiB without a newline through <channel> (--no-capture): counted exactly, memory flat
    Given 4 passing features
    And a file "features/steps/gib_steps.py":
      """
      import os
      import sys
      from behave import step

      @step("it writes {mib:d} MiB without a newline through {channel}")
      def no_newline(context, mib, channel):
          if channel == "sys.stdout":
              chunk = "x" * 65536
              for _ in range(mib * 16):
                  sys.stdout.write(chunk)
          else:
              chunk = memoryview(b"y" * 2**20)
              for _ in range(mib):
                  done = 0
                  while done < len(chunk):
                      done += os.write(1, chunk[done:])

      @step("it fails")
      def fails(context):
          assert False, "failed after the flood"
      """
    And a feature file "a_gib.feature":
      """
      Feature: a flood without a newline
        Scenario: writes 1 GiB on one line
          Given it writes 1024 MiB without a newline through <channel>
          Then it fails
      """
    When I run the runner on the faulty suite under memray with "-j 2 --no-capture -f null --max-spill 16MiB"
    Then the exit code is 1
    And the output contains "features/a_gib.feature  failed"
    And stderr says "stdout" of "features/a_gib.feature" was truncated with exactly 1073741824 bytes written
    And the output contains "[behave-bounded: stdout truncated: 1073741824 bytes written, 10485760 kept"
    And every passing feature is reported passed
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"
    And every process of the run peaked under 64 MiB of heap, all together under 128 MiB
    And no process of the run peaked above 192 MiB of resident memory
    And every spill file the run names holds what it claims
    And the runner's stderr has no traceback
    And no process of the run is left
    And no temporary file is left behind

    Examples:
      | channel    |
      | sys.stdout |
      | fd 1       |

  Scenario: 64 threads writing at once through every channel: every byte counted, every line whole
    Given 4 passing features
    And a file "features/steps/thread_steps.py":
      """
      import os
      import sys
      import threading
      from behave import step

      CHANNELS = (
          lambda text: sys.stdout.write(text),
          lambda text: print(text, end=""),
          lambda text: sys.stdout.buffer.write(text.encode()),
          lambda text: os.write(1, text.encode()),
          lambda text: sys.stderr.write(text),
          lambda text: print(text, end="", file=sys.stderr),
          lambda text: sys.stderr.buffer.write(text.encode()),
          lambda text: os.write(2, text.encode()),
      )

      @step("{threads:d} threads each write {lines:d} lines of {size:d} bytes through every channel")
      def flood(context, threads, lines, size):
          barrier = threading.Barrier(threads)

          def work(number):
              barrier.wait()
              for line in range(lines):
                  text = f"thread {number:02d} line {line:06d} "
                  CHANNELS[(number + line) % 8](text + "x" * (size - len(text) - 1) + "\n")

          workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
          for worker in workers:
              worker.start()
          for worker in workers:
              worker.join()

      @step("it fails")
      def fails(context):
          assert False, "failed after the threads"
      """
    And a feature file "a_threads.feature":
      """
      Feature: threads
        Scenario: 64 threads write at once
          Given 64 threads each write 1000 lines of 100 bytes through every channel
      """
    When I run the runner on the faulty suite with "-j 2 --no-capture -f null --max-output 1MiB"
    Then the exit code is 0
    And stderr counts exactly the bytes the 64 threads wrote to stdout: 1000 lines of 100 bytes each
    And stderr counts exactly the bytes the 64 threads wrote to stderr: 1000 lines of 100 bytes each
    And every passing feature is reported passed
    And the last line is "scenarios: 5 passed, 0 failed, 0 skipped"
    And every spill file the run names holds what it claims
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

  Scenario: a few lines from 64 threads at once are shown exactly, none lost, none torn
    Given 4 passing features
    And a file "features/steps/thread_steps.py":
      """
      import os
      import sys
      import threading
      from behave import step

      CHANNELS = (
          lambda text: sys.stdout.write(text),
          lambda text: print(text, end=""),
          lambda text: sys.stdout.buffer.write(text.encode()),
          lambda text: os.write(1, text.encode()),
          lambda text: sys.stderr.write(text),
          lambda text: print(text, end="", file=sys.stderr),
          lambda text: sys.stderr.buffer.write(text.encode()),
          lambda text: os.write(2, text.encode()),
      )

      @step("{threads:d} threads each write {lines:d} lines of {size:d} bytes through every channel")
      def flood(context, threads, lines, size):
          barrier = threading.Barrier(threads)

          def work(number):
              barrier.wait()
              for line in range(lines):
                  text = f"thread {number:02d} line {line:06d} "
                  CHANNELS[(number + line) % 8](text + "x" * (size - len(text) - 1) + "\n")

          workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
          for worker in workers:
              worker.start()
          for worker in workers:
              worker.join()

      @step("it fails")
      def fails(context):
          assert False, "failed after the threads"
      """
    And a feature file "a_threads.feature":
      """
      Feature: threads
        Scenario: 64 threads write a few lines at once
          Given 64 threads each write 8 lines of 100 bytes through every channel
          Then it fails
      """
    When I run the runner on the faulty suite with "-j 2 --no-capture -f null"
    Then the exit code is 1
    And the output of "features/a_threads.feature" shows the 64 threads' 8 lines of 100 bytes
    And every passing feature is reported passed
    And the last line is "scenarios: 4 passed, 1 failed, 0 skipped"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

  Scenario: a grandchild that keeps writing to fd 1 after its step ended: the run ends promptly, nothing is left
    Given 4 passing features
    And a file "features/steps/grandchild_steps.py":
      """
      import os
      import subprocess
      import sys
      import time
      from behave import step

      # Like a server that logs to stdout: it shrugs off EPIPE, so only the runner can stop it.
      WRITER = (
          "import os, time\n"
          "with open('scratch/writer.pid', 'w') as out:\n"
          "    out.write(str(os.getpid()))\n"
          "chunk = b'grandchild output ' * 4096\n"
          "while True:\n"
          "    try:\n"
          "        os.write(1, chunk)\n"
          "    except OSError:\n"
          "        time.sleep(0.01)\n"
      )

      @step("it leaves behind a grandchild that keeps writing to fd 1")
      def leave_writer(context):
          os.makedirs("scratch", exist_ok=True)
          # sh starts the writer in the background and exits: the writer is orphaned, its fd 1
          # the pipe this feature's output was captured through
          subprocess.run(["sh", "-c", 'exec 2>/dev/null; "$0" -c "$1" &', sys.executable, WRITER])
          deadline = time.monotonic() + 30
          while not os.path.exists("scratch/writer.pid"):
              assert time.monotonic() < deadline, "the writer did not start"
              time.sleep(0.01)

      @step("it waits {seconds:d} seconds while the grandchild writes")
      def waits(context, seconds):
          time.sleep(seconds)

      @step('it fails saying "{text}"')
      def fails_saying(context, text):
          print(text)
          assert False, text
      """
    And a feature file "a_grandchild.feature":
      """
      Feature: leaves a writer behind
        Scenario: starts a grandchild and ends
          Given it leaves behind a grandchild that keeps writing to fd 1
      """
    And a feature file "b_next.feature":
      """
      Feature: runs next on the same worker
        Scenario: waits and fails
          Given it waits 2 seconds while the grandchild writes
          Then it fails saying "the next feature's own output"
      """
    When I run the runner on the faulty suite under memray with "-j 1"
    Then the exit code is 1
    And the run ended within 30 seconds
    And the output contains "features/a_grandchild.feature  passed"
    And the output of "features/b_next.feature" shows "the next feature's own output" and nothing of the grandchild
    And every passing feature is reported passed
    And the last line is "scenarios: 5 passed, 1 failed, 0 skipped"
    And every process of the run peaked under 64 MiB of heap, all together under 128 MiB
    And the grandchild writer is gone
    And the runner's stderr has no traceback
    And no process of the run is left
    And no temporary file is left behind

  # A forked child that leaves the step by an exception (SystemExit included) unwinds into the
  # worker's own code, which it shares after fork(): its capture, its connection to the runner.
  # Plain behave reports the parent's outcome (passed). --timeout bounds the scenario if it hangs.
  Scenario Outline: a step whose forked child <how> does not speak for the worker
    Given 4 passing features
    And a file "features/steps/fork_steps.py":
      """
      import os
      import sys
      from behave import step

      @step("it forks a child that {how}")
      def forks(context, how):
          pid = os.fork()
          if pid == 0:
              print("the child leaves the step")
              if how == "exits with sys.exit(0)":
                  sys.exit(0)
              raise RuntimeError("the child failed")
          _, status = os.waitpid(pid, 0)
          print(f"the parent saw the child end with status {status}")
      """
    And a feature file "a_fork.feature":
      """
      Feature: forks
        Scenario: forks a child
          Given it forks a child that <how>
      """
    When I run the runner on the faulty suite with "-j 1 --timeout 10"
    Then the exit code is 0
    And the run ended within 20 seconds
    And the output contains "features/a_fork.feature  passed"
    And every passing feature is reported passed
    And the last line is "scenarios: 5 passed, 0 failed, 0 skipped"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

    Examples:
      | how                    |
      | exits with sys.exit(0) |
      | raises an exception    |

  # -- spill files that cannot be written ----------------------------------------------------------
  # The suite runs as root, which ignores permission bits: a read-only directory cannot be made
  # with chmod. An artifact directory under a regular file fails with ENOTDIR, portably; a real
  # write failure in the middle of a spill is made with RLIMIT_FSIZE (EFBIG, like a full quota).

  Scenario: an artifact directory under a regular file costs no result, and says so once
    Given 4 passing features
    And a file "blocked":
      """
      a regular file where the artifact directory's parent should be
      """
    And a file "features/steps/loud_steps.py":
      """
      import os
      import signal
      import sys
      from behave import step

      @step("it prints {kib:d} KiB")
      def prints(context, kib):
          for number in range(kib):
              sys.stdout.write(f"{number:09d} " + "z" * 1013 + "\n")
          sys.stdout.flush()

      @step("it fails")
      def fails(context):
          assert False, "failed on purpose"

      @step("the worker is killed by SIGKILL")
      def sigkill(context):
          os.kill(os.getpid(), signal.SIGKILL)
      """
    And a feature file "a_loud.feature":
      """
      Feature: loud
        Scenario: prints, then fails
          Given it prints 2048 KiB
          Then it fails
      """
    And a feature file "b_dies.feature":
      """
      Feature: dies
        Scenario: prints, then its worker is killed
          Given it prints 100 KiB
          Then the worker is killed by SIGKILL
      """
    When I run the runner on the faulty suite with "-j 2 --no-capture --max-output 64KiB --show-output 4KiB --artifacts blocked/artifacts --json report.json --junit-xml report.xml"
    Then the exit code is 1
    And the output contains "features/a_loud.feature  failed"
    And the output contains "dropped; full output: none]"
    And the output contains "features/b_dies.feature  errored"
    And the summary lists "features/b_dies.feature:2" as errored by "worker exited by signal 9 (SIGKILL)"
    And the output contains "[stdout of the dead worker was not kept"
    And the output does not contain "spilling is off"
    And stderr says "cannot use the artifact directory blocked/artifacts" exactly once
    And the reports "report.json" and "report.xml" parse and list 6 scenarios
    And every passing feature is reported passed
    And the last line is "scenarios: 4 passed, 2 failed, 0 skipped"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind but "report.json, report.xml"

  Scenario Outline: a spill that hits <limit> falls back to truncation and costs no result
    Given 4 passing features
    And the runner may write files of at most <fsize>
    And a file "features/steps/loud_steps.py":
      """
      import os
      import signal
      import sys
      from behave import step

      @step("it prints {kib:d} KiB")
      def prints(context, kib):
          for number in range(kib):
              sys.stdout.write(f"{number:09d} " + "z" * 1013 + "\n")
          sys.stdout.flush()

      @step("it fails")
      def fails(context):
          assert False, "failed on purpose"

      @step("the worker is killed by SIGKILL")
      def sigkill(context):
          os.kill(os.getpid(), signal.SIGKILL)
      """
    And a feature file "a_loud.feature":
      """
      Feature: loud
        Scenario: prints, then fails
          Given it prints 2048 KiB
          Then it fails
      """
    And a feature file "b_dies.feature":
      """
      Feature: dies
        Scenario: prints, then its worker is killed
          Given it prints 400 KiB
          Then the worker is killed by SIGKILL
      """
    When I run the runner on the faulty suite with "-j 2 --no-capture -f null --max-output 64KiB --show-output 4KiB <options>"
    Then the exit code is 1
    And the output contains "features/a_loud.feature  failed"
    And the output contains "[behave-bounded: stdout truncated: 2097152 bytes written, 65536 kept"
    And the output contains "features/b_dies.feature  errored"
    And the summary lists "features/b_dies.feature:2" as errored by "worker exited by signal 9 (SIGKILL)"
    And every spill file the run names holds what it claims
    And the output of "features/b_dies.feature" signposts that its 409600 bytes of stdout were cut
    And <warnings>
    And every passing feature is reported passed
    And the last line is "scenarios: 4 passed, 2 failed, 0 skipped"
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind

    Examples:
      | limit                                     | fsize     | options          | warnings                                                                 |
      | a tiny --max-spill                        | unlimited | --max-spill 4KiB | stderr has no warning about spilling                                     |
      | the file size limit (EFBIG, a full quota) | 256 KiB   |                  | stderr says "File too large; keeping truncated output only" exactly once |

  # -- interrupted with report files -------------------------------------------------------------

  Scenario Outline: <signal> mid-run: the JSON report is still written, valid, and marked partial
    Given 4 passing features
    And a file "features/steps/hang_steps.py":
      """
      import os
      import time
      from behave import step

      @step("it hangs")
      def hangs(context):
          os.makedirs("scratch", exist_ok=True)
          with open("scratch/hanging.flag", "w") as flag:
              flag.write(str(os.getpid()))
          time.sleep(600)
      """
    And a feature file "a_hangs.feature":
      """
      Feature: hangs
        Scenario: never ends
          Given it hangs
      """
    When I start the runner on the faulty suite with "-j 2 --json report.json --junit-xml report.xml"
    And I wait until the file "scratch/hanging.flag" exists
    And I wait until the runner has reported 4 passing features
    And I send <signal> to the runner
    Then the exit code is <code>
    And the runner stopped within 5 seconds
    And the output contains "run stopped early: interrupted by <signal>"
    And every passing feature is reported passed
    And the last line is "scenarios: 4 passed, 0 failed, 1 skipped; run failed: interrupted by <signal>"
    And the JSON report "report.json" is valid and partial because "interrupted by <signal>", with 4 passed scenarios and "features/a_hangs.feature" not run
    And the JUnit report "report.xml" parses and is marked partial
    And the runner's stderr has no traceback
    And no process of the run is left
    And no process of the run peaked above 128 MiB of resident memory
    And no temporary file is left behind but "report.json, report.xml"

    Examples:
      | signal  | code |
      | SIGINT  | 130  |
      | SIGTERM | 143  |

  # -- bad input ---------------------------------------------------------------------------------
  # Conflicting options (README "Options"): --no-spill with --max-spill and --max-output unlimited
  # with --keep are refused on the command line (collection_and_usage.feature gives them in one
  # order; here the other); both reports at one path is a conflict too.

  Scenario Outline: bad input is one line on stderr, exit code 2, and nothing runs: <case>
    Given 4 passing features
    And the suite has a regular file "blocked" and an empty directory "empty"
    When I run the runner on the faulty suite with "<args>"
    Then the exit code is 2
    And stderr is one line
    And stderr names "<what>" and "<where>"
    And the output has no traceback
    And no feature was reported
    And no process of the run is left
    And no temporary file is left behind

    Examples:
      | case                                 | args                                     | what                            | where               |
      | shard past the count                 | --shard 3/2                              | --shard                         | '3/2'               |
      | shard zero                           | --shard 0/2                              | --shard                         | '0/2'               |
      | shard that is not numbers            | --shard a/b                              | --shard                         | 'a/b'               |
      | unknown scheme                       | --scheme bogus                           | --scheme                        | 'bogus'             |
      | serial tag that is not a tag         | --serial-tag "a b"                       | --serial-tag                    | 'a b'               |
      | a formatter behave does not know     | -f no_such_formatter                     | BAD_FORMAT                      | no_such_formatter   |
      | empty JSON report path               | --json ""                                | --json                          | ''                  |
      | JSON report under a regular file     | --json blocked/report.json               | --json                          | blocked/report.json |
      | JUnit report under a regular file    | --junit-xml blocked/report.xml           | --junit-xml                     | blocked/report.xml  |
      | JSON report that is a directory      | --json features                          | --json                          | features            |
      | JUnit report that is a directory     | --junit-xml features                     | --junit-xml                     | features            |
      | both reports to one file (conflict)  | --json report.out --junit-xml report.out | --junit-xml                     | report.out          |
      | spill cap given after --no-spill     | --max-spill 1MiB --no-spill              | conflicting options             | --no-spill          |
      | --keep given before unlimited output | --keep head --max-output unlimited       | conflicting options             | --keep              |
      | a directory with nothing in it       | empty                                    | No steps directory              | empty               |

  Scenario Outline: a suite that cannot load is one line naming the file and line, exit code 2: <breakage>
    Given 4 passing features
    And the suite is broken by <breakage>
    When I run the runner on the faulty suite with "-j 2"
    Then the exit code is 2
    And stderr is one line
    And stderr names "<where>: " and "<what>"
    And the output has no traceback
    And no feature was reported
    And no process of the run is left
    And no temporary file is left behind

    Examples:
      | breakage                                  | where                            | what                                                  |
      | a steps module that raises ImportError    | features/steps/broken_steps.py:3 | loading the suite raised ImportError: no such thing   |
      | a steps module with a syntax error        | features/steps/broken_steps.py:3 | SyntaxError                                           |
      | a steps module that calls sys.exit(3)     | features/steps/broken_steps.py:3 | SystemExit                                            |
      | an environment.py that fails to import    | features/environment.py:3        | ModuleNotFoundError                                   |
      | an environment.py whose before_all raises | features/environment.py:2        | before_all hook raised RuntimeError: database is down |

  # -- load ----------------------------------------------------------------------------------------

  @slow
  Scenario Outline: 2,000 one-scenario features that <what>: every result accounted for, the runner's memory flat
    Given 2000 generated one-scenario features that <what>
    When I run the runner on the faulty suite with "-j 2 --json report.json <options>"
    Then the exit code is 0
    And the last line is "scenarios: 2000 passed, 0 failed, 0 skipped"
    And every generated feature is reported passed once
    And the JSON report "report.json" lists every generated scenario once, passed
    And the runner process peaked under 150 MiB of resident memory
    And the runner's stderr has no traceback
    And no process of the run is left
    And no temporary file is left behind but "report.json"

    Examples:
      | what                      | options      |
      | pass quietly              |              |
      | print 1 MiB each and pass | --no-capture |
