"""``python -m behave_bounded``: the same as the ``behave-bounded`` command."""

import sys

from behave_bounded.cli import main

sys.exit(main())
