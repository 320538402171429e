"""The devices this machine can train on (CPU, each CUDA GPU, Apple MPS) and how to pick one."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Literal

import torch

DeviceKind = Literal["cpu", "cuda", "mps"]


class DeviceError(ValueError):
    """A device that does not exist on this machine; the message says which ones do."""


@dataclass(frozen=True)
class DeviceInfo:
    """One device a model can train on, as the device picker lists it."""

    id: str  # "cpu", "cuda:0", "mps"
    kind: DeviceKind
    name: str
    memory_bytes: int | None = None  # None where unknown (CPU, MPS)

    def label(self) -> str:
        """A one-line description, e.g. ``cuda:0 — NVIDIA H100 (80 GB)``."""
        if self.memory_bytes:
            return f"{self.id} — {self.name} ({self.memory_bytes / 1e9:.0f} GB)"
        return f"{self.id} — {self.name}"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def list_devices() -> list[DeviceInfo]:
    """Every device available here, the CPU first."""
    cpu_name = platform.processor() or platform.machine() or "CPU"
    devices = [DeviceInfo("cpu", "cpu", f"{cpu_name}, {os.cpu_count() or 1} cores")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append(DeviceInfo(f"cuda:{i}", "cuda", props.name, int(props.total_memory)))
    if _mps_available():
        devices.append(DeviceInfo("mps", "mps", "Apple GPU (Metal)"))
    return devices


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` into a torch device that exists.

    ``auto`` picks the first CUDA GPU, then MPS, then the CPU.

    Raises:
        DeviceError: the device is unknown or not available on this machine.
    """
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' is not available here (it needs an Apple-silicon Mac)")
        return torch.device("mps")
    if spec == "cuda" or spec.startswith("cuda:"):
        index_text = spec.partition(":")[2] or "0"
        if not index_text.isdigit():
            raise DeviceError(f"device '{spec}' is not a device name (expected cuda or cuda:N)")
        index = int(index_text)
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(
                f"device '{spec}' is not available: this machine has no usable CUDA GPU"
            )
        if index >= count:
            raise DeviceError(
                f"device '{spec}' is not available: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
        return torch.device("cuda", index)
    raise DeviceError(f"unknown device '{spec}' (expected auto, cpu, cuda, cuda:N or mps)")


def default_cpu_threads() -> int:
    """Threads for training on the CPU: all cores but one, which is left to the window."""
    return max(1, (os.cpu_count() or 1) - 1)
