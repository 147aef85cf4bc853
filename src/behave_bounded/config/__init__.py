"""Settings of a run, from the command line > environment > pyproject.toml > defaults.

Every setting is one field of :class:`Settings` (``options``), declared with its parser
(``values``), its help and how each source spells it; :data:`OPTIONS` is derived from those
fields and every source reads it (``sources``): the command line (``cli`` builds its parser
from the table), ``-D behave_bounded.NAME=VALUE`` userdata (the ``behave --runner`` face),
the ``BEHAVE_BOUNDED_*`` environment variables and ``[tool.behave-bounded]``. A new option is
one field. Values are parsed once, into their final types; bad values raise
:class:`~behave_bounded.errors.UsageError` naming the source and the value. :func:`resolve`
merges the sources and then checks, once, the settings that contradict each other. ``ci``
reads the CI's parallel job variables for ``--shard auto``.
"""

from behave_bounded.config.ci import CI_SHARD_VARIABLES, ci_shard
from behave_bounded.config.options import (
    ENV_PREFIX,
    OPTIONS,
    OPTIONS_BY_NAME,
    PYPROJECT_TABLE,
    USERDATA_PREFIX,
    Kind,
    Option,
    Settings,
    setting,
)
from behave_bounded.config.sources import (
    CONFLICTS,
    display_path,
    from_userdata,
    read_pyproject,
    resolve,
)
from behave_bounded.config.values import (
    AUTO,
    Shard,
    enum_parser,
    parse_bool,
    parse_count,
    parse_delay,
    parse_jobs,
    parse_keep,
    parse_modules,
    parse_path,
    parse_positive_int,
    parse_repeat,
    parse_reruns,
    parse_scheme,
    parse_seconds,
    parse_shard,
    parse_shard_or_auto,
    parse_size,
    parse_size_or_unlimited,
    parse_tag_name,
)

__all__ = [
    "AUTO",
    "CI_SHARD_VARIABLES",
    "CONFLICTS",
    "ENV_PREFIX",
    "OPTIONS",
    "OPTIONS_BY_NAME",
    "PYPROJECT_TABLE",
    "USERDATA_PREFIX",
    "Kind",
    "Option",
    "Settings",
    "Shard",
    "ci_shard",
    "display_path",
    "enum_parser",
    "from_userdata",
    "parse_bool",
    "parse_count",
    "parse_delay",
    "parse_jobs",
    "parse_keep",
    "parse_modules",
    "parse_path",
    "parse_positive_int",
    "parse_repeat",
    "parse_reruns",
    "parse_scheme",
    "parse_seconds",
    "parse_shard",
    "parse_shard_or_auto",
    "parse_size",
    "parse_size_or_unlimited",
    "parse_tag_name",
    "read_pyproject",
    "resolve",
    "setting",
]
