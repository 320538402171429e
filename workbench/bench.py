"""Builder benchmarks: shape-inference time on a large graph and launch-to-first-paint time.

Run with ``workbench bench``. Timings on shared machines are noisy, so each figure is
the median of several repetitions, and a baseline measured in the same run is printed
beside it where one makes sense.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from workbench.core.graph import Graph
from workbench.core.shapes import analyze

SHAPE_TARGET_MS = 10.0
PAINT_TARGET_S = 1.5


def big_graph(nodes: int = 300) -> Graph:
    """A CNN-like graph of about ``nodes`` nodes with residual blocks (Add) every few layers."""
    g = Graph()
    prev = g.add_node("Input", {"shape": [16, 32, 32]}).id
    conv = {"out_channels": 16, "kernel_size": 3, "padding": 1}
    while len(g) < nodes - 4:
        block_in = prev
        a = g.add_node("Conv2d", conv).id
        g.connect(prev, a)
        b = g.add_node("BatchNorm2d").id
        g.connect(a, b)
        c = g.add_node("ReLU").id
        g.connect(b, c)
        add = g.add_node("Add").id
        g.connect(block_in, add, 0)
        g.connect(c, add, 1)
        prev = add
    tail = [("GlobalAvgPool", {}), ("Linear", {"units": 64}), ("Output", {"num_classes": 10})]
    for t, p in tail:
        n = g.add_node(t, p).id
        g.connect(prev, n)
        prev = n
    return g


def time_shape_inference(nodes: int = 300, repeats: int = 30) -> dict[str, Any]:
    """Median and best time of :func:`analyze` on a graph of ``nodes`` nodes."""
    g = big_graph(nodes)
    a = analyze(g)
    if not a.ok:  # pragma: no cover - the generator is wrong
        raise RuntimeError(a.errors[0].message)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        analyze(g)
        times.append((time.perf_counter() - t) * 1000)
    # Baseline in the same run: a plain topological sort of the same graph.
    base = []
    for _ in range(repeats):
        t = time.perf_counter()
        g.topo_order()
        base.append((time.perf_counter() - t) * 1000)
    return {
        "nodes": len(g),
        "shape_inference_ms_median": round(statistics.median(times), 3),
        "shape_inference_ms_best": round(min(times), 3),
        "topo_sort_ms_median": round(statistics.median(base), 3),
        "target_ms": SHAPE_TARGET_MS,
    }


#: Each child as (arguments to ``python``, arguments to the frozen app's executable).
_FIRST_PAINT_CHILD = (
    ["-c", "import workbench.ui.app as a, sys; sys.exit(a.run_gui(first_paint_probe=True))"],
    ["gui", "--first-paint-probe"],
)
_BASELINE_CHILD = (["-c", "import sys; print(__import__('time').time())"], ["--version"])


def _child_time(child: tuple[list[str], list[str]], marker: str | None) -> float:
    from workbench.core.appdirs import is_frozen

    frozen = is_frozen()
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, *(child[1] if frozen else child[0])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(
            out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "child failed"
        )
    if marker is None and frozen:  # the bundle's --version: its whole run is the bare start
        return time.time() - t0
    lines = [ln for ln in out.stdout.splitlines() if marker is None or ln.startswith(marker)]
    stamp = float(lines[-1].split()[-1])
    return stamp - t0


def time_first_paint(repeats: int = 3) -> dict[str, Any]:
    """Seconds from starting ``python`` (or the frozen app) to the main window's first paint (median)."""
    paint = [_child_time(_FIRST_PAINT_CHILD, "first-paint") for _ in range(repeats)]
    bare = [_child_time(_BASELINE_CHILD, None) for _ in range(repeats)]
    return {
        "first_paint_s_median": round(statistics.median(paint), 3),
        "bare_python_start_s_median": round(statistics.median(bare), 3),
        "target_s": PAINT_TARGET_S,
    }


def run_builder_benchmarks(nodes: int = 300) -> dict[str, Any]:
    """All builder figures as one dict."""
    return {**time_shape_inference(nodes), **time_first_paint()}


def format_builder_results(r: dict[str, Any]) -> str:
    """Human-readable report."""
    ok = lambda good: "ok" if good else "OVER TARGET"  # noqa: E731
    return "\n".join(
        [
            f"shape inference, {r['nodes']} nodes: {r['shape_inference_ms_median']:.2f} ms median "
            f"(best {r['shape_inference_ms_best']:.2f} ms; target < {r['target_ms']:.0f} ms: "
            f"{ok(r['shape_inference_ms_median'] < r['target_ms'])}); "
            f"plain topological sort of the same graph: {r['topo_sort_ms_median']:.3f} ms",
            f"launch to first painted window: {r['first_paint_s_median']:.2f} s median "
            f"(target < {r['target_s']} s: {ok(r['first_paint_s_median'] < r['target_s'])}); "
            f"bare Python start: {r['bare_python_start_s_median']:.2f} s",
        ]
    )


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_builder_benchmarks(), indent=2))
