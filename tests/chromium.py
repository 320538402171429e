"""Headless Chromium for the tests of HTML pages: what a page's images did once loaded, and screenshots.

Debian and Ubuntu install it with ``apt-get install chromium`` (the binary is ``chromium``
or ``chromium-browser``); tests that need it skip when neither is found. Run as a script
to take a screenshot of a page::

    python -m tests.chromium report.html shot.png [--width 1280]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html import unescape
from pathlib import Path
from typing import Any

#: The longest a page may take to load and settle, in Chromium's virtual time (ms).
BUDGET_MS = 10_000
#: The wall-clock limit of one Chromium run (a hung browser fails the test, never hangs it).
TIMEOUT_S = 120
#: The tallest screenshot taken.
MAX_HEIGHT = 16_000

#: Replaces the page's body attribute ``data-probe`` with what the page's images and SVG
#: charts did once everything loaded: ``[{"tag", "ok", "width", "height", "alt"}…]`` and
#: the page's height. A data URI that does not decode leaves an image with no natural size.
PROBE = """
<script>
addEventListener("load", () => {
  const shown = (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
  const images = [...document.images].map((img) => {
    const [w, h] = shown(img);
    return {tag: "img", ok: img.complete && img.naturalWidth > 0 && img.naturalHeight > 0,
            natural: [img.naturalWidth, img.naturalHeight], width: w, height: h, alt: img.alt};
  });
  const charts = [...document.querySelectorAll("svg")].map((svg) => {
    const [w, h] = shown(svg);
    return {tag: "svg", ok: w > 0 && h > 0, width: w, height: h,
            lines: svg.querySelectorAll("polyline").length,
            title: (svg.querySelector("title") || {}).textContent || ""};
  });
  const height = Math.ceil(document.documentElement.scrollHeight);
  document.body.setAttribute("data-probe", JSON.stringify({images, charts, height}));
});
</script>
"""


def find_chromium() -> str | None:
    """The Chromium binary on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(binary: str, args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        "--mute-audio",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={BUDGET_MS}",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL
    )


def probe(page: Path, width: int = 1280, binary: str | None = None) -> dict[str, Any]:
    """Open a copy of ``page`` (same folder, so its links resolve) with :data:`PROBE` added,
    and return what the probe found: ``{"images": [...], "charts": [...], "height": px}``.

    Raises:
        RuntimeError: Chromium failed or the probe never ran (the page did not load).
    """
    binary = binary or find_chromium()
    if binary is None:
        raise RuntimeError("no chromium binary found")
    text = page.read_text(encoding="utf-8")
    if "</body>" not in text:
        raise RuntimeError(f"{page}: no </body>")
    copy = page.with_name(f".probe-{page.name}")
    copy.write_text(text.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            done = _run(
                binary,
                [f"--window-size={width},900", "--dump-dom", copy.resolve().as_uri()],
                Path(profile),
            )
    finally:
        copy.unlink(missing_ok=True)
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"chromium did not load {page} (exit {done.returncode}): {done.stderr[-2000:]}"
        )
    result: dict[str, Any] = json.loads(unescape(found.group(1)))
    return result


def screenshot(page: Path, out: Path, width: int = 1280, binary: str | None = None) -> int:
    """Save a PNG of the whole of ``page`` at ``width`` CSS pixels; returns its height."""
    binary = binary or find_chromium()
    if binary is None:
        raise RuntimeError("no chromium binary found")
    height = min(MAX_HEIGHT, max(200, int(probe(page, width, binary)["height"])))
    with tempfile.TemporaryDirectory() as profile:
        done = _run(
            binary,
            [
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                page.resolve().as_uri(),
            ],
            Path(profile),
        )
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium took no screenshot of {page}: {done.stderr[-2000:]}")
    return height


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.chromium PAGE PNG [--width N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("no chromium binary found (apt-get install chromium)", file=sys.stderr)
        return 2
    height = screenshot(args.page, args.png, args.width)
    print(f"{args.png}: {args.width}x{height}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
