"""Looking at a report as a person does: headless Chromium takes a screenshot, Tesseract
reads it back. Shared by the unit and controller tests of `benchgate report`.

The checks are on the picture, not the HTML: a page that renders blank, or whose plots
lose their labels, fails here even when every string is in the markup.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageStat

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
)
# Where `make test` looks for the tools (scripts/install-system-deps.sh installs them).
MISSING = "install Debian's chromium and tesseract-ocr (make system-deps)"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise AssertionError(f"no headless Chromium on PATH: {MISSING}")


def screenshot(html: Path, png: Path, *, width: int = 1100, height: int = 2400) -> Image.Image:
    """Render `html` in headless Chromium at width x height and return the picture."""
    with tempfile.TemporaryDirectory(prefix="benchgate-chromium-") as profile:
        done = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                html.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": profile},
        )
    assert done.returncode == 0 and png.exists(), f"chromium failed: {done.stderr[-2000:]}"
    return Image.open(png).convert("RGB")


def ink(image: Image.Image) -> float:
    """The share of pixels that are not (near-)white: 0 for a blank page."""
    grey = image.convert("L")
    histogram = grey.histogram()
    dark = sum(histogram[:235])
    return dark / (grey.width * grey.height)


def spread(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).stddev[0])


@dataclass(frozen=True)
class Word:
    text: str
    left: int
    top: int


def ocr(png: Path) -> list[Word]:
    """Every word Tesseract reads in the picture, with where it is."""
    tesseract = shutil.which("tesseract")
    assert tesseract, f"no tesseract on PATH: {MISSING}"
    done = subprocess.run(
        [tesseract, str(png), "stdout", "--psm", "3", "tsv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    words = []
    for row in csv.DictReader(io.StringIO(done.stdout), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if text:
            words.append(Word(text, int(row["left"]), int(row["top"])))
    return words


def tokens(name: str) -> list[str]:
    """The parts of a metric name OCR can be held to (underscores often read as spaces)."""
    return [t for t in re.split(r"[/_\s]+", name.lower()) if len(t) >= 4]


def first_seen(words: list[Word], name: str) -> int | None:
    """The top of the first line that shows every token of `name`, or None."""
    wanted = tokens(name)
    lines: dict[int, str] = {}
    for w in words:
        key = w.top // 12  # one text line
        lines[key] = lines.get(key, "") + " " + w.text.lower()
    for key in sorted(lines):
        if all(t in lines[key] for t in wanted):
            return key * 12
    return None
