"""Part 1 of the benchmark: capture throughput, BoundedTextIO vs io.StringIO vs /dev/null."""

from __future__ import annotations

import gc
import io
import os
import time
from collections.abc import Callable
from typing import TextIO

from bench_support import (
    LIMIT,
    MB,
    Figure,
    Row,
    Table,
    progress,
    ratio,
    size_name,
)

from behave_bounded.capture import BoundedTextIO, Keep

CHUNK = 64 * 1024
LINE_POOL = 10_000


def line_pool() -> list[str]:
    """Distinct 100-character lines: writing one object again and again flatters StringIO."""
    return [f"{i:08d} " + "abcdefghij" * 9 + "\n" for i in range(LINE_POOL)]


def chunk_pool() -> list[str]:
    """16 distinct 64 KiB chunks made of distinct lines."""
    lines = line_pool()
    per_chunk = CHUNK // 100
    chunks = []
    for start in range(0, 16 * per_chunk, per_chunk):
        text = "".join(lines[start : start + per_chunk])
        chunks.append((text + "x" * CHUNK)[: CHUNK - 1] + "\n")
    return chunks


def throughput(factory: Callable[[], TextIO], pool: list[str], total: int) -> float:
    """MB/s of writing ``total`` characters (ASCII, so bytes) from ``pool``, cycled."""
    per_round = sum(map(len, pool))
    rounds = max(1, total // per_round)
    stream = factory()
    gc.collect()
    write = stream.write
    started = time.perf_counter()
    for _ in range(rounds):
        for item in pool:
            write(item)
    stream.flush()
    elapsed = time.perf_counter() - started
    stream.close()
    del stream, write
    gc.collect()
    return rounds * per_round / elapsed / MB


def part_capture(total: int, runs: int) -> Table:
    """Part 1: the capture stream is on the path of every print of every test."""
    sinks: dict[str, Callable[[], TextIO]] = {
        "BoundedTextIO": lambda: BoundedTextIO("stdout", LIMIT, Keep.BOTH),
        "io.StringIO": io.StringIO,
        "devnull": lambda: open(os.devnull, "w", encoding="utf-8"),  # noqa: SIM115
    }
    shapes = {
        "64 KiB chunks": (chunk_pool(), "devnull", 0.8),
        "100 B lines": (line_pool(), "io.StringIO", 1.3),
    }
    table = Table(f"1. Capture throughput ({size_name(total)} per run)", "MB/s / ref MB/s")
    for shape, (pool, reference, goal) in shapes.items():
        values: dict[str, list[float]] = {name: [] for name in sinks}
        for run in range(runs):  # interleaved: a burst of load hits every sink alike
            progress(f"capture: {shape}, run {run + 1} of {runs}")
            for name, factory in sinks.items():
                values[name].append(throughput(factory, pool, total))
        speeds = {name: Figure(tuple(v), "MB/s") for name, v in values.items()}
        for name, speed in speeds.items():
            is_ref = name == reference
            value = ratio(speed, speeds[reference])
            checked = name == "BoundedTextIO"
            table.rows.append(
                Row(
                    f"{shape}: {name}",
                    speed,
                    "(reference)" if is_ref else f"{shape}: {reference}",
                    None if is_ref else value,
                    f">= {goal}x" if checked else "",
                    (value is not None and value >= goal) if checked else None,
                )
            )
    table.notes = [
        "BoundedTextIO(stdout, limit 10 MiB, keep both), no spill; MB = 10^6 bytes; every "
        "stream gets the same number of write() calls of the same distinct strings.",
        "io.StringIO keeps a reference to each string it is given and copies nothing until "
        "getvalue(), so its chunk figure is not a throughput: chunks are compared with devnull.",
    ]
    return table
