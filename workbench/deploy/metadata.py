"""What an exported ``.onnx`` file says about itself, read and written without torch.

Every model the workbench exports carries these ``metadata_props`` (all values are
strings; the ``JSON`` ones hold JSON text). They are enough to use the file with
onnxruntime alone: :mod:`workbench.deploy.predict` and ``workbench serve`` read nothing
else.

=====================  ==========================================================
key                    value
=====================  ==========================================================
``format``             ``"model-workbench-onnx"``
``format_version``     ``"1"``
``workbench_version``  the workbench that wrote the file
``task``               ``"classification"`` or ``"regression"``
``classes``            JSON list of class names (classification), else absent
``output``             JSON ``{"kind": "logits" | "values", "activation":
                       "softmax" | "sigmoid" | "none", "size": K, "names": [...]}``:
                       what the model's output holds and how it becomes
                       probabilities (softmax over classes for cross-entropy,
                       sigmoid per class for BCE, none for regression); ``names``
                       are the regression targets' names when known
``input_name``         the graph input's name
``input_shape``        JSON list, ``"batch"`` (and ``"sequence"`` when symbolic)
                       for symbolic axes, e.g. ``["batch", 3, 32, 32]``
``input_dtype``        ``"float32"`` or ``"int64"``
``preprocessing``      JSON, the dataset's preprocessing (``Prepared.preprocessing``),
                       ``{"kind": "image" | "table" | "arrays", ...}`` (see below);
                       ``{}`` when the model was exported without a dataset
``metrics``            JSON, the final metrics of the exported checkpoint:
                       ``{"epoch": n, "val_loss": ..., "val_accuracy": ...}``
``project``, ``run``   where it came from
``opset``, ``exporter``  how it was exported
=====================  ==========================================================

Preprocessing kinds (what inference must do to raw input):

* ``image``: ``size`` [h, w], ``color`` "rgb"/"grayscale", ``mean`` and ``std`` per
  channel. Decode with :func:`workbench.data.decode.decode_image` (uint8 CHW), then
  ``x * float32(1/255)``, then ``(x - mean) * float32(1/std)`` per channel, float32.
* ``table``: ``features`` (numeric ones with ``mean``/``std``, categorical ones with
  ``categories`` and ``fill``), ``feature_names``, ``target``. Encode rows with
  :func:`workbench.data.tables.encode_rows` / :func:`~workbench.data.tables.encode_file`.
* regression models also carry ``target_scale`` (``mean``, ``std`` per target): training
  fitted standardized targets, and the exported file already multiplies by ``std`` and
  adds ``mean``, so its outputs are in the targets' own units; inference does nothing
  with it.
* ``arrays``: ``layout`` "features" | "images" | "sequences" | "tokens", optional
  ``mean``/``std``, ``seq_len``, ``scale``, ``channels_last``. Encode raw samples (as
  stored in the training file's ``x``) with :func:`workbench.data.arrays.encode_x`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from workbench.data.inference import ModelInfo

FORMAT = "model-workbench-onnx"
FORMAT_VERSION = 1


class MetadataError(ValueError):
    """The file is not a usable exported model; the message is one line."""


def metadata_props(info: ModelInfo) -> dict[str, str]:
    """The ``metadata_props`` entries that describe ``info`` (the inverse of :func:`parse`)."""
    props = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "task": info.task,
        "output": json.dumps(info.output),
        "input_name": info.input_name,
        "input_shape": json.dumps(info.input_shape),
        "input_dtype": info.input_dtype,
        "preprocessing": json.dumps(info.preprocessing),
        "metrics": json.dumps(info.metrics),
    }
    if info.classes is not None:
        props["classes"] = json.dumps(list(info.classes))
    for k, v in info.extra.items():
        props.setdefault(k, v)
    return props


def _json(props: Mapping[str, str], key: str, kind: type, default: Any) -> Any:
    text = props.get(key)
    if text is None:
        return default
    try:
        value = json.loads(text)
    except ValueError:
        raise MetadataError(f"the metadata entry '{key}' is not valid JSON") from None
    if value is None:
        return default
    if not isinstance(value, kind):
        raise MetadataError(f"the metadata entry '{key}' should be a {kind.__name__}")
    return value


def parse(props: Mapping[str, str]) -> ModelInfo:
    """Parse ``metadata_props`` (a key → string mapping).

    Raises:
        MetadataError: the entries are missing or malformed (not a workbench export).
    """
    if props.get("format") != FORMAT:
        raise MetadataError(
            "not a Model Workbench export (its metadata has no 'format: model-workbench-onnx')"
        )
    try:
        version = int(props.get("format_version", "1"))
    except ValueError:
        raise MetadataError("the metadata's format_version is not a number") from None
    if version > FORMAT_VERSION:
        raise MetadataError(f"written by a newer Model Workbench (format version {version})")
    task = props.get("task")
    if task not in ("classification", "regression"):
        raise MetadataError(f"the metadata's task is {task!r}, not classification or regression")
    for key in ("input_name", "input_shape", "input_dtype"):
        if key not in props:
            raise MetadataError(f"the metadata has no '{key}'")
    classes = _json(props, "classes", list, None)
    if task == "classification" and not classes:
        raise MetadataError("a classification model's metadata has no class names")
    shape = _json(props, "input_shape", list, [])
    if not shape or not all(
        isinstance(s, str) or (isinstance(s, int) and not isinstance(s, bool) and s > 0)
        for s in shape
    ):
        raise MetadataError(
            'the metadata\'s input_shape should list sizes and axis names, e.g. ["batch", 3, 32, 32]'
        )
    output = _json(props, "output", dict, {})
    size = output.get("size")
    if task == "classification" and classes and isinstance(size, int) and size != len(classes):
        raise MetadataError(
            f"the metadata names {len(classes)} classes but says the output has {size} values"
        )
    known = {
        "format",
        "format_version",
        "task",
        "classes",
        "output",
        "input_name",
        "input_shape",
        "input_dtype",
        "preprocessing",
        "metrics",
    }
    return ModelInfo(
        task=task,
        input_name=props["input_name"],
        input_shape=shape,
        input_dtype=props["input_dtype"],
        preprocessing=_json(props, "preprocessing", dict, {}),
        classes=[str(c) for c in classes] if classes is not None else None,
        output=output,
        metrics=_json(props, "metrics", dict, {}),
        extra={k: v for k, v in props.items() if k not in known},
    )


def read_metadata(path: str | os.PathLike[str]) -> ModelInfo:
    """Read and parse the metadata of an exported ``.onnx`` file (onnx only, no torch).

    Raises:
        MetadataError: the file is missing, not ONNX, or not a workbench export.
    """
    import onnx

    try:
        model = onnx.load(os.fspath(path), load_external_data=False)
    except FileNotFoundError:
        raise MetadataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MetadataError(f"{path}: is a folder, not an .onnx file") from None
    except Exception as e:  # protobuf's DecodeError and friends
        raise MetadataError(f"{path}: not an ONNX file ({type(e).__name__})") from None
    try:
        return parse({p.key: p.value for p in model.metadata_props})
    except MetadataError as e:
        raise MetadataError(f"{path}: {e}") from None


# ModelInfo is defined beside the preprocessing that reads it (workbench.data.inference),
# so the engine's Try it can build one for a run without importing deploy.
__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MetadataError",
    "ModelInfo",
    "metadata_props",
    "parse",
    "read_metadata",
]
