@tdd_issue @tdd_issue_7311
Feature: Issue 7311: a worker's output is bounded, in the worker, between processes and in the parent

  The original parallel runner captured each worker's stdout and stderr in plain
  io.StringIO buffers and handed the whole text to the parent: a test that prints
  gigabytes exhausted the host's memory. Every scenario below runs the real runner on a
  generated suite twice: "before the fix" with --max-output unlimited (the original
  StringIO capture, kept on purpose as the baseline) and "after the fix" with the default
  bounded capture. The baseline rows are tagged @tdd_expected_fail: they must fail by
  assertion (xfailed). If a baseline row ever passes, the scenario has lost its teeth and
  the strict xpass fails the run. The baseline fails fast: its worker runs under an
  address-space cap, or its memory is measured against a budget, so the bug shows as a
  failed assertion within seconds instead of eating the machine's memory. Memory is judged
  as the out-of-memory killer sees it: a @memory_budget_<SIZE> scenario fails when its peak
  resident growth (the kernel's exact VmHWM on Linux) or its peak heap (memray) exceeds SIZE,
  and the parent's resident growth is measured next to its heap under memray.

  Background:
    Given a file "features/steps/loud_steps.py":
      """
      import os
      import resource
      import subprocess
      import sys
      from behave import step

      MIB = 2**20

      def address_space():
          with open("/proc/self/statm") as statm:
              return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")

      @step("it prints {mib:d} MiB to stdout under an address-space cap of {cap:d} MiB")
      def capped(context, mib, cap):
          soft, hard = resource.getrlimit(resource.RLIMIT_AS)
          resource.setrlimit(resource.RLIMIT_AS, (address_space() + cap * MIB, hard))
          printed = 0
          try:
              chunk = "o" * (64 * 1024 - 1) + "\n"
              for _ in range(mib * 16):
                  sys.stdout.write(chunk)
                  printed += len(chunk)
          except MemoryError:
              raise AssertionError(
                  f"the worker exceeded its {cap} MiB budget after {printed // MIB} MiB of output"
              ) from None
          finally:
              resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

      @step("it prints {mib:d} MiB to stdout")
      def prints(context, mib):
          chunk = "p" * (64 * 1024 - 1) + "\n"
          for _ in range(mib * 16):
              sys.stdout.write(chunk)

      @step("it writes exactly {size:d} bytes to stderr")
      def exactly(context, size):
          line = b"e" * 1023 + b"\n"
          for _ in range(size // 1024):
              sys.stderr.buffer.write(line)
          sys.stderr.flush()

      @step("a child process writes {mib:d} MiB to file descriptor 1")
      def child(context, mib):
          code = f"import os; b = b'c' * 65536; [os.write(1, b) for _ in range({mib} * 16)]"
          subprocess.run([sys.executable, "-c", code], check=True)

      @step("it writes the reference text to stdout and stderr")
      def reference(context):
          for number in range(2000):
              print(f"stdout line {number:05d} {'é' * (number % 7)} ✓")
              print(f"stderr line {number:05d} {'ü' * (number % 5)} ✗", file=sys.stderr)

      @step("it fails so that its output is shown")
      def fails(context):
          assert False, "shown on purpose"
      """

  Scenario Outline: 1. a worker that writes 2 GiB to stdout stays within its memory (<capture>)
    Given a feature file "loud.feature":
      """
      Feature: loud
        @memory_budget_64MiB
        Scenario: prints 2 GiB
          Given it prints 2048 MiB to stdout under an address-space cap of 512 MiB
      """
    When I run the runner with "-j 1 --no-capture --max-spill 16MiB --json report.json <options>"
    Then the report shows "features/loud.feature:3" within its memory budget of 64 MiB, resident and heap
    And the exit code is 0
    And the output contains "features/loud.feature  passed"

    @tdd_expected_fail
    Examples: before the fix
      | capture            | options                 |
      | unbounded StringIO | --max-output unlimited  |

    Examples: after the fix
      | capture            | options                 |
      | bounded capture    |                         |

  Scenario Outline: 2. the parent is never handed more than the limit per stream (<capture>)
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: prints 256 MiB, then fails
          Given it prints 256 MiB to stdout
          Then it fails so that its output is shown
      """
    When I run the runner under memray with "-j 1 --no-capture --max-spill 16MiB <options>"
    Then the runner's own peak resident growth was under 64 MiB
    And the runner's own peak heap was under 64 MiB

    @tdd_expected_fail
    Examples: before the fix
      | capture            | options                 |
      | unbounded StringIO | --max-output unlimited  |

    Examples: after the fix
      | capture            | options                 |
      | bounded capture    |                         |

  Scenario Outline: 3. the output handed back carries the truncation sentinel with exact byte counts (<capture>)
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: writes 3 MiB to stderr, then fails
          Given it writes exactly 3145728 bytes to stderr
          Then it fails so that its output is shown
      """
    When I run the runner with "-j 1 --no-capture --max-output 1MiB --show-output 2MiB <options>"
    Then the exit code is 1
    And the output has a sentinel saying 3145728 bytes of stderr were written and 1048576 kept

    @tdd_expected_fail
    Examples: before the fix
      | capture            | options                 |
      | unbounded StringIO | --max-output unlimited  |

    Examples: after the fix
      | capture            | options                 |
      | bounded capture    |                         |

  Scenario Outline: 4. the parent's stderr carries the truncation warning naming the feature and the spill file (<capture>)
    Given a feature file "loud.feature":
      """
      Feature: loud
        Scenario: writes 3 MiB to stderr, then fails
          Given it writes exactly 3145728 bytes to stderr
          Then it fails so that its output is shown
      """
    When I run the runner with "-j 1 --no-capture --max-output 1MiB <options>"
    Then the exit code is 1
    And stderr warns that "features/loud.feature" stderr was truncated, naming a spill file that exists

    @tdd_expected_fail
    Examples: before the fix
      | capture            | options                 |
      | unbounded StringIO | --max-output unlimited  |

    Examples: after the fix
      | capture            | options                 |
      | bounded capture    |                         |

  Scenario Outline: 5. 1 GiB written to file descriptor 1 by a child process is bounded as well (<capture>)
    Given a feature file "child.feature":
      """
      Feature: child
        @memory_budget_64MiB
        Scenario: a child writes 1 GiB
          Given a child process writes 1024 MiB to file descriptor 1
      """
    When I run the runner with "-j 1 --max-spill 16MiB --json report.json <options>"
    Then the report shows "features/child.feature:3" within its memory budget of 64 MiB, resident and heap
    And the exit code is 0
    And the output contains "features/child.feature  passed"

    @tdd_expected_fail
    Examples: before the fix
      | capture            | options                 |
      | unbounded StringIO | --max-output unlimited  |

    Examples: after the fix
      | capture            | options                 |
      | bounded capture    |                         |

  Scenario Outline: 6. normal-sized output comes back byte for byte, with no sentinel and no warning (<capture>)
    Given a feature file "normal.feature":
      """
      Feature: normal
        Scenario: prints the reference text, then fails
          Given it writes the reference text to stdout and stderr
          Then it fails so that its output is shown
      """
    When I run the runner with "-j 1 --no-capture <options>"
    Then the exit code is 1
    And the output shows the reference text of stdout and of stderr byte for byte
    And the output has no truncation sentinel
    And stderr has no warning

    Examples: before the fix
      | capture            | options                 |
      | unbounded StringIO | --max-output unlimited  |

    Examples: after the fix
      | capture            | options                 |
      | bounded capture    |                         |
