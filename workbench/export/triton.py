"""The ``triton`` export format: a model repository for NVIDIA Triton Inference Server and KServe.

The output is a repository folder holding one model::

    lenet_triton/                 tritonserver --model-repository=lenet_triton
      lenet/
        config.pbtxt              platform "onnxruntime_onnx", inputs, outputs, dynamic batching
        labels.txt                the class names (classification), one a line
        1/model.onnx              the verified ONNX export (version 1)

``config.pbtxt`` is written from the ONNX file's own inputs and outputs: their names, data
types (``TYPE_FP32``…) and dims without the batch axis (-1 for a symbolic axis such as a
sequence length). The folder is built under a staging name and swapped in only once the
ONNX file verified; an existing folder is replaced only if it is an earlier Triton export.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.export_formats import safe_stem
from workbench.export.report import ExportError
from workbench.export.staging import remove_quietly, replace_folder, staging_path

if TYPE_CHECKING:
    from workbench.export.service import ExportContext, ExportResult, Trained

#: The largest batch Triton may form; the ONNX file's batch axis is symbolic.
MAX_BATCH_SIZE = 64
#: The first line of every config.pbtxt the workbench writes (a text-format comment).
MARKER = "# Written by Model Workbench"
#: ONNX TensorProto element types -> Triton's model-config data types.
TRITON_TYPES = {
    1: "TYPE_FP32",
    2: "TYPE_UINT8",
    3: "TYPE_INT8",
    4: "TYPE_UINT16",
    5: "TYPE_INT16",
    6: "TYPE_INT32",
    7: "TYPE_INT64",
    9: "TYPE_BOOL",
    10: "TYPE_FP16",
    11: "TYPE_FP64",
    12: "TYPE_UINT32",
    13: "TYPE_UINT64",
    16: "TYPE_BF16",
}


def tensor_configs(onnx_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(inputs, outputs)`` of an ONNX file as Triton sees them: name, data type and dims
    without the batch axis (-1 where an axis is symbolic)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}

    def describe(values: Any) -> list[dict[str, Any]]:
        out = []
        for v in values:
            if v.name in initializers:
                continue
            t = v.type.tensor_type
            if t.elem_type not in TRITON_TYPES:
                raise ExportError(
                    f"{v.name}: its data type ({onnx.TensorProto.DataType.Name(t.elem_type)}) has no Triton equivalent"
                )
            dims = [
                d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1
                for d in t.shape.dim
            ]
            out.append(
                {"name": v.name, "data_type": TRITON_TYPES[t.elem_type], "dims": dims[1:] or [1]}
            )
        return out

    return describe(model.graph.input), describe(model.graph.output)


def config_text(
    name: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    *,
    source: str = "",
    label_file: str | None = None,
    max_batch_size: int = MAX_BATCH_SIZE,
) -> str:
    """The ``config.pbtxt`` of model ``name`` (protobuf text format of Triton's ModelConfig)."""

    def block(t: dict[str, Any], labels: str | None = None) -> str:
        lines = [
            "  {",
            f'    name: "{t["name"]}"',
            f"    data_type: {t['data_type']}",
            f"    dims: [ {', '.join(str(d) for d in t['dims'])} ]",
        ]
        if labels:
            lines.append(f'    label_filename: "{labels}"')
        return "\n".join([*lines, "  }"])

    head = [
        MARKER + (f" from {source}" if source else ""),
        f'name: "{name}"',
        'platform: "onnxruntime_onnx"',
        f"max_batch_size: {max_batch_size}",
    ]
    ins = ",\n".join(block(t) for t in inputs)
    outs = ",\n".join(block(t, label_file if i == 0 else None) for i, t in enumerate(outputs))
    return "\n".join(
        [*head, f"input [\n{ins}\n]", f"output [\n{outs}\n]", "dynamic_batching { }", ""]
    )


def is_triton_export(folder: Path) -> bool:
    """True for an empty folder or one whose every entry is a model folder the workbench wrote."""
    try:
        entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
        for entry in entries:
            config = entry / "config.pbtxt"
            if not config.is_file():
                return False
            with open(config, encoding="utf-8") as f:
                if not f.readline().startswith(MARKER):
                    return False
        return True
    except (OSError, UnicodeDecodeError):
        return False


def export_triton(trained: Trained, target: Path, ctx: ExportContext) -> ExportResult:
    """Write ``target`` as a Triton model repository holding the verified ONNX export."""
    from workbench.export.service import ExportResult, onnx_lines, write_verified_onnx

    if target.exists() and not target.is_dir():
        raise ExportError(f"{target}: is a file; give a folder for the model repository")
    if target.is_dir() and not is_triton_export(target):
        raise ExportError(
            f"{target}: exists and is not an earlier Triton export; choose a new folder"
        )
    name = safe_stem(trained.project.name)
    staging = staging_path(target, suffix="")
    model_dir = staging / name
    onnx_file = model_dir / "1" / "model.onnx"
    try:
        onnx_file.parent.mkdir(parents=True)
        verified = write_verified_onnx(trained, onnx_file, ctx)
        ctx.say("writing config.pbtxt")
        inputs, outputs = tensor_configs(onnx_file)
        classes = verified.info.classes if verified.info.task == "classification" else None
        label_file = None
        if classes and len(outputs) == 1:
            label_file = "labels.txt"
            (model_dir / label_file).write_text(
                "".join(f"{c}\n" for c in classes), encoding="utf-8"
            )
        text = config_text(name, inputs, outputs, source=ctx.source, label_file=label_file)
        (model_dir / "config.pbtxt").write_text(text, encoding="utf-8")
        ctx.check_cancelled()
        try:
            replace_folder(staging, target)
        except OSError as e:
            raise ExportError(f"{target}: cannot be replaced ({e.strerror or e})") from None
    except BaseException as e:
        remove_quietly(staging)  # the folder already at target (an earlier export) is kept
        if isinstance(e, ExportError) and str(staging) in str(e):
            raise ExportError(str(e).replace(str(staging), str(target))) from None
        raise
    final = target / name
    report = verified.report
    report.path = final / "1" / "model.onnx"
    lines, notes = onnx_lines(verified, ctx.source)
    shapes = "; ".join(f"{t['name']} {t['data_type']} {t['dims']}" for t in inputs + outputs)
    lines.insert(
        1,
        f"wrote {final / 'config.pbtxt'} (platform onnxruntime_onnx, max_batch_size {MAX_BATCH_SIZE}, "
        f"dynamic batching; {shapes}): tritonserver --model-repository={target}",
    )
    files = [final / "config.pbtxt", report.path] + ([final / label_file] if label_file else [])
    return ExportResult(
        "triton", target, files, lines, onnx=report, notes=[*trained.notes, *notes], verified=True
    )
