"""ONNX export that is verified before it is reported done.

The recipe (see ARCHITECTURE.md): an eval-mode deep copy under ``torch.no_grad()``,
``torch.onnx.export(..., dynamo=True)`` with ``opset_version`` and ``dynamic_shapes``
passed explicitly, traced at a batch of 2 so the batch axis stays symbolic. The file is
written to a temporary name beside the target, checked with ``onnx.checker`` (full
check), run with onnxruntime against PyTorch at batch sizes 1 and 7 (and, for a
symbolic sequence axis, at a second sequence length), and only then renamed into place.
A failed or interrupted export writes nothing at the target path: a file already there
is kept.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.core.fileio import replace_retrying
from workbench.export.report import ExportError, ExportReport, one_line

TRACE_BATCH = 2
CHECK_BATCHES: tuple[int, ...] = (1, 7)
MAX_BYTES = 2 * 1024**3 - 64 * 1024**2  # one self-contained file; protobuf's limit is 2 GiB

_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "int64": torch.int64,
    "int32": torch.int32,
}


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """Keep the exporter's prints, warnings and info logs off the console."""
    buf = io.StringIO()
    loggers = [
        logging.getLogger(n)
        for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "torch.fx")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                yield buf
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _torch_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise ExportError(
            f"unsupported input dtype '{dtype}' (known: {', '.join(_DTYPES)})"
        ) from None


def _vocab(model: nn.Module) -> int:
    """The token range for integer inputs: the smallest Embedding's ``num_embeddings``."""
    sizes = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
    return min(sizes) if sizes else 2


def _sequence_blockers(model: nn.Module) -> list[str]:
    """Layers that fix the sequence length (their tables or weights have T in them)."""
    from workbench.engine.modules import PositionalEncoding, Reshape

    found = []
    for name, m in model.named_modules():
        if isinstance(m, PositionalEncoding) and m.kind == "learned":
            found.append(
                f"{name or 'model'} (PositionalEncoding, a learned table of length {m.length})"
            )
        elif isinstance(m, Reshape):
            found.append(f"{name or 'model'} ({type(m).__name__})")
    return found


def _sample(
    shape: Sequence[int], dtype: torch.dtype, vocab: int, gen: torch.Generator
) -> torch.Tensor:
    if dtype.is_floating_point:
        return torch.randn(*shape, generator=gen).to(dtype)
    return torch.randint(0, vocab, tuple(shape), generator=gen, dtype=dtype)


def _flat(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat(o)]
    if isinstance(out, Mapping):
        return [t for o in out.values() for t in _flat(o)]
    raise ExportError(f"the model returns {type(out).__name__}, not tensors")


def _remove(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def output_difference(got: Any, want: Any) -> float:
    """The largest difference between two outputs, in units of ``max(1, |want|)``.

    Absolute for values up to 1 (logits, probabilities, standardized values) and relative
    beyond: float32 carries about seven digits, so a regression output in its own units
    (a price of 250,000) cannot agree with PyTorch to 1e-4 absolutely, only relatively.
    NaN counts as infinitely far; empty outputs as equal.
    """
    import numpy as np

    a = np.asarray(got, dtype=np.float64)
    b = np.asarray(want, dtype=np.float64)
    if not b.size:
        return 0.0
    diff = float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))
    return math.inf if math.isnan(diff) else diff


def export_onnx(
    model: nn.Module,
    input_shape: Sequence[int],
    input_dtype: str | torch.dtype,
    path: str | os.PathLike[str],
    *,
    opset: int = 18,
    metadata: Mapping[str, str] | None = None,
    tolerance: float = 1e-4,
    sequence_axis: bool = False,
) -> ExportReport:
    """Export ``model`` to ``path`` as one verified ``.onnx`` file.

    Args:
        model: the module; it is deep-copied and put in eval mode (the caller's is untouched).
        input_shape: one sample's shape, without the batch axis (e.g. ``[1, 28, 28]``).
        input_dtype: ``"float32"``, ``"int64"``… (integer inputs are token ids below the
            model's Embedding size).
        path: the target file; written only if the export verifies.
        opset: the ONNX opset (18 by default).
        metadata: extra ``metadata_props`` entries (task, class names, preprocessing…).
        tolerance: the largest allowed difference between onnxruntime and torch, absolute
            for outputs up to 1 and relative beyond (:func:`output_difference`).
        sequence_axis: also make axis 1 (the sequence) symbolic, when the model allows it.

    Raises:
        ExportError: the exporter failed, the checker rejected the file, or onnxruntime
            disagrees with torch by more than ``tolerance``. Nothing is written at ``path``
            then (a file already there is kept).
    """
    import numpy as np
    import onnx
    import onnxruntime as ort

    from workbench.core.export_check import MAX_OPSET, MIN_OPSET

    start = time.perf_counter()
    if not MIN_OPSET <= int(opset) <= MAX_OPSET:
        raise ExportError(
            f"opset {opset} is not supported: the exporter writes opsets {MIN_OPSET} to {MAX_OPSET}"
        )
    target = Path(path)
    shape = [int(s) for s in input_shape]
    dtype = _torch_dtype(input_dtype)
    dtype_name = str(dtype).removeprefix("torch.")
    notes: list[str] = []
    try:
        net = copy.deepcopy(model).cpu().eval()
    except Exception as e:
        raise ExportError(f"the model cannot be copied for export ({one_line(e)})") from None
    from workbench.export.onnx_ops import TRANSLATIONS, make_exportable

    vocab = _vocab(net)
    reference = net  # torch's answers come from the model as trained
    exportable = copy.deepcopy(net)
    make_exportable(exportable)
    gen = torch.Generator().manual_seed(0)

    size = sum(t.numel() * t.element_size() for t in net.state_dict().values())
    if size > MAX_BYTES:
        raise ExportError(
            f"the model's weights take {size / 1024**3:.1f} GiB; a single .onnx file holds under 2 GiB"
        )

    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    axes: dict[int, Any] = {0: batch}
    dynamic_axes = {0: "batch"}
    seq_len = shape[0] if shape else 0
    if sequence_axis:
        blockers = _sequence_blockers(net)
        if not shape:
            notes.append("the input has no sequence axis; only the batch axis is symbolic")
        elif blockers:
            notes.append(f"the sequence length stays {seq_len}: fixed by {', '.join(blockers)}")
        else:
            axes[1] = torch.export.Dim("sequence", min=1, max=1 << 16)
            dynamic_axes[1] = "sequence"

    example = _sample([TRACE_BATCH, *shape], dtype, vocab, gen)

    def _export(dyn: dict[int, Any]) -> Any:
        with _quiet(), torch.no_grad():
            return torch.onnx.export(
                exportable,
                (example,),
                dynamo=True,
                opset_version=opset,
                dynamic_shapes={"x": dyn},
                input_names=["x"],
                output_names=["y"],
                external_data=False,
                report=False,
                verify=False,
                custom_translation_table=TRANSLATIONS,
            )

    try:
        try:
            program = _export(axes)
        except Exception as e:
            if 1 not in axes:
                raise
            notes.append(
                f"the sequence length stays {seq_len}: it cannot be symbolic ({one_line(e)})"
            )
            del axes[1], dynamic_axes[1]
            program = _export(axes)
    except ExportError:
        raise
    except Exception as e:
        raise ExportError(f"the ONNX exporter failed: {one_line(e)}") from None
    if program is None:
        raise ExportError("the ONNX exporter returned nothing")

    proto = program.model_proto
    written = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if written != [opset]:
        raise ExportError(
            f"the exporter wrote opset {written[0] if written else '?'} instead of {opset}"
        )
    if not proto.graph.input:
        raise ExportError("the exported graph has no input")
    input_name = proto.graph.input[0].name
    exported = list(proto.graph.input[0].type.tensor_type.shape.dim)
    for axis in list(axes):
        if axis < len(exported) and not exported[axis].dim_param:
            # the exporter specialised the axis (e.g. an RNN unrolled over its steps)
            what = "batch size" if axis == 0 else "sequence length"
            notes.append(
                f"the {what} stays {exported[axis].dim_value}: the exported graph fixes it (e.g. an RNN unrolled over its steps)"
            )
            del axes[axis], dynamic_axes[axis]
    if 0 not in axes:
        raise ExportError(
            "the batch axis could not be kept symbolic; the model fixes the batch size"
        )
    dims: list[str | int] = [dynamic_axes.get(i + 1, s) for i, s in enumerate(shape)]
    props = {
        "input_name": input_name,
        "input_shape": json.dumps(["batch", *dims]),
        "input_dtype": dtype_name,
        "opset": str(opset),
        "exporter": f"torch {torch.__version__} (dynamo)",
    }
    props.update({str(k): str(v) for k, v in (metadata or {}).items()})
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is not what an exported file should have
    except OSError as e:
        raise ExportError(f"{target}: cannot write here ({e.strerror or e})") from None
    try:
        try:
            onnx.save_model(proto, tmp)
        except Exception as e:
            raise ExportError(
                f"{target}: the ONNX file cannot be written ({one_line(e)})"
            ) from None
        try:
            onnx.checker.check_model(tmp, full_check=True)
        except Exception as e:
            raise ExportError(f"the ONNX checker rejects the file: {one_line(e)}") from None

        try:
            options = ort.SessionOptions()
            options.log_severity_level = 3
            with open(tmp, "rb") as f:
                session = ort.InferenceSession(
                    f.read(), options, providers=["CPUExecutionProvider"]
                )
        except Exception as e:
            raise ExportError(f"onnxruntime cannot load the file: {one_line(e)}") from None

        lengths = [seq_len]
        if 1 in axes:
            lengths.append(seq_len + 3)
        worst = 0.0
        for n in CHECK_BATCHES:
            for t in lengths:
                dims_now = [n, *shape]
                if shape:
                    dims_now[1] = t
                x = _sample(dims_now, dtype, vocab, gen)
                with torch.no_grad():
                    expected = [o.detach().cpu().numpy() for o in _flat(reference(x))]
                try:
                    got = session.run(None, {input_name: x.numpy()})
                except Exception as e:
                    raise ExportError(f"onnxruntime fails at batch {n}: {one_line(e)}") from None
                if len(got) != len(expected):
                    raise ExportError(
                        f"onnxruntime returns {len(got)} outputs, torch {len(expected)}"
                    )
                for a, b in zip(got, expected, strict=True):
                    if np.shape(a) != np.shape(b):
                        raise ExportError(
                            f"at batch {n}, onnxruntime gives shape {list(np.shape(a))}, torch {list(np.shape(b))}"
                        )
                    worst = max(worst, output_difference(a, b))
        if not worst <= tolerance:
            raise ExportError(
                f"onnxruntime differs from torch by up to {worst:.3g} (tolerance {tolerance:g}); the file was not kept"
            )
        try:
            replace_retrying(tmp, target)
        except OSError as e:
            raise ExportError(f"{target}: cannot be replaced ({e.strerror or e})") from None
    except BaseException:
        _remove(tmp)  # a file already at the target stays as it was
        raise

    return ExportReport(
        path=target,
        opset=opset,
        max_abs_diff=worst,
        batch_sizes_checked=CHECK_BATCHES,
        dynamic_axes=dict(dynamic_axes),
        seconds=time.perf_counter() - start,
        notes=notes,
        sequence_lengths_checked=tuple(lengths) if sequence_axis and shape else (),
        input_name=input_name,
        tolerance=tolerance,
        size_bytes=target.stat().st_size,
    )
