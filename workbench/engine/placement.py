"""Where a run's tensors live and the process-wide torch settings it runs under.

The :class:`~workbench.engine.trainer.Trainer` calls these: :func:`global_settings` around
a run (threads, determinism, the current GPU), :func:`place` and :func:`to_device` for the
data, and :func:`check_model_fits` once before the first epoch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
from torch import nn

from workbench.core.text import first_line
from workbench.data.prepared import Prepared, SplitData, TensorData
from workbench.engine.config import TrainConfig, TrainError
from workbench.engine.devices import default_cpu_threads


@contextlib.contextmanager
def global_settings(device: torch.device, config: TrainConfig) -> Iterator[None]:
    """Threads and determinism for the run, put back as they were afterwards."""
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    det_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = torch.backends.cudnn
    cudnn_state = (cudnn.deterministic, cudnn.benchmark)
    with contextlib.ExitStack() as stack:
        if device.type == "cuda":
            # Implicit allocations, events and streams then belong to the training GPU.
            stack.enter_context(torch.cuda.device(device))
        stack.callback(_put_back, threads, det, det_warn, cudnn_state)
        if device.type == "cpu":
            torch.set_num_threads(config.cpu_threads or default_cpu_threads())
        if config.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            cudnn.deterministic, cudnn.benchmark = True, False
        elif device.type == "cuda":
            cudnn.benchmark = True  # fixed batch shapes: let cuDNN pick the fastest kernels
        yield


def _put_back(threads: int, det: bool, det_warn: bool, cudnn_state: tuple[bool, bool]) -> None:
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(det, warn_only=det_warn)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn_state


def place(data: SplitData, device: torch.device, notes: list[str]) -> tuple[SplitData, bool]:
    """Put in-memory data on the training device when it fits; else batches are copied per step.

    Returns the data and whether its batches need copying to the device.
    """
    if isinstance(data, TensorData):
        if data.x.device == device or (device.type == "cpu" and data.x.device.type == "cpu"):
            return data, False
        if device.type == "cuda" and data.x.device.type == "cpu":
            size = data.x.element_size() * data.x.numel() + data.y.element_size() * data.y.numel()
            free, _total = torch.cuda.mem_get_info(device)
            if size > free // 2:
                notes.append(
                    f"the data ({size / 1e9:.1f} GB) does not fit on {device}; batches are copied per step"
                )
                return data, True
        return data.to(device), False
    return data, device.type != "cpu"


def to_device(
    x: torch.Tensor, y: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch on ``device``; from the CPU to a GPU through pinned memory, without blocking."""
    if x.device == device:
        return x, y
    if device.type == "cuda" and x.device.type == "cpu":
        # Pinned host memory lets the copy overlap with the previous step's work.
        if not x.is_pinned():
            x, y = x.pin_memory(), y.pin_memory()
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    return x.to(device), y.to(device)


def check_model_fits(
    model: nn.Module, prepared: Prepared, train_data: SplitData, device: torch.device
) -> None:
    """One forward pass on two samples, so a model that does not fit the data fails with a clear message."""
    prep = prepared
    # A split without augmentation where there is one: augmentation may draw from a
    # split's own generator, which fork_rng would not protect. Batches, not ``.x``:
    # a split may store raw pixels that only iter_batches turns into model input.
    data = next((d for d in (prep.val, prep.test) if len(d)), train_data)
    was_training = model.training
    devices = [device.index or 0] if device.type == "cuda" else []
    try:
        with (
            torch.random.fork_rng(devices=devices),
            torch.no_grad(),
        ):  # leaves the random states alone
            x, _y = next(iter(data.iter_batches(2)))
            if x.device != device:
                x = x.to(device)
            model.eval()
            out = model(x)
    except (RuntimeError, ValueError, IndexError) as e:
        raise TrainError(f"the model does not fit the data: {first_line(e)}") from None
    finally:
        model.train(was_training)
    if prep.task == "classification":
        c = prep.num_classes
        if out.dim() != 2 or (c is not None and out.shape[1] != c):
            got = "x".join(str(s) for s in out.shape[1:])
            raise TrainError(
                f"the model's Output gives {got} values per sample but the data has {c} classes: "
                f"set the Output to {c} classes (or attach the dataset again so the model is fitted to it)"
            )
    else:
        per_sample = out[0].numel()
        if per_sample != prep.num_targets:
            raise TrainError(
                f"the model's Output gives {per_sample} values per sample but the data has {prep.num_targets} target(s): "
                f"set the Output to regression with {prep.num_targets} target(s)"
            )


__all__ = ["check_model_fits", "global_settings", "place", "to_device"]
