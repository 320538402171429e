"""Predictions from an exported ``.onnx`` file with onnxruntime, numpy and Pillow (no torch).

:class:`Predictor` reads the file's metadata (:mod:`workbench.deploy.metadata`), checks it
against the graph, and runs the model in bounded chunks on what its
:class:`~workbench.data.inference.InputCodec` encodes: the training data's preprocessing
repeated on new inputs, the one copy that the Evaluate tab's Try it also uses (see that
module for what each kind of model takes). ``workbench predict`` and ``workbench serve``
are thin layers over it.

Every problem with an input is a :class:`PredictError` with a one-line message that names
the file (or the instance's index) and says what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from workbench.data.inference import (
    CHUNK,
    TOP_K,
    InputCodec,
    PredictError,
    TooLargeError,
    _first_line,
    _shape_text,
    sigmoid,
    softmax,
)
from workbench.deploy.metadata import MetadataError, parse

# --------------------------------------------------------------------------- predictor


class Predictor(InputCodec):
    """An exported model loaded with onnxruntime, ready to encode inputs and predict.

    Safe to share between threads: onnxruntime sessions allow concurrent ``run`` calls
    and a Predictor keeps no other mutable state.

    Args:
        path: The ``.onnx`` file, written by ``workbench export``.
        threads: onnxruntime's intra-op threads (default: onnxruntime's choice).

    Raises:
        PredictError: the file is missing or unreadable, is not an ONNX model, is not a
            Model Workbench export, or its metadata disagrees with its graph.
    """

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        self.path = Path(path)
        shown = os.fspath(path)
        try:
            with open(self.path, "rb") as f:
                head = f.read(1)
        except FileNotFoundError:
            raise PredictError(f"{shown}: no such file") from None
        except IsADirectoryError:
            raise PredictError(f"{shown}: is a folder, not an .onnx file") from None
        except OSError as e:
            if self.path.is_dir():  # Windows reports a folder as permission denied
                raise PredictError(f"{shown}: is a folder, not an .onnx file") from None
            raise PredictError(f"{shown}: cannot be read ({e.strerror or e})") from None
        if not head:
            raise PredictError(f"{shown}: the file is empty")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            if threads < 1:
                raise PredictError(f"threads must be at least 1, not {threads}")
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                os.fspath(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime's InvalidProtobuf, InvalidArgument, Fail...
            raise PredictError(
                f"{shown}: not an ONNX model onnxruntime can load ({_first_line(e)})"
            ) from None
        try:
            self.info = parse(self.session.get_modelmeta().custom_metadata_map)
        except MetadataError as e:
            raise PredictError(f"{shown}: {e}") from None
        self._check_graph(shown)
        self._setup(shown)

    def _check_graph(self, shown: str) -> None:
        """Compare the metadata's input and output with the graph's."""
        info = self.info
        inputs = {i.name: i for i in self.session.get_inputs()}
        graph_input = inputs.get(info.input_name)
        if graph_input is None:
            raise PredictError(
                f"{shown}: the metadata names the input '{info.input_name}' but the graph's inputs are "
                + ", ".join(f"'{n}'" for n in inputs)
            )
        shape = list(info.input_shape)
        graph_shape = list(graph_input.shape or [])
        agree = len(shape) == len(graph_shape) and all(
            not isinstance(a, int) or not isinstance(b, int) or a == b
            for a, b in zip(shape, graph_shape, strict=True)
        )
        if not shape or not agree:
            raise PredictError(
                f"{shown}: the metadata's input shape {_shape_text(shape)} disagrees with the graph's "
                f"{_shape_text([s if s is not None else '?' for s in graph_shape])}"
            )
        outputs = self.session.get_outputs()
        self._output_name = outputs[0].name
        out_shape = list(outputs[0].shape or [])
        width = out_shape[-1] if len(out_shape) == 2 else None
        if self.classes is not None and isinstance(width, int) and width != len(self.classes):
            raise PredictError(
                f"{shown}: the model gives {width} outputs per sample but its metadata names {len(self.classes)} classes"
            )

    @property
    def name(self) -> str:
        """The model's name: the file name without ``.onnx``."""
        return self.path.stem

    # -- running -------------------------------------------------------------------------------

    def run(self, x: np.ndarray, batch_size: int = CHUNK) -> np.ndarray:
        """Run the model on a batch, ``batch_size`` samples per onnxruntime call.

        Returns:
            The first output as ``(N, K)`` float32: logits (classification) or values.

        Raises:
            PredictError: ``x`` does not have the model's input shape, or onnxruntime rejects it.
        """
        x = np.asarray(x)
        if x.ndim != len(self.input_shape) or not self._fits(x.shape[1:]):
            raise PredictError(
                f"the input batch has shape {_shape_text(x.shape)}; the model takes {_shape_text(self.input_shape)}"
            )
        if x.dtype != self.dtype:
            if (
                self.dtype.kind in "iu"
                and x.dtype.kind == "f"
                and not np.array_equal(x, np.round(x))
            ):
                raise PredictError("the model takes whole numbers (token ids)")
            x = x.astype(self.dtype)
        if len(x) == 0:
            return np.zeros(
                (0, len(self.classes) if self.classes is not None else len(self.target_names)),
                np.float32,
            )
        parts = []
        for start in range(0, len(x), batch_size):
            chunk = np.ascontiguousarray(x[start : start + batch_size])
            try:
                out = self.session.run([self._output_name], {self.info.input_name: chunk})[0]
            except Exception as e:
                if type(e).__name__ != "InvalidArgument":
                    raise
                raise PredictError(f"the model rejects the input: {_first_line(e)}") from None
            parts.append(np.asarray(out, np.float32).reshape(len(chunk), -1))
        return np.concatenate(parts)

    def predict_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        top_k: int = TOP_K,
        *,
        skipped: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Predictions for input files (see :meth:`encode_paths`), decoded in bounded batches.

        With ``skipped``, image files that cannot be decoded are left out and listed there
        (see :meth:`iter_paths`).
        """
        out: list[dict[str, Any]] = []
        for x, names in self.iter_paths(paths, skipped=skipped):
            out.extend(self.predictions(self.run(x), names, top_k))
        return out

    def predict_instances(
        self, instances: Sequence[Any], top_k: int = TOP_K, *, pixel_budget: int | None = None
    ) -> list[dict[str, Any]]:
        """Predictions for a request's instances; ``input`` is each instance's index.

        ``pixel_budget``: see :meth:`encode_instances`.
        """
        x = self.encode_instances(instances, pixel_budget=pixel_budget)
        return self.predictions(self.run(x), list(range(len(x))), top_k)


def format_predictions(predictor: Predictor, predictions: Sequence[Mapping[str, Any]]) -> str:
    """Predictions as an aligned text table, for ``workbench predict`` without ``--json``."""
    if predictor.classes is not None:
        header = [
            "input",
            "label",
            "probability",
            "top " + str(max((len(p["top_k"]) for p in predictions), default=0)),
        ]
        rows = [
            [
                str(p["input"]),
                p["label"],
                _fmt_p(p["probability"]),
                ", ".join(f"{label} {_fmt_p(v)}" for label, v in p["top_k"]),
            ]
            for p in predictions
        ]
        right = {2}
    else:
        names = predictor.target_names
        header = ["input", *names]
        rows = []
        for p in predictions:
            values = p["value"] if isinstance(p["value"], list) else [p["value"]]
            rows.append([str(p["input"]), *(_fmt_v(v) for v in values)])
        right = set(range(1, len(header)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for k, r in enumerate([header, *rows]):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt_p(v: float | None) -> str:
    return "nan" if v is None else f"{v:.4f}"


def _fmt_v(v: float | None) -> str:
    return "nan" if v is None else f"{v:.6g}"


__all__ = [
    "CHUNK",
    "TOP_K",
    "PredictError",
    "Predictor",
    "TooLargeError",
    "format_predictions",
    "sigmoid",
    "softmax",
]
