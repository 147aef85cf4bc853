Feature: However much a test prints, memory, the data handed back and the console stay bounded

  Output reaches the worker's capture through print, sys.stdout.buffer, logging, os.write
  and child processes. Each scenario starts the runner on a generated suite whose step
  measures, inside the worker, the peak heap (memray) and the growth of the resident set
  while it prints, and writes both to a file this feature reads.

  Background:
    Given a file "features/steps/loud_steps.py":
      """
      import json
      import logging
      import os
      import resource
      import subprocess
      import sys
      import tempfile

      import memray
      from behave import step

      MIB = 2**20

      def emit(how, mib):
          if how == "lines":
              line = "l" * 1023 + "\n"
              for number in range(mib * 1024):
                  print(f"{number:010d}" + line[10:], end="")
          elif how == "chunks":
              chunk = "c" * (64 * 1024 - 1) + "\n"
              for number in range(mib * 16):
                  sys.stdout.write(f"{number:010d}" + chunk[10:])
          elif how == "one write":
              sys.stdout.write("w" * (mib * MIB))
          elif how == "bytes":
              block = b"b" * (64 * 1024 - 1) + b"\n"
              for _ in range(mib * 16):
                  sys.stdout.buffer.write(block)
          elif how == "logging":
              log = logging.getLogger("loud")
              message = "g" * (16 * 1024 - 64)
              for number in range(mib * 64):
                  log.warning("%010d %s", number, message)
          elif how == "a child process":
              code = f"import os; b = b'f' * 65536; [os.write(1, b) for _ in range({mib} * 16)]"
              subprocess.run([sys.executable, "-c", code], check=True)
          sys.stdout.flush()

      @step("it prints {mib:d} MiB as {how}")
      def loud(context, mib, how):
          rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
          with tempfile.TemporaryDirectory() as directory:
              trace = os.path.join(directory, "trace.bin")
              with memray.Tracker(trace):
                  emit(how, mib)
              peak = memray.FileReader(trace).metadata.peak_memory
          rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
          with open("memory.json", "w") as out:
              json.dump({"peak_heap": peak, "rss_growth": (rss_after - rss_before) * 1024}, out)

      @step("it fails")
      def fails(context):
          assert False, "the loud feature failed"

      @step("the memory probe starts")
      def probe_starts(context):
          context.probe_dir = tempfile.TemporaryDirectory()
          context.probe_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
          context.probe = memray.Tracker(os.path.join(context.probe_dir.name, "trace.bin"))
          context.probe.__enter__()

      @step("step {number:d} prints {mib:d} MiB")
      def numbered(context, number, mib):
          emit("chunks", mib)

      @step("the memory probe stops")
      def probe_stops(context):
          context.probe.__exit__(None, None, None)
          trace = os.path.join(context.probe_dir.name, "trace.bin")
          peak = memray.FileReader(trace).metadata.peak_memory
          growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - context.probe_rss) * 1024
          with open("memory.json", "w") as out:
              json.dump({"peak_heap": peak, "rss_growth": growth}, out)
          context.probe_dir.cleanup()
      """

  Scenario Outline: <mib> MiB printed as <how> (<capture>) leave the worker's memory flat
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints a lot
          Given it prints <mib> MiB as <how>
      """
    When I run the runner with "-j 1 <options> --max-spill 64MiB"
    Then the exit code is 0
    And the worker's peak heap while printing was under 64 MiB
    And the worker's resident set grew by less than 64 MiB while printing
    And the last line is "scenarios: 1 passed, 0 failed, 0 skipped"

    Examples:
      | mib  | how             | capture                  | options      |
      | 2048 | lines           | behave's capture         |              |
      | 2048 | chunks          | the worker's capture     | --no-capture |
      | 1024 | bytes           | the worker's capture     | --no-capture |
      | 1024 | logging         | behave's log capture     |              |
      | 1024 | a child process | the worker's fd capture  |              |

  Scenario: the baseline without a limit holds everything (what the regression suite proves)
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints a lot
          Given it prints 256 MiB as chunks
      """
    When I run the runner with "-j 1 --no-capture --max-output unlimited"
    Then the exit code is 0
    And the worker's peak heap while printing was over 256 MiB

  Scenario: what was cut is said exactly: the sentinel, the warning and the spill file
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints, then fails
          Given it prints 3 MiB as chunks
          Then it fails
      """
    When I run the runner with "-j 1 --no-capture --max-output 1MiB --show-output 2MiB"
    Then the exit code is 1
    And the output has a sentinel for stdout with exactly 3145728 bytes written and at most 1048576 kept
    And stderr has a truncation warning for "features/loud.feature" stdout naming the spill file
    And the spill file holds all the bytes written to the stream
    And the output contains "output truncated in 1 stream(s)"
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"

  Scenario: a spill file is capped by --max-spill and ends with a sentinel of its own
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints, then fails
          Given it prints 4 MiB as chunks
          Then it fails
      """
    When I run the runner with "-j 1 --no-capture --max-output 1MiB --max-spill 2MiB"
    Then the exit code is 1
    And the spill file holds 2097152 bytes of the stream and then a sentinel

  Scenario: an artifact directory that cannot be written falls back to truncation alone
    Given a file "blocked":
      """
      a regular file where a directory should be
      """
    And a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints, then fails
          Given it prints 2 MiB as chunks
          Then it fails
      """
    When I run the runner with "-j 1 --no-capture --max-output 1MiB --artifacts blocked/artifacts"
    Then the exit code is 1
    And the output has a sentinel for stdout with exactly 2097152 bytes written and at most 1048576 kept
    And the sentinel says "full output: none"
    And the last line is "scenarios: 0 passed, 1 failed, 0 skipped"

  Scenario: a stream that comes close to the limit is reported once
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints nearly the limit
          Given it prints 9 MiB as chunks
      """
    When I run the runner with "-j 1 --no-capture"
    Then the exit code is 0
    And stderr matches "features/loud.feature: stdout reached 94\d{5} bytes, 90% of --max-output 10485760"

  Scenario: invalid UTF-8 through sys.stdout.buffer and fd 1 becomes U+FFFD, nothing raises
    Given a feature file "bad_bytes.feature":
      """
      Feature: bad bytes
        Scenario: writes invalid UTF-8
          Given it writes invalid UTF-8 to sys.stdout.buffer and to fd 1
          Then it fails
      """
    And a file "features/steps/bad_bytes_steps.py":
      """
      import os
      import sys
      from behave import step

      @step("it writes invalid UTF-8 to sys.stdout.buffer and to fd 1")
      def bad_bytes(context):
          sys.stdout.buffer.write(b"buffer:\xff\xfe:end\n")
          sys.stdout.flush()
          os.write(1, b"fd:\xc3\x28:end\n")
      """
    When I run the runner with "-j 1 --no-capture"
    Then the exit code is 1
    And the output contains "buffer:��:end"
    And the output contains "fd:�(:end"

  Scenario: many steps that each print a lot do not pile up in behave's captured output
    Given a feature file "many.feature" with one scenario of 64 steps that each print 4 MiB
    When I run the runner with "-j 1"
    Then the exit code is 0
    And the worker's peak heap while printing was under 64 MiB
    And the worker's resident set grew by less than 64 MiB while printing

  Scenario: a log record that cannot be formatted is reported by logging's own policy
    Given a feature file "bad_log.feature":
      """
      Feature: bad log record
        Scenario: logs a malformed record, then fails
          Given it logs a record whose arguments do not fit its format
          Then it fails
      """
    And a file "features/steps/bad_log_steps.py":
      """
      import logging
      from behave import step

      @step("it logs a record whose arguments do not fit its format")
      def bad_record(context):
          logging.getLogger("bad").warning("%d apples", "no number")
          logging.getLogger("bad").warning("a fine record after it")
      """
    When I run the runner with "-j 1"
    Then the exit code is 1
    And the output contains "a fine record after it"
    And the output contains "--- Logging error ---"
