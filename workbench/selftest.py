"""``workbench --self-test``: the whole path from data to a prediction, headless, in a temporary folder.

It generates a small image dataset, builds the LeNet template on it, trains one epoch,
exports a verified ONNX file and predicts with that file, then prints the versions, the
device and each step's time. An installer's build runs it on the frozen application, so
it imports nothing of Qt and uses only what the bundle must carry anyway.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

#: Images per class of the generated dataset: enough for a split, small enough for seconds.
PER_CLASS = 40

#: The distributions whose versions the report lists (PySide6 is named, not imported).
VERSIONED = (
    "torch",
    "onnx",
    "onnxscript",
    "onnxruntime",
    "numpy",
    "pillow",
    "PySide6-Essentials",
    "pyqtgraph",
)


class StepFailed(Exception):
    """A step of the self-test went wrong; the message is one line."""


@dataclass
class SelfTestReport:
    """What the self-test did: each step's name and seconds, and the step that failed."""

    steps: list[tuple[str, float]] = field(default_factory=list)
    failed: str | None = None
    error: str | None = None
    device: str | None = None
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every step passed."""
        return self.failed is None


def versions() -> dict[str, str]:
    """The workbench's, Python's and the main libraries' versions ("-" when not installed)."""
    from workbench import __version__

    out = {"workbench": __version__, "python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = _module_version(name)
    return out


def _module_version(name: str) -> str:
    # A frozen app may carry a package without its .dist-info; the module still knows.
    module = {"pillow": "PIL", "PySide6-Essentials": "PySide6"}.get(name, name)
    if module in ("PySide6", "pyqtgraph"):
        return "-"  # importing Qt is not this test's business
    try:
        return str(getattr(__import__(module), "__version__", "-"))
    except Exception:  # noqa: BLE001 - a version line must not fail the report
        return "-"


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def run_self_test(
    folder: Path | None = None, *, log: Callable[[str], None] | None = None
) -> SelfTestReport:
    """Run every step in ``folder`` (default: a temporary folder, removed afterwards).

    ``log`` gets one line as each step starts. Never raises for a failed step: the
    report names it.
    """
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="workbench-self-test-") as tmp:
            return run_self_test(Path(tmp), log=log)
    report = SelfTestReport()
    state: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], str]]] = [
        ("sample dataset", lambda: _make_dataset(folder, state)),
        ("template", lambda: _make_project(folder, state)),
        ("train one epoch", lambda: _train(state, report)),
        ("export ONNX (verified)", lambda: _export(folder, state)),
        ("predict with the ONNX file", lambda: _predict(state)),
    ]
    for name, step in steps:
        if log is not None:
            log(f"{name}…")
        start = time.perf_counter()
        try:
            fact = step()
        except Exception as e:  # noqa: BLE001 - the report says which step failed and why
            report.failed, report.error = name, _one_line(e)
            report.steps.append((name, time.perf_counter() - start))
            return report
        report.steps.append((name, time.perf_counter() - start))
        report.facts.append(f"{name}: {fact}")
    return report


def _make_dataset(folder: Path, state: dict[str, Any]) -> str:
    from workbench.data.samples import SHAPE_CLASSES, generate_shapes

    images = folder / "shapes"
    images.mkdir()
    generate_shapes(images, seed=0, per_class=PER_CLASS)
    state["images"] = images
    count = sum(1 for _ in images.glob("*/*.png"))
    if count != PER_CLASS * len(SHAPE_CLASSES):
        raise StepFailed(f"{count} images written, {PER_CLASS * len(SHAPE_CLASSES)} expected")
    return f"{count} images, {len(SHAPE_CLASSES)} classes"


def _make_project(folder: Path, state: dict[str, Any]) -> str:
    from workbench.core.project import save_project
    from workbench.core.templates import make_project

    project = make_project("lenet")
    project.name = "self-test"
    path = folder / "self-test.wbproj"
    save_project(project, path)
    state["project"] = path
    return f"LeNet, {len(project.graph)} layers"


def _train(state: dict[str, Any], report: SelfTestReport) -> str:
    from workbench.engine.runs import train_project

    result = train_project(state["project"], data=state["images"], epochs=1, batch_size=32, seed=0)
    if result.status != "finished" or result.epochs_done != 1:
        raise StepFailed(f"run {result.status} after {result.epochs_done} epoch(s)")
    import json

    config = json.loads((result.run_dir / "config.json").read_text(encoding="utf-8"))
    report.device = str(config.get("device") or "?")
    state["run"] = result.run_id
    acc = result.final.get("val_accuracy")
    return f"run {result.run_id}" + (f", val_accuracy {acc:.3f}" if isinstance(acc, float) else "")


def _export(folder: Path, state: dict[str, Any]) -> str:
    from workbench.export.service import export_trained, load_trained

    out = folder / "self-test.onnx"
    result = export_trained(load_trained(state["project"], state["run"]), "onnx", out)
    if not result.verified or not out.is_file():
        raise StepFailed("the ONNX file was written but not verified against PyTorch")
    state["onnx"] = out
    return f"{out.stat().st_size / 1024:.0f} KiB, verified with onnxruntime"


def _predict(state: dict[str, Any]) -> str:
    from workbench.data.samples import SHAPE_CLASSES
    from workbench.deploy.predict import Predictor

    predictor = Predictor(state["onnx"])
    images = sorted(state["images"].glob("*/*.png"))[:: PER_CLASS // 2]
    predictions = predictor.predict_paths(images, top_k=1)
    if len(predictions) != len(images):
        raise StepFailed(f"{len(predictions)} predictions for {len(images)} images")
    labels = [p.get("label") for p in predictions]
    if not all(label in SHAPE_CLASSES for label in labels):
        raise StepFailed(f"predicted labels {labels} are not the dataset's classes")
    right = sum(label == path.parent.name for label, path in zip(labels, images, strict=True))
    return f"{len(images)} images, {right} right"


def format_report(report: SelfTestReport, found: dict[str, str] | None = None) -> str:
    """The report as lines of text: versions, device, each step's time and the verdict."""
    found = versions() if found is None else found
    frozen = "frozen application" if getattr(sys, "frozen", False) else "Python environment"
    lines = [
        f"Model Workbench self-test ({frozen}, {platform.system()} {platform.machine()})",
        "versions: " + ", ".join(f"{k} {v}" for k, v in found.items()),
        f"device: {report.device or '-'}",
    ]
    width = max((len(name) for name, _ in report.steps), default=0)
    for name, seconds in report.steps:
        status = "FAILED" if name == report.failed else "ok"
        lines.append(f"  {name.ljust(width)}  {seconds:6.2f} s  {status}")
    lines.extend(f"  {fact}" for fact in report.facts)
    total = sum(seconds for _, seconds in report.steps)
    if report.ok:
        lines.append(f"self-test passed in {total:.1f} s")
    else:
        lines.append(f"self-test FAILED at step '{report.failed}': {report.error}")
    return "\n".join(lines)


def main(out: TextIO | None = None) -> int:
    """Run the self-test, print its report; 0 when it passed, 1 when a step failed."""
    stream = sys.stdout if out is None else out
    report = run_self_test(log=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_report(report), file=stream, flush=True)
    return 0 if report.ok else 1
