"""Predictions from an exported ``.onnx`` file with onnxruntime, numpy and Pillow (no torch).

:class:`Predictor` reads the file's metadata (:mod:`workbench.deploy.metadata`), repeats
the training data's preprocessing on new inputs, runs the model in bounded chunks and
turns its outputs into JSON-ready predictions. ``workbench predict`` and ``workbench
serve`` are thin layers over it.

What a Predictor takes, by the preprocessing kind the model was exported with:

=========  ===============================================  ==========================================
kind       files (:meth:`Predictor.encode_paths`)           instances (:meth:`Predictor.encode_instances`)
=========  ===============================================  ==========================================
image      image files, or folders of them (with their      ``{"b64": "<base64 of an image file>"}``
           subfolders, sorted)
table      .csv / .tsv / .txt / .parquet files of rows;     a list of the feature columns' raw values,
           extra columns (the target) are ignored           in the order of ``features``, or an object
                                                            ``{column: value}`` (``null`` = missing)
arrays     .npy (N samples) or .npz with an array ``x``,    one sample as a nested list, stored like one
           stored like the training file's ``x``            row of the training file's ``x``
(none)     .npy / .npz holding model inputs as they are     one model input as a nested list
=========  ===============================================  ==========================================

Every problem with an input is a :class:`PredictError` with a one-line message that names
the file (or the instance's index) and says what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from workbench.data import ARRAY_SUFFIXES, TABLE_SUFFIXES
from workbench.data.arrays import convert_x, encode_x
from workbench.data.base import DataError
from workbench.data.decode import decode_image, open_image
from workbench.data.images import IMAGE_EXTENSIONS
from workbench.data.tables import encode_file, encode_rows
from workbench.deploy.metadata import MetadataError, ModelInfo, parse

#: Samples per onnxruntime call, so memory stays bounded whatever the number of inputs.
CHUNK = 256
#: How many classes a prediction lists by default.
TOP_K = 5
_DTYPES = ("float32", "float64", "float16", "int64", "int32")


class PredictError(ValueError):
    """An input or a model file that cannot be used; the message is one line."""


class TooLargeError(PredictError):
    """A request's images hold more pixels than its budget (checked before decoding)."""


# --------------------------------------------------------------------------- activations


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64; stable for large logits (the max is subtracted)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.size == 0:
        return z.copy()
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function, elementwise, in float64; never overflows (exp of -|z| only)."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _number(v: Any) -> float | None:
    """A plain Python float for JSON; None for NaN or infinity (which JSON cannot hold)."""
    f = float(v)
    return f if math.isfinite(f) else None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    line = text.splitlines()[0].strip() if text else ""
    if "Status Message:" in line:  # onnxruntime: keep the part that says what went wrong
        line = line.split("Status Message:", 1)[1].strip()
    elif line.startswith("[ONNXRuntimeError]"):
        line = line.rsplit(" : ", 1)[-1].strip()
        if "failed:" in line:  # "Load model from PATH failed:Protobuf parsing failed."
            line = line.split("failed:", 1)[1].strip().rstrip(".")
    if len(line) > 200:
        line = line[:197] + "..."
    return line or type(e).__name__


def _shape_text(shape: Sequence[int | str]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


# --------------------------------------------------------------------------- predictor


class Predictor:
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
            self.info: ModelInfo = parse(self.session.get_modelmeta().custom_metadata_map)
        except MetadataError as e:
            raise PredictError(f"{shown}: {e}") from None
        self._check_graph(shown)

    def _check_graph(self, shown: str) -> None:
        """Compare the metadata with the graph; fill in what the predictor needs."""
        info = self.info
        inputs = {i.name: i for i in self.session.get_inputs()}
        graph_input = inputs.get(info.input_name)
        if graph_input is None:
            raise PredictError(
                f"{shown}: the metadata names the input '{info.input_name}' but the graph's inputs are "
                + ", ".join(f"'{n}'" for n in inputs)
            )
        if info.input_dtype not in _DTYPES:
            raise PredictError(
                f"{shown}: the metadata's input dtype '{info.input_dtype}' is not supported"
            )
        self.dtype = np.dtype(info.input_dtype)
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
        self.input_shape: list[int | str] = shape
        outputs = self.session.get_outputs()
        self._output_name = outputs[0].name
        out_shape = list(outputs[0].shape or [])
        width = out_shape[-1] if len(out_shape) == 2 else None
        if self.classes is not None and isinstance(width, int) and width != len(self.classes):
            raise PredictError(
                f"{shown}: the model gives {width} outputs per sample but its metadata names {len(self.classes)} classes"
            )
        kind = info.kind
        if kind not in ("image", "table", "arrays", ""):
            raise PredictError(f"{shown}: unknown preprocessing kind '{kind}' in the metadata")
        pre = info.preprocessing
        self.columns: list[str] = []  # a table's feature columns, in order
        self._mean = self._inv_std = np.zeros((0, 1, 1), np.float32)  # an image's normalization
        try:
            if kind == "image":
                h, w = (int(v) for v in pre["size"])
                if pre.get("color", "rgb") not in ("rgb", "grayscale"):
                    raise ValueError("color")
                channels = 1 if pre.get("color") == "grayscale" else 3
                self._mean = np.asarray(pre.get("mean") or [0.0] * channels, np.float32).reshape(
                    -1, 1, 1
                )
                inv = 1.0 / np.asarray(pre.get("std") or [1.0] * channels, np.float64)
                self._inv_std = inv.astype(np.float32).reshape(-1, 1, 1)
                if len(self._mean) != channels or len(self._inv_std) != channels:
                    raise ValueError("mean/std")
            elif kind == "table":
                self.columns = [str(f["name"]) for f in pre["features"]]
            elif kind == "arrays":
                if pre["layout"] not in ("features", "images", "sequences", "tokens"):
                    raise ValueError("layout")
        except (KeyError, TypeError, ValueError) as e:
            raise PredictError(
                f"{shown}: the metadata's {kind} preprocessing is malformed ({e})"
            ) from None
        expected: list[int] | None = None
        if kind == "image":
            expected = [len(self._mean), h, w]
        elif kind == "table":
            expected = [int(pre.get("num_features", len(pre.get("feature_names", []))))]
        if expected is not None and not self._fits(expected):
            raise PredictError(
                f"{shown}: the preprocessing gives inputs shaped {_shape_text(expected)} but the model takes "
                f"{_shape_text(self.sample_shape)}"
            )

    # -- what the model is ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The model's name: the file name without ``.onnx``."""
        return self.path.stem

    @property
    def kind(self) -> str:
        """The preprocessing kind: ``"image"``, ``"table"``, ``"arrays"``, or ``""`` (none)."""
        return self.info.kind

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return self.info.task

    @property
    def classes(self) -> list[str] | None:
        """The class names (classification), else None."""
        return self.info.classes

    @property
    def sample_shape(self) -> list[int | str]:
        """One model input's shape, without the batch axis (symbolic axes are strings)."""
        return self.input_shape[1:]

    @property
    def target_names(self) -> list[str]:
        """Regression targets' names (``value`` / ``value_1``… when the metadata has none)."""
        names = self.info.output.get("names")
        size = int(self.info.output.get("size") or (len(names) if names else 1))
        if isinstance(names, list) and len(names) == size:
            return [str(n) for n in names]
        return ["value"] if size == 1 else [f"value_{i + 1}" for i in range(size)]

    def describe(self) -> str:
        """One line on what the model predicts from what, e.g. for ``workbench serve``."""
        if self.classes is not None:
            shown = ", ".join(self.classes[:6]) + (", …" if len(self.classes) > 6 else "")
            what = f"classification into {len(self.classes)} classes ({shown})"
            if self.info.activation == "sigmoid":
                what += ", each scored independently (sigmoid),"
        else:
            names = self.target_names
            what = "regression of " + (
                names[0] if len(names) == 1 else f"{len(names)} targets ({', '.join(names[:6])})"
            )
        pre, shape = self.info.preprocessing, self.sample_shape
        if self.kind == "image":
            frm = f"{pre['size'][0]}×{pre['size'][1]} {pre.get('color', 'rgb')} images"
        elif self.kind == "table":
            frm = f"table rows ({len(self.columns)} columns: {', '.join(self.columns[:6])}{', …' if len(self.columns) > 6 else ''})"
        elif self.kind == "arrays":
            layout, raw = pre["layout"], self._raw_shape()
            length = f"{raw[0]} steps" if isinstance(raw[0], int) else "any length"
            if layout == "tokens":
                frm = f"token id sequences ({length})"
            elif layout == "sequences":
                frm = f"sequences of {shape[-1]} features ({length})"
            elif layout == "images":
                frm = f"{'×'.join(map(str, raw))} image arrays"
            else:
                frm = f"{shape[0]} features"
        else:
            frm = f"model inputs shaped {_shape_text(shape)}, {self.dtype} (no preprocessing)"
        return f"{what} from {frm}"

    def example_instance(self) -> str:
        """One instance for ``POST /predict``, to show users (runnable JSON for tables and arrays)."""
        if self.kind == "image":
            return '{"b64": "<base64 of an image file>"}'
        if self.kind == "table":
            # a runnable row: each number at its training mean, each category its most frequent
            row: dict[str, Any] = {}
            for f in self.info.preprocessing.get("features", []):
                if f.get("type") == "numeric":
                    row[f["name"]] = float(f"{float(f.get('mean', 0.0)):.4g}")
                else:
                    row[f["name"]] = f.get("fill")
            return json.dumps(row)
        raw = [s if isinstance(s, int) else 3 for s in self._raw_shape()]
        if math.prod(raw) > 8:
            return f"<{'×'.join(map(str, raw))} nested list of numbers>"
        example: Any = 1 if self.dtype.kind in "iu" else 0.0
        for n in reversed(raw):
            example = [example] * n
        return json.dumps(example)

    # -- encoding files ---------------------------------------------------------------------

    def encode_paths(self, paths: Iterable[str | os.PathLike[str]]) -> tuple[np.ndarray, list[str]]:
        """Encode input files into one model input batch.

        Args:
            paths: Image files, or folders searched with their subfolders (image models);
                table files (table models); .npy or .npz files (arrays models, and models
                exported without preprocessing).

        Returns:
            ``(x, names)``: the batch and one name per sample: the path as given for an
            image, ``file.csv:3`` for a table's third data row, ``x.npy[0]`` for an array's
            first sample.

        Raises:
            PredictError: a path is missing, unreadable, of the wrong kind, or holds samples
                that do not fit the model.
        """
        xs: list[np.ndarray] = []
        names: list[str] = []
        for x, n in self.iter_paths(paths):
            xs.append(x)
            names.extend(n)
        return np.concatenate(xs), names

    def iter_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        batch_size: int = CHUNK,
        *,
        skipped: list[str] | None = None,
    ) -> Iterator[tuple[np.ndarray, list[str]]]:
        """Like :meth:`encode_paths`, one batch of at most ``batch_size`` samples at a time.

        Every path is checked before anything is decoded, so a missing file fails fast.
        A table or array file is read whole (they hold encoded rows, not pixels).

        Args:
            skipped: When given, an image file that cannot be read or decoded is left out
                (as training leaves it out) and its one-line error appended here, instead
                of raising :class:`PredictError`.
        """
        items = self._expand([os.fspath(p) for p in paths])
        if self.kind == "image":
            for start in range(0, len(items), batch_size):
                part = items[start : start + batch_size]
                decoded: list[np.ndarray] = []
                names: list[str] = []
                for p in part:
                    try:
                        decoded.append(self._decode_image_file(p))
                    except PredictError as e:
                        if skipped is None:
                            raise
                        skipped.append(str(e))
                        continue
                    names.append(p)
                if decoded:
                    yield self._normalize(np.stack(decoded)), names
            return
        for p in items:
            x, names = self._encode_file(p)
            for start in range(0, len(x), batch_size):
                yield x[start : start + batch_size], names[start : start + batch_size]

    def _expand(self, paths: list[str]) -> list[str]:
        """The input files: folders of images expanded (sorted); every path checked."""
        if not paths:
            raise PredictError("no inputs given")
        out: list[str] = []
        for shown in paths:
            p = Path(shown)
            if not p.exists():
                raise PredictError(f"{shown}: no such file or folder")
            suffix = p.suffix.lower()
            if self.kind == "image":
                if p.is_dir():
                    found = _image_files(p)
                    if not found:
                        raise PredictError(
                            f"{shown}: holds no image files (.png, .jpg, .bmp, .gif, .tif, .webp)"
                        )
                    out.extend(os.path.join(shown, *c.parts) for c in found)
                    continue
                if suffix in TABLE_SUFFIXES or suffix in ARRAY_SUFFIXES:
                    raise PredictError(
                        f"{shown}: this model takes image files or folders of them, not {suffix} files"
                    )
            elif p.is_dir():
                wanted = (
                    ".csv or .tsv files of rows" if self.kind == "table" else ".npy or .npz files"
                )
                raise PredictError(f"{shown}: is a folder; this model takes {wanted}")
            elif self.kind == "table" and suffix not in TABLE_SUFFIXES:
                raise PredictError(
                    f"{shown}: this model takes table files (.csv, .tsv, .txt, .parquet), not '{suffix or p.name}'"
                )
            elif self.kind != "table" and suffix not in ARRAY_SUFFIXES:
                raise PredictError(
                    f"{shown}: this model takes .npy or .npz files, not '{suffix or p.name}'"
                )
            out.append(shown)
        return out

    def _decode_image_file(self, shown: str) -> np.ndarray:
        try:
            return self._decode_image(shown)
        except OSError as e:
            if e.errno is not None:  # the file itself, not Pillow's "cannot identify image file"
                raise PredictError(f"{shown}: cannot be read ({e.strerror or e})") from None
            raise PredictError(f"{shown}: {_image_failure(e)}") from None
        except Exception as e:  # Pillow raises many kinds for a broken file
            raise PredictError(f"{shown}: {_image_failure(e)}") from None

    def _decode_image(self, source: str | bytes) -> np.ndarray:
        pre = self.info.preprocessing
        size = (int(pre["size"][0]), int(pre["size"][1]))
        return decode_image(source, size, "grayscale" if pre.get("color") == "grayscale" else "rgb")

    def _normalize(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 ``(N, C, H, W)`` to the model's float32 input, as training does it."""
        x = pixels.astype(np.float32)
        x *= np.float32(1 / 255)
        x -= self._mean
        x *= self._inv_std
        return x

    def _encode_file(self, shown: str) -> tuple[np.ndarray, list[str]]:
        if self.kind == "table":
            try:
                x = encode_file(shown, self.info.preprocessing)
            except DataError as e:
                raise PredictError(
                    str(e) if Path(shown).name in str(e) else f"{shown}: {e}"
                ) from None
            return x, [f"{shown}:{i + 1}" for i in range(len(x))]
        raw = _load_array(shown)
        x = self._encode_arrays(raw, shown)
        return x, [f"{shown}[{i}]" for i in range(len(x))]

    # -- encoding instances (the server) -----------------------------------------------------

    def encode_instances(
        self, instances: Sequence[Any], *, pixel_budget: int | None = None
    ) -> np.ndarray:
        """Encode a request's instances (parsed JSON) into one model input batch.

        Image models take ``{"b64": "..."}`` (an image file's bytes, base64); table models a
        list of raw values in the order of the feature columns, or an object of
        ``{column: value}`` (every feature column present, ``null`` for a missing value;
        other keys are ignored); arrays models one sample as a nested list, stored like a
        row of the training file's ``x``; models without preprocessing one model input as
        a nested list.

        Args:
            pixel_budget: Image models: the most pixels the request's images may decode to,
                all together. Every image's header is read first (a JPEG counted at the
                reduced scale it will decode at, see :func:`~workbench.data.decode.open_image`),
                so an over-budget request is refused before any pixel is decoded.

        Raises:
            TooLargeError: the images exceed ``pixel_budget``.
            PredictError: there are no instances, or one is malformed; the message says which
                (``instance 3: ...``, counting from 0) and why.
        """
        if not isinstance(instances, Sequence) or isinstance(instances, (str, bytes)):
            raise PredictError("instances must be a list")
        if not instances:
            raise PredictError("instances is empty")
        if self.kind == "image":
            opened = [self._image_instance(i, v) for i, v in enumerate(instances)]
            if pixel_budget is not None:
                total = sum(im.width * im.height for im in opened)
                if total > pixel_budget:
                    big = max(range(len(opened)), key=lambda i: opened[i].width * opened[i].height)
                    w, h = opened[big].size
                    raise TooLargeError(
                        f"the images would decode to {total:,} pixels (instance {big} alone is {w}×{h}); "
                        f"the limit is {pixel_budget:,} pixels per request (send smaller images, or fewer per request)"
                    )
            return self._normalize(
                np.stack([self._load_instance(i, im) for i, im in enumerate(opened)])
            )
        if self.kind == "table":
            rows = [self._table_instance(i, v) for i, v in enumerate(instances)]
            try:
                return encode_rows(self.columns, rows, self.info.preprocessing)
            except DataError as e:
                raise PredictError(str(e)) from None
        parts = []
        for i, v in enumerate(instances):
            if isinstance(v, (Mapping, str, bytes)) or v is None:
                raise PredictError(
                    f"instance {i}: should be a number or a nested list of numbers, not {_json_type(v)}"
                )
            try:
                a = np.asarray(v)
            except (ValueError, TypeError):
                a = np.asarray(None)  # ragged: refused below
            if a.dtype == object:
                raise PredictError(f"instance {i}: is not a rectangular nested list of numbers")
            parts.append(self._encode_arrays(a[None], f"instance {i}", single=True))
        return np.concatenate(parts)

    def _image_instance(self, i: int, v: Any) -> Image.Image:
        """Instance ``i`` opened (its header read, a JPEG set to decode at a reduced scale)."""
        if not isinstance(v, Mapping) or not isinstance(v.get("b64"), str):
            raise PredictError(
                f'instance {i}: an image model takes {{"b64": "<base64 of an image file>"}}, not {_json_type(v)}'
            )
        try:
            data = base64.b64decode(v["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise PredictError(f"instance {i}: 'b64' is not valid base64") from None
        if not data:
            raise PredictError(f"instance {i}: 'b64' holds no bytes")
        pre = self.info.preprocessing
        try:
            return open_image(
                data, self._image_size(), "grayscale" if pre.get("color") == "grayscale" else "rgb"
            )
        except Exception as e:  # Pillow raises many kinds for a broken file
            raise PredictError(f"instance {i}: {_image_failure(e)}") from None

    def _load_instance(self, i: int, im: Image.Image) -> np.ndarray:
        pre = self.info.preprocessing
        try:
            return decode_image(
                im, self._image_size(), "grayscale" if pre.get("color") == "grayscale" else "rgb"
            )
        except Exception as e:  # Pillow raises many kinds for a broken file
            raise PredictError(f"instance {i}: {_image_failure(e)}") from None

    def _image_size(self) -> tuple[int, int]:
        """An image model's input ``(height, width)``."""
        size = self.info.preprocessing["size"]
        return int(size[0]), int(size[1])

    def _table_instance(self, i: int, v: Any) -> list[Any]:
        columns = self.columns
        if isinstance(v, Mapping):
            lower = {str(k).strip().lower(): k for k in v}
            row = []
            for c in columns:
                key = c if c in v else lower.get(c.strip().lower())
                if key is None:
                    raise PredictError(
                        f"instance {i}: has no value for the column '{c}' (send null for a missing value)"
                    )
                row.append(v[key])
        elif isinstance(v, list):
            if len(v) != len(columns):
                raise PredictError(
                    f"instance {i}: has {len(v)} values but the model takes {len(columns)} columns ("
                    + ", ".join(columns)
                    + ")"
                )
            row = list(v)
        else:
            raise PredictError(
                f"instance {i}: a table model takes a list of column values or an object of them, not {_json_type(v)}"
            )
        for c, cell in zip(columns, row, strict=True):
            if cell is not None and not isinstance(cell, (str, int, float)):
                raise PredictError(
                    f"instance {i}: the column '{c}' holds {_json_type(cell)}; send a number, a text or null"
                )
        return row

    # -- arrays --------------------------------------------------------------------------------

    def _raw_shape(self) -> list[int | str]:
        """How one raw sample is shaped (as stored in the training file's x), for messages."""
        pre, shape = self.info.preprocessing, self.sample_shape
        layout = pre.get("layout") if self.kind == "arrays" else None
        if layout == "images" and pre.get("channels_last") and len(shape) == 3:
            return [shape[1], shape[2], shape[0]]
        if layout in ("tokens", "sequences") and pre.get("seq_len") is not None:
            return ["any length", *shape[1:]]
        return shape

    def _encode_arrays(self, raw: np.ndarray, where: str, single: bool = False) -> np.ndarray:
        """Raw samples (N, ...) to model input; checks numbers, finiteness, ids and shape."""
        if raw.ndim == 0 or len(raw) == 0:
            raise PredictError(f"{where}: holds no samples")
        kind = raw.dtype.kind
        if kind not in "iuf":
            what = {"b": "booleans", "U": "text", "S": "bytes", "c": "complex numbers"}.get(
                kind, "values that are not numbers"
            )
            raise PredictError(f"{where}: holds {what}, not numbers")
        if kind == "f":
            bad = ~np.isfinite(raw.reshape(len(raw), -1)).all(axis=1)
            if bad.any():
                at = "" if single else f" (sample {int(np.argmax(bad))})"
                raise PredictError(f"{where}: holds NaN or infinity{at}")
        tokens = self.dtype.kind in "iu"
        if tokens:
            if kind == "f" and not np.array_equal(raw, np.round(raw)):
                raise PredictError(f"{where}: token ids must be whole numbers")
            vocab = self.info.preprocessing.get("vocab_size")
            low, high = (float(raw.min()), float(raw.max())) if raw.size else (0.0, 0.0)
            if low < 0 or (isinstance(vocab, int) and high >= vocab):
                limit = f"0 to {vocab - 1}" if isinstance(vocab, int) else "0 or more"
                raise PredictError(
                    f"{where}: token id {int(low if low < 0 else high)} is outside the vocabulary ({limit})"
                )
        pre = self.info.preprocessing
        try:
            if self.kind == "arrays":
                # The shape first, from one sample: normalizing a wrong shape fails obscurely.
                shape = list(convert_x(raw[:1], pre).shape[1:])
                if pre["layout"] in ("tokens", "sequences") and pre.get("seq_len") is not None:
                    shape[0] = int(pre["seq_len"])
            else:
                shape = list(raw.shape[1:])
            if not self._fits(shape):
                got, want = _shape_text(raw.shape[1:]), _shape_text(self._raw_shape())
                if single:
                    raise PredictError(
                        f"{where}: has shape {got}; this model takes samples shaped {want}"
                    )
                raise PredictError(
                    f"{where}: holds samples shaped {got}; this model takes samples shaped {want}"
                )
            x = (
                encode_x(raw, pre)
                if self.kind == "arrays"
                else np.ascontiguousarray(raw, dtype=self.dtype)
            )
        except (ValueError, TypeError, IndexError) as e:
            if isinstance(e, PredictError):
                raise
            raise PredictError(f"{where}: cannot be encoded ({_first_line(e)})") from None
        return x.astype(self.dtype, copy=False)

    def _fits(self, shape: Sequence[int]) -> bool:
        want = self.sample_shape
        return len(shape) == len(want) and all(
            not isinstance(w, int) or w == s for w, s in zip(want, shape, strict=True)
        )

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

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Classification outputs as probabilities (float64), by the metadata's activation:
        softmax over the classes, sigmoid per class, or the outputs as they are."""
        activation = self.info.activation
        if activation == "softmax":
            return softmax(outputs)
        if activation == "sigmoid":
            return sigmoid(outputs)
        return np.asarray(outputs, np.float64)

    def predictions(
        self, outputs: np.ndarray, names: Sequence[str | int], top_k: int = TOP_K
    ) -> list[dict[str, Any]]:
        """Readable, JSON-ready predictions for the outputs of :meth:`run`.

        Classification: ``{"input", "label", "probability", "top_k": [[label, p], ...]}``
        with ``top_k`` sorted by probability, ``min(K, top_k)`` long; sigmoid models (each
        class scored on its own) add ``"labels"``: every class with probability ≥ 0.5.
        Regression: ``{"input", "value"}``, ``value`` a float, or a list of floats when
        there are several targets. Non-finite numbers become None.

        Raises:
            PredictError: the outputs do not have the width the metadata says.
        """
        if top_k < 1:
            raise PredictError(f"top_k must be at least 1, not {top_k}")
        outputs = np.asarray(outputs)
        if outputs.ndim == 1:
            outputs = outputs.reshape(-1, 1)
        if len(outputs) != len(names):
            raise PredictError(f"{len(outputs)} outputs for {len(names)} inputs")
        out: list[dict[str, Any]] = []
        if self.classes is None:
            for name, row in zip(names, outputs, strict=True):
                values = [_number(v) for v in row]
                out.append({"input": name, "value": values[0] if len(values) == 1 else values})
            return out
        classes = self.classes
        if outputs.shape[1] != len(classes):
            raise PredictError(
                f"the model gives {outputs.shape[1]} outputs per sample for {len(classes)} classes"
            )
        probs = self.probabilities(outputs)
        k = min(top_k, len(classes))
        multi = self.info.activation == "sigmoid"
        for name, p in zip(names, probs, strict=True):
            order = np.argsort(-p, kind="stable")[:k]
            best = int(order[0])
            pred: dict[str, Any] = {
                "input": name,
                "label": classes[best],
                "probability": _number(p[best]),
                "top_k": [[classes[int(j)], _number(p[j])] for j in order],
            }
            if multi:
                pred["labels"] = [c for c, v in zip(classes, p, strict=True) if v >= 0.5]
            out.append(pred)
        return out

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


# --------------------------------------------------------------------------- helpers


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a text"
    if isinstance(v, Mapping):
        return "an object"
    if isinstance(v, list):
        return "a list"
    return type(v).__name__


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` and its subfolders, relative to it, sorted; hidden ones left out."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = Path(root).relative_to(folder)
        found.extend(
            rel / f
            for f in files
            if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS
        )
    return sorted(found, key=lambda r: r.parts)


def _image_failure(e: BaseException) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(e, UnidentifiedImageError):
        return "is not an image (or in a format Pillow cannot read)"
    return f"cannot be decoded as an image ({_first_line(e)})"


def _load_array(shown: str) -> np.ndarray:
    """The samples of a .npy file, or the ``x`` array of an .npz (its only array also does)."""
    name = shown
    npz = Path(shown).suffix.lower() == ".npz"
    try:
        with open(shown, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise PredictError(f"{name}: cannot be read ({e.strerror or e})") from None
    if not magic:
        raise PredictError(f"{name}: the file is empty")
    if npz and magic[:2] != b"PK":
        raise PredictError(f"{name}: is not an .npz file (a NumPy zip archive of arrays)")
    if not npz and magic != b"\x93NUMPY":
        raise PredictError(f"{name}: is not a .npy file (a NumPy array)")
    try:
        if npz:
            with np.load(shown, allow_pickle=False) as z:
                keys = list(z.files)
                key = "x" if "x" in keys else keys[0] if len(keys) == 1 else None
                if key is None:
                    raise PredictError(
                        f"{name}: has no array 'x' (it holds "
                        + ", ".join(f"'{k}'" for k in keys[:6])
                        + ")"
                    )
                arr = z[key]
        else:
            arr = np.load(shown, allow_pickle=False)
    except PredictError:
        raise
    except OSError as e:
        if e.errno is not None:
            raise PredictError(f"{name}: cannot be read ({e.strerror or e})") from None
        raise PredictError(f"{name}: is not a NumPy file ({_first_line(e)})") from None
    except (ValueError, EOFError, zipfile.BadZipFile) as e:
        if "allow_pickle" in str(e):
            raise PredictError(
                f"{name}: holds Python objects; object arrays are refused for safety"
            ) from None
        raise PredictError(f"{name}: is not a readable NumPy file ({_first_line(e)})") from None
    if not isinstance(arr, np.ndarray):
        raise PredictError(f"{name}: is not a NumPy array")
    return arr


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
