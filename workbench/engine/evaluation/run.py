"""Evaluating a run's weights on a split of its dataset: ``workbench evaluate``, the
Evaluate tab, and the test evaluation at the end of every run.

:func:`evaluate_run` rebuilds a run's model from its config.json and its best checkpoint
(checked against its recorded SHA-256, as a resume does), reads the split with exactly
the run's preprocessing and streams it through the model in batches: an image split is
decoded batch by batch from disk with the mean and std the run recorded, never loaded
whole. :func:`evaluate_model` is the loop itself, shared with :class:`TestEvaluation`,
the trainer's callback that evaluates the best weights on the test split once a run
ends (finished, stopped or stopped early).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from workbench.core.text import first_line
from workbench.data.base import DataCancelled, DataError
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.config import TrainError
from workbench.engine.evaluation.metrics import classification_metrics, regression_metrics
from workbench.engine.evaluation.result import (
    SPLITS,
    Evaluation,
    EvaluationCancelled,
    EvaluationError,
)
from workbench.engine.runs import RunDir, list_runs
from workbench.engine.trainer import Callback

if TYPE_CHECKING:
    from workbench.data.base import DataSettings, SampleIds, Source
    from workbench.data.prepared import SplitData
    from workbench.engine.trainer import Trainer

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

#: What the end of a run says when its dataset has no test split.
NO_TEST_SPLIT = "the dataset has no test split"


def _no_log(text: str) -> None:
    """Drop a progress line."""


# --- what the model's outputs mean -----------------------------------------------------------


@dataclass
class OutputSpec:
    """How to read a model's outputs: the task, the labels, and how logits become answers."""

    task: str
    #: Class names, or the regression targets' names.
    labels: list[str]
    #: ``softmax`` (cross-entropy), ``sigmoid`` (BCE per class) or ``none`` (regression).
    activation: str = "softmax"
    #: ``{"mean": [...], "std": [...]}`` when the model outputs standardized targets.
    target_scale: dict[str, list[float]] | None = None
    top_k: int = 5

    @classmethod
    def of(
        cls,
        task: str,
        classes: list[str] | None,
        loss: str,
        preprocessing: dict[str, Any],
        num_targets: int = 1,
        top_k: int = 5,
    ) -> OutputSpec:
        """The spec of a run: its task, classes, loss and preprocessing (as recorded)."""
        if task == "classification":
            activation = "sigmoid" if loss == "bce_with_logits" else "softmax"
            return cls(task, [str(c) for c in classes or []], activation, None, top_k)
        scale = preprocessing.get("target_scale")
        target = preprocessing.get("target")
        if isinstance(target, str) and num_targets == 1:
            names = [target]
        elif num_targets == 1:
            names = ["y"]
        else:
            names = [f"y{j}" for j in range(num_targets)]
        return cls(task, names, "none", scale if isinstance(scale, dict) else None, top_k)


def sample_id_label(preprocessing: dict[str, Any]) -> str:
    """What a sample id is, by the kind of data the preprocessing is for (see ``Evaluation.id_label``)."""
    return {"table": "row", "arrays": "index"}.get(str(preprocessing.get("kind")), "")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


# --- the loop ------------------------------------------------------------------------------------


def _indexed_batches(
    data: SplitData, indices: np.ndarray, batch_size: int
) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """``(sample indices, x, y)`` batches in order.

    A streamed image split says which samples each batch holds (one that fails to decode
    is left out); a split in memory holds exactly the samples of ``indices``, in order.
    """
    indexed = getattr(data, "iter_indexed", None)
    if indexed is not None:
        yield from indexed(batch_size)
        return
    start = 0
    for x, y in data.iter_batches(batch_size):
        n = len(x)
        yield indices[start : start + n], x, y
        start += n


class _Rows:
    """One column of per-sample results (outputs, targets or sample indices), batch by batch.

    Rows on the CPU are copied into one array for the whole split, made at the first
    batch: per-batch pieces kept in a list, each allocated between a batch's large
    short-lived buffers, fragment the heap, and the resident size of a streamed
    evaluation was measured growing by about 2 KB per sample that way (glibc, 28x28
    PNGs, ``workbench bench --evaluate``); with one array it stays flat. Rows on a GPU
    stay there until the end: one wait for them, not one per batch.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.array: np.ndarray | None = None
        self.filled = 0
        self.on_device: list[torch.Tensor] = []

    def add(self, rows: torch.Tensor | np.ndarray) -> None:
        """Keep a batch's rows."""
        if isinstance(rows, torch.Tensor) and rows.device.type != "cpu":
            self.on_device.append(rows)
            return
        a = rows.numpy() if isinstance(rows, torch.Tensor) else np.asarray(rows)
        n = len(a)
        if self.array is None:
            self.array = np.empty((max(self.total, n), *a.shape[1:]), dtype=a.dtype)
        elif self.filled + n > len(self.array):  # more rows than announced: make room
            more = np.empty((self.filled + n - len(self.array), *a.shape[1:]), self.array.dtype)
            self.array = np.concatenate([self.array, more])
        self.array[self.filled : self.filled + n] = a
        self.filled += n

    def values(self) -> np.ndarray:
        """All the rows kept, in order, on the host."""
        parts = [] if self.array is None else [self.array[: self.filled]]
        parts += [t.cpu().numpy() for t in self.on_device]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def evaluate_model(
    model: nn.Module,
    data: SplitData,
    indices: np.ndarray,
    spec: OutputSpec,
    *,
    sample_ids: SampleIds | None = None,
    run: str | None = None,
    split: str = "test",
    device: torch.device | str = "cpu",
    batch_size: int = 256,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    checkpoint: str | None = None,
    epoch: int | None = None,
    id_label: str = "",
) -> Evaluation:
    """Run ``model`` over one split in eval mode and collect every sample's result and the metrics.

    Args:
        model: The model with the weights to evaluate (moved to ``device``).
        data: The split, as the training pipeline prepares it.
        indices: The split's sample indices (of the source), in the data's order.
        spec: How to read the outputs.
        sample_ids: Sample indices -> ids (file paths, table rows…); None: the indices.
        run: The run's id, for the result.
        split: ``test``, ``val`` or ``train``, for the result.
        device: Where the model runs.
        batch_size: Samples per forward pass.
        progress: ``progress(done, total)`` after each batch.
        cancelled: Polled before each batch; once true, :class:`EvaluationCancelled` is raised.
        checkpoint: The checkpoint's file name, for the result.
        epoch: The epoch the weights come from, for the result.
        id_label: What an id is (see :func:`sample_id_label`), for the result.

    Raises:
        EvaluationCancelled: ``cancelled()`` turned true.
        EvaluationError: the split is empty, or the model's outputs do not fit the labels.
    """
    dev = torch.device(device)
    total = len(data)
    if total == 0:
        raise EvaluationError(f"the {split} split has no samples")
    started = time.perf_counter()
    was_training = model.training
    model.to(dev)
    model.eval()
    outputs, targets, seen = _Rows(total), _Rows(total), _Rows(total)
    done = 0
    batches = _indexed_batches(data, np.asarray(indices), max(1, int(batch_size)))
    try:
        with torch.inference_mode():
            for idx, x, y in batches:
                if cancelled is not None and cancelled():
                    raise EvaluationCancelled
                out = model(x.to(dev))
                outputs.add(out.float().reshape(out.shape[0], -1))
                targets.add(y)
                seen.add(np.asarray(idx, dtype=np.int64))
                done += len(x)
                if progress is not None:
                    progress(done, total)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # a streamed split stops its reading thread now, not when collected
        model.train(was_training)
    if done == 0:
        raise EvaluationError(f"none of the {total} samples of the {split} split could be read")
    logits = outputs.values().astype(np.float64)
    y_host = targets.values()
    order = seen.values()
    ids = sample_ids(order) if sample_ids is not None else [int(i) for i in order]
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    if spec.task == "classification":
        if logits.shape[1] != len(spec.labels):
            raise EvaluationError(
                f"the model gives {logits.shape[1]} values per sample but the data has "
                f"{len(spec.labels)} classes"
            )
        if y_host.ndim != 1:
            raise EvaluationError(
                "multi-label targets (a 0/1 column per class) cannot be evaluated yet"
            )
        proba = _sigmoid(logits) if spec.activation == "sigmoid" else _softmax(logits)
        y_true = y_host.astype(np.int64)
        metrics: Any = classification_metrics(y_true, proba, spec.top_k)
        y_pred = proba.argmax(axis=1).astype(np.int64)
    else:
        proba = None
        values = logits
        if spec.target_scale is not None:
            mean = np.asarray(spec.target_scale["mean"], np.float64)
            std = np.asarray(spec.target_scale["std"], np.float64)
            values = values * std + mean
        y_true = y_host.astype(np.float64).reshape(len(y_host), -1)
        if values.shape[1] != y_true.shape[1]:
            raise EvaluationError(
                f"the model gives {values.shape[1]} values per sample but the data has "
                f"{y_true.shape[1]} target(s)"
            )
        y_pred = values
        metrics = regression_metrics(y_true, y_pred)
    return Evaluation(
        task=spec.task,
        run=run,
        split=split,
        labels=list(spec.labels),
        ids=ids,
        y_true=y_true,
        y_pred=y_pred,
        proba=proba,
        metrics=metrics,
        checkpoint=checkpoint,
        epoch=epoch,
        device=str(dev),
        seconds=time.perf_counter() - started,
        id_label=id_label,
    )


# --- a run on demand ---------------------------------------------------------------------------


def latest_run(project_path: str | os.PathLike[str]) -> RunDir | None:
    """The project's newest run with a checkpoint, or None."""
    for run in reversed(list_runs(project_path)):
        if run.best.is_file() or run.last.is_file():
            return run
    return None


def _pick_run(path: Path, run_id: str | None) -> RunDir:
    runs = list_runs(path)
    if run_id is not None:
        found = [r for r in runs if r.id == run_id]
        if not found:
            known = ", ".join(r.id for r in runs[-3:]) or "none yet"
            raise EvaluationError(f"{path.name} has no run '{run_id}' (latest: {known})")
        run = found[0]
        if not (run.best.is_file() or run.last.is_file()):
            raise EvaluationError(
                f"run {run.id} has no checkpoint to evaluate (it ended before its first epoch did)"
            )
        return run
    latest = latest_run(path)
    if latest is None:
        raise EvaluationError(f"{path.name} has no trained run to evaluate: train it first")
    return latest


def _load_weights(run: RunDir, notes: list[str]) -> tuple[Path, dict[str, Any]]:
    """The run's best checkpoint (else its last, with a note), checked against its checksum."""
    checkpoint = run.best
    if not checkpoint.is_file():
        checkpoint = run.last
        notes.append(
            f"run {run.id} has no best.pt (its monitored metric was never finite): "
            "evaluating its last checkpoint"
        )
    try:
        state = load_checkpoint(checkpoint)
    except TrainError as e:
        raise EvaluationError(f"run {run.id}: {e}") from None
    return checkpoint, state


def _build_model(run: RunDir, config: dict[str, Any], state: dict[str, Any]) -> nn.Module:
    """The run's model as it was trained (its recorded graph), with the checkpoint's weights."""
    from workbench.core.graph import Graph, GraphError
    from workbench.engine.compiler import CompileError, compile_graph

    try:
        graph = Graph.from_dict(config["graph"])
        model = compile_graph(graph)
    except (KeyError, TypeError, ValueError, GraphError, CompileError) as e:
        raise EvaluationError(
            f"run {run.id} cannot be evaluated: its config.json has no usable model ({first_line(e)})"
        ) from None
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise EvaluationError(
            f"run {run.id}: the checkpoint does not fit the model it recorded: {first_line(e)}"
        ) from None
    return model


@dataclass
class LoadedRun:
    """A run's model rebuilt from its config.json with its best weights (else its last)."""

    run: RunDir
    config: dict[str, Any]
    model: nn.Module
    checkpoint: Path
    #: The checkpoint's contents (its ``epoch`` among them).
    state: dict[str, Any]
    #: What the user should know (no best.pt, so the last checkpoint was loaded).
    notes: list[str]


def load_run_model(project_path: str | os.PathLike[str], run_id: str | None = None) -> LoadedRun:
    """Rebuild a run's model with its best weights, checked against their checksum.

    What :func:`evaluate_run` and the Evaluate tab's Try it load.

    Args:
        project_path: The ``.wbproj`` file; its runs are beside it.
        run_id: The run; None for the newest run with a checkpoint.

    Raises:
        EvaluationError: one line: a missing or broken project, no such run, no
            checkpoint, a damaged checkpoint, a config.json without a usable model.
    """
    from workbench.core.project import ProjectError, load_project

    path = Path(project_path)
    try:
        load_project(path)  # a missing or broken project file gets the loader's message
    except ProjectError as e:
        raise EvaluationError(str(e)) from None
    run = _pick_run(path, run_id)
    notes: list[str] = []
    checkpoint, state = _load_weights(run, notes)
    config = run.read_config()
    return LoadedRun(run, config, _build_model(run, config, state), checkpoint, state, notes)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (the recorded preprocessing went through config.json)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _missing_split(source: Source, settings: DataSettings, split: str) -> EvaluationError:
    name = Path(settings.path).name
    why = ""
    if split == "test" and source.given_split is not None:
        why = " (its folders or split column give the splits, and none is a test split)"
    elif split == "test" and settings.test_ratio == 0:
        why = " (its test ratio is 0)"
    elif split == "val" and settings.val_ratio == 0:
        why = " (its validation ratio is 0)"
    other = "the validation split" if split == "test" else "another split"
    return EvaluationError(
        f"{name} has no {'validation' if split == 'val' else split} split{why}: "
        f"evaluate {other}, or set a {split} ratio in the dataset settings and train again"
    )


def _image_stream(
    source: Source, settings: DataSettings, pre: dict[str, Any], split: str
) -> tuple[Any, np.ndarray, Callable[[], None]] | None:
    """The split of an image dataset streamed from disk with the run's recorded preprocessing.

    Returns ``(data, indices, close)``, or None when the run recorded no usable image
    preprocessing (an older run: the dataset is then prepared as for training).
    """
    from workbench.data.image_pipeline import (
        ByteLRUCache,
        ImageBatchTransform,
        ImageDecoder,
        StreamData,
        default_workers,
    )
    from workbench.data.images import ImageSource

    if not isinstance(source, ImageSource) or pre.get("kind") != "image":
        return None
    try:
        h, w = (int(v) for v in pre["size"])
        color = pre["color"]
        mean = [float(v) for v in pre["mean"]]
        std = [float(v) for v in pre["std"]]
    except (KeyError, TypeError, ValueError):
        return None
    if color not in ("grayscale", "rgb") or len(mean) != len(std) or not all(s > 0 for s in std):
        return None
    indices = getattr(source.split(settings), split)
    tw, th = source.typical_size
    decoder = ImageDecoder(
        source.files,
        (h, w),
        color,
        ByteLRUCache(0),  # one pass: nothing is read twice
        default_workers(tw * th if tw and th else None),
        source.record_failure,
    )
    labels = source.labels[indices].astype(np.int64)
    data = StreamData(decoder, indices, labels, ImageBatchTransform(mean, std, None))
    return data, indices, decoder.close


@contextlib.contextmanager
def _training_threads(device: torch.device, threads: Any) -> Iterator[None]:
    """On the CPU, evaluate with the threads the run trained with (its ``cpu_threads``,
    else all cores but one), then put torch's thread count back: with every core, torch's
    threads were measured to starve the thread that decodes the next batches of a
    streamed split (2 to 8 times slower on 2 cores, ``workbench bench --evaluate``)."""
    from workbench.engine.devices import default_cpu_threads

    before = torch.get_num_threads()
    wanted = before
    if device.type == "cpu":
        wanted = threads if isinstance(threads, int) and threads > 0 else default_cpu_threads()
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def evaluate_run(
    project_path: str | os.PathLike[str],
    run_id: str | None = None,
    *,
    split: str = "test",
    device: str = "auto",
    batch_size: int | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    log: Callable[[str], None] = _no_log,
) -> Evaluation:
    """Evaluate a run's best weights on a split of the data it was trained on.

    Args:
        project_path: The ``.wbproj`` file; its runs are beside it.
        run_id: The run; None for the newest run with a checkpoint.
        split: ``test`` (default), ``val`` or ``train``, as the run split the data.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        batch_size: Samples per forward pass (default twice the run's batch size).
        progress: ``progress(done, total)`` while the dataset is scanned, then while the
            samples are evaluated (``log`` names each step).
        cancelled: Polled between steps and batches; once true,
            :class:`EvaluationCancelled` is raised.
        log: Receives a line for each step.

    Raises:
        EvaluationError: one line for the user: no such run or split, a damaged
            checkpoint, an unreadable dataset, an unknown device…
        EvaluationCancelled: ``cancelled()`` turned true.
    """
    from workbench.data import DataSettings, open_dataset
    from workbench.data.fingerprint import dataset_fingerprint, describe_change
    from workbench.engine.devices import DeviceError, resolve_device

    if split not in SPLITS:
        raise EvaluationError(f"unknown split '{split}' (expected {', '.join(SPLITS)})")
    try:
        dev = resolve_device(device)
    except DeviceError as e:
        raise EvaluationError(str(e)) from None
    loaded = load_run_model(project_path, run_id)
    run, config, model = loaded.run, loaded.config, loaded.model
    checkpoint, state, notes = loaded.checkpoint, loaded.state, loaded.notes
    try:
        settings = DataSettings.from_dict(config["data"])
        task = str(config["task"])
    except (KeyError, TypeError, DataError) as e:
        raise EvaluationError(
            f"run {run.id} cannot be evaluated: its config.json is incomplete ({first_line(e)})"
        ) from None
    recorded: dict[str, Any] = _mapping(config.get("preprocessing"))
    training: dict[str, Any] = _mapping(config.get("training"))
    spec = OutputSpec.of(
        task,
        config.get("classes"),
        str(config.get("loss") or ""),
        recorded,
        int(config.get("num_targets") or 1),
        int(training.get("top_k") or 5),
    )
    name = Path(settings.path).name
    log(f"Reading {name}…")
    try:
        source = open_dataset(settings.path, settings.target, progress, cancelled)
    except DataCancelled:
        raise EvaluationCancelled from None
    except DataError as e:
        raise EvaluationError(str(e)) from None
    with contextlib.suppress(OSError):  # the data was readable a moment ago
        change = describe_change(run.read_fingerprint(), dataset_fingerprint(settings.path), name)
        if change is not None:
            notes.append(f"the dataset changed since run {run.id} started: {change}")
    if cancelled is not None and cancelled():
        raise EvaluationCancelled
    close: Callable[[], None] = _no_close
    stream = _image_stream(source, settings, recorded, split)
    try:
        if stream is not None:
            data, indices, close = stream
        else:
            log(f"Preparing {name}…")
            prepared = source.prepare(settings, cancelled=cancelled)
            data, indices = getattr(prepared, split), getattr(prepared.split, split)
            if recorded and not _same(prepared.preprocessing, recorded):
                notes.append(
                    f"the preprocessing learned from {name} now differs from run {run.id}'s "
                    "(the dataset changed since it was trained)"
                )
    except DataCancelled:
        raise EvaluationCancelled from None
    except DataError as e:
        raise EvaluationError(str(e)) from None
    except (OSError, ValueError) as e:
        raise EvaluationError(f"{settings.path}: the data cannot be prepared ({e})") from None
    try:
        if len(data) == 0:
            raise _missing_split(source, settings, split)
        size = batch_size or 2 * int(training.get("batch_size") or 128)
        log(f"Evaluating run {run.id} on the {split} split ({len(data)} samples)…")
        try:
            with _training_threads(dev, training.get("cpu_threads")):
                evaluation = evaluate_model(
                    model,
                    data,
                    indices,
                    spec,
                    sample_ids=source.sample_ids(),
                    run=run.id,
                    split=split,
                    device=dev,
                    batch_size=size,
                    progress=progress,
                    cancelled=cancelled,
                    checkpoint=checkpoint.name,
                    epoch=int(state.get("epoch", 0)) or None,
                    id_label=sample_id_label(recorded),
                )
        except torch.OutOfMemoryError:
            raise EvaluationError(
                f"out of memory on {dev} while evaluating: use a smaller batch size (now {size})"
            ) from None
        except RuntimeError as e:
            raise EvaluationError(f"the evaluation failed: {first_line(e)}") from None
    finally:
        close()
    failed = len(data) - evaluation.num_samples
    if failed > 0:
        notes.append(
            f"{failed} image(s) of the {split} split could not be decoded and were left out"
        )
    evaluation.notes = notes + evaluation.notes
    return evaluation


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _no_close() -> None:
    """Nothing to close (a split held in memory)."""


# --- the end of every run ----------------------------------------------------------------------


class TestEvaluation(Callback):
    """Evaluates a recorded run's best weights on the test split once the run ends.

    It runs in ``on_fit_end`` (a run that finished, was stopped or stopped early), before
    the run's status is written: the results go to ``test.json`` in the run folder, to
    the ``{"split": "test", ...}`` line that ``on_test_end`` hands to the callbacks (the
    run record appends it to metrics.jsonl), to ``trainer.test_record`` (the project's
    runs entry) and ``trainer.test_evaluation``, and a short form to the run's message.
    A failure here never fails the run: the message says what went wrong instead. A stop
    requested while it runs cancels it.
    """

    __test__ = False  # not a pytest test class, whatever its name

    def on_fit_start(self, trainer: Trainer) -> None:
        """Forget an earlier segment's results (a continued run is evaluated again at its end)."""
        trainer.test_record = trainer.test_evaluation = None
        if trainer.run is not None:
            with contextlib.suppress(OSError):
                trainer.run.test_path.unlink(missing_ok=True)

    def on_fit_end(self, trainer: Trainer) -> None:
        """Evaluate the best checkpoint on the test split and record the results."""
        run, prep = trainer.run, trainer.prepared
        if run is None:
            return
        if len(prep.test) == 0:
            self._note(trainer, NO_TEST_SPLIT)
            return
        checkpoint = run.best if run.best.is_file() else run.last
        if not checkpoint.is_file():
            self._note(trainer, "no checkpoint, so the test split was not evaluated")
            return
        already = trainer.stop_requested  # a stopped run is still evaluated; a new stop cancels
        phase, trainer.phase = trainer.phase, "test"
        try:
            evaluation = self._evaluate(
                trainer, checkpoint, lambda: trainer.stop_requested and not already
            )
        except EvaluationCancelled:
            self._note(trainer, "the test evaluation was cancelled")
            return
        except (TrainError, DataError, RuntimeError, OSError, ValueError) as e:
            self._note(trainer, f"the test split could not be evaluated: {first_line(e)}")
            return
        finally:
            trainer.phase = phase
        if checkpoint != run.best:
            evaluation.notes.append("the run has no best.pt: its last checkpoint was evaluated")
        record = evaluation.record()
        doc = {**evaluation.to_json_dict(), **record, "notes": evaluation.notes}
        try:
            run.write_test(doc)
        except TrainError as e:
            evaluation.notes.append(str(e))
        trainer.test_evaluation, trainer.test_record = evaluation, record
        trainer.call_hook("on_test_end", record)
        trainer.message += f"; {evaluation.headline()}"

    @staticmethod
    def _note(trainer: Trainer, text: str) -> None:
        trainer.test_record = {"split": "test", "num_samples": 0, "note": text}
        trainer.message += f"; {text}"

    @staticmethod
    def _evaluate(trainer: Trainer, checkpoint: Path, cancelled: Cancelled) -> Evaluation:
        prep = trainer.prepared
        state = load_checkpoint(checkpoint, trainer.device)
        model = copy.deepcopy(trainer.model)  # the trainer's model keeps its weights
        model.load_state_dict(state["model"])
        spec = OutputSpec.of(
            prep.task,
            prep.classes,
            trainer.loss_name,
            prep.preprocessing,
            prep.num_targets,
            trainer.config.top_k,
        )
        try:
            return evaluate_model(
                model,
                prep.test,
                prep.split.test,
                spec,
                sample_ids=prep.sample_ids,
                run=trainer.run.id if trainer.run is not None else None,
                split="test",
                device=trainer.device,
                batch_size=2 * trainer.config.batch_size,
                cancelled=cancelled,
                checkpoint=checkpoint.name,
                epoch=int(state.get("epoch", 0)) or None,
                id_label=sample_id_label(prep.preprocessing),
            )
        finally:
            del model
            if trainer.device.type == "cuda":
                torch.cuda.empty_cache()


__all__ = [
    "NO_TEST_SPLIT",
    "LoadedRun",
    "OutputSpec",
    "TestEvaluation",
    "evaluate_model",
    "evaluate_run",
    "load_run_model",
    "sample_id_label",
    "latest_run",
]
