"""``--preimport``: import modules once in the parent so forked workers share them.

A module whose import hangs must not hang the run (reference issue 9798: a pre-import that
blocked forever kept every worker from starting). Each import runs under a timer signal in
the main thread; on expiry the import is interrupted, the half-imported modules are removed
and the run goes on without them. A timer, not a thread: a thread stuck in an import would
hold the import lock into every forked worker. Limitation: code that never returns to the
interpreter (a C extension spinning with the GIL held) cannot be interrupted this way.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any


class _PreimportTimeout(BaseException):
    """Raised by the timer; a BaseException so that ``except Exception`` cannot swallow it."""


def _expire(_signum: int, _frame: Any) -> None:
    raise _PreimportTimeout


def preimport(modules: Iterable[str], timeout: float, warn: Callable[[str], None]) -> list[str]:
    """Import each module within ``timeout`` seconds; warn once per failure; return successes."""
    imported: list[str] = []
    for name in modules:
        before = set(sys.modules)
        previous = signal.signal(signal.SIGALRM, _expire)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            importlib.import_module(name)
        except KeyboardInterrupt:
            raise
        except _PreimportTimeout:
            reason = f"import did not finish within {timeout:g} s (--preimport-timeout)"
        except BaseException as error:
            text = str(error).strip().splitlines()
            reason = f"import raised {type(error).__name__}" + (f": {text[0]}" if text else "")
        else:
            reason = ""
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if reason:
            for added in set(sys.modules) - before:
                sys.modules.pop(added, None)
            warn(f"--preimport {name}: {reason}; continuing without it")
        else:
            imported.append(name)
    return imported
