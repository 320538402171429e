"""PyTorch weights export: a state dict (``weights_only``-loadable) plus a JSON architecture.

``export_weights(model, graph_dict, "model.pt")`` writes ``model.pt`` (the state dict,
plain tensors only) and ``model.json`` beside it (the graph as ``Graph.to_dict()`` gives
it, and the name, shape and dtype of every tensor). Both files are written through a
temporary file and a rename.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.core.fileio import atomic_write
from workbench.export.report import ExportError

FORMAT = "model-workbench-weights"
VERSION = 1


def architecture_path(path: str | os.PathLike[str]) -> Path:
    """The ``.json`` file that goes with weights file ``path``."""
    return Path(path).with_suffix(".json")


def _write_atomic(path: Path, write: Any) -> None:
    # mkstemp's 0600 is not what an exported file should have
    atomic_write(path, write, mode=0o644)


def export_weights(
    model: nn.Module,
    graph_dict: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``model``'s state dict to ``path`` and the architecture to ``path`` with ``.json``.

    ``extra`` entries go into the JSON too, e.g. ``target_scale`` (``{"mean", "std"}``)
    for a regression model that outputs standardized targets: predictions in the
    targets' units are ``output * std + mean``.

    Returns the path of the JSON file.

    Raises:
        ExportError: the files cannot be written.
    """
    p = Path(path)
    arch = architecture_path(p)
    if arch == p:
        raise ExportError(f"{p}: the weights file needs a suffix other than .json (e.g. .pt)")
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "weights": p.name,
        "torch": torch.__version__,
        "graph": dict(graph_dict),
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")} for k, v in state.items()},
        **dict(extra or {}),
    }
    try:
        text = json.dumps(doc, indent=2, sort_keys=False)
    except (TypeError, ValueError) as e:
        raise ExportError(f"the architecture cannot be written as JSON ({e})") from None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(p, lambda f: torch.save(state, f))
        _write_atomic(arch, lambda f: f.write(text.encode("utf-8")))
    except OSError as e:
        raise ExportError(f"{p}: the weights cannot be saved ({e.strerror or e})") from None
    return arch


def load_weights(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read weights written by :func:`export_weights`: ``(state_dict, graph_dict)``.

    The state dict is read with ``weights_only=True`` (loading it never runs code).

    Raises:
        ExportError: a file is missing, unreadable, or the two do not belong together.
    """
    p = Path(path)
    arch = architecture_path(p)
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ExportError(f"{p}: no such weights file") from None
    except Exception as e:  # unpickling errors come in many types
        raise ExportError(f"{p}: not a readable weights file ({type(e).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ExportError(f"{p}: not a state dict")
    try:
        doc = json.loads(arch.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{arch}: the architecture file is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ExportError(f"{arch}: not a readable architecture file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("graph"), dict):
        raise ExportError(f"{arch}: not a Model Workbench architecture file")
    if int(doc.get("version", 0)) > VERSION:
        raise ExportError(f"{arch}: written by a newer Model Workbench (version {doc.get('version')})")
    tensors = doc.get("tensors")
    if isinstance(tensors, dict) and set(tensors) != set(state):
        raise ExportError(f"{p}: the weights do not match {arch.name} (different tensor names)")
    return dict(state), doc["graph"]
