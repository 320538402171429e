"""The export formats: one entry each, read by the command line, the Export tab and the export service.

An entry says what a format is called, what it writes (a file with a suffix, or a folder),
how the file dialog filters for it, which of the builder's checks apply, and which
function writes it. That function is named as ``"module:function"`` and imported only
when an export runs, so this module (and :mod:`workbench.export.service`) imports
neither Qt nor torch. Adding a format is one entry here and its exporter.

The exporter is called as ``exporter(trained, target, context)`` with a
:class:`~workbench.export.service.Trained`, the output :class:`~pathlib.Path` (checked:
its folder exists and is writable) and an :class:`~workbench.export.service.ExportContext`,
and returns an :class:`~workbench.export.service.ExportResult`. It must write under a
staging name and swap the result in only once verified (:mod:`workbench.export.staging`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExportFormat:
    """One export format."""

    #: The name the command line (``--format``) and the project use.
    name: str
    #: As the Export tab's format picker shows it.
    title: str
    #: The command line's help for this choice (after ``name:``).
    cli_help: str
    #: The Export button's text.
    button: str
    #: Beside the Export button: what happens when it is pressed.
    hint: str
    #: Under the format picker; ``{stem}`` is the default file name without its ending.
    note: str
    #: "No problems found: the model exports as {checks_title}"; ``{opset}`` is filled in.
    checks_title: str
    #: What the default name ends with: a file suffix (``.onnx``) or a folder's (``_pytorch``).
    ending: str
    #: True when the export is a folder (then ``ending`` ends its name).
    folder: bool = False
    #: The save dialog's filter for a file format: ``"ONNX models (*.onnx)"``.
    dialog_filter: str = ""
    #: Other endings recognised when the format changes (``.pth`` for weights).
    aliases: tuple[str, ...] = ()
    #: True when the ONNX checks (layers without an ONNX form, the opset) apply.
    onnx: bool = False
    #: True when the export is one ONNX file the Export tab's server can serve.
    servable: bool = False
    #: What an existing folder at the target must hold to be replaced (folders only).
    replaces: str = ""
    #: ``"module:function"`` of the exporter, imported when an export runs.
    exporter: str = ""

    @property
    def suffix(self) -> str:
        """The file suffix a bare name gets in the save dialog (``.onnx``); "" for folders."""
        return "" if self.folder else Path(self.ending).suffix

    def file_name(self, stem: str) -> str:
        """``stem`` with this format's ending: ``lenet.onnx``, ``lenet_pytorch``."""
        return f"{stem}{self.ending}"

    def load_exporter(self) -> Callable[..., Any]:
        """The exporter function (imports its module, which may import torch)."""
        module, _, attr = self.exporter.partition(":")
        fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return fn


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "onnx",
            "ONNX (.onnx) — for deployment",
            "one verified .onnx file",
            "Export to ONNX",
            "The file is written, then run with onnxruntime and compared with PyTorch.",
            "One .onnx file for onnxruntime and other runtimes, with the classes and preprocessing "
            "in its metadata. It is compared with the PyTorch model before it is kept.",
            "ONNX opset {opset}",
            ".onnx",
            dialog_filter="ONNX models (*.onnx)",
            onnx=True,
            servable=True,
            exporter="workbench.export.service:export_onnx_file",
        ),
        ExportFormat(
            "weights",
            "PyTorch weights (.pt)",
            "a state dict + JSON architecture",
            "Export weights",
            "The weights and the architecture are written beside each other.",
            "The weights ({stem}.pt, for torch.load(weights_only=True)) and the architecture "
            "({stem}.json) beside them.",
            "PyTorch weights",
            ".pt",
            dialog_filter="PyTorch weights (*.pt)",
            aliases=(".pth",),
            exporter="workbench.export.service:export_weights_file",
        ),
        ExportFormat(
            "python",
            "PyTorch code (model.py + train.py)",
            "a folder with model.py and train.py",
            "Export code",
            "The code is written, then model.py is run and compared with the workbench model.",
            "A new folder with model.py (the model in plain PyTorch), train.py (to train it "
            "outside the workbench), the weights and a README.",
            "PyTorch code",
            "_pytorch",
            folder=True,
            replaces="an earlier code export",
            exporter="workbench.export.service:export_python_folder",
        ),
        ExportFormat(
            "onnx-int8",
            "ONNX int8 (.onnx) — smaller, quantized",
            "the ONNX file with its weights quantized to 8 bits (onnxruntime dynamic quantization), "
            "checked against the float model's predictions on the dataset",
            "Export int8 ONNX",
            "The float file is written and verified, quantized, then its predictions are compared "
            "with the float model's.",
            "One .onnx file with 8-bit weights (onnxruntime dynamic quantization): smaller and often "
            "faster on CPUs. It is kept only if its predictions on the dataset agree with the float model's.",
            "ONNX int8 (opset {opset})",
            "_int8.onnx",
            dialog_filter="ONNX models (*.onnx)",
            onnx=True,
            servable=True,
            exporter="workbench.export.quantized:export_onnx_int8",
        ),
        ExportFormat(
            "triton",
            "Triton model repository (folder)",
            "a model repository folder for NVIDIA Triton or KServe (NAME/config.pbtxt, NAME/1/model.onnx)",
            "Export for Triton",
            "The ONNX file is written and verified, then config.pbtxt is written from its inputs and outputs.",
            "A model repository folder for NVIDIA Triton Inference Server or KServe: "
            "{stem}/config.pbtxt and {stem}/1/model.onnx (tritonserver --model-repository=FOLDER).",
            "a Triton model repository (ONNX opset {opset})",
            "_triton",
            folder=True,
            onnx=True,
            replaces="an earlier Triton export",
            exporter="workbench.export.triton:export_triton",
        ),
    )
}
FORMATS = tuple(EXPORT_FORMATS)


def get_format(name: str) -> ExportFormat:
    """The entry of ``name``.

    Raises:
        KeyError: no such format (the message lists the formats).
    """
    try:
        return EXPORT_FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown export format '{name}' (choose {', '.join(FORMATS)})") from None


def safe_stem(name: str) -> str:
    """A project name as a file name stem: ``LeNet CNN`` → ``LeNet_CNN``."""
    return (
        "".join(c if c.isalnum() or c in "-_" else "_" for c in (name or "model")).strip("_")
        or "model"
    )


def default_file_name(name: str, fmt: str) -> str:
    """``lenet.onnx``, ``lenet.pt``, ``lenet_pytorch`` (a folder)… for a project called ``lenet``."""
    return get_format(fmt).file_name(safe_stem(name))


def stem_of(file_name: str) -> str:
    """A file or folder name without any format's ending (the longest that fits)."""
    endings = sorted(
        {e for f in EXPORT_FORMATS.values() for e in (f.ending, *f.aliases)}, key=len, reverse=True
    )
    lower = file_name.lower()
    for ending in endings:
        if lower.endswith(ending.lower()):
            return file_name[: -len(ending)]
    return file_name


def path_for_format(path: Path, fmt: str) -> Path:
    """``path`` with the ending of ``fmt``: ``a/net.onnx`` → ``a/net.pt`` → ``a/net_pytorch``."""
    return path.with_name(get_format(fmt).file_name(stem_of(path.name) or "model"))


def cli_help() -> str:
    """The ``--format`` help: each format and what it writes."""
    return "; ".join(f"{f.name}: {f.cli_help}" for f in EXPORT_FORMATS.values())
