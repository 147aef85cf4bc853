#!/usr/bin/env python3
"""The HTML report in a real browser: headless Chromium draws it, the screenshot is checked.

Run by ``nox -s html_screenshot``. It generates a small suite (passing features of different
lengths on two workers, a failing one, an xfailed one), runs the runner on it with ``--html``,
has headless Chromium (Debian's ``chromium`` package) take a screenshot of the page, decodes the
PNG with the standard library and checks that

* the screenshot is not blank (several colours, none covering nearly all of it);
* the timeline is drawn: inside the area of the SVG's background colour there are pixels of the
  status colours, in one horizontal band per worker lane.

Chromium is installed with ``apt-get install -y chromium`` when it is missing and this is a
machine where that can work (root, apt); otherwise the script fails saying what to install.
``--report PATH`` screenshots an existing report instead (how the README's picture is made).
Exit code 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from collections import Counter
from pathlib import Path

#: The colours the report's stylesheet gives (reports/html.py): the SVG background, statuses.
TIMELINE_BG = (0xE6, 0xED, 0xF7)
STATUS_COLOURS = {
    "passed": (0x2F, 0x9E, 0x44),
    "failed": (0xE0, 0x31, 0x31),
    "xfailed": (0x1C, 0x7E, 0xD6),
}
#: Colour channels may differ this much from the stylesheet's (colour management, rounding).
TOLERANCE = 3
WINDOW = (1400, 1000)
#: Pixels of the SVG's background a screen row needs to count as a row of the timeline (its
#: label and idle columns alone are about 250 pixels wide at this window size).
MIN_BACKGROUND = 100
BROWSER_TIMEOUT = 120

STEPS = """
import time
from behave import step

@step("it sleeps {ms:d} ms")
def sleeps(context, ms):
    time.sleep(ms / 1000)

@step("it fails")
def fails(context):
    print("the failing step printed this")
    assert False, "expected 401, got 200"
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> str:
    """Chromium's path; installed with apt when missing and possible, else a clear failure."""
    found = find_chromium()
    if found:
        return found
    can_install = os.geteuid() == 0 and shutil.which("apt-get")
    if not can_install:
        sys.exit(
            "html_screenshot: Chromium is missing. Install it, e.g. `sudo apt-get install "
            "chromium` (Debian, Ubuntu: chromium-browser), and run the session again."
        )
    print("html_screenshot: Chromium is missing; installing it with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
    )
    found = find_chromium()
    if not found:
        sys.exit("html_screenshot: apt-get installed chromium, but no chromium is on PATH")
    return found


def generated_report(root: Path) -> Path:
    """Run the runner with --html on a small generated suite; the report's path."""
    features = root / "features"
    (features / "steps").mkdir(parents=True)
    (features / "steps" / "steps.py").write_text(STEPS, encoding="utf-8")
    for number, ms in enumerate((900, 300, 500, 200, 700, 400, 600, 300)):
        (features / f"sleep_{number}.feature").write_text(
            f"Feature: sleeps {number}\n  Scenario: sleeps {ms} ms\n    Given it sleeps {ms} ms\n",
            encoding="utf-8",
        )
    (features / "fails.feature").write_text(
        "Feature: fails\n  Scenario: refuses\n    Given it sleeps 400 ms\n    And it fails\n",
        encoding="utf-8",
    )
    (features / "known_bug.feature").write_text(
        textwrap.dedent(
            """\
            Feature: a known bug
              @tdd_issue @tdd_issue_42 @tdd_expected_fail
              Scenario: still broken
                Given it sleeps 500 ms
                And it fails
            """
        ),
        encoding="utf-8",
    )
    report = root / "report.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEHAVE_BOUNDED_")}
    done = subprocess.run(
        [sys.executable, "-m", "behave_bounded", "-j", "2", "--html", str(report), "features"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 1 or not report.is_file():  # one feature fails on purpose
        sys.exit(f"html_screenshot: the run failed unexpectedly:\n{done.stdout}\n{done.stderr}")
    return report


def screenshot(chromium: str, page: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="bb-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            page.resolve().as_uri(),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, check=False
        )
    if done.returncode != 0 or not out.is_file():
        sys.exit(f"html_screenshot: Chromium failed ({done.returncode}):\n{done.stderr[-3000:]}")


# -- PNG decoding (8-bit RGB or RGBA, not interlaced: what Chromium writes) -----------------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows of raw pixel bytes, bytes per pixel)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    position = 8
    idat = []
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows, channels


def _near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= TOLERANCE for a, b in zip(pixel, colour, strict=True))


def _bands(rows: list[int]) -> int:
    """How many runs of consecutive row numbers ``rows`` holds."""
    return sum(1 for i, row in enumerate(rows) if i == 0 or row != rows[i - 1] + 1)


def check(png: Path, lanes: int, statuses: list[str]) -> list[str]:
    """The problems with the screenshot (none: it shows a drawn timeline)."""
    width, height, rows, channels = decode_png(png.read_bytes())
    pixels = Counter[tuple[int, int, int]]()
    background: list[tuple[int, int]] = []
    for y, row in enumerate(rows):
        found = []
        for x in range(width):
            pixel = (row[x * channels], row[x * channels + 1], row[x * channels + 2])
            pixels[pixel] += 1
            if _near(pixel, TIMELINE_BG):
                found.append((x, y))
        if len(found) >= MIN_BACKGROUND:  # a row of the SVG (stray pixels elsewhere are not)
            background += found
    problems = []
    common, count = pixels.most_common(1)[0]
    print(
        f"screenshot {width}x{height}: {len(pixels)} colours, the commonest {common} on "
        f"{count / (width * height):.1%}"
    )
    if len(pixels) < 8 or count > 0.98 * width * height:
        problems.append("the screenshot is blank or nearly so")
    if not background:
        return [*problems, "no timeline: the SVG's background colour is nowhere"]
    left = min(x for x, _ in background)
    right = max(x for x, _ in background)
    top = min(y for _, y in background)
    bottom = max(y for _, y in background)
    print(f"timeline area: x {left}-{right}, y {top}-{bottom}")
    for status in statuses:
        colour = STATUS_COLOURS[status]
        found = sorted(
            {
                y
                for y in range(top, bottom + 1)
                for x in range(left, right + 1)
                if _near(
                    (
                        rows[y][x * channels],
                        rows[y][x * channels + 1],
                        rows[y][x * channels + 2],
                    ),
                    colour,
                )
            }
        )
        print(f"  {status}: in {len(found)} row(s), {_bands(found)} band(s)")
        if not found:
            problems.append(f"no {status} bar in the timeline")
        if status == "passed" and _bands(found) < lanes:
            problems.append(f"passed bars in {_bands(found)} lane(s), expected {lanes}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--report", help="an existing HTML report (default: generate a run)")
    parser.add_argument("--out", default=".behave-bounded/html-screenshot.png")
    parser.add_argument("--lanes", type=int, default=2, help="worker lanes the timeline has")
    parser.add_argument(
        "--statuses",
        help=f"statuses whose bars must show, of {', '.join(STATUS_COLOURS)} "
        "(default: all for the generated run, passed for --report)",
    )
    parser.add_argument("--no-check", action="store_true", help="only take the screenshot")
    args = parser.parse_args()
    started = time.perf_counter()
    chromium = ensure_chromium()
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bb-html-shot-") as holder:
        report = Path(args.report) if args.report else generated_report(Path(holder))
        screenshot(chromium, report, out)
    print(f"screenshot: {out}")
    statuses = (args.statuses or ("passed" if args.report else ",".join(STATUS_COLOURS))).split(",")
    problems = [] if args.no_check else check(out, args.lanes, statuses)
    for problem in problems:
        print(f"html_screenshot: {problem}", file=sys.stderr)
    print(
        f"html_screenshot: {'failed' if problems else 'passed'} in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
