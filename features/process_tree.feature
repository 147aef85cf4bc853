Feature: The process tree and the baseline a worker keeps, checked in this process on real processes

  `behave_bounded.processes` finds a worker's descendants in /proc, ends them by pid and start
  time, and reaps only its own children; `behave_bounded.baseline` puts a worker's state back.
  These steps run in the test's own process, on processes they start, and end every one of them.
  Issue 13.

  Scenario: a tree of processes is ended whole, its orphans re-parented to us and reaped
    Given this process is a child subreaper that marked its descendants
    When it starts a chain of 3 processes, each the parent of the next
    And it ends the processes born since the mark
    Then the 3 processes of the chain were ended, and none is left, not even as a zombie

  Scenario: the processes that existed at the mark are kept, and the trees under them
    Given this process is a child subreaper
    And it has started a chain of 2 processes, each the parent of the next
    And it marked its descendants
    When it ends the processes born since the mark
    Then the 2 processes of the chain are still running
    When it ends all its descendants
    Then the 2 processes of the chain were ended, and none is left, not even as a zombie

  Scenario: a process is signalled only while it is the one that was found
    Given this process has started a process that sleeps
    Then a process with its pid but another start time is not signalled, and the sleeper runs on
    And without a file descriptor left to check it with, the sleeper is not signalled either
    When the sleeper is killed and reaped
    Then signalling it again does nothing

  Scenario: reaping waits only for children of this process, and never past its deadline
    Given this process has started a process that sleeps
    Then reaping a process that is not its child returns at once
    And reaping the sleeper with no time left returns without it
    When the sleeper is killed and reaped
    Then this process has no child left

  Scenario: ending processes stops at its timeout, after one round
    Given this process is a child subreaper that marked its descendants
    When it starts a chain of 3 processes, each the parent of the next
    And it ends the processes born since the mark with no time left
    Then the first process of the chain was signalled
    When it ends the processes born since the mark
    Then no process of the chain is left

  Scenario Outline: giving the subreaper setting back leaves it as it was before: <before>
    Given this process <before> a child subreaper
    When a supervisor adopts this process's descendants and releases them
    Then this process <before> a child subreaper

    Examples:
      | before |
      | is     |
      | is not |

  Scenario: a worker does not watch a parent that is gone, nor a process that is not its parent
    Then watching a process that has ended says the parent is gone
    And watching a living process that is not this one's parent says the parent is gone

  Scenario: a working directory removed under a worker retires it
    Given a baseline taken in a temporary directory
    When the directory is removed and the baseline restored
    Then the warning says the worker cannot return there and is retired

  Scenario: a task's warnings are bounded
    When a task leaves 20 warnings
    Then its result carries 16, the last saying "... and 5 more warnings about this task"
