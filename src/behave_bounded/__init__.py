"""behave-bounded: a parallel runner for behave whose output, memory, time and workers are bounded.

Use it as ``behave-bounded [OPTIONS] [BEHAVE OPTIONS] [PATHS]`` or through behave itself:
``behave --runner behave_bounded:ParallelRunner``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ParallelRunner", "__version__"]

if TYPE_CHECKING:
    from behave_bounded.plugin import ParallelRunner


def __getattr__(name: str) -> Any:
    # Imported lazily: `python -m behave_bounded` and workers do not need behave's runner face.
    if name == "ParallelRunner":
        from behave_bounded.plugin import ParallelRunner  # noqa: PLC0415

        return ParallelRunner
    raise AttributeError(name)
