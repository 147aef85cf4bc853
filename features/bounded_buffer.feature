Feature: Bounded output capture
  A test that prints gigabytes must not take the worker's memory with it. Every captured
  stream keeps a bounded head and tail, counts what was written exactly, marks the cut with
  one sentinel line and can spill the full stream to a capped file.

  Scenario: the bounded sink keeps exactly a head prefix and a tail suffix of any writes
    Then the bounded sink keeps the head and tail of any sequence of writes

  Scenario Outline: a single 1 GiB write through <route> keeps memory bounded
    Given a bounded sink fed through <route> with limit <limit>
    When the bounded sink receives one 1 GiB bytes object while memray tracks the heap
    Then the bounded sink's peak heap during the write was <comparison> <bound>
    And the bounded sink counted 1073741824 bytes written and <kept> kept

    Examples: bounded, directly and through a text stream's .buffer
      | route                     | limit     | comparison | bound | kept       |
      | the sink itself           | 1 MiB     | below      | 8 MiB | 1048576    |
      | a text stream's buffer    | 1 MiB     | below      | 8 MiB | 1048576    |

    Examples: unlimited, the old behaviour, proving the measurement sees the bug
      | route                     | limit     | comparison | bound | kept       |
      | the sink itself           | unlimited | at least   | 1 GiB | 1073741824 |

  Scenario: a multibyte character on the head/tail cut is never split
    Given a bounded sink named "stdout" with limit 16 keeping both
    When the bounded sink is written the text "abc€"
    And the bounded sink is written the text "----------------------------------------"
    And the bounded sink is written the text "é01234567890"
    Then the bounded sink's text is exactly:
      """
      abc
      [behave-bounded: stdout truncated: 59 bytes written, 14 kept, 45 dropped; full output: none]
      01234567890
      """

  Scenario: invalid UTF-8 written through a text stream's buffer becomes U+FFFD
    Given a bounded text stream with limit 1 MiB
    When the bounded text stream gets text, invalid UTF-8 through its buffer and a lone surrogate
    Then the bounded text stream's value has one U+FFFD per invalid byte and the escaped surrogate

  Scenario: without a spill the sentinel says "full output: none"
    Given a bounded sink named "stderr" with limit 100 keeping tail
    When the bounded sink receives 5000 bytes of numbered lines
    Then the bounded sink's sentinel says stream "stderr", 5000 written, 100 kept, 4900 dropped
    And the bounded sink's sentinel says full output "none"

  Scenario: with a spill the sentinel names the file, which holds the stream up to its cap
    Given a bounded sink named "stdout" with limit 100 keeping both, spilling at most 1000 bytes to a new directory
    When the bounded sink receives 5000 bytes of numbered lines
    And the bounded sink is closed
    Then the bounded sink's sentinel says stream "stdout", 5000 written, 100 kept, 4900 dropped
    And the bounded sink's sentinel names the spill file
    And the bounded sink's spill file holds the first 1000 bytes of the stream and then a sentinel line
    And the bounded sink's spill file is private: mode 0600 in a directory of mode 0700

  Scenario: a spill directory that cannot be created falls back to truncation, warning once
    When the capture tries twice to spill under a regular file, in a fresh Python process
    Then the capture process warned exactly once that it cannot spill to that directory
    And the capture process kept truncated output saying "full output: none"

  Scenario: a full disk stops the spill without an exception, warning once
    When the capture spills twice to /dev/full, in a fresh Python process
    Then the capture process warned exactly once that it cannot spill to /dev/full
    And the capture process still kept the truncated output

  Scenario: a child process writing 64 MiB to fd 1 is bounded and counted exactly
    Given a bounded sink named "stdout" with limit 1 MiB keeping both
    When the capture of fd 1 runs a child process that writes 64 MiB to fd 1
    Then the bounded sink counted 67108864 bytes written and 1048576 kept
    And the capture's peak heap stayed below 8 MiB

  Scenario: a grandchild that keeps writing does not hang stop()
    Given a bounded sink named "stdout" with limit 1 MiB keeping both
    When the capture of fd 1 is stopped while a process it started keeps writing to fd 1
    Then the capture's stop() returned within 10 seconds, the writer still running
    And the bounded sink counted nothing after the capture stopped
    And the capture's discarding thread ended once the writer was killed

  Scenario: the capture of an fd refuses misuse loudly
    Given a bounded sink named "stdout" with limit 1 MiB keeping both
    Then the capture of fd 1 refuses to stop before it started
    And the capture of fd 1 refuses to start twice or stop twice

  Scenario: print, os.write, .buffer.write and a child all land in the stdout sink, in order
    When the capture runs a task that writes to stdout and stderr in every way
    Then the capture's stdout text is exactly:
      """
      one
      two
      three
      four
      five
      """
    And the capture's stderr text is exactly:
      """
      err one
      err two
      """
    And the capture restored sys.stdout and sys.stderr
    And the capture's sys.stdout looked like a real stdout on fd 1

  Scenario: a task that closes sys.stdout does not break stop()
    When the capture runs a task that prints "before" and closes sys.stdout
    Then the capture's stdout text is exactly:
      """
      before
      """
    And the capture restored sys.stdout and sys.stderr

  Scenario: a task that replaces sys.stdout does not break stop()
    When the capture runs a task that replaces sys.stdout with a StringIO
    Then the capture's stdout text is exactly:
      """
      before
      """
    And the capture restored sys.stdout and sys.stderr

  Scenario: a child forked during the task prints into the parent's capture
    When the capture runs a task that forks a child which prints "from the child"
    Then the capture's stdout text is exactly:
      """
      from the parent
      from the child
      """

  Scenario: a task capture spills the full stream, keeps the file under its own name and names it in the sentinel
    When the capture runs a task printing 5000 bytes with limit 100 and a spill directory
    Then the capture's stdout sentinel names a file of its own in the spill directory, not the one it spilled into while the task ran
    And the capture's stdout spill file holds all 5000 bytes

  Scenario: writes from several threads at once are all counted, and none is torn
    Given a bounded sink named "stdout" with limit 1 MiB keeping both
    When 4 threads write 2000 pieces each into the bounded sink at once, switching threads every microsecond
    Then the bounded sink counted every byte of every thread and kept exactly 1 MiB
    And every write the bounded sink kept is whole and in its thread's order

  Scenario: threads that first ask a text stream for its .buffer at once get one buffer, and the stream stays open
    Given a bounded text stream with limit 1 MiB
    When 32 threads ask the bounded text stream for its buffer at once and write through it, switching threads every microsecond
    Then every thread got the same buffer and the bounded text stream is still open
    And a second front made for the bounded text stream and dropped leaves the stream open

  Scenario: odd arguments to the sink are counted or refused without raising into the test
    Then a sink counts a str of "héllo" as 6 bytes
    And a sink counts a non-contiguous view of 1000 bytes as 500 bytes
    And a sink counts a contiguous view of 100 two-byte items as 200 bytes
    And a sink takes an int without raising and counts nothing
    And a bounded text stream says it is writable

  Scenario: spill files and captures refuse misuse loudly, and fail soft on a bad directory
    Then a spill into a directory that is a regular file is refused with one warning
    And a spill into "a/b/" makes every level private
    And closing a spill twice is harmless
    And stopping a task capture that never started raises a RuntimeError naming the state
