"""Exporting a project's trained model: what ``workbench export`` and the Export tab both call.

Importing this module does not import torch (the window imports it at start-up); the
functions that need torch import it when they run.

:func:`load_trained` finds the run to export (the latest with a checkpoint unless one is
named) and rebuilds its model from the best checkpoint; :func:`export_trained` writes
one of the formats of :mod:`workbench.core.export_formats`, among them:

* ``onnx``: one verified ``.onnx`` file whose metadata (:mod:`workbench.deploy.metadata`)
  holds the task, class names, input, preprocessing and final metrics. The check runs
  onnxruntime against PyTorch on random inputs at batch sizes 1 and 7 (and a second
  sequence length) and on real samples of the run's dataset, read from disk and
  preprocessed the way ``workbench predict`` does it;
* ``weights``: a ``weights_only``-loadable state dict and the architecture as JSON;
* ``python``: a folder with ``model.py`` and ``train.py`` (:mod:`workbench.export.python_code`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core import export_formats
from workbench.core.export_check import DEFAULT_OPSET, export_issues, is_sequence_input
from workbench.core.fileio import unwritable_reason
from workbench.core.graph import Graph, GraphError
from workbench.core.project import Project, ProjectError, load_project
from workbench.export.report import ExportError, ExportReport, one_line
from workbench.export.staging import remove_quietly, staging_path

if TYPE_CHECKING:
    from torch import nn

    from workbench.engine.runs import RunDir

#: Real dataset samples compared between onnxruntime and torch during an ONNX export.
REAL_SAMPLES = 16


@dataclass
class Trained:
    """A project's model with the weights of one run (or freshly initialised ones)."""

    project: Project
    project_path: Path | None
    model: nn.Module
    run: RunDir | None = None
    checkpoint: Path | None = None
    #: The run's config.json: training settings, data settings, preprocessing, classes…
    config: dict[str, Any] = field(default_factory=dict)
    #: The metrics row of the exported epoch (``{"epoch": n, "val_loss": …}``).
    metrics: dict[str, Any] = field(default_factory=dict)
    #: The graph the weights belong to: the run's own when the model was edited after it.
    graph: Graph | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.graph is None:
            self.graph = self.project.graph

    @property
    def target_scale(self) -> dict[str, list[float]] | None:
        """The regression targets' mean and std when the model learned them standardized."""
        pre = self.config.get("preprocessing") or {}
        scale = pre.get("target_scale") if self.config.get("task") == "regression" else None
        return scale if isinstance(scale, dict) else None

    def inference_model(self) -> nn.Module:
        """The model as exported: answering in the targets' own units (see ``target_scale``)."""
        scale = self.target_scale
        if scale is None:
            return self.model
        from workbench.export.onnx_ops import Destandardize

        return Destandardize(self.model, scale["mean"], scale["std"])

    @property
    def model_graph(self) -> Graph:
        """The graph that was trained (and is exported)."""
        return self.graph if self.graph is not None else self.project.graph

    @property
    def run_id(self) -> str | None:
        """The run's id, or None for an untrained model."""
        return self.run.id if self.run is not None else None

    def describe(self) -> str:
        """A short label: ``run 20250131-142501, epoch 12 (best val_loss)``."""
        if self.run is None:
            return "untrained model (freshly initialised weights)"
        epoch = self.metrics.get("epoch")
        which = (
            "best" if self.checkpoint is not None and self.checkpoint.name == "best.pt" else "last"
        )
        return f"run {self.run.id}" + (f", epoch {epoch} ({which} checkpoint)" if epoch else "")


@dataclass
class ExportResult:
    """What an export wrote."""

    format: str
    path: Path
    files: list[Path]
    lines: list[str]
    onnx: ExportReport | None = None
    notes: list[str] = field(default_factory=list)
    #: True when the export was checked against the model after it was written.
    verified: bool = False
    #: Figures particular to a format (the int8 export's sizes and agreement).
    details: dict[str, Any] = field(default_factory=dict)


def trained_runs(project_path: str | os.PathLike[str]) -> list[RunDir]:
    """The project's runs that have a checkpoint to export, oldest first."""
    from workbench.engine.runs import list_runs

    return [r for r in list_runs(project_path) if r.best.is_file() or r.last.is_file()]


def _best_row(rows: list[dict[str, Any]], epoch: Any) -> dict[str, Any]:
    for row in rows:
        if row.get("epoch") == epoch:
            return row
    return rows[-1] if rows else {}


def load_trained(
    project: str | os.PathLike[str] | Project,
    run_id: str | None = None,
    *,
    untrained: bool = False,
    project_path: str | os.PathLike[str] | None = None,
) -> Trained:
    """The project's model with the weights of run ``run_id`` (default: the latest trained run).

    Args:
        project: a ``.wbproj`` path, or a loaded project (the window's, with edits not
            saved yet); its runs are then found beside ``project_path``.
        run_id: the run to export; None for the latest with a checkpoint.
        untrained: export freshly initialised weights instead (no run needed).

    Raises:
        ExportError: the project cannot be read, has no trained run, or the checkpoint
            no longer matches the model (edited after training). One line.
    """
    from workbench.engine.config import TrainError

    path: Path | None
    if isinstance(project, Project):
        proj, path = project, Path(project_path) if project_path is not None else None
    else:
        path = Path(project)
        try:
            proj = load_project(path)
        except ProjectError as e:
            raise ExportError(str(e)) from None
    if untrained:
        return Trained(proj, path, _compile(proj.graph))
    if path is None:
        raise ExportError(
            "the project has not been saved yet, so it has no runs: save and train it first"
        )
    runs = trained_runs(path)
    name = path.name
    if run_id:
        runs = [r for r in runs if r.id == run_id]
        if not runs:
            raise ExportError(f"{name}: no run '{run_id}' with a checkpoint")
    if not runs:
        raise ExportError(f"{name}: no trained run to export: train it first")
    run = runs[-1]
    checkpoint = run.best if run.best.is_file() else run.last
    from workbench.engine.checkpoint import model_state

    try:
        state = model_state(checkpoint)
    except TrainError as e:
        raise ExportError(str(e)) from None
    graph, notes = proj.graph, []
    config = run.read_config()
    recorded = _recorded_graph(config)
    if recorded is not None and _structure(recorded) != _structure(proj.graph):
        # the model was edited after this run: export the model as it was trained
        graph = recorded
        notes.append(
            f"the model was edited after run {run.id}: this exports the model as that run trained it"
        )
    model = _compile(graph)
    mismatch = _state_mismatch(state, model.state_dict())
    if mismatch:
        raise ExportError(
            f"run {run.id} was trained on another version of the model ({mismatch}): "
            "train it again, or export the untrained model"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ExportError(
            f"{checkpoint}: does not fit the project's model: {one_line(e)}"
        ) from None
    status = run.read_status()
    epoch = status.get("best_epoch") if checkpoint == run.best else status.get("epoch")
    metrics = _best_row(run.read_metrics(), epoch)
    return Trained(proj, path, model, run, checkpoint, config, metrics, graph, notes)


def _compile(graph: Graph) -> nn.Module:
    from workbench.engine.compiler import CompileError, compile_graph

    try:
        return compile_graph(graph)
    except CompileError as e:
        raise ExportError(str(e)) from None


def _recorded_graph(config: dict[str, Any]) -> Graph | None:
    """The graph a run recorded in its config.json, or None (older runs, unreadable)."""
    data = config.get("graph")
    if not isinstance(data, dict):
        return None
    try:
        return Graph.from_dict(data)
    except (GraphError, KeyError, TypeError, ValueError):
        return None


def _structure(graph: Graph) -> Any:
    """What makes two graphs the same model: layers, their settings and the connections (not positions)."""
    d = graph.to_dict()
    nodes = sorted(
        (n["id"], n["type"], json.dumps(n.get("params", {}), sort_keys=True))
        for n in d.get("nodes", [])
    )
    edges = sorted(json.dumps(e, sort_keys=True) for e in d.get("edges", []))
    return nodes, edges


def _state_mismatch(saved: Any, current: Any) -> str:
    """The first difference between a checkpoint's tensors and the model's, or ""."""
    for key, value in current.items():
        if key not in saved:
            return f"{key.removeprefix('layers.')} is new"
        if tuple(saved[key].shape) != tuple(value.shape):
            return f"{key.removeprefix('layers.')} was {list(saved[key].shape)}, is {list(value.shape)}"
    extra = [k for k in saved if k not in current]
    return f"{extra[0].removeprefix('layers.')} was removed" if extra else ""


# --------------------------------------------------------------------------- metadata


def model_info(trained: Trained) -> Any:
    """The :class:`~workbench.deploy.metadata.ModelInfo` of an export (input fields filled by the exporter)."""
    from workbench import __version__
    from workbench.data.run_metadata import run_model_info

    info = run_model_info(trained.model_graph, trained.config)
    info.metrics = {
        k: v
        for k, v in trained.metrics.items()
        if k == "epoch" or k.startswith(("val_", "train_loss"))
    }
    info.extra = {
        "workbench_version": __version__,
        "project": trained.project.name,
        "run": trained.run_id or "untrained",
    }
    return info


# --------------------------------------------------------------------------- real samples


def _dataset_path(trained: Trained) -> Path | None:
    data = trained.config.get("data") or {}
    raw = data.get("path") if isinstance(data, dict) else None
    if not raw:
        return None
    p = Path(raw)
    if not p.is_absolute() and trained.project_path is not None:
        p = trained.project_path.parent / p
    return p


def sample_files(trained: Trained, count: int = REAL_SAMPLES) -> tuple[list[Path], str]:
    """Files of the run's dataset to check an export on, and a note when there are none.

    Image folders give up to ``count`` images taken in turn from each folder, an image
    index the first ``count`` images it lists; a table or array file is given whole (the
    check uses its first ``count`` samples).
    """
    from workbench.data.images import IMAGE_EXTENSIONS

    pre = trained.config.get("preprocessing") or {}
    path = _dataset_path(trained)
    if not pre or path is None:
        return [], "no dataset samples checked: the model has no trained run with a dataset"
    if not path.exists():
        return [], f"no dataset samples checked: {path} is gone"
    if pre.get("kind") != "image":
        return [path], ""
    if not path.is_dir():
        from workbench.data.images import index_image_paths

        listed = index_image_paths(path, count)
        if not listed:
            return [], f"no dataset samples checked: {path.name} lists no image that exists"
        return listed, ""
    groups: list[
        list[Path]
    ] = []  # the images of each folder (a class, possibly under train/ val/ test/)
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        found = sorted(
            f
            for f in names
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        )
        if found:
            groups.append([Path(folder) / f for f in found[:count]])
    picked: list[Path] = []
    for i in range(count):
        for group in groups:
            if i < len(group) and len(picked) < count:
                picked.append(group[i])
    if not picked:
        return [], f"no dataset samples checked: no images found in {path}"
    return picked, ""


def _check_samples(
    trained: Trained, onnx_path: Path, count: int = REAL_SAMPLES
) -> tuple[int, float | None, str]:
    """Run the exported file as ``workbench predict`` does on real dataset samples, and torch
    on the same inputs: ``(samples, largest difference, note)`` (see
    :func:`workbench.export.onnx_export.output_difference`).

    Raises:
        ExportError: the file's metadata and preprocessing cannot handle the samples.
    """
    import numpy as np
    import torch

    from workbench.deploy.predict import PredictError, Predictor

    try:
        x, note = encode_samples(trained, onnx_path, count)
        if x is None:
            return 0, None, note
        got = Predictor(onnx_path, threads=1).run(x)
    except PredictError as e:
        raise ExportError(
            f"the exported file cannot predict on the dataset's own samples: {e}"
        ) from None
    model = trained.inference_model()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            want = (
                model(torch.from_numpy(np.ascontiguousarray(x)))
                .float()
                .cpu()
                .numpy()
                .reshape(len(x), -1)
            )
    finally:
        model.train(was_training)
    from workbench.export.onnx_export import output_difference

    return len(x), output_difference(got, want) if len(x) else 0.0, ""


def encode_samples(trained: Trained, onnx_path: Path, count: int = REAL_SAMPLES) -> tuple[Any, str]:
    """Up to ``count`` samples of the run's dataset, read and preprocessed as ``workbench predict``
    does with the file at ``onnx_path``: ``(array, "")``, or ``(None, why not)``.

    Raises:
        PredictError: the file's metadata and preprocessing cannot handle the samples.
    """
    import numpy as np

    from workbench.deploy.predict import PredictError, Predictor

    files, note = sample_files(trained, count)
    if not files:
        return None, note
    predictor = Predictor(onnx_path, threads=1)
    if predictor.kind == "image":
        # one at a time: an image that does not decode was skipped by training too
        parts = []
        for f in files:
            with contextlib.suppress(PredictError):
                parts.append(predictor.encode_paths([f])[0])
        if not parts:
            return None, "no dataset samples checked: none of the sampled images decodes"
        return np.concatenate(parts), ""
    return np.concatenate([part for part, _ in _first_batches(predictor, files, count)])[:count], ""


def _first_batches(predictor: Any, files: list[Path], count: int) -> Any:
    """The predictor's encoded batches of ``files``, stopping once ``count`` samples are in."""
    seen = 0
    for x, names in predictor.iter_paths(files, batch_size=count):
        yield x, names
        seen += len(x)
        if seen >= count:
            return


# --------------------------------------------------------------------------- export


def default_file_name(name: str, fmt: str) -> str:
    """``lenet.onnx``, ``lenet.pt`` or ``lenet_pytorch`` (a folder) for a project called ``lenet``
    (the format's entry in :mod:`workbench.core.export_formats` decides)."""
    return export_formats.default_file_name(name, fmt)


@dataclass
class ExportContext:
    """What every exporter is given beside the model and the target."""

    opset: int = DEFAULT_OPSET
    tolerance: float = 1e-4
    check_samples: bool = True
    #: Reports a stage ("exporting to ONNX…").
    say: Callable[[str], None] = field(default=lambda _msg: None)
    #: Raises :class:`ExportError` once the export was cancelled.
    check_cancelled: Callable[[], None] = field(default=lambda: None)
    #: :meth:`Trained.describe` of the model exported.
    source: str = ""


def export_trained(
    trained: Trained,
    fmt: str,
    out: str | os.PathLike[str],
    *,
    opset: int = DEFAULT_OPSET,
    tolerance: float = 1e-4,
    check_samples: bool = True,
    progress: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ExportResult:
    """Export ``trained`` as ``fmt`` (a name in :data:`~workbench.core.export_formats.EXPORT_FORMATS`:
    "onnx", "weights", "python", "onnx-int8", "triton") to ``out``.

    The export is written beside ``out`` under a temporary name, verified, and only then
    renamed over whatever was at ``out`` (:mod:`workbench.export.staging`).

    Args:
        cancelled: Asked between the stages (the window's task passes its own); once it
            answers True the export stops with :class:`ExportError`.

    Raises:
        ExportError: the builder's checks fail, the export fails, does not verify or was
            cancelled. One line. Then, as on any interruption (``KeyboardInterrupt``), the
            file or folder already at ``out`` is kept and no temporary file is left.
    """
    stop = cancelled or (lambda: False)

    def check_cancelled() -> None:
        if stop():
            raise ExportError(f"the export was cancelled; {target.name} was not changed")

    try:
        spec = export_formats.get_format(fmt)
    except KeyError as e:
        raise ExportError(str(e.args[0])) from None
    errors = [i for i in export_issues(trained.model_graph, fmt, opset) if i.severity == "error"]
    if errors:
        raise ExportError(errors[0].message)
    target = Path(out)
    if not target.parent.is_dir():
        raise ExportError(f"{target.parent}: no such folder")
    if not spec.folder and target.is_dir():
        example = target / default_file_name(trained.project.name, fmt)
        raise ExportError(f"{target}: is a folder; give a file name, such as {example}")
    if not os.access(target.parent, os.W_OK):
        raise ExportError(
            f"{target.parent}: cannot write there ({unwritable_reason(target.parent)})"
        )
    context = ExportContext(
        opset=opset,
        tolerance=tolerance,
        check_samples=check_samples,
        say=progress or (lambda _msg: None),
        check_cancelled=check_cancelled,
        source=trained.describe(),
    )
    check_cancelled()
    result: ExportResult = spec.load_exporter()(trained, target, context)
    return result


def export_weights_file(trained: Trained, target: Path, ctx: ExportContext) -> ExportResult:
    """The ``weights`` format: a state dict and the architecture as JSON."""
    from workbench.export.weights import export_weights

    ctx.say("writing the weights")
    extra = {"target_scale": trained.target_scale} if trained.target_scale else None
    arch = export_weights(trained.model, trained.model_graph.to_dict(), target, extra=extra)
    return ExportResult(
        "weights",
        target,
        [target, arch],
        [f"wrote {target} and {arch.name} ({ctx.source})"],
        notes=list(trained.notes),
    )


def export_python_folder(trained: Trained, target: Path, ctx: ExportContext) -> ExportResult:
    """The ``python`` format: a folder with model.py and train.py."""
    from workbench.export.python_code import export_python

    ctx.say("writing model.py and train.py")
    py = export_python(
        trained.model_graph,
        trained.model.state_dict(),
        trained.config or None,
        target,
        project_name=trained.project.name or "model",
    )
    lines = [
        f"wrote {py.folder} ({', '.join(p.name for p in py.files)}) from {ctx.source}",
        f"model.py with the exported weights matches the workbench model: max abs difference {py.max_abs_diff:.2e}",
    ]
    return ExportResult(
        "python", py.folder, list(py.files), lines, notes=[*trained.notes, *py.notes], verified=True
    )


@dataclass
class VerifiedOnnx:
    """A float ONNX file written to a staging path and verified (:func:`write_verified_onnx`)."""

    report: ExportReport
    info: Any
    #: Why the dataset's samples were not checked ("" when they were).
    sample_note: str


def write_verified_onnx(trained: Trained, path: Path, ctx: ExportContext) -> VerifiedOnnx:
    """Export ``trained`` to ONNX at ``path`` (a staging name) and verify it: random inputs at
    several batch sizes, then the dataset's own samples. The caller removes ``path`` on failure.

    Raises:
        ExportError: the export failed or differs from torch beyond the tolerance.
    """
    from workbench.deploy.metadata import metadata_props
    from workbench.export.onnx_export import export_onnx

    info = model_info(trained)
    inp = trained.model_graph.of_type("Input")[0]
    ctx.say("exporting to ONNX and verifying with onnxruntime")
    props = metadata_props(info)
    for key in ("input_name", "input_shape", "input_dtype"):
        props.pop(key)  # the exporter writes what the file really has
    report = export_onnx(
        trained.inference_model(),
        tuple(inp.params["shape"]),
        inp.params["dtype"],
        path,
        opset=ctx.opset,
        metadata=props,
        tolerance=ctx.tolerance,
        sequence_axis=is_sequence_input(inp.params["dtype"], inp.params["shape"]),
    )
    ctx.check_cancelled()
    sample_note = "dataset samples not checked"
    if ctx.check_samples:
        ctx.say("checking the file on the dataset's own samples")
        n, diff, sample_note = _check_samples(trained, path)
        report.samples_checked, report.samples_max_abs_diff = n, diff
        if diff is not None:
            if not diff <= ctx.tolerance:
                raise ExportError(
                    f"on the dataset's own samples onnxruntime differs from torch by up to {diff:.3g} "
                    f"(tolerance {ctx.tolerance:g}); the file was not kept"
                )
            report.max_abs_diff = max(report.max_abs_diff, diff)
    ctx.check_cancelled()
    return VerifiedOnnx(report, info, sample_note)


def onnx_lines(verified: VerifiedOnnx, source: str) -> tuple[list[str], list[str]]:
    """The result lines and notes of a verified ONNX export (after it was moved to ``report.path``)."""
    report, info = verified.report, verified.info
    notes = list(report.notes)
    if not report.samples_checked:
        notes.append(verified.sample_note)
    lines = [
        f"wrote {report.path} ({source}, opset {report.opset}, {report.size_bytes / 1024:.0f} KiB)",
        report.summary(),
    ]
    if report.samples_checked:
        lines.append(
            f"on {report.samples_checked} samples of the dataset, read and preprocessed as 'workbench predict' does: "
            f"largest difference {report.samples_max_abs_diff:.2e}"
        )
    if info.metrics:
        shown = ", ".join(
            f"{k} {v:.4g}"
            for k, v in info.metrics.items()
            if k.startswith("val_") and isinstance(v, int | float)
        )
        if shown:
            lines.append(f"final metrics in the metadata: {shown}")
    return lines, notes


def replace_file(staging: Path, target: Path) -> None:
    """Rename a verified staging file over ``target``.

    Raises:
        ExportError: the rename failed.
    """
    from workbench.core.fileio import replace_retrying

    try:
        replace_retrying(staging, target)
    except OSError as e:
        raise ExportError(f"{target}: cannot be replaced ({e.strerror or e})") from None


def export_onnx_file(trained: Trained, target: Path, ctx: ExportContext) -> ExportResult:
    """The ``onnx`` format: one verified .onnx file with the model's metadata."""
    staging = staging_path(target, suffix=".onnx")
    try:
        verified = write_verified_onnx(trained, staging, ctx)
        replace_file(staging, target)
    except BaseException as e:
        remove_quietly(staging)  # the file already at target (an earlier export) is kept
        if isinstance(e, ExportError) and str(staging) in str(e):
            raise ExportError(str(e).replace(str(staging), str(target))) from None
        raise
    report = verified.report
    report.path = target
    lines, notes = onnx_lines(verified, ctx.source)
    return ExportResult(
        "onnx",
        report.path,
        [report.path],
        lines,
        onnx=report,
        notes=[*trained.notes, *notes],
        verified=True,
    )


def export_project(
    project_path: str | os.PathLike[str],
    fmt: str,
    out: str | os.PathLike[str],
    *,
    run_id: str | None = None,
    opset: int = DEFAULT_OPSET,
    tolerance: float = 1e-4,
) -> ExportResult:
    """:func:`load_trained` then :func:`export_trained`, in one call (for scripts and tests)."""
    return export_trained(
        load_trained(project_path, run_id), fmt, out, opset=opset, tolerance=tolerance
    )
