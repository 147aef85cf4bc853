"""behave-bounded: a parallel runner for behave whose output, memory, time and workers are bounded.

Use it as ``behave-bounded [OPTIONS] [BEHAVE OPTIONS] [PATHS]`` or through behave itself:
``behave --runner behave_bounded:ParallelRunner``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from behave_bounded.plugin import ParallelRunner

__all__ = ["ParallelRunner", "__version__"]


def __getattr__(name: str) -> Any:
    """``behave_bounded:ParallelRunner`` on demand: importing the package (``--version``, a
    worker, ``validate-tags``) does not load behave's runner and the whole runner with it."""
    if name == "ParallelRunner":
        from behave_bounded.plugin import ParallelRunner  # noqa: PLC0415

        return ParallelRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
