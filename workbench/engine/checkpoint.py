"""Checkpoints: state dicts written atomically and read back with ``weights_only=True``.

A checkpoint holds plain data only (tensors, numbers, strings, lists, dicts), so loading
one can never run code. Random-number states are converted to tensors and tuples for
the same reason.

Every checkpoint's SHA-256 is recorded in ``sha256.json`` beside it, and reading a
checkpoint checks it: a file damaged on disk is refused instead of trained on. The record
is updated around each write so that a kill at any point leaves the file on disk matching
one of the sums accepted for it. A checkpoint without a recorded sum (older runs) is read
as it is.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.fileio import atomic_write, atomic_write_text, os_error_text
from workbench.engine.config import TrainError

FORMAT = 1
#: The file beside the checkpoints that records their SHA-256 sums.
SUMS = "sha256.json"


class CheckpointDamaged(TrainError):
    """A checkpoint whose contents no longer match the checksum recorded when it was written."""


def _read_sums(folder: Path) -> dict[str, list[str]]:
    try:
        doc = json.loads((folder / SUMS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {
        k: [h for h in v if isinstance(h, str)]
        for k, v in doc.items()
        if isinstance(k, str) and isinstance(v, list)
    }


def _write_sums(folder: Path, sums: dict[str, list[str]]) -> None:
    atomic_write_text(folder / SUMS, json.dumps(sums, indent=2, sort_keys=True) + "\n")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's contents (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_recorded(p: Path, data: bytes) -> None:
    """Write ``data`` to ``p`` atomically, its sum recorded before (as pending) and after the rename."""
    digest = hashlib.sha256(data).hexdigest()
    sums = _read_sums(p.parent)
    accepted = sums.get(p.name, [])
    # a kill from here on leaves either the old file (its sum is kept) or the new one
    sums[p.name] = [*accepted[-1:], digest] if p.exists() else [digest]
    _write_sums(p.parent, sums)
    atomic_write(p, lambda f: f.write(data))
    sums[p.name] = [digest]
    _write_sums(p.parent, sums)


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``state`` to ``path`` through a temporary file and a rename (never half-written).

    Its checksum is recorded in :data:`SUMS` beside it.

    Raises:
        TrainError: the file cannot be written (disk full, no permission…).
    """
    p = Path(path)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        _write_recorded(p, buffer.getvalue())
    except OSError as e:
        raise TrainError(f"{p}: the checkpoint cannot be saved ({os_error_text(e)})") from None


def copy_checkpoint(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy a checkpoint (``best.pt`` to ``last.pt``), atomically and with its checksum recorded.

    Raises:
        TrainError: the copy cannot be written.
    """
    s, d = Path(src), Path(dst)
    try:
        _write_recorded(d, s.read_bytes())
    except OSError as e:
        raise TrainError(f"{d}: the checkpoint cannot be saved ({os_error_text(e)})") from None


def verify_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Check a checkpoint against its recorded checksum.

    Returns:
        True when it matches, False when no checksum was recorded (an older run).

    Raises:
        CheckpointDamaged: the contents differ from every sum recorded for it.
        TrainError: the file cannot be read.
    """
    p = Path(path)
    accepted = _read_sums(p.parent).get(p.name)
    if not accepted:
        return False
    try:
        digest = file_sha256(p)
    except FileNotFoundError:
        raise TrainError(f"{p}: no such checkpoint") from None
    except OSError as e:
        raise TrainError(f"{p}: cannot be read ({os_error_text(e)})") from None
    if digest not in accepted:
        raise CheckpointDamaged(f"checkpoint {p.name} is damaged (checksum mismatch): {p}")
    return True


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``), checking its recorded checksum first.

    Raises:
        CheckpointDamaged: the file changed since it was written.
        TrainError: the file is missing, truncated or not a checkpoint.
    """
    p = Path(path)
    if p.exists():
        verify_checkpoint(p)
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise TrainError(f"{p}: no such checkpoint") from None
    except Exception as e:  # unpickling errors come in many types
        raise TrainError(
            f"{p}: not a readable checkpoint ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise TrainError(f"{p}: not a Model Workbench checkpoint")
    return state


def model_state(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """Only the model's state dict from a checkpoint (for evaluation and export)."""
    state = load_checkpoint(path, map_location)["model"]
    return dict(state)


# --- random-number states ---------------------------------------------------------------


def rng_state(shuffle: torch.Generator | None = None) -> dict[str, Any]:
    """Every random state a run depends on: torch (CPU and CUDA), numpy, Python, the shuffle generator."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all()
        if torch.cuda.is_available() and torch.cuda.is_initialized()
        else [],
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": [int(version), list(internal), gauss_next],
        "shuffle": shuffle.get_state() if shuffle is not None else None,
    }
    return state


def set_rng_state(state: dict[str, Any], shuffle: torch.Generator | None = None) -> None:
    """Restore :func:`rng_state` output."""
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda[: torch.cuda.device_count()]])
    npst = state["numpy"]
    np.random.set_state(
        (
            npst["kind"],
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached"],
        )
    )
    version, internal, gauss_next = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss_next))
    if shuffle is not None and state.get("shuffle") is not None:
        shuffle.set_state(state["shuffle"].cpu())
