"""Arrays: NumPy ``.npz`` archives and ``.npy`` pairs as datasets.

An ``.npz`` holds ``x`` and ``y`` (also accepted: inputs/features/data and
labels/targets), or else its first two arrays are taken as x and y; Keras-style
``x_train``/``y_train`` (+ ``x_val``/``x_test``…) archives give their own splits. An
optional ``classes`` array names the classes. A ``.npy`` pair is ``foo_x.npy`` +
``foo_y.npy`` (or ``x.npy`` + ``y.npy``) in one folder; either file may be given.
Files are always loaded with ``allow_pickle=False``.

How x is read (its *layout*):

==========================  ============  =====================================
x                           layout        per sample
==========================  ============  =====================================
(N,) or (N, F) numbers      features      (F,) float32, standardized
(N, T) integers ≥ 0         tokens        (T,) int64 token ids for an Embedding
(N, T, F) float             sequences     (T, F) float32
(N, H, W) uint8             images        (1, H, W) float32 in [0, 1]
(N, C, H, W) / (N, H, W, C) images        (C, H, W) float32; uint8 scaled to [0, 1]
==========================  ============  =====================================

8-bit integers in 2-D are pixels rather than token ids, so they are read as features.
y: integers, booleans or strings are classes; floats with a few whole values are
classes too; other floats are regression targets ((N,) or (N, k)); one-hot rows are
turned into class indices. Samples whose x or y holds NaN or infinity are left out
(reported by the check, with their indices). Float64 values too large for float32 (what
the model is fed, e.g. 1e308) are an error naming the samples, in x and in regression
targets (which are standardized too).
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from workbench.data.base import (
    Cancelled,
    DataCancelled,
    DataError,
    DatasetInfo,
    DataSettings,
    Problem,
    Progress,
    SampleIds,
    Source,
    Split,
    Task,
    make_split,
    target_note,
    target_scale,
)

# The encoding of samples is train.py's (one copy); encode_x is this module's for new samples.
from workbench.standalone.train_encode import convert_x, fit_length
from workbench.standalone.train_encode import encode_x as encode_x
from workbench.standalone.train_encode import normalize_x as _normalize

if TYPE_CHECKING:
    from workbench.data.prepared import Prepared

Layout = Literal["features", "tokens", "sequences", "images"]

X_KEYS = ("x", "inputs", "input", "features", "data", "images", "sequences")
Y_KEYS = ("y", "labels", "label", "targets", "target")
CLASS_KEYS = ("classes", "class_names", "label_names", "labels_names")
SPLIT_NAMES = {"train": 0, "val": 1, "valid": 1, "validation": 1, "test": 2}
#: Float labels with at most this many distinct whole values are read as classes.
MAX_FLOAT_CLASSES = 20
#: Token ids beyond this make an Embedding too large to be sensible.
HUGE_VOCAB = 1_000_000
IMBALANCE_RATIO = 3.0
_CHUNK = 4096
_NPY_MAGIC = b"\x93NUMPY"


# --- loading -------------------------------------------------------------------------


class _Loaded:
    def __init__(self) -> None:
        self.x: np.ndarray = np.zeros(0)
        self.y: np.ndarray = np.zeros(0)
        self.classes: np.ndarray | None = None
        self.given: np.ndarray | None = None
        self.x_key = "x"
        self.y_key = "y"
        self.notes: list[str] = []


def _array_error(name: str, what: str, e: Exception) -> DataError:
    msg = str(e)
    if "allow_pickle" in msg or "Python objects" in msg or "pickled" in msg:
        return DataError(
            f"{name}: {what} holds Python objects; object arrays are refused for safety (save plain numbers)"
        )
    first = msg.splitlines()[0] if msg else type(e).__name__
    return DataError(f"{name}: {what} cannot be read ({first})")


def _load_npz(path: Path) -> _Loaded:
    name = path.name
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise DataError(f"{name}: cannot be read ({e.strerror or e})") from None
    if not magic:
        raise DataError(f"{name}: the file is empty")
    if magic[:2] != b"PK":
        raise DataError(f"{name}: is not an .npz file (a NumPy zip archive of arrays)")
    out = _Loaded()
    try:
        with np.load(path, allow_pickle=False) as z:
            files = list(z.files)
            if not files:
                raise DataError(f"{name}: holds no arrays")
            lower = {k.lower(): k for k in files}

            def get(key: str) -> np.ndarray:
                try:
                    v = z[key]
                except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
                    raise _array_error(name, f"array '{key}'", e) from None
                if not isinstance(v, np.ndarray):
                    raise DataError(
                        f"{name}: member '{key}' is not a NumPy array; this zip is not an .npz"
                    )
                return v

            class_key = next((lower[k] for k in CLASS_KEYS if k in lower), None)
            if "x_train" in lower and "y_train" in lower:
                xs, ys, codes = [], [], []
                for split_name, code in SPLIT_NAMES.items():
                    xk, yk = lower.get(f"x_{split_name}"), lower.get(f"y_{split_name}")
                    if xk is None or yk is None:
                        continue
                    xa, ya = get(xk), get(yk)
                    if len(xa) != len(ya):
                        raise DataError(
                            f"{name}: '{xk}' has {len(xa)} samples but '{yk}' has {len(ya)}"
                        )
                    xs.append(xa)
                    ys.append(ya)
                    codes.append(np.full(len(xa), code, np.int8))
                if any(a.shape[1:] != xs[0].shape[1:] for a in xs) or any(
                    a.shape[1:] != ys[0].shape[1:] for a in ys
                ):
                    raise DataError(
                        f"{name}: the train/val/test arrays differ in shape beyond the sample axis"
                    )
                out.x = np.concatenate(xs) if len(xs) > 1 else xs[0]
                out.y = np.concatenate(ys) if len(ys) > 1 else ys[0]
                out.given = np.concatenate(codes)
                out.x_key, out.y_key = "x_train…", "y_train…"
            else:
                xk = next((lower[k] for k in X_KEYS if k in lower), None)
                yk = next((lower[k] for k in Y_KEYS if k in lower), None)
                if xk is None or yk is None:
                    rest = [k for k in files if k != class_key and k not in (xk, yk)]
                    if xk is None and yk is None:
                        if len(rest) < 2:
                            only = f" (it holds only '{rest[0]}')" if rest else ""
                            raise DataError(f"{name}: needs two arrays, x and y{only}")
                        xk, yk = rest[0], rest[1]
                        out.notes.append(
                            f"No arrays named x and y: '{xk}' is read as x and '{yk}' as y"
                        )
                    elif yk is None:
                        if not rest:
                            raise DataError(f"{name}: has x ('{xk}') but no y (labels or targets)")
                        yk = rest[0]
                        out.notes.append(f"No array named y: '{yk}' is read as y")
                    else:
                        if not rest:
                            raise DataError(f"{name}: has y ('{yk}') but no x (inputs)")
                        xk = rest[0]
                        out.notes.append(f"No array named x: '{xk}' is read as x")
                assert xk is not None and yk is not None
                out.x, out.y = get(xk), get(yk)
                out.x_key, out.y_key = xk, yk
            if class_key is not None:
                out.classes = get(class_key)
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise DataError(
            f"{name}: is not a readable .npz file ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        ) from None
    return out


def _load_npy(path: Path) -> np.ndarray:
    name = path.name
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise DataError(f"{name}: cannot be read ({e.strerror or e})") from None
    if not magic:
        raise DataError(f"{name}: the file is empty")
    if magic != _NPY_MAGIC:
        raise DataError(f"{name}: is not a .npy file (a NumPy array)")
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
        raise _array_error(name, "the array", e) from None


_PAIR = re.compile(r"^(?P<prefix>.*?)(?P<sep>[_\-.]?)(?P<role>x|y)$", re.IGNORECASE)


def npy_partner(path: Path) -> tuple[Path, Path, Path | None]:
    """The x file, the y file and an optional classes file of a .npy pair given either one."""
    name = path.name
    m = _PAIR.match(path.stem)
    if m is None or (m.group("prefix") and not m.group("sep")):
        raise DataError(
            f"{name}: a .npy file needs a partner: name the pair foo_x.npy and foo_y.npy (or x.npy and y.npy)"
        )
    role = m.group("role")
    want = {"x": "y", "y": "x", "X": "Y", "Y": "X"}[role]
    stem = m.group("prefix") + m.group("sep")
    siblings = (
        {p.name.lower(): p for p in path.parent.iterdir() if p.is_file()}
        if path.parent.is_dir()
        else {}
    )
    partner = path.with_name(stem + want + path.suffix)
    found = siblings.get(partner.name.lower())
    if found is None:
        raise DataError(
            f"{name}: its partner {partner.name} is missing (x and y go in two .npy files side by side)"
        )
    classes = siblings.get((stem + "classes.npy").lower())
    return (path, found, classes) if role.lower() == "x" else (found, path, classes)


def load_arrays(
    path: str | os.PathLike[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, list[str]]:
    """x, y, optional class names, optional split codes and notes from an .npz or a .npy pair."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        loaded = _load_npz(p)
        return loaded.x, loaded.y, loaded.classes, loaded.given, loaded.notes
    x_path, y_path, classes_path = npy_partner(p)
    x, y = _load_npy(x_path), _load_npy(y_path)
    classes = _load_npy(classes_path) if classes_path is not None else None
    return x, y, classes, None, []


# --- interpreting --------------------------------------------------------------------


def _layout(x: np.ndarray, name: str) -> tuple[Layout, bool, list[str]]:
    """The layout of x, whether images are channels-last, and notes."""
    kind = x.dtype.kind
    if kind in "OUSVMmc":
        what = {
            "O": "Python objects",
            "U": "text",
            "S": "bytes",
            "V": "records",
            "M": "dates",
            "m": "durations",
            "c": "complex numbers",
        }[kind]
        raise DataError(f"{name}: x holds {what}, not real numbers")
    if x.ndim == 0:
        raise DataError(f"{name}: x is a single number, not an array of samples")
    if x.shape[0] == 0:
        raise DataError(f"{name}: x is empty (no samples)")
    if math.prod(x.shape[1:]) == 0:
        raise DataError(f"{name}: x has shape {tuple(x.shape)}: no values per sample")
    notes: list[str] = []
    if x.ndim == 1:
        notes.append("x is one-dimensional: each sample is a single feature")
        return "features", False, notes
    if x.ndim == 2:
        if kind in "iu" and x.dtype.itemsize > 1 and _min(x) >= 0:
            return "tokens", False, notes
        if kind in "iu" and x.dtype.itemsize == 1:
            notes.append(
                "8-bit integers in 2-D are read as features (pixels), not token ids; save token ids as int32 or int64"
            )
        return "features", False, notes
    if x.ndim == 3:
        if x.dtype == np.uint8:
            notes.append("x is 3-D uint8: read as single-channel images (N, H, W)")
            return "images", False, notes
        return "sequences", False, notes
    if x.ndim == 4:
        if x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
            notes.append(f"x is channels-last {tuple(x.shape)}: transposed to (N, C, H, W)")
            return "images", True, notes
        return "images", False, notes
    raise DataError(
        f"{name}: x has {x.ndim} axes {tuple(x.shape)}; expected 1 to 4 (features, sequences or images)"
    )


def _min(x: np.ndarray) -> float:
    return float(
        min((x[i : i + _CHUNK * 16].min() for i in range(0, len(x), _CHUNK * 16)), default=0)
    )


def _max(x: np.ndarray) -> float:
    return float(
        max((x[i : i + _CHUNK * 16].max() for i in range(0, len(x), _CHUNK * 16)), default=0)
    )


def _finite_rows(a: np.ndarray) -> np.ndarray:
    """Per-sample True where every value is finite (integer arrays always are)."""
    if a.dtype.kind not in "fc":
        return np.ones(len(a), bool)
    out = np.empty(len(a), bool)
    for i in range(0, len(a), _CHUNK):
        part = np.asarray(a[i : i + _CHUNK])
        out[i : i + len(part)] = np.isfinite(part.reshape(len(part), -1)).all(axis=1)
    return out


#: The largest float32 (what the model is fed) and float64.
_F32_MAX = float(np.finfo(np.float32).max)
_F64_MAX = float(np.finfo(np.float64).max)


def _indices(idx: np.ndarray) -> str:
    """``index 3, 7, …``: the first few sample indices."""
    return "index " + ", ".join(str(int(i)) for i in idx[:5]) + (", …" if len(idx) > 5 else "")


def _too_large_rows(a: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples of float array ``a`` holding a finite value above ``limit`` in size: their
    indices, and each one's largest value (signed)."""
    if a.dtype.kind != "f" or np.finfo(a.dtype).max <= limit:
        return np.zeros(0, np.int64), np.zeros(0)
    rows: list[np.ndarray] = []
    worst: list[np.ndarray] = []
    for i in range(0, len(a), _CHUNK):
        part = np.asarray(a[i : i + _CHUNK]).reshape(min(_CHUNK, len(a) - i), -1)
        size = np.where(np.isfinite(part), np.abs(part), 0)
        at = np.flatnonzero(size.max(axis=1, initial=0) > limit)
        rows.append(at + i)
        worst.append(part[at, size[at].argmax(axis=1)] if len(at) else np.zeros(0))
    return np.concatenate(rows), np.concatenate(worst)


def _values(idx: np.ndarray, values: np.ndarray) -> str:
    """``index 7: 1e+308, index 12: -5e+39`` for the first three."""
    shown = ", ".join(
        f"index {int(i)}: {float(v):g}" for i, v in zip(idx[:3], values[:3], strict=True)
    )
    return shown + (", …" if len(idx) > 3 else "")


def _class_names(classes: np.ndarray | None) -> list[str] | None:
    if classes is None:
        return None
    c = np.asarray(classes)
    if c.ndim != 1 or c.dtype.kind not in "USiuf" or len(c) == 0:
        return None
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in c.tolist()]


class _Target:
    def __init__(self) -> None:
        self.task: Task = "classification"
        self.labels: np.ndarray = np.zeros(0, np.int64)
        self.classes: list[str] | None = None
        self.num_targets = 1
        self.notes: list[str] = []
        self.problems: list[Problem] = []


def _interpret_y(y: np.ndarray, classes: np.ndarray | None, name: str) -> _Target:
    """Labels for the samples in ``y`` (already filtered to finite rows)."""
    t = _Target()
    kind = y.dtype.kind
    if kind in "OVMmc":
        raise DataError(f"{name}: y holds values that are neither numbers nor text")
    if y.ndim == 2 and y.shape[1] >= 2 and kind in "biuf":
        v = np.asarray(y)
        if np.isin(v, (0, 1)).all() and (v.sum(axis=1) == 1).all():
            t.notes.append(f"y is one-hot (N, {y.shape[1]}): read as class indices")
            y = v.argmax(axis=1)
            if classes is None:
                classes = np.array([str(i) for i in range(v.shape[1])])
            kind = y.dtype.kind
        elif kind == "f":
            t.task = "regression"
            with np.errstate(over="ignore"):  # too large values are reported by the check
                t.labels = np.asarray(y, np.float32)
            t.num_targets = int(y.shape[1])
            return t
        else:
            raise DataError(
                f"{name}: y has shape {tuple(y.shape)}; integer labels must be one per sample"
            )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(
            f"{name}: y has shape {tuple(y.shape)}; expected (N,) labels or (N, k) targets"
        )
    y = np.asarray(y)
    if kind in "US":
        texts = y.astype(str)
        uniq, inv = np.unique(texts, return_inverse=True)
        t.classes = [str(u) for u in uniq]
        t.labels = inv.astype(np.int64)
        return t
    if kind == "f":
        uniq = np.unique(y)
        if len(uniq) <= MAX_FLOAT_CLASSES and bool(np.all(uniq == np.round(uniq))):
            t.notes.append(f"y is float with {len(uniq)} whole values: read as classes")
            y = y.astype(np.int64)
        else:
            t.task = "regression"
            with np.errstate(over="ignore"):  # too large values are reported by the check
                t.labels = y.astype(np.float32)
            return t
    y = y.astype(np.int64)
    uniq = np.unique(y)
    names = _class_names(classes)
    lo, hi = int(uniq[0]), int(uniq[-1])
    if names is not None and lo >= 0 and hi < len(names):
        t.classes = names
        t.labels = y
    else:
        if names is not None:
            t.problems.append(
                Problem(
                    "classes",
                    f"{len(names)} class names but the labels go from {lo} to {hi}; numbers are used instead",
                )
            )
        t.classes = [str(int(u)) for u in uniq]
        t.labels = np.searchsorted(uniq, y).astype(np.int64)
        if not (lo == 0 and hi == len(uniq) - 1):
            t.notes.append(f"labels {_short(uniq)} are numbered 0…{len(uniq) - 1}")
    return t


def _short(values: np.ndarray) -> str:
    vals = [str(int(v)) for v in values[:6]]
    return "{" + ", ".join(vals) + (", …" if len(values) > 6 else "") + "}"


# --- the source ----------------------------------------------------------------------


class ArraySource(Source):
    """Samples from arrays: features, token-id sequences, float sequences or images."""

    kind = "arrays"

    def __init__(
        self,
        path: Path,
        x: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray | None = None,
        given: np.ndarray | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.path = path
        name = path.name
        if y.ndim == 0:
            raise DataError(f"{name}: y is a single value, not one label per sample")
        if len(x) != len(y):
            raise DataError(f"{name}: x has {len(x)} samples but y has {len(y)}")
        self.layout, self.channels_last, layout_notes = _layout(x, name)
        if y.size == 0:
            raise DataError(f"{name}: y is empty")
        self._x = x
        self.notes: list[str] = [*(notes or []), *layout_notes]
        self._problems: list[Problem] = []
        ok = _finite_rows(x)
        if not ok.all():
            k = int((~ok).sum())
            self._problems.append(
                Problem(
                    "x",
                    f"{k} sample(s) hold NaN or infinite values ({_indices(np.flatnonzero(~ok))}); they are left out",
                    "warning",
                )
            )
            self.notes.append(f"{k} sample(s) with NaN or infinite values in x left out")
        y_ok = _finite_rows(y)
        if not y_ok.all():
            k = int((~y_ok & ok).sum())
            if k:
                self._problems.append(
                    Problem(
                        "y",
                        f"{k} sample(s) have a NaN or infinite target ({_indices(np.flatnonzero(~y_ok & ok))}); "
                        "they are left out",
                    )
                )
                self.notes.append(f"{k} sample(s) with NaN or infinite y left out")
            ok &= y_ok
        if not ok.any():
            raise DataError(f"{name}: every sample holds NaN or infinite values")
        self._keep = np.flatnonzero(ok).astype(np.int64)
        y_kept = np.asarray(y[self._keep]) if not ok.all() else np.asarray(y)
        target = _interpret_y(y_kept, classes, name)
        self.task: Task = target.task
        self.classes: list[str] | None = target.classes
        self.num_targets = target.num_targets
        self._labels = target.labels
        self._y_shape = tuple(y.shape)
        self.notes.extend(target.notes)
        self._problems.extend(target.problems)
        self._given = given[self._keep] if given is not None else None
        self._check_sizes(x, y_kept)
        self.vocab_size: int | None = None
        if self.layout == "tokens":
            self.vocab_size = int(_max(x)) + 1
            if self.vocab_size > HUGE_VOCAB:
                self._problems.append(
                    Problem(
                        "x",
                        f"token ids go up to {self.vocab_size - 1}: an Embedding that large needs a lot of memory",
                    )
                )
        self._check()

    @classmethod
    def scan(
        cls,
        path: str | os.PathLike[str],
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> ArraySource:
        """Load and check the arrays at ``path`` (an .npz, or either file of a .npy pair)."""
        p = Path(path)
        if progress is not None:
            progress(0, 2)
        x, y, classes, given, notes = load_arrays(p)
        if cancelled is not None and cancelled():
            raise DataCancelled()
        if progress is not None:
            progress(1, 2)
        source = cls(p, x, y, classes, given, notes)
        if progress is not None:
            progress(2, 2)
        return source

    # -- what the scan learned ---------------------------------------------------------

    def _check_sizes(self, x: np.ndarray, y_kept: np.ndarray) -> None:
        """Errors for the kept samples whose x, or regression target, does not fit float32."""
        rows, worst = _too_large_rows(x, _F32_MAX)
        keep = np.isin(rows, self._keep)
        rows, worst = rows[keep], worst[keep]
        if len(rows):
            self._problems.append(
                Problem(
                    "x",
                    f"{len(rows)} sample(s) hold values too large for float32 ({_values(rows, worst)}): "
                    f"the model is fed float32, which holds sizes up to {_F32_MAX:.2g}; fix or remove those samples",
                    "error",
                )
            )
        if self.task == "regression":
            # standardized like the features, then trained on as float32
            limit = min(_F32_MAX, math.sqrt(_F64_MAX / (4 * max(len(y_kept), 1))))
            at, worst = _too_large_rows(np.asarray(y_kept).reshape(len(y_kept), -1), limit)
            if len(at):
                self._problems.append(
                    Problem(
                        "y",
                        f"{len(at)} sample(s) have targets too large to train on ({_values(self._keep[at], worst)}): "
                        f"targets are standardized and trained on as float32, so they must stay below {limit:.2g} "
                        "in size; fix or remove those samples",
                        "error",
                    )
                )

    def _check(self) -> None:
        if self.classes is None:
            return
        counts = np.bincount(self._labels, minlength=len(self.classes))
        present = counts > 0
        if int(present.sum()) < 2:
            only = self.classes[int(counts.argmax())]
            self._problems.append(
                Problem("y", f"a single class ('{only}'); a classifier needs at least two", "error")
            )
            return
        empty = [self.classes[i] for i in np.flatnonzero(~present)]
        if empty:
            self._problems.append(
                Problem(
                    "y",
                    f"{len(empty)} class(es) have no samples: "
                    + ", ".join(f"'{c}'" for c in empty[:5]),
                )
            )
        big, small = int(counts.argmax()), int(np.flatnonzero(present)[counts[present].argmin()])
        if counts[big] >= IMBALANCE_RATIO * counts[small]:
            self._problems.append(
                Problem(
                    "y",
                    f"classes are imbalanced: '{self.classes[big]}' has {counts[big]} samples, '{self.classes[small]}' only {counts[small]}",
                )
            )
        few = [self.classes[i] for i in np.flatnonzero(present & (counts < 3))]
        if few:
            self._problems.append(
                Problem(
                    "y", f"{len(few)} class(es) have fewer than 3 samples: too few for every split"
                )
            )

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def given_split(self) -> np.ndarray | None:
        return self._given

    def sample_ids(self) -> SampleIds:
        """Sample indices -> the samples' 0-based indices into x (samples left out for NaN
        values are not counted out: the ids index the file's arrays)."""
        keep = self._keep

        def positions(indices: np.ndarray) -> list[Any]:
            return [int(keep[int(i)]) for i in indices]

        return positions

    def split(self, settings: DataSettings) -> Split:
        return make_split(
            self._labels,
            self.task,
            settings.val_ratio,
            settings.test_ratio,
            settings.seed,
            self._given,
        )

    def input_spec(
        self, settings: DataSettings
    ) -> tuple[tuple[int, ...], Literal["float32", "int64"]]:
        """The per-sample shape and dtype :meth:`prepare` gives for ``settings``."""
        return self.sample_shape(
            settings.seq_len
        ), "int64" if self.layout == "tokens" else "float32"

    def sample_shape(self, seq_len: int | None = None) -> tuple[int, ...]:
        """Per-sample shape the model sees (with ``seq_len`` for sequences)."""
        shape = self._x.shape
        if self.layout == "features":
            return (int(math.prod(shape[1:])),)
        if self.layout == "tokens":
            return (int(seq_len or shape[1]),)
        if self.layout == "sequences":
            return (int(seq_len or shape[1]), int(shape[2]))
        if len(shape) == 3:
            return (1, int(shape[1]), int(shape[2]))
        if self.channels_last:
            return (int(shape[3]), int(shape[1]), int(shape[2]))
        return (int(shape[1]), int(shape[2]), int(shape[3]))

    def info(self) -> DatasetInfo:
        counts: dict[str, int] = {}
        if self.classes is not None:
            per = np.bincount(self._labels, minlength=len(self.classes))
            counts = {c: int(k) for c, k in zip(self.classes, per, strict=True)}
        details: dict[str, Any] = {
            "layout": self.layout,
            "x_shape": list(self._x.shape),
            "x_dtype": str(self._x.dtype),
            "y_shape": list(self._y_shape),
            "notes": list(self.notes),
            "preview": self.preview(10),
        }
        if self.layout in ("tokens", "sequences"):
            details["sequence"] = True
        if self.vocab_size is not None:
            details["vocab_size"] = self.vocab_size
        if self.layout == "images":
            details["channels_last"] = self.channels_last
        return DatasetInfo(
            path=str(self.path),
            kind="arrays",
            task=self.task,
            num_samples=len(self._keep),
            classes=list(self.classes) if self.classes is not None else None,
            class_counts=counts,
            problems=list(self._problems),
            sample_shape=self.sample_shape(),
            dtype="int64" if self.layout == "tokens" else "float32",
            num_targets=self.num_targets,
            splits_given=self._given is not None,
            details=details,
        )

    def preview(self, limit: int = 64) -> dict[str, Any]:
        rows = []
        for i in range(min(limit, len(self._keep))):
            r = int(self._keep[i])
            if self.classes is not None:
                label: Any = self.classes[int(self._labels[i])]
            else:
                lab = np.atleast_1d(self._labels[i])
                label = ", ".join(f"{float(v):.4g}" for v in lab[:8])
            flat = np.asarray(self._x[r]).reshape(-1)
            shown = ", ".join(
                str(int(v)) if flat.dtype.kind in "iub" else f"{float(v):.4g}" for v in flat[:16]
            )
            rows.append([r, label, shown + (", …" if flat.size > 16 else "")])
        return {
            "x_shape": list(self._x.shape),
            "y_shape": list(self._y_shape),
            "columns": ["#", "y", "x"],
            "rows": rows,
        }

    # -- preparing ---------------------------------------------------------------------

    def prepare(
        self,
        settings: DataSettings,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> Prepared:
        import torch

        from workbench.data.prepared import Prepared, TensorData

        for p in self._problems:
            if p.severity == "error":
                raise DataError(f"{self.path.name}: {p.item}: {p.reason}")
        if settings.seq_len is not None and settings.seq_len < 1:
            raise DataError("the sequence length must be at least 1")
        split = self.split(settings)
        notes = list(self.notes)
        pre: dict[str, Any] = {
            "kind": "arrays",
            "layout": self.layout,
            "task": self.task,
            "classes": list(self.classes) if self.classes is not None else None,
            "channels_last": self.channels_last,
            "scale": 1 / 255 if self.layout == "images" and self._x.dtype == np.uint8 else None,
            "seq_len": None,
            "mean": None,
            "std": None,
        }
        if self.layout == "tokens":
            pre["vocab_size"] = self.vocab_size
        if self.layout in ("tokens", "sequences") and settings.seq_len is not None:
            length = int(self._x.shape[1])
            pre["seq_len"] = int(settings.seq_len)
            if settings.seq_len > length:
                pad = "token 0" if self.layout == "tokens" else "zeros"
                notes.append(
                    f"Sequences padded at the start from {length} to {settings.seq_len} steps with {pad}"
                )
            elif settings.seq_len < length:
                notes.append(
                    f"Sequences truncated from {length} to their last {settings.seq_len} steps"
                )
        parts: dict[str, np.ndarray] = {}
        for i, which in enumerate(("train", "val", "test")):
            if cancelled is not None and cancelled():
                raise DataCancelled()
            idx: np.ndarray = getattr(split, which)
            parts[which] = convert_x(np.asarray(self._x[self._keep[idx]]), pre)
            if progress is not None:
                progress(i + 1, 4)
        if settings.normalize and self.layout != "tokens":
            # Statistics before padding, so padded steps are zeros after normalization.
            train = parts["train"]
            axes = (
                (0,)
                if self.layout == "features"
                else (0, 1)
                if self.layout == "sequences"
                else (0, 2, 3)
            )
            channels = train.shape[1] if self.layout == "images" else train.shape[-1]
            if len(train):
                mean = train.mean(axis=axes, dtype=np.float64)
                std = train.std(axis=axes, dtype=np.float64)
            else:
                mean, std = np.zeros(channels), np.ones(channels)
            std = np.where(std < 1e-12, 1.0, std)
            pre["mean"], pre["std"] = mean.tolist(), std.tolist()
            for which in parts:
                with np.errstate(over="ignore", invalid="ignore"):
                    parts[which] = _normalize(parts[which], pre)
                bad = np.flatnonzero(~_finite_rows(parts[which]))
                if len(bad):
                    rows = self._keep[getattr(split, which)[bad]]
                    raise DataError(
                        f"{self.path.name}: x: {len(rows)} sample(s) hold values too large for float32 once "
                        f"normalized with the training split's mean and std ({_indices(rows)}); "
                        "fix or remove those samples"
                    )
            what = {"features": "feature", "sequences": "feature", "images": "channel"}[self.layout]
            notes.append(f"Normalized per {what} with the training split's mean and std")
        if pre["seq_len"] is not None:
            for which in parts:
                parts[which] = fit_length(parts[which], pre["seq_len"])
        if progress is not None:
            progress(4, 4)
        y = self._labels
        if self.task == "regression" and y.ndim == 1:
            y = y.reshape(-1, 1)
        if self.task == "regression":
            pre["target_scale"] = target_scale(y[split.train])
            notes.append(target_note(pre["target_scale"]))

        def data(which: str) -> TensorData:
            idx: np.ndarray = getattr(split, which)
            yt = torch.from_numpy(np.ascontiguousarray(y[idx]))
            return TensorData(
                torch.from_numpy(parts[which]),
                yt.long() if self.task == "classification" else yt.float(),
            )

        return Prepared(
            task=self.task,
            classes=list(self.classes) if self.classes is not None else None,
            input_shape=self.sample_shape(settings.seq_len),
            input_dtype="int64" if self.layout == "tokens" else "float32",
            num_targets=self.num_targets,
            split=split,
            train=data("train"),
            val=data("val"),
            test=data("test"),
            in_memory=True,
            notes=notes,
            preprocessing=pre,
            sample_ids=self.sample_ids(),
        )
