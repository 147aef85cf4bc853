#!/usr/bin/env python3
"""Throughput of the bounded capture stream against io.StringIO and a text file on os.devnull.

Not a test: run it by hand (``python scripts/bench_capture.py``) when the capture path changes.
It pushes the same amount of text (1 GiB by default) through each stream twice over -- in
64 KiB chunks and in 100-byte lines drawn from a pool of distinct strings, because writing one
string object again and again flatters StringIO -- takes the median of several runs, prints a
Markdown table and exits 1 naming every missed target:

* 64 KiB chunks: BoundedTextIO >= 0.8x the devnull text file;
* 100-byte lines: BoundedTextIO >= 1.0x io.StringIO.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import TextIO

from behave_bounded.capture import BoundedTextIO, Keep

MB = 1_000_000
CHUNK = 64 * 1024
LINE = 100
POOL = 10_000
TARGETS = {"chunks": ("devnull", 0.8), "lines": ("StringIO", 1.0)}


def line_pool() -> list[str]:
    """POOL distinct 100-character lines (99 characters and a newline)."""
    return [f"{i:08d} " + "abcdefghij" * 9 + "\n" for i in range(POOL)]


def chunk_pool() -> list[str]:
    """A few distinct 64 KiB chunks, each made of distinct lines."""
    lines = line_pool()
    per_chunk = CHUNK // LINE
    chunks = []
    for start in range(0, 16 * per_chunk, per_chunk):
        text = "".join(lines[start : start + per_chunk])
        chunks.append((text + "x" * CHUNK)[: CHUNK - 1] + "\n")
    return chunks


def make_streams(limit: int) -> dict[str, Callable[[], TextIO]]:
    return {
        "BoundedTextIO": lambda: BoundedTextIO("stdout", limit, Keep.BOTH),
        "StringIO": io.StringIO,
        "devnull": lambda: open(os.devnull, "w", encoding="utf-8"),
    }


def run_once(factory: Callable[[], TextIO], pool: list[str], total: int) -> float:
    """MB/s writing about ``total`` characters (all ASCII: bytes) from ``pool``, cycled."""
    per_round = sum(len(item) for item in pool)
    rounds, rest = divmod(total, per_round)
    partial: list[str] = []
    for item in pool:
        if rest <= 0:
            break
        partial.append(item)
        rest -= len(item)
    stream = factory()
    gc.collect()
    write = stream.write
    started = time.perf_counter()
    for _ in range(rounds):
        for item in pool:
            write(item)
    for item in partial:
        write(item)
    stream.flush()
    elapsed = time.perf_counter() - started
    stream.close()
    del stream
    gc.collect()
    written = rounds * per_round + sum(len(item) for item in partial)
    return written / elapsed / MB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=2**30, help="bytes per run (default 1 GiB)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=10 * 2**20, help="BoundedTextIO limit")
    args = parser.parse_args()

    shapes = {"chunks": chunk_pool(), "lines": line_pool()}
    streams = make_streams(args.limit)
    speed: dict[tuple[str, str], float] = {}
    for shape, pool in shapes.items():
        for name, factory in streams.items():
            runs = [run_once(factory, pool, args.total) for _ in range(args.runs)]
            speed[shape, name] = statistics.median(runs)
            print(f"  {shape:6} {name:13} {speed[shape, name]:8.0f} MB/s", file=sys.stderr)

    print(f"\n{args.total / 2**20:.0f} MiB per run, median of {args.runs} runs, MB = 10^6 bytes\n")
    print("| shape | stream | MB/s | vs StringIO | vs devnull |")
    print("|---|---|---:|---:|---:|")
    for shape in shapes:
        for name in streams:
            value = speed[shape, name]
            print(
                f"| {shape} | {name} | {value:.0f} | {value / speed[shape, 'StringIO']:.2f}x "
                f"| {value / speed[shape, 'devnull']:.2f}x |"
            )
    print(
        "\nStringIO keeps a reference to each chunk it is given (it copies nothing until "
        "getvalue), so its chunk figure is not a throughput; chunks are compared with devnull."
    )
    missed = []
    print()
    for shape, (baseline, ratio) in TARGETS.items():
        achieved = speed[shape, "BoundedTextIO"] / speed[shape, baseline]
        verdict = "met" if achieved >= ratio else "MISSED"
        print(f"- target {shape}: >= {ratio}x {baseline}: {achieved:.2f}x, {verdict}")
        if achieved < ratio:
            missed.append(f"{shape}: BoundedTextIO is {achieved:.2f}x {baseline}, target {ratio}x")
    for line in missed:
        print(f"MISSED TARGET: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
