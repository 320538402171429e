"""A run's training curves as inline SVG, for the evaluation report (no Qt, no plotting library).

One small chart per kind of quantity, so that quantities of different scales never share
an axis: the losses; the scores between 0 and 1 (accuracy, precision, recall, F1); the
errors in the target's units (MAE, RMSE); R²; and the learning rate when it changed.
Legends sit above the plotting area, never over the data. Colours are CSS classes
(``c0``… for the series) that the report's style sheet sets for light and dark pages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from workbench.engine.history import Curves
from workbench.engine.train_wording import metric_title

#: The chart's size in SVG units (it scales to the width it is given).
WIDTH, HEIGHT = 520, 300
#: The plotting area's margins: left (tick labels and the axis title), right, bottom.
LEFT, RIGHT, BOTTOM = 64, 18, 46
#: Height of one legend row, and the gap between the legend and the plotting area.
LEGEND_ROW, LEGEND_GAP = 18, 8
#: Epochs up to which each value is also marked with a dot.
MAX_DOTS = 40
#: Series colours (CSS classes c0 … c5 of the report's style sheet).
COLOURS = 6

_SCORE = re.compile(r"^(accuracy|precision|recall|f1|top\d+_accuracy)$")


@dataclass(frozen=True)
class Group:
    """Which metrics one chart draws, and its title and y-axis label."""

    title: str
    axis: str
    #: Whether a metric (its key without ``train_``/``val_``) belongs here.
    takes: Callable[[str], bool]


GROUPS = (
    Group("Loss", "loss", lambda n: n == "loss" or n.endswith("_loss")),
    Group("Scores", "score", lambda n: bool(_SCORE.match(n))),
    Group("Errors", "error (target units)", lambda n: n in ("mae", "rmse")),
    Group("R²", "R²", lambda n: n == "r2"),
)


def series_title(key: str) -> str:
    """A metrics log key as a legend names it: ``val_loss`` → ``validation loss``."""
    if key == "lr":
        return "learning rate"
    for prefix, word in (("train_", "training"), ("val_", "validation")):
        if key.startswith(prefix):
            name = key.removeprefix(prefix)
            return f"{word} {'loss' if name == 'loss' else metric_title(name)}"
    return metric_title(key)


def _split_key(key: str) -> tuple[str, str]:
    for prefix in ("train_", "val_"):
        if key.startswith(prefix):
            return prefix, key.removeprefix(prefix)
    return "", key


def chart_groups(curves: Curves) -> list[tuple[Group, list[str]]]:
    """The charts to draw for a run: each group with its keys, in the log's order.

    The learning rate gets a chart only when it changed during the run.
    """
    out: list[tuple[Group, list[str]]] = []
    for group in GROUPS:
        keys = [k for k in curves.keys() if _split_key(k)[0] and group.takes(_split_key(k)[1])]
        if keys:
            out.append((group, keys))
    lr = [v for v in curves.series.get("lr", []) if v is not None]
    if lr and max(lr) != min(lr):
        out.append((Group("Learning rate", "learning rate", lambda n: n == "lr"), ["lr"]))
    return out


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    v = first
    while v < hi + step * 0.999:
        ticks.append(round(v, 12))
        v += step
    return ticks


def tick_text(value: float, ticks: Sequence[float]) -> str:
    """A tick's label, with as many decimals as the step between ticks needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    if abs(value) < step * 1e-9:
        value = 0.0
    if abs(value) >= 1e5 or step < 1e-3:
        text = f"{value:.3g}"
    else:
        decimals = 0
        while decimals < 6 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
            decimals += 1
        text = f"{value:.{decimals}f}"
    return text.replace("-", "\u2212")


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _legend(titles: Sequence[str]) -> tuple[list[str], int]:
    """The legend's SVG elements (rows that wrap at the chart's width) and its row count."""
    parts: list[str] = []
    x, row = LEFT, 0
    for i, title in enumerate(titles):
        width = 26 + 7 * len(title) + 18  # swatch, text (about 7 units a character), gap
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row = LEFT, row + 1
        y = 14 + row * LEGEND_ROW
        parts.append(
            f'<line class="c{i % COLOURS}" x1="{x}" y1="{y - 4}" x2="{x + 20}" y2="{y - 4}" '
            'stroke-width="2.5"/>'
            f'<text class="legend" x="{x + 26}" y="{y}">{escape(title)}</text>'
        )
        x += width
    return parts, row + 1


def legend_rows(titles: Sequence[str]) -> int:
    """The rows a legend of ``titles`` takes."""
    return _legend(titles)[1]


def chart_svg(
    title: str,
    axis: str,
    epochs: Sequence[int],
    series: dict[str, list[float | None]],
    *,
    best_epoch: int | None = None,
    rows: int = 1,
) -> str:
    """One chart: ``series`` (by legend title) against ``epochs``, as an ``<svg>`` element.

    A None value is a gap in its line; the best epoch, when given, is a dashed line.
    ``rows`` is the least room the legend gets, in rows (charts shown side by side give
    the same, so their plotting areas line up).
    """
    titles = list(series)
    legend, used = _legend(titles)
    top = 14 + (max(rows, used) - 1) * LEGEND_ROW + LEGEND_GAP
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = HEIGHT - BOTTOM, top
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi > lo:
        pad = (hi - lo) * 0.05
        lo, hi = lo - pad, hi + pad
    yticks = nice_ticks(lo, hi)
    ylo, yhi = min(yticks[0], lo), max(yticks[-1], hi)
    first, last = (min(epochs), max(epochs)) if epochs else (1, 1)
    xlo, xhi = (first, last) if last > first else (first - 1, last + 1)
    xticks = [t for t in nice_ticks(xlo, xhi, 6) if t == int(t) and xlo <= t <= xhi] or [first]

    def px(e: float) -> float:
        return x0 + (e - xlo) / (xhi - xlo) * (x1 - x0)

    def py(v: float) -> float:
        return y0 - (v - ylo) / (yhi - ylo) * (y0 - y1)

    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    out += legend
    for t in yticks:
        if ylo - 1e-12 <= t <= yhi + 1e-12:
            y = _fmt(py(t))
            out.append(
                f'<line class="grid" x1="{x0}" y1="{y}" x2="{x1}" y2="{y}"/>'
                f'<text class="tick" x="{x0 - 6}" y="{y}" text-anchor="end" '
                f'dominant-baseline="middle">{tick_text(t, yticks)}</text>'
            )
    for t in xticks:
        x = _fmt(px(t))
        out.append(
            f'<line class="axis" x1="{x}" y1="{y0}" x2="{x}" y2="{y0 + 4}"/>'
            f'<text class="tick" x="{x}" y="{y0 + 17}" text-anchor="middle">{int(t)}</text>'
        )
    out.append(
        f'<line class="axis" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}"/>'
        f'<line class="axis" x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}"/>'
        f'<text class="label" x="{(x0 + x1) / 2:.0f}" y="{HEIGHT - 8}" '
        'text-anchor="middle">epoch</text>'
        f'<text class="label" transform="translate(14 {(y0 + y1) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(axis)}</text>'
    )
    if best_epoch is not None and xlo <= best_epoch <= xhi:
        x = _fmt(px(best_epoch))
        out.append(
            f'<line class="best" x1="{x}" y1="{y0}" x2="{x}" y2="{y1}"/>'
            f'<text class="best-label" x="{x}" y="{y1 + 12}" text-anchor="end" '
            f'dx="-4">best, epoch {best_epoch}</text>'
        )
    for i, values_of in enumerate(series.values()):
        colour = f"c{i % COLOURS}"
        run: list[str] = []
        pieces: list[list[str]] = []
        dots: list[str] = []
        for e, v in zip(epochs, values_of, strict=False):
            if v is None or not math.isfinite(v):
                if run:
                    pieces.append(run)
                run = []
                continue
            point = f"{_fmt(px(e))},{_fmt(py(v))}"
            run.append(point)
            if len(epochs) <= MAX_DOTS:
                dots.append(
                    f'<circle class="{colour}" cx="{_fmt(px(e))}" cy="{_fmt(py(v))}" r="2.6"/>'
                )
        if run:
            pieces.append(run)
        for piece in pieces:
            out.append(f'<polyline class="{colour} series" points="{" ".join(piece)}"/>')
        out += dots
    out.append("</svg>")
    return "".join(out)


def curves_svgs(curves: Curves, best_epoch: int | None = None) -> list[tuple[str, str]]:
    """The charts of a run's curves: ``(title, svg)`` per group; none for a run without epochs."""
    if not curves.epochs:
        return []
    groups = [
        (group, {series_title(k): curves.series[k] for k in keys})
        for group, keys in chart_groups(curves)
    ]
    rows = max((legend_rows(list(series)) for _, series in groups), default=1)
    return [
        (
            group.title,
            chart_svg(
                group.title, group.axis, curves.epochs, series, best_epoch=best_epoch, rows=rows
            ),
        )
        for group, series in groups
    ]


__all__ = [
    "GROUPS",
    "Group",
    "chart_groups",
    "chart_svg",
    "curves_svgs",
    "legend_rows",
    "nice_ticks",
    "series_title",
    "tick_text",
]
