"""Records made in the parent: the record of a task whose worker died, and one feature's record
put back together from the tasks ``--scheme scenario`` cut it into.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from behave.model import Rule, Scenario, ScenarioOutline, Step

from behave_bounded.finalize import ABSORBING, Fate, crash_fates, fate_message
from behave_bounded.record import (
    IN_SCENARIO,
    ErrorRecord,
    FeatureRecord,
    StateRecord,
    apply_shape,
    owned_shape,
    scenario_span,
    statements,
    union_shape,
)


def lost_record(
    feature: Any,
    path: str,
    selected: Callable[[Any], bool],
    cause: str,
    *,
    chunks: Sequence[FeatureRecord] = (),
    running: int = 0,
) -> FeatureRecord:
    """The record of a task whose worker died or timed out before it reported.

    Each scenario has its :class:`~behave_bounded.finalize.Fate`, as the runner counts it:
    those that finished have their journaled events and states (``chunks``), the one that
    was running is errored with the cause (its exception a ``WorkerLost``), those after it
    are skipped. The feature is opened and closed as behave would, so every formatter and
    reporter shows the loss.
    """
    apply_shape(feature, *(chunk.shape for chunk in chunks))
    found = statements(feature)
    refs = {id(statement): index for index, statement in enumerate(found)}
    journaled = {
        piece[0][1]: piece
        for chunk in chunks
        for piece in segments(chunk.events)
        if piece[0][0] == "scenario"
    }
    journaled_states = dict(pair for chunk in chunks for pair in chunk.final)
    rows = [s for s in found if isinstance(s, Scenario) and not isinstance(s, ScenarioOutline)]
    fates = crash_fates(
        [row.line for row in rows],
        {row.line for row in rows if selected(row)},
        {row.line for row in rows if refs[id(row)] in journaled},
        running,
    )
    events: list[tuple[str, int, Any]] = [("uri", -1, path), ("feature", 0, None)]
    final: list[tuple[int, StateRecord]] = []

    def scenario_row(row: Any) -> None:
        ref = refs[id(row)]
        fate = fates[row.line]
        steps = [refs[id(step)] for step in row.all_steps]
        if fate is Fate.FINISHED:
            events.extend(journaled[ref])
            final.extend((r, journaled_states[r]) for r in (ref, *steps) if r in journaled_states)
            return
        events.append(("scenario", ref, None))
        events.extend(("step", step, None) for step in steps)
        if fate in (Fate.RUNNING, Fate.LOST, Fate.UNREACHED):
            message = fate_message(fate, cause)
            error = ErrorRecord("WorkerLost", "behave_bounded", False, message)
            final.append((ref, StateRecord("error", error_message=message, error=error)))
            final.extend((step, StateRecord("untested")) for step in steps)
        else:
            final.append((ref, StateRecord("skipped", should_skip=True)))
            final.extend((step, StateRecord("skipped")) for step in steps)

    def container(parent: Any) -> None:
        if parent.background is not None:
            events.append(("background", refs[id(parent.background)], None))
        for item in parent.run_items:
            if isinstance(item, Rule):
                events.append(("rule", refs[id(item)], None))
                container(item)
                events.append(("rule_finished", -1, None))
            elif isinstance(item, ScenarioOutline):
                for row in item.scenarios:
                    scenario_row(row)
            else:
                scenario_row(item)

    container(feature)
    if not any(fate in ABSORBING for fate in fates.values()):  # a feature hook's crash
        error = ErrorRecord("WorkerLost", "behave_bounded", False, cause)
        final.append((0, StateRecord("hook_error", error_message=cause, error=error)))
    events.append(("eof", -1, None))
    shape = union_shape(chunk.shape for chunk in chunks)
    return FeatureRecord(path, len(found), tuple(events), tuple(final), shape=shape)


def segments(events: Sequence[tuple[str, int, Any]]) -> list[list[tuple[str, int, Any]]]:
    """Events cut into pieces: each scenario's (its event and those inside it), and the rest."""
    pieces: list[list[tuple[str, int, Any]]] = []
    for event in events:
        if event[0] == "scenario" or not pieces or pieces[-1][0][0] != "scenario":
            pieces.append([event])
        elif event[0] in IN_SCENARIO:
            pieces[-1].append(event)
        else:
            pieces.append([event])
    return pieces


def merge_records(
    feature: Any, parts: Sequence[tuple[frozenset[int], FeatureRecord]]
) -> FeatureRecord:
    """One record of a feature whose scenarios ran as separate tasks (``--scheme scenario``).

    ``parts`` pairs each task's scenario lines with its record, in task order. The first
    record gives the feature's events; each scenario's events and states come from the task
    that ran it. Containers (feature, rules, outlines) get their status from the merged
    scenarios, unless a task's hook or cleanup failed there.
    """
    if len(parts) == 1:
        return parts[0][1]
    shapes = [owned_shape(feature, record.shape, lines) for lines, record in parts]
    apply_shape(feature, *shapes)
    found = statements(feature)
    owner: dict[int, FeatureRecord] = {}
    for lines, record in parts:
        for index, statement in enumerate(found):
            if isinstance(statement, Scenario) and statement.line in lines:
                owner[index] = record
    base = parts[0][1]
    owned_segments = {
        id(record): {
            piece[0][1]: piece for piece in segments(record.events) if piece[0][0] == "scenario"
        }
        for _, record in parts
    }
    events: list[tuple[str, int, Any]] = []
    for piece in segments(base.events):
        ref = piece[0][1]
        if piece[0][0] == "scenario" and ref in owner:
            events.extend(owned_segments[id(owner[ref])].get(ref, piece))
        else:
            events.extend(piece)
    states = dict(base.final)
    for ref, record in owner.items():
        theirs = dict(record.final)
        for owned in range(ref, ref + scenario_span(found[ref]) + 1):
            if owned in theirs:
                states[owned] = theirs[owned]
            else:
                states.pop(owned, None)
    _merge_containers(found, parts, states)
    return FeatureRecord(
        path=base.path,
        statement_count=base.statement_count,
        events=tuple(events),
        final=tuple(sorted(states.items())),
        usage=tuple(pair for _, record in parts for pair in record.usage),
        cut=sum(record.cut for _, record in parts),
        shape=union_shape(shapes),
    )


#: A container status that comes from its own hooks or cleanups, not from its scenarios.
_CONTAINER_FAILURES = frozenset({"hook_error", "cleanup_error"})


def _merge_containers(
    found: Sequence[Any],
    parts: Sequence[tuple[frozenset[int], FeatureRecord]],
    states: dict[int, StateRecord],
) -> None:
    """A feature's, rule's or outline's merged state: a task's own hook or cleanup failure
    wins; else its status is derived again from the merged scenarios."""
    finals = [dict(record.final) for _, record in parts]
    for index, statement in enumerate(found):
        if isinstance(statement, Step) or not hasattr(statement, "_cached_status"):
            continue
        if isinstance(statement, Scenario) and not isinstance(statement, ScenarioOutline):
            continue
        theirs = [final[index] for final in finals if index in final]
        broken = next((s for s in theirs if s.status in _CONTAINER_FAILURES), None)
        if broken is not None:
            states[index] = broken
        elif index in states:
            states[index] = dataclasses.replace(states[index], status="untested")
