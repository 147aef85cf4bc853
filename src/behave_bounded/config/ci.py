"""What the CI system a run is in says about it: which of its parallel jobs this one is.

``--shard auto`` reads the variables CI systems set in each job of a parallel job matrix, so a
pipeline needs no arithmetic of its own to turn them into ``--shard K/N``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from behave_bounded.config.values import WHOLE_NUMBER, Shard
from behave_bounded.errors import UsageError


@dataclass(frozen=True)
class CiShardVariables:
    """The variables a CI system sets in each of its parallel jobs."""

    ci: str
    index: str
    total: str
    first: int  # the index of the first job: 1 (GitLab) or 0


CI_SHARD_VARIABLES = (
    CiShardVariables("GitLab", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1),
    CiShardVariables("CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),
    CiShardVariables("Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
)


def ci_shard(environ: Mapping[str, str], source: str = "--shard auto") -> tuple[Shard, str]:
    """The shard the CI's parallel job variables name, and which variables said so.

    No variables: one shard (run everything). A total of 1 without an index is one shard too
    (GitLab sets ``CI_NODE_TOTAL=1`` in a job without ``parallel:``). Anything else that is
    not a valid index and total is a usage error naming the variable and its value.
    """
    found = [
        (ci, environ.get(ci.index, "").strip(), environ.get(ci.total, "").strip())
        for ci in CI_SHARD_VARIABLES
    ]
    found = [item for item in found if item[1] or item[2]]
    if not found:
        return Shard(1, 1), f"{source}: no CI parallel job variables are set, so one shard"
    if len(found) > 1:
        systems = ", ".join(f"{ci.ci} ({ci.index}, {ci.total})" for ci, _, _ in found)
        raise UsageError(f"{source}: variables of several CI systems are set: {systems}")
    ci, index_text, total_text = found[0]
    if not total_text:
        raise UsageError(f"{source}: {ci.index}={index_text} is set but {ci.total} is not")
    total = _ci_number(source, ci, ci.total, total_text, 1)
    if not index_text:
        if total != 1:
            raise UsageError(f"{source}: {ci.total}={total_text} is set but {ci.index} is not")
        return Shard(1, 1), f"{source}: {ci.ci} {ci.total}=1, so one shard"
    index = _ci_number(source, ci, ci.index, index_text, ci.first)
    if index - ci.first >= total:
        raise UsageError(
            f"{source}: {ci.index}={index_text} is past {ci.total}={total_text} "
            f"({ci.ci} numbers its parallel jobs from {ci.first})"
        )
    shown = f"{ci.ci} {ci.index}={index_text}, {ci.total}={total_text}"
    return Shard(index - ci.first + 1, total), f"{source}: {shown}"


def _ci_number(source: str, ci: CiShardVariables, name: str, text: str, minimum: int) -> int:
    if not WHOLE_NUMBER.fullmatch(text) or int(text) < minimum:
        raise UsageError(
            f"{source}: {name}: invalid value {text!r}: expected a whole number {minimum} or "
            f"more ({ci.ci} numbers its parallel jobs from {ci.first})"
        )
    return int(text)
