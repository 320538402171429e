"""Draw the application icon (a small node graph on a rounded square) in every size and format.

Run from the repository root: ``python packaging/make_icon.py``. It writes
``workbench/resources/icons/``: ``workbench-<N>.png`` for N in 16…1024, ``workbench.ico``
(Windows) and ``workbench.icns`` (macOS). The outputs are committed; run it again only
when the design changes. Needs Pillow only.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
OUT = Path(__file__).resolve().parent.parent / "workbench" / "resources" / "icons"

#: Drawn this many times larger, then reduced: smooth edges without an antialiasing pass.
SUPER = 4

BACKGROUND_TOP = (38, 70, 130)
BACKGROUND_BOTTOM = (20, 36, 78)
EDGE = (150, 200, 255)
NODE_FILL = (246, 249, 255)
INPUT_FILL = (120, 220, 170)
OUTPUT_FILL = (255, 190, 90)
NODE_LINE = (16, 28, 60)


def _layout(
    simple: bool,
) -> tuple[list[tuple[float, float, tuple[int, int, int]]], list[tuple[int, int]]]:
    """Node centres (as fractions of the icon) with their colour, and the connections."""
    if simple:  # 16 and 32 pixels: three nodes in a row read better than five
        nodes = [(0.24, 0.5, INPUT_FILL), (0.5, 0.5, NODE_FILL), (0.76, 0.5, OUTPUT_FILL)]
        return nodes, [(0, 1), (1, 2)]
    nodes = [
        (0.2, 0.5, INPUT_FILL),  # input
        (0.42, 0.29, NODE_FILL),  # two branches
        (0.42, 0.71, NODE_FILL),
        (0.61, 0.5, NODE_FILL),  # where they join (a residual add)
        (0.81, 0.5, OUTPUT_FILL),  # output
    ]
    return nodes, [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]


def _curve(
    a: tuple[float, float], b: tuple[float, float], steps: int = 48
) -> list[tuple[float, float]]:
    """A horizontal S-curve from a to b, as the canvas draws its connections."""
    (x0, y0), (x1, y1) = a, b
    mid = (x0 + x1) / 2
    points = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        # cubic Bézier with control points (mid, y0) and (mid, y1)
        x = u**3 * x0 + 3 * u * u * t * mid + 3 * u * t * t * mid + t**3 * x1
        y = u**3 * y0 + 3 * u * u * t * y0 + 3 * u * t * t * y1 + t**3 * y1
        points.append((x, y))
    return points


def draw(size: int) -> Image.Image:
    """The icon at ``size`` x ``size`` pixels, RGBA."""
    big = size * SUPER
    simple = size <= 32
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))

    # Background: a vertical gradient inside a rounded square with a little margin.
    gradient = Image.new("RGBA", (big, big))
    gd = ImageDraw.Draw(gradient)
    for y in range(big):
        t = y / max(1, big - 1)
        colour = tuple(
            round(top + (bottom - top) * t)
            for top, bottom in zip(BACKGROUND_TOP, BACKGROUND_BOTTOM, strict=True)
        )
        gd.line([(0, y), (big, y)], fill=(*colour, 255))
    mask = Image.new("L", (big, big), 0)
    margin = round(big * (0.02 if simple else 0.06))
    ImageDraw.Draw(mask).rounded_rectangle(
        (margin, margin, big - 1 - margin, big - 1 - margin), radius=round(big * 0.2), fill=255
    )
    img.paste(gradient, (0, 0), mask)

    d = ImageDraw.Draw(img)
    nodes, edges = _layout(simple)
    edge_width = max(SUPER, round(big * (0.06 if simple else 0.035)))
    for i, j in edges:
        a = (nodes[i][0] * big, nodes[i][1] * big)
        b = (nodes[j][0] * big, nodes[j][1] * big)
        # A round pen stamped along the curve: thick curves without joint artefacts.
        r = edge_width / 2
        for x, y in _curve(a, b, steps=4 * big // SUPER):
            d.ellipse((x - r, y - r, x + r, y + r), fill=(*EDGE, 255))
    half_w = big * (0.08 if simple else 0.07)
    half_h = big * (0.17 if simple else 0.07)
    outline = round(big * 0.012) if not simple else 0
    for x, y, fill in nodes:
        cx, cy = x * big, y * big
        d.rounded_rectangle(
            (cx - half_w, cy - half_h, cx + half_w, cy + half_h),
            radius=round(half_h * 0.45),
            fill=(*fill, 255),
            outline=(*NODE_LINE, 255) if outline else None,
            width=outline,
        )
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main(out: Path = OUT) -> int:
    """Write every PNG, the .ico and the .icns into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    images = {size: draw(size) for size in SIZES}
    for size, image in images.items():
        image.save(out / f"workbench-{size}.png", optimize=True)
    # Each size of the .ico from its own drawing; the 256 one is stored as PNG inside.
    images[256].save(
        out / "workbench.ico",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != 256],
    )
    images[1024].save(
        out / "workbench.icns", append_images=[images[s] for s in (16, 32, 64, 128, 256, 512)]
    )
    print(f"wrote {len(SIZES)} PNGs, workbench.ico and workbench.icns to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
