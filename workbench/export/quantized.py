"""The ``onnx-int8`` export format: the verified float ONNX file with 8-bit weights.

The float export is written and verified first (:func:`~workbench.export.service.write_verified_onnx`),
then quantized with onnxruntime's dynamic quantization (weights stored as int8, activations
quantized on the fly), and kept only if its predictions on the dataset's own samples
agree with the float model's:

* classification: the top-1 class (for multi-label, each label's yes/no) is the same on
  at least :data:`MIN_AGREEMENT` of the samples;
* regression: the mean absolute difference is at most :data:`MAX_RELATIVE_ERROR` of the
  spread (standard deviation) of the float model's predictions, per output.

The file carries the float file's metadata, so ``workbench predict`` and the server use
it as they use the float file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.export.report import ExportError
from workbench.export.staging import remove_quietly, staging_path

if TYPE_CHECKING:
    from workbench.export.service import ExportContext, ExportResult, Trained

#: Classification: the share of samples whose predicted class must not change.
MIN_AGREEMENT = 0.99
#: Regression: the largest mean absolute difference, as a fraction of the predictions' spread.
MAX_RELATIVE_ERROR = 0.05
#: Dataset samples the int8 file is compared on.
SAMPLES = 256
#: The operators whose weights are quantized.
OP_TYPES = ["MatMul", "Gemm", "Conv", "LSTM", "GRU", "Attention", "Gather"]


def quantize(float_path: Path, out: Path) -> None:
    """Write ``float_path`` with int8 weights to ``out`` (metadata kept)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its advice to pre-process the model goes to the root logger
    try:
        quantize_dynamic(
            str(float_path), str(out), op_types_to_quantize=OP_TYPES, weight_type=QuantType.QUInt8
        )
    finally:
        logging.disable(previous)
    source, model = onnx.load(str(float_path)), onnx.load(str(out))
    have = {p.key for p in model.metadata_props}
    for prop in source.metadata_props:
        if prop.key not in have:
            model.metadata_props.add(key=prop.key, value=prop.value)
    model.metadata_props.add(key="quantization", value="dynamic int8 weights (onnxruntime)")
    onnx.save(model, str(out))


def agreement(float_out: Any, int8_out: Any, task: str, activation: str) -> tuple[float, str]:
    """How close the int8 predictions are to the float ones: ``(figure, description)``; for
    classification the share of agreeing samples, for regression the relative error."""
    import numpy as np

    a = np.asarray(float_out, dtype=np.float64).reshape(len(float_out), -1)
    b = np.asarray(int8_out, dtype=np.float64).reshape(len(int8_out), -1)
    if task == "classification":
        same = (a > 0) == (b > 0) if activation == "sigmoid" else a.argmax(1) == b.argmax(1)
        share = float(np.mean(same)) if same.size else 1.0
        return (
            share,
            f"top-1 agreement {share:.1%} with the float model (at least {MIN_AGREEMENT:.0%} required)",
        )
    spread = a.std(axis=0)
    scale = np.where(spread > 0, spread, np.maximum(np.abs(a).mean(axis=0), 1e-12))
    rel = float(np.max(np.abs(a - b).mean(axis=0) / scale)) if a.size else 0.0
    return rel, (
        f"mean abs difference {rel:.2%} of the predictions' spread "
        f"(at most {MAX_RELATIVE_ERROR:.0%} allowed)"
    )


def export_onnx_int8(trained: Trained, target: Path, ctx: ExportContext) -> ExportResult:
    """Write ``target`` as the int8 ONNX file, verified against the float model."""
    import numpy as np

    from workbench.deploy.predict import PredictError, Predictor
    from workbench.export.service import (
        ExportResult,
        encode_samples,
        onnx_lines,
        replace_file,
        write_verified_onnx,
    )

    float_file = staging_path(target, "float", ".onnx")
    staging = staging_path(target, suffix=".onnx")
    try:
        verified = write_verified_onnx(trained, float_file, ctx)
        ctx.say("quantizing the weights to 8 bits")
        try:
            quantize(float_file, staging)
        except Exception as e:  # onnxruntime's quantizer raises many kinds
            raise ExportError(
                f"onnxruntime cannot quantize this model: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
            ) from None
        ctx.check_cancelled()
        ctx.say("comparing the int8 file's predictions with the float model's")
        info = verified.info
        try:
            x, why = (
                encode_samples(trained, float_file, SAMPLES)
                if ctx.check_samples
                else (None, "dataset samples not checked")
            )
            if x is None:  # still check that the file runs and answers in the right shape
                inp = Predictor(float_file, threads=1)
                shape = [d if isinstance(d, int) else 4 for d in inp.input_shape[1:]]
                x = np.random.default_rng(0).standard_normal((7, *shape)).astype(inp.dtype)
                if inp.dtype.kind == "i":
                    x = np.zeros((7, *shape), dtype=inp.dtype)
            float_out = Predictor(float_file, threads=1).run(x)
            int8_out = Predictor(staging, threads=1).run(x)
        except PredictError as e:
            raise ExportError(f"the int8 file cannot predict: {e}") from None
        if int8_out.shape != float_out.shape or not np.all(np.isfinite(int8_out)):
            raise ExportError(
                "the int8 file's outputs differ in shape from the float file's, or are not finite"
            )
        figure, described = agreement(
            float_out, int8_out, info.task, str(info.output.get("activation", ""))
        )
        ok = (
            figure >= MIN_AGREEMENT
            if info.task == "classification"
            else figure <= MAX_RELATIVE_ERROR
        )
        if why == "" and not ok:
            raise ExportError(
                f"on {len(x)} samples of the dataset the int8 file's {described}; the file was not kept"
            )
        float_size, int8_size = float_file.stat().st_size, staging.stat().st_size
        ctx.check_cancelled()
        replace_file(staging, target)
    except BaseException as e:
        remove_quietly(staging)  # the file already at target (an earlier export) is kept
        for p in (staging, float_file):
            if isinstance(e, ExportError) and str(p) in str(e):
                e = ExportError(str(e).replace(str(p), str(target)))
        if isinstance(e, ExportError):
            raise e from None
        raise
    finally:
        remove_quietly(float_file)
    report = verified.report
    report.path = target
    float_lines, notes = onnx_lines(verified, ctx.source)
    lines = [
        f"wrote {target} ({ctx.source}, opset {report.opset}, int8 weights): {int8_size / 1024:.0f} KiB, "
        f"{int8_size / float_size:.0%} of the float file's {float_size / 1024:.0f} KiB",
        f"the float export verified first: {float_lines[1]}",
    ]
    if why:
        notes.append(
            f"int8 predictions not compared on the dataset ({why}); the file runs on random inputs"
        )
    else:
        lines.append(f"on {len(x)} samples of the dataset: {described}")
    lines += [ln for ln in float_lines[2:] if ln.startswith("final metrics")]
    details = {
        "float_bytes": float_size,
        "int8_bytes": int8_size,
        "agreement" if info.task == "classification" else "relative_error": figure,
    }
    return ExportResult(
        "onnx-int8",
        target,
        [target],
        lines,
        notes=[*trained.notes, *notes],
        verified=True,
        details=details,
    )
