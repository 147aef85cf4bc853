#!/usr/bin/env python3
"""The repository's entry point.

``python scripts/run_behave_parallel.py ARGS`` is ``behave-bounded ARGS``.
"""

import sys

from behave_bounded.cli import main

if __name__ == "__main__":
    sys.exit(main())
