"""PyTorch weights export: a state dict (``weights_only``-loadable) plus a JSON architecture.

``export_weights(model, graph_dict, "model.pt")`` writes ``model.pt`` (the state dict,
plain tensors only) and ``model.json`` beside it (the graph as ``Graph.to_dict()`` gives
it, and the name, shape and dtype of every tensor). Both files are written beside the
target under temporary names, read back and compared with the model, and only then renamed
over the previous pair (see :mod:`workbench.export.staging`): an export that fails or is
interrupted keeps the old files, and the two files at the target always belong together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.core.fileio import replace_retrying
from workbench.export.report import ExportError
from workbench.export.staging import interrupts_held, remove_quietly, staging_path

FORMAT = "model-workbench-weights"
VERSION = 1


def architecture_path(path: str | os.PathLike[str]) -> Path:
    """The ``.json`` file that goes with weights file ``path``."""
    return Path(path).with_suffix(".json")


def _write_new(path: Path, write: Any) -> None:
    """Create ``path`` (it must not exist) with what ``write(binary_file)`` writes, synced to disk."""
    with open(path, "xb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    if os.name != "nt":
        os.chmod(path, 0o644)


def _verify(path: Path, state: Mapping[str, torch.Tensor], graph_json: str) -> None:
    """Read the staged pair back as :func:`load_weights` does; it must give ``state`` and the graph."""
    loaded, graph = load_weights(path)
    if set(loaded) != set(state) or not all(torch.equal(loaded[k], v) for k, v in state.items()):
        raise ExportError(f"{path.name}: the weights read back differ from the model's")
    if json.dumps(graph) != graph_json:
        raise ExportError(
            f"{architecture_path(path).name}: the architecture read back differs from the model's"
        )


def _swap_in(staged: Path, target: Path) -> None:
    """Rename the staged weights and architecture over ``target`` and its ``.json``, together."""
    staged_arch, arch = architecture_path(staged), architecture_path(target)
    backup: Path | None = None
    existed = target.exists()
    with interrupts_held():
        try:
            backup = staging_path(target, "old")
            os.link(target, backup)  # to put the old weights back if the second rename fails
        except OSError:
            backup = None  # no old file, or no hard links here
        try:
            replace_retrying(staged, target)
            try:
                replace_retrying(staged_arch, arch)
            except OSError:
                if backup is not None:
                    os.replace(backup, target)
                elif not existed:
                    remove_quietly(target)
                raise
        finally:
            remove_quietly(backup)


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
        ExportError: the files cannot be written, or do not read back as written; the
            files that were at ``path`` before are kept then.
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
        "tensors": {
            k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
            for k, v in state.items()
        },
        **dict(extra or {}),
    }
    try:
        text = json.dumps(doc, indent=2, sort_keys=False)
    except (TypeError, ValueError) as e:
        raise ExportError(f"the architecture cannot be written as JSON ({e})") from None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"{p}: the weights cannot be saved ({e.strerror or e})") from None
    staged = staging_path(p)
    try:
        _write_new(staged, lambda f: torch.save(state, f))
        _write_new(architecture_path(staged), lambda f: f.write(text.encode("utf-8")))
        _verify(staged, state, json.dumps(json.loads(text)["graph"]))
        _swap_in(staged, p)
    except OSError as e:
        raise ExportError(f"{p}: the weights cannot be saved ({e.strerror or e})") from None
    except ExportError as e:
        message = (
            str(e).replace(architecture_path(staged).name, arch.name).replace(staged.name, p.name)
        )
        raise ExportError(message) from None
    finally:
        remove_quietly(staged, architecture_path(staged))
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
    if (
        not isinstance(doc, dict)
        or doc.get("format") != FORMAT
        or not isinstance(doc.get("graph"), dict)
    ):
        raise ExportError(f"{arch}: not a Model Workbench architecture file")
    if int(doc.get("version", 0)) > VERSION:
        raise ExportError(
            f"{arch}: written by a newer Model Workbench (version {doc.get('version')})"
        )
    tensors = doc.get("tensors")
    if isinstance(tensors, dict) and set(tensors) != set(state):
        raise ExportError(f"{p}: the weights do not match {arch.name} (different tensor names)")
    return dict(state), doc["graph"]
