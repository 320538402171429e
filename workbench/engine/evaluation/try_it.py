"""Trying a run's model on new inputs: the Evaluate tab's "Try it", without Qt.

:func:`load_try_it` rebuilds a run's model with its best weights (the loading of
:func:`~workbench.engine.evaluation.run.evaluate_run`) and the metadata its ONNX export
would carry (:func:`~workbench.data.run_metadata.run_model_info`). The :class:`TryModel` it
returns predicts for image files, pasted images, typed or pasted table rows and small
table files through an :class:`~workbench.data.inference.InputCodec`: the preprocessing
code of ``workbench predict``, not a copy of it, so both give the same answers. An image
prediction comes with a saliency map (:func:`saliency_map`): Grad-CAM on the last
convolution the model ran, else the gradient of the top class with respect to the input;
:func:`overlay_saliency` blends it onto the image as a heat overlay.

Every problem with an input or the run is a :class:`TryItError` with a one-line message.
Importing this module does not import torch (the window reads its results and wording);
loading a run and predicting do.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from workbench.core.text import first_line
from workbench.data import TABLE_SUFFIXES
from workbench.data.base import DataError
from workbench.data.images import IMAGE_EXTENSIONS
from workbench.data.inference import (
    CHUNK,
    TOP_K,
    ImageInput,
    InputCodec,
    PredictError,
)
from workbench.data.run_metadata import run_model_info
from workbench.data.tables import read_table
from workbench.engine.evaluation.result import EvaluationError
from workbench.standalone.train_decode import flatten_image
from workbench.standalone.train_text import MISSING

if TYPE_CHECKING:
    import torch
    from torch import nn

    from workbench.engine.evaluation.run import LoadedRun

#: The most images one go takes (each gets a saliency map: one backward pass).
MAX_IMAGES = 64
#: The most rows one go takes (a "small" table file).
MAX_ROWS = 1000
#: The longest side of the images kept for display.
DISPLAY_SIDE = 1024

Cancelled = Callable[[], bool]


class TryItError(ValueError):
    """An input or a run that cannot be tried; the message is one line."""


@dataclass
class TryResult:
    """The model's answer for one input."""

    #: What the input is: the file's name, ``row``, ``fruit.csv:3``, ``pasted image``.
    input: str
    task: str
    #: Classification: the top classes with their probabilities, the most likely first.
    top: list[tuple[str, float]] = field(default_factory=list)
    #: Regression: each target's name and predicted value.
    values: list[tuple[str, float]] = field(default_factory=list)
    #: Models that score each class on its own (sigmoid): the classes at 0.5 or more.
    labels: list[str] | None = None
    #: Image models: the input image as given (first frame, flattened to RGB, at most
    #: :data:`DISPLAY_SIDE` pixels on its longer side).
    image: Image.Image | None = None
    #: Image models: the saliency map, (height, width) of the model's input, 0..1.
    saliency: np.ndarray | None = None
    #: How the map was made, e.g. ``Grad-CAM on conv2`` or ``input gradient``.
    saliency_method: str = ""
    #: A typed or pasted table row: each feature column with the value it was read as.
    cells: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str | None:
        """The most likely class (classification), else None."""
        return self.top[0][0] if self.top else None

    @property
    def probability(self) -> float | None:
        """The most likely class's probability (classification), else None."""
        return self.top[0][1] if self.top else None

    def headline(self) -> str:
        """One short line: ``cat 97.31 %`` or ``price 123.4``."""
        if self.top:
            return f"{self.top[0][0]} {format_probability(self.top[0][1])}"
        return ", ".join(f"{name} {format_value(v)}" for name, v in self.values)


def format_probability(p: float) -> str:
    """A probability as a percentage with two decimals (four digits of the probability)."""
    return "nan" if not math.isfinite(p) else f"{100 * p:.2f} %"


def format_value(v: float) -> str:
    """A regression value as ``workbench predict`` prints it (six significant digits)."""
    return "nan" if not math.isfinite(v) else f"{v:.6g}"


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


# --- saliency ----------------------------------------------------------------------------------


def saliency_map(
    model: nn.Module, x: torch.Tensor, target: int | None = None, *, relative: bool = True
) -> tuple[np.ndarray, str]:
    """Which pixels drove one image's prediction.

    Grad-CAM on the last convolution the model ran: its feature map (after the batch norm
    and activation that follow it) weighted by the mean gradient of the target's score over
    each channel, summed, negative values cut, resized to the input (bilinear). A model without a convolution, or whose
    Grad-CAM is zero everywhere (no positive evidence at that layer), gets the gradient of
    the target's output with respect to the input instead: absolute, the largest over the
    channels. Either map is divided by its maximum (an all-zero map stays zero).

    Args:
        model: The model, in eval mode.
        x: One input, ``(1, C, H, W)`` float.
        target: The output to explain; None for the largest (the top class).
        relative: Explain the target's output minus the mean of all outputs (softmax
            classifiers); False: the output itself (sigmoid classes, regression values).

    Returns:
        ``(map, method)``: a float32 ``(H, W)`` array in 0..1 and how it was made.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"saliency_map takes one image shaped (1, C, H, W), not {tuple(x.shape)}")
    ran: list[tuple[str, nn.Module, torch.Tensor]] = []

    def keep(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                ran.append((name, module, out))

        return hook

    leaves = [(n, m) for n, m in model.named_modules() if n and not next(m.children(), None)]
    handles = [m.register_forward_hook(keep(name)) for name, m in leaves]
    x = x.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    out = out.reshape(1, -1)
    k = int(out[0].argmax()) if target is None else int(target)
    # Softmax reads only the differences between the logits, so a softmax model's class is
    # explained by its logit above the mean of all (a two-class model's evidence is often
    # all against the other class); each output of other models stands alone.
    score = out[0, k] - out[0].mean() if relative and out.shape[1] > 1 else out[0, k]
    h, w = int(x.shape[2]), int(x.shape[3])
    # The last convolution's feature map after what follows it elementwise (its batch
    # norm, activation, a residual Add): the last output of that shape before pooling.
    last = max((i for i, (_, m, _) in enumerate(ran) if isinstance(m, nn.Conv2d)), default=None)
    if last is not None:
        name, _, act = ran[last]
        for _, _, later in ran[last + 1 :]:
            if later.shape == act.shape and later.requires_grad:
                act = later
        (grad,) = torch.autograd.grad(score, act, retain_graph=True)
        weights = grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * act).sum(dim=1, keepdim=True)).detach()
        cam = F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
        top = float(cam.max())
        if top > 0 and math.isfinite(top):
            shown = name.removeprefix("layers.")
            return (cam / top).float().numpy(), f"Grad-CAM on {shown}"
    (grad,) = torch.autograd.grad(score, x)
    g = grad[0].abs().amax(dim=0)
    top = float(g.max())
    if top > 0 and math.isfinite(top):
        g = g / top
    else:
        g = torch.zeros_like(g)
    return g.detach().float().numpy(), "input gradient"


#: The heat overlay's colours from low to high saliency: blue, cyan, yellow, red.
_HEAT_AT = np.array([0.0, 0.35, 0.65, 1.0])
_HEAT_RGB = np.array([[0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0]], np.float32)


def heat_colours(values: np.ndarray) -> np.ndarray:
    """Values in 0..1 as heat colours, float32 ``(..., 3)`` in 0..255."""
    v = np.clip(np.nan_to_num(np.asarray(values, np.float32)), 0.0, 1.0)
    return np.stack([np.interp(v, _HEAT_AT, _HEAT_RGB[:, c]) for c in range(3)], axis=-1).astype(
        np.float32
    )


def overlay_saliency(
    image: Image.Image, saliency: np.ndarray, *, opacity: float = 0.6, min_side: int = 0
) -> Image.Image:
    """The image with a saliency map blended over it as a heat overlay.

    The map is resized to the image (bilinear) and drawn over the image in grey; each
    pixel takes its heat colour with an opacity of ``opacity`` times its value, so where
    the map is zero the image shows (in grey) as it is.

    Args:
        image: The input image (any mode; shown as RGB).
        saliency: A 2-D map in 0..1 (any size: the model's input size, usually).
        opacity: The overlay's opacity where the map is 1.
        min_side: Enlarge a smaller image (by a whole factor, nearest neighbour, so its
            pixels stay sharp) until its shorter side is at least this, before blending.

    Returns:
        An RGB image the size of ``image`` (or of the enlarged image).
    """
    base = image.convert("RGB")
    if min_side > 0 and min(base.size) < min_side:
        factor = math.ceil(min_side / max(1, min(base.size)))
        base = base.resize((base.width * factor, base.height * factor), Image.Resampling.NEAREST)
    sal = np.asarray(saliency, np.float32)
    if sal.ndim != 2:
        raise ValueError(f"a saliency map has two axes, not {sal.ndim}")
    resized = Image.fromarray(np.ascontiguousarray(sal), mode="F").resize(
        base.size, Image.Resampling.BILINEAR
    )
    s = np.clip(np.nan_to_num(np.asarray(resized, np.float32)), 0.0, 1.0)
    alpha = (float(opacity) * s)[..., None]
    # the image in grey under the heat, so the heat reads the same on any image's colours
    grey = np.asarray(base.convert("L"), np.float32)[..., None]
    out = grey * (1.0 - alpha) + heat_colours(s) * alpha
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


def display_image(source: ImageInput) -> Image.Image | None:
    """An image input for display: first frame, transparency on white, RGB, at most
    :data:`DISPLAY_SIDE` pixels on its longer side; None when it cannot be read."""
    try:
        if isinstance(source, Image.Image):
            im = source
        elif isinstance(source, bytes):
            im = Image.open(io.BytesIO(source))
        else:
            im = Image.open(os.fspath(source))
        im.seek(0)
        im.load()
        shown = flatten_image(im).convert("RGB")
    except Exception:  # Pillow raises many kinds for a broken file; the codec says why
        return None
    shown.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.LANCZOS)
    return shown


# --- table rows --------------------------------------------------------------------------------


def split_row(text: str, columns: Sequence[str]) -> list[str]:
    """One typed or pasted row's cells, in the columns' order.

    Cells may be separated by tabs (a row copied from a spreadsheet), semicolons, commas
    or bars; the first separator that gives as many cells as there are columns wins, and
    quotes work as in a CSV file.

    Raises:
        TryItError: no separator gives that many cells.
    """
    return _split(text, columns)[0]


#: The separators a typed row may use, in the order they are tried.
_SEPARATORS = ("\t", ";", ",", "|")


def _split(text: str, columns: Sequence[str]) -> tuple[list[str], str]:
    """:func:`split_row`, and the separator it used ("" for a single column)."""
    line = text.strip("\r\n")
    n = len(columns)
    if not line.strip():
        raise TryItError("the row is empty: type one value per column (" + ", ".join(columns) + ")")
    if n == 1:
        return [line.strip()], ""
    for delim in _SEPARATORS:
        if delim in line:
            cells = next(csv.reader([line], delimiter=delim, skipinitialspace=True))
            if len(cells) == n:
                return [c.strip() for c in cells], delim
    delim = next((d for d in _SEPARATORS if d in line), ",")
    got = len(next(csv.reader([line], delimiter=delim)))
    raise TryItError(
        f"the row has {got} value{'s' if got != 1 else ''} but the model takes {n} columns: "
        + ", ".join(columns)
    )


def _decimal_comma(cell: str) -> str:
    """``1,5`` as ``1.5``: how a table file separated by semicolons or tabs is read."""
    s = cell.strip()
    return s.replace(",", ".") if s.count(",") == 1 and "." not in s else cell


def _is_missing(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip().lower() in MISSING)


def _not_a_number(cell: Any) -> bool:
    """True for a cell that is neither missing nor a finite number."""
    if _is_missing(cell):
        return False
    if isinstance(cell, bool):
        return True
    try:
        return not math.isfinite(float(cell.strip() if isinstance(cell, str) else cell))
    except (TypeError, ValueError):
        return True


# --- the model ---------------------------------------------------------------------------------


class TryModel:
    """A run's model, ready to predict for new inputs on the CPU.

    Use it from one thread at a time (the window runs each go on a worker thread, one
    after the other).
    """

    def __init__(self, loaded: LoadedRun, codec: InputCodec, top_k: int = TOP_K) -> None:
        self.loaded = loaded
        self.codec = codec
        self.top_k = max(1, int(top_k))
        self.model = loaded.model.to("cpu").eval()
        for p in self.model.parameters():
            p.requires_grad_(False)  # saliency needs gradients for the input only
        scale = loaded.config.get("preprocessing", {}).get("target_scale")
        self._scale: tuple[np.ndarray, np.ndarray] | None = None
        if codec.task == "regression" and isinstance(scale, dict):
            self._scale = (
                np.asarray(scale["mean"], np.float64),
                np.asarray(scale["std"], np.float64),
            )

    # -- what it is --------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.loaded.run.id

    @property
    def notes(self) -> list[str]:
        """What the user should know about the weights (e.g. the last checkpoint was used)."""
        return list(self.loaded.notes)

    @property
    def kind(self) -> str:
        """What the model reads: ``image``, ``table``, ``arrays`` or ``""`` (raw model inputs)."""
        return self.codec.kind

    @property
    def task(self) -> str:
        """``classification`` or ``regression``."""
        return self.codec.task

    @property
    def columns(self) -> list[str]:
        """A table model's feature columns, in the order a typed row gives them."""
        return list(self.codec.columns)

    def describe(self) -> str:
        """One line on what the model predicts from what (as ``workbench serve`` says it)."""
        return self.codec.describe()

    def input_size(self) -> tuple[int, int]:
        """An image model's input ``(height, width)``; (0, 0) for other models."""
        size = self.codec.info.preprocessing.get("size") if self.kind == "image" else None
        return (int(size[0]), int(size[1])) if size else (0, 0)

    def hint(self) -> str:
        """What the user can give this model, in one line."""
        if self.kind == "image":
            h, w = self.input_size()
            return (
                "Drop an image here, paste one (Ctrl+V) or open image files: "
                f"each is resized to {w}×{h} as in training"
            )
        if self.kind == "table":
            return "Type a row (" + ", ".join(self.columns) + ") or open a small CSV file"
        return "Open a .npy or .npz file of samples stored like the training file's x"

    def example_row(self) -> str:
        """A table model's example row as text: each number at its training mean, each
        category its most frequent ("" for other models)."""
        if self.kind != "table":
            return ""
        row = json.loads(self.codec.example_instance())
        cells = ["" if row.get(c) is None else str(row[c]) for c in self.columns]
        return ", ".join(
            '"' + c.replace('"', '""') + '"' if "," in c or '"' in c else c for c in cells
        )

    def file_suffixes(self) -> tuple[str, ...]:
        """The file name endings this model's files have (for an Open dialog)."""
        if self.kind == "image":
            return tuple(sorted(IMAGE_EXTENSIONS))
        if self.kind == "table":
            return TABLE_SUFFIXES
        return (".npy", ".npz")

    # -- predicting --------------------------------------------------------------------------

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """The model's outputs for an encoded batch, as the exported file gives them:
        ``(N, K)`` float32, regression values in the targets' own units."""
        import torch

        parts = []
        with torch.inference_mode():
            for start in range(0, len(x), CHUNK):
                chunk = torch.from_numpy(np.ascontiguousarray(x[start : start + CHUNK]))
                out = self.model(chunk)
                parts.append(out.float().reshape(len(chunk), -1).numpy())
        values = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        if self._scale is not None:
            mean, std = self._scale
            values = (values * std + mean).astype(np.float32)
        return values

    def _results(self, x: np.ndarray, names: Sequence[str]) -> list[TryResult]:
        try:
            predictions = self.codec.predictions(self.outputs(x), list(names), self.top_k)
        except PredictError as e:
            raise TryItError(str(e)) from None
        except RuntimeError as e:
            raise TryItError(f"the model failed on this input: {first_line(e)}") from None
        results = []
        for p in predictions:
            if "top_k" in p:
                results.append(
                    TryResult(
                        input=str(p["input"]),
                        task=self.task,
                        top=[(str(label), _float(v)) for label, v in p["top_k"]],
                        labels=p.get("labels"),
                    )
                )
            else:
                value = p["value"] if isinstance(p["value"], list) else [p["value"]]
                names_ = self.codec.target_names
                results.append(
                    TryResult(
                        input=str(p["input"]),
                        task=self.task,
                        values=[(n, _float(v)) for n, v in zip(names_, value, strict=False)],
                    )
                )
        return results

    def predict_images(
        self,
        images: Sequence[ImageInput],
        names: Sequence[str] | None = None,
        *,
        saliency: bool = True,
        skipped: list[str] | None = None,
        cancelled: Cancelled | None = None,
    ) -> list[TryResult]:
        """Predictions for images, each with its saliency map.

        Args:
            images: Image files' paths, image files' bytes (e.g. from the clipboard), or
                Pillow images.
            names: What each input is called (default: the file's name, ``image 1``…).
            saliency: Also compute each image's saliency map.
            skipped: When given, an image that cannot be read is left out and its one-line
                message appended here (unless every image fails).
            cancelled: Polled between images; once true, the images done so far are returned.

        Raises:
            TryItError: not an image model, too many images, or an image cannot be read
                (the message names it).
        """
        if self.kind != "image":
            raise TryItError(f"this model takes {self._takes()}, not images")
        if not images:
            raise TryItError("no images given")
        if len(images) > MAX_IMAGES:
            raise TryItError(
                f"Try it takes up to {MAX_IMAGES} images at a time, not {len(images)}: "
                "use 'workbench predict' for more"
            )
        if names is None:
            names = [
                Path(os.fspath(im)).name if isinstance(im, (str, os.PathLike)) else f"image {i + 1}"
                for i, im in enumerate(images)
            ]
        encoded: list[np.ndarray] = []
        kept: list[tuple[ImageInput, str]] = []
        errors: list[str] = []
        for im, name in zip(images, names, strict=True):
            try:
                encoded.append(self.codec.encode_images([im], [name]))
            except PredictError as e:
                if skipped is None:
                    raise TryItError(str(e)) from None
                errors.append(str(e))
                continue
            kept.append((im, name))
        if not kept:
            raise TryItError(
                errors[0] if len(errors) == 1 else f"none of the images could be read ({errors[0]})"
            )
        if skipped is not None:
            skipped.extend(errors)
        import torch

        x = np.concatenate(encoded)
        results = self._results(x, [n for _, n in kept])
        for i, (result, (im, _)) in enumerate(zip(results, kept, strict=True)):
            if cancelled is not None and cancelled():
                return results[:i]
            result.image = display_image(im)
            if saliency:
                target = None if self.task == "classification" else 0
                if result.top and self.codec.classes is not None:
                    target = self.codec.classes.index(result.top[0][0])
                try:
                    result.saliency, result.saliency_method = saliency_map(
                        self.model,
                        torch.from_numpy(x[i : i + 1]),
                        target,
                        relative=self.codec.info.activation == "softmax",
                    )
                except RuntimeError as e:
                    raise TryItError(f"the saliency map failed: {first_line(e)}") from None
        return results

    def predict_row(
        self, row: str | Sequence[Any] | Mapping[str, Any], name: str = "row"
    ) -> TryResult:
        """The prediction for one table row.

        Args:
            row: The row as text (cells in the order of :attr:`columns`, separated by tabs,
                commas, semicolons or bars), a list of cells in that order, or a mapping
                ``{column: value}`` (missing columns are refused; None: a missing value).
            name: What the result and messages call it.

        Raises:
            TryItError: not a table model, the wrong number of values, a missing column, or
                a non-number in a numeric column.
        """
        return self.predict_rows([row], [name])[0]

    def predict_rows(
        self, rows: Sequence[str | Sequence[Any] | Mapping[str, Any]], names: Sequence[str]
    ) -> list[TryResult]:
        """Predictions for table rows (each as :meth:`predict_row` takes it)."""
        if self.kind != "table":
            raise TryItError(f"this model takes {self._takes()}, not table rows")
        if len(rows) > MAX_ROWS:
            raise TryItError(
                f"Try it takes up to {MAX_ROWS} rows at a time, not {len(rows)}: "
                "use 'workbench predict' for more"
            )
        cells: list[list[Any]] = []
        numeric = [f.get("type") == "numeric" for f in self._features()]
        for row, name in zip(rows, names, strict=True):
            values: Any = row
            if isinstance(row, str):
                values, delim = _split(row, self.columns)
                if delim in ("\t", ";"):  # as a file separated so is read: 1,5 is 1.5
                    values = [
                        _decimal_comma(v) if num else v
                        for v, num in zip(values, numeric, strict=False)
                    ]
            elif not isinstance(row, Mapping):
                values = list(row)
            try:
                ordered = self.codec.table_row(name, values)
            except PredictError as e:
                raise TryItError(str(e).replace(" (send null for a missing value)", "")) from None
            self._check_numbers(ordered, name)
            cells.append(ordered)
        try:
            x = self.codec.encode_table_rows(cells, list(names))
        except PredictError as e:
            raise TryItError(str(e)) from None
        results = self._results(x, names)
        for result, row_cells in zip(results, cells, strict=True):
            result.cells = list(zip(self.columns, row_cells, strict=True))
        return results

    def predict_text(self, text: str) -> list[TryResult]:
        """Predictions for pasted text: one row per line; a first line that names the
        columns (a header copied with the rows) maps the cells by name, in any order."""
        lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
        if not lines:
            raise TryItError("the text holds no row")
        header = self._header(lines[0])
        if header is None:
            if len(lines) == 1:
                return [self.predict_row(lines[0])]
            return self.predict_rows(lines, [f"row {i + 1}" for i in range(len(lines))])
        rows: list[Mapping[str, Any]] = []
        for ln in lines[1:]:
            cells = split_row(ln, header)
            rows.append(dict(zip(header, cells, strict=True)))
        if not rows:
            raise TryItError("the text holds the column names but no row under them")
        return self.predict_rows(rows, [f"row {i + 1}" for i in range(len(rows))])

    def _header(self, line: str) -> list[str] | None:
        """The names in ``line`` when it names every feature column (a pasted header), else None."""
        wanted = {c.strip().lower() for c in self.columns}
        for delim in _SEPARATORS:
            if delim in line or len(self.columns) == 1:
                names = [c.strip() for c in next(csv.reader([line], delimiter=delim))]
                if wanted <= {n.lower() for n in names}:
                    return names
        return None

    def _features(self) -> list[dict[str, Any]]:
        """A table model's feature columns as its preprocessing describes them."""
        return list(self.codec.info.preprocessing.get("features", []))

    def _check_numbers(self, cells: Sequence[Any], name: str) -> None:
        for f, cell in zip(self._features(), cells, strict=False):
            if f.get("type") == "numeric" and _not_a_number(cell):
                raise TryItError(
                    f"{name}: the column '{f['name']}' takes a number, not '{str(cell).strip()}'"
                )

    def predict_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        saliency: bool = True,
        skipped: list[str] | None = None,
        cancelled: Cancelled | None = None,
    ) -> list[TryResult]:
        """Predictions for files: images (or folders of them) for an image model, a small
        table file (a CSV's rows) for a table model, .npy/.npz samples for an arrays model.

        Args:
            skipped: Image models: see :meth:`predict_images`.

        Raises:
            TryItError: a file is missing, of the wrong kind, unreadable, or too large.
        """
        try:
            items = self.codec.expand_paths([os.fspath(p) for p in paths])
        except PredictError as e:
            raise TryItError(str(e)) from None
        if self.kind == "image":
            return self.predict_images(
                items, saliency=saliency, skipped=skipped, cancelled=cancelled
            )
        results: list[TryResult] = []
        for item in items:
            if self.kind == "table":
                self._check_table_file(item)
            try:
                x, names = self.codec.encode_paths([item])
            except PredictError as e:
                raise TryItError(str(e)) from None
            if len(x) + len(results) > MAX_ROWS:
                raise TryItError(
                    f"Try it takes up to {MAX_ROWS} rows at a time: use 'workbench predict' for more"
                )
            named = [f"{Path(item).name}:{n.rsplit(':', 1)[-1]}" for n in names]
            if self.kind != "table":
                named = [f"{Path(item).name}[{n.rsplit('[', 1)[-1]}" for n in names]
            results.extend(self._results(x, named))
        return results

    def _check_table_file(self, path: str) -> None:
        """Refuse a table file that is too large or has a non-number in a numeric column."""
        name = Path(path).name
        try:
            table = read_table(path)
        except DataError as e:
            raise TryItError(str(e) if name in str(e) else f"{name}: {e}") from None
        if table.num_rows > MAX_ROWS:
            raise TryItError(
                f"{name} has {table.num_rows:,} rows; Try it takes up to {MAX_ROWS:,}: "
                "use 'workbench predict' for more"
            )
        columns = {c.name.lower(): c for c in table.columns}
        for f in self._features():
            col = columns.get(str(f["name"]).lower())
            if col is None or f.get("type") != "numeric":
                continue
            bad = np.flatnonzero(np.isnan(col.floats) & ~col.missing)
            if len(bad):
                codes, levels = col.codes()
                cell = levels[codes[bad[0]]] if codes[bad[0]] >= 0 else "?"
                raise TryItError(
                    f"{name}:{int(bad[0]) + 1}: the column '{f['name']}' takes a number, not '{cell}'"
                )

    def _takes(self) -> str:
        return {"image": "images", "table": "table rows", "arrays": ".npy or .npz samples"}.get(
            self.kind, ".npy or .npz model inputs"
        )


def load_try_it(project_path: str | os.PathLike[str], run_id: str | None = None) -> TryModel:
    """A run's model, loaded to try it (imports torch; run it off the GUI thread).

    Args:
        project_path: The ``.wbproj`` file; its runs are beside it.
        run_id: The run; None for the newest run with a checkpoint.

    Raises:
        TryItError: one line: no such run, no checkpoint, a damaged one, a config.json
            that does not say what the model reads.
    """
    from workbench.core.graph import Graph, GraphError
    from workbench.engine.evaluation.run import load_run_model

    try:
        loaded = load_run_model(project_path, run_id)
    except EvaluationError as e:
        raise TryItError(str(e)) from None
    run = loaded.run
    try:
        info = run_model_info(Graph.from_dict(loaded.config["graph"]), loaded.config)
        codec = InputCodec(info, f"run {run.id}")
    except PredictError as e:
        raise TryItError(str(e)) from None
    except (KeyError, TypeError, ValueError, IndexError, GraphError) as e:
        raise TryItError(
            f"run {run.id} cannot be tried: its config.json does not say what the model reads ({first_line(e)})"
        ) from None
    return TryModel(loaded, codec)


__all__ = [
    "MAX_IMAGES",
    "MAX_ROWS",
    "TryItError",
    "TryModel",
    "TryResult",
    "display_image",
    "format_probability",
    "format_value",
    "heat_colours",
    "load_try_it",
    "overlay_saliency",
    "saliency_map",
    "split_row",
]
