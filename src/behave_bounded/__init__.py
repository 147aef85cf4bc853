"""behave-bounded: a parallel runner for behave whose output, memory, time and workers are bounded.

Use it as ``behave-bounded [OPTIONS] [BEHAVE OPTIONS] [PATHS]`` or through behave itself:
``behave --runner behave_bounded:ParallelRunner``.
"""

from __future__ import annotations

__version__ = "0.1.0"

# After __version__: the command line module, which the plugin imports, reads it.
from behave_bounded.plugin import ParallelRunner

__all__ = ["ParallelRunner", "__version__"]
