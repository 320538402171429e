"""Inference preprocessing without torch or onnxruntime: raw inputs in, predictions out.

The one copy of what a trained model's inputs and outputs go through at inference: an
:class:`InputCodec` reads a :class:`ModelInfo` (what an exported ``.onnx`` file's metadata
says, :mod:`workbench.deploy.metadata`, or the same built from a run's config.json by
:func:`workbench.data.run_metadata.run_model_info`), repeats the training data's preprocessing on new inputs and turns
the model's outputs into JSON-ready predictions. ``workbench predict`` and ``workbench
serve`` (:class:`workbench.deploy.predict.Predictor`, onnxruntime) and the Evaluate tab's
Try it (:mod:`workbench.engine.evaluation.try_it`, torch) run their models on what it
encodes.

What a codec takes, by the preprocessing kind the model was trained with:

=========  ===============================================  ==========================================
kind       files (:meth:`InputCodec.encode_paths`)          instances (:meth:`InputCodec.encode_instances`)
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from workbench.data import ARRAY_SUFFIXES, TABLE_SUFFIXES
from workbench.data.arrays import convert_x, encode_x
from workbench.data.base import DataError
from workbench.data.decode import decode_image, open_image
from workbench.data.images import IMAGE_EXTENSIONS
from workbench.data.tables import encode_file, encode_rows

#: Samples per model call, so memory stays bounded whatever the number of inputs.
CHUNK = 256
#: How many classes a prediction lists by default.
TOP_K = 5
_DTYPES = ("float32", "float64", "float16", "int64", "int32")

#: An image input: a file's path, the bytes of an image file, or a Pillow image.
ImageInput = str | os.PathLike[str] | bytes | Image.Image


@dataclass
class ModelInfo:
    """What a model takes and gives: an exported file's metadata, parsed
    (:mod:`workbench.deploy.metadata`), or a run's
    (:func:`workbench.data.run_metadata.run_model_info`)."""

    task: str
    input_name: str
    input_shape: list[int | str]
    input_dtype: str
    preprocessing: dict[str, Any]
    classes: list[str] | None = None
    output: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The preprocessing kind: ``"image"``, ``"table"``, ``"arrays"`` or ``""``."""
        return str(self.preprocessing.get("kind", ""))

    @property
    def activation(self) -> str:
        """How outputs become probabilities: ``"softmax"``, ``"sigmoid"`` or ``"none"``."""
        return str(
            self.output.get("activation", "softmax" if self.task == "classification" else "none")
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for ``GET /metadata``)."""
        return {
            "task": self.task,
            "classes": self.classes,
            "input": {
                "name": self.input_name,
                "shape": self.input_shape,
                "dtype": self.input_dtype,
            },
            "output": self.output,
            "preprocessing": self.preprocessing,
            "metrics": self.metrics,
            **{
                k: v
                for k, v in self.extra.items()
                if k in ("workbench_version", "project", "run", "opset", "exporter")
            },
        }


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


# --------------------------------------------------------------------------- the codec


class InputCodec:
    """What a model takes and gives, read from its :class:`ModelInfo`: encodes raw inputs
    into model input batches and reads the model's outputs as predictions.

    Keeps no mutable state, so it may be shared between threads.

    Args:
        info: The model's metadata.
        where: What the messages name for a malformed ``info`` (the file, the run).

    Raises:
        PredictError: the metadata's input dtype, preprocessing kind or preprocessing is
            not usable, or the preprocessing does not give the inputs the model takes.
    """

    def __init__(self, info: ModelInfo, where: str = "the model") -> None:
        self.info = info
        self._setup(where)

    def _setup(self, shown: str) -> None:
        """Check the metadata's input and preprocessing; fill in what encoding needs."""
        info = self.info
        if info.input_dtype not in _DTYPES:
            raise PredictError(
                f"{shown}: the metadata's input dtype '{info.input_dtype}' is not supported"
            )
        self.dtype = np.dtype(info.input_dtype)
        self.input_shape: list[int | str] = list(info.input_shape)
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
        items = self.expand_paths([os.fspath(p) for p in paths])
        if self.kind == "image":
            for start in range(0, len(items), batch_size):
                part = items[start : start + batch_size]
                decoded: list[np.ndarray] = []
                names: list[str] = []
                for p in part:
                    try:
                        decoded.append(self._decode_image_file(p, p))
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

    def expand_paths(self, paths: list[str]) -> list[str]:
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

    def encode_images(self, images: Sequence[ImageInput], names: Sequence[str]) -> np.ndarray:
        """Images as one model input batch, decoded and normalized as :meth:`encode_paths`
        does it for image files.

        Args:
            images: Image files' paths, image files' bytes, or Pillow images.
            names: What a message calls each image.

        Raises:
            PredictError: an image cannot be read or decoded; the message names it.
        """
        if self.kind != "image":
            raise PredictError("this model does not take images")
        if not images:
            raise PredictError("no inputs given")
        pixels = [self._decode_image_file(im, n) for im, n in zip(images, names, strict=True)]
        return self._normalize(np.stack(pixels))

    def _decode_image_file(self, source: ImageInput, shown: str) -> np.ndarray:
        try:
            return self._decode_image(source)
        except OSError as e:
            if e.errno is not None:  # the file itself, not Pillow's "cannot identify image file"
                raise PredictError(f"{shown}: cannot be read ({e.strerror or e})") from None
            raise PredictError(f"{shown}: {_image_failure(e)}") from None
        except Exception as e:  # Pillow raises many kinds for a broken file
            raise PredictError(f"{shown}: {_image_failure(e)}") from None

    def _decode_image(self, source: ImageInput) -> np.ndarray:
        return decode_image(source, self._image_size(), self._color())

    def _color(self) -> Literal["grayscale", "rgb"]:
        """An image model's colour mode."""
        return "grayscale" if self.info.preprocessing.get("color") == "grayscale" else "rgb"

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
            return self.encode_table_rows(
                instances, [f"instance {i}" for i in range(len(instances))]
            )
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
        try:
            return open_image(data, self._image_size(), self._color())
        except Exception as e:  # Pillow raises many kinds for a broken file
            raise PredictError(f"instance {i}: {_image_failure(e)}") from None

    def _load_instance(self, i: int, im: Image.Image) -> np.ndarray:
        try:
            return decode_image(im, self._image_size(), self._color())
        except Exception as e:  # Pillow raises many kinds for a broken file
            raise PredictError(f"instance {i}: {_image_failure(e)}") from None

    def _image_size(self) -> tuple[int, int]:
        """An image model's input ``(height, width)``."""
        size = self.info.preprocessing["size"]
        return int(size[0]), int(size[1])

    def encode_table_rows(self, rows: Sequence[Any], names: Sequence[str]) -> np.ndarray:
        """Table rows as one model input batch, encoded as the rows of a table file are.

        Args:
            rows: Each a list of the feature columns' raw values in the order of
                :attr:`columns`, or a mapping ``{column: value}`` (None: a missing value).
            names: What a message calls each row.

        Raises:
            PredictError: a row has the wrong number of values, lacks a column, or holds a
                value that is neither a number nor a text.
        """
        if self.kind != "table":
            raise PredictError("this model does not take table rows")
        checked = [self.table_row(n, v) for n, v in zip(names, rows, strict=True)]
        try:
            return encode_rows(self.columns, checked, self.info.preprocessing)
        except DataError as e:
            raise PredictError(str(e)) from None

    def table_row(self, where: str, v: Any) -> list[Any]:
        """A table row's cells in the order of :attr:`columns`, checked.

        Args:
            where: What a message calls the row (``instance 3``).
            v: A list of the feature columns' values in order, or a mapping
                ``{column: value}`` (column names matched regardless of case).

        Raises:
            PredictError: the wrong number of values, a missing column, or a value that is
                neither a number, a text nor None.
        """
        columns = self.columns
        if isinstance(v, Mapping):
            lower = {str(k).strip().lower(): k for k in v}
            row = []
            for c in columns:
                key = c if c in v else lower.get(c.strip().lower())
                if key is None:
                    raise PredictError(
                        f"{where}: has no value for the column '{c}' (send null for a missing value)"
                    )
                row.append(v[key])
        elif isinstance(v, list):
            if len(v) != len(columns):
                raise PredictError(
                    f"{where}: has {len(v)} values but the model takes {len(columns)} columns ("
                    + ", ".join(columns)
                    + ")"
                )
            row = list(v)
        else:
            raise PredictError(
                f"{where}: a table model takes a list of column values or an object of them, not {_json_type(v)}"
            )
        for c, cell in zip(columns, row, strict=True):
            if cell is not None and not isinstance(cell, (str, int, float)):
                raise PredictError(
                    f"{where}: the column '{c}' holds {_json_type(cell)}; send a number, a text or null"
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


__all__ = [
    "CHUNK",
    "TOP_K",
    "ImageInput",
    "InputCodec",
    "ModelInfo",
    "PredictError",
    "TooLargeError",
    "sigmoid",
    "softmax",
]
