"""Checkpoints: state dicts written atomically and read back with ``weights_only=True``.

A checkpoint holds plain data only (tensors, numbers, strings, lists, dicts), so loading
one can never run code. Random-number states are converted to tensors and tuples for
the same reason.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.fileio import atomic_write, os_error_text
from workbench.engine.config import TrainError

FORMAT = 1


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``state`` to ``path`` through a temporary file and a rename (never half-written).

    Raises:
        TrainError: the file cannot be written (disk full, no permission…).
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, lambda f: torch.save(state, f))
    except OSError as e:
        raise TrainError(f"{p}: the checkpoint cannot be saved ({os_error_text(e)})") from None


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``).

    Raises:
        TrainError: the file is missing, truncated or not a checkpoint.
    """
    p = Path(path)
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise TrainError(f"{p}: no such checkpoint") from None
    except Exception as e:  # unpickling errors come in many types
        raise TrainError(f"{p}: not a readable checkpoint ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise TrainError(f"{p}: not a Model Workbench checkpoint")
    return state


def model_state(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
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
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
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
    np.random.set_state((npst["kind"], npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"], npst["cached"]))
    version, internal, gauss_next = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss_next))
    if shuffle is not None and state.get("shuffle") is not None:
        shuffle.set_state(state["shuffle"].cpu())
