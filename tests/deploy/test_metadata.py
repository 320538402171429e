"""The metadata contract of an exported file: parse, round trip, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.deploy.models import Exported
from workbench.deploy.metadata import (
    FORMAT,
    MetadataError,
    ModelInfo,
    metadata_props,
    parse,
    read_metadata,
)


def _info(**changes: object) -> ModelInfo:
    base: dict[str, object] = {
        "task": "classification",
        "input_name": "x",
        "input_shape": ["batch", 3, 8, 8],
        "input_dtype": "float32",
        "preprocessing": {
            "kind": "image",
            "size": [8, 8],
            "color": "rgb",
            "mean": [0.5] * 3,
            "std": [0.2] * 3,
        },
        "classes": ["cat", "dog"],
        "output": {"kind": "logits", "activation": "softmax", "size": 2},
        "metrics": {"epoch": 2, "val_loss": 0.25},
        "extra": {"run": "r1", "project": "pets"},
    }
    base.update(changes)
    return ModelInfo(**base)  # type: ignore[arg-type]


def test_props_round_trip() -> None:
    info = _info()
    props = metadata_props(info)
    assert props["format"] == FORMAT and all(isinstance(v, str) for v in props.values())
    assert parse(props) == info
    d = parse(props).to_dict()
    assert d["input"] == {"name": "x", "shape": ["batch", 3, 8, 8], "dtype": "float32"}
    assert d["run"] == "r1" and d["classes"] == ["cat", "dog"]
    json.dumps(d)


def test_activation_defaults_follow_the_task() -> None:
    assert _info(output={}).activation == "softmax"
    assert _info(task="regression", classes=None, output={}).activation == "none"
    assert _info(output={"activation": "sigmoid"}).activation == "sigmoid"


def _props(**changes: str | None) -> dict[str, str]:
    props = metadata_props(_info())
    for k, v in changes.items():
        if v is None:
            props.pop(k, None)
        else:
            props[k] = v
    return props


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": None}, "not a Model Workbench export"),
        ({"format": "something-else"}, "not a Model Workbench export"),
        ({"format_version": "two"}, "format_version is not a number"),
        ({"format_version": "99"}, "newer Model Workbench"),
        ({"task": "segmentation"}, "'segmentation', not classification or regression"),
        ({"input_name": None}, "no 'input_name'"),
        ({"input_shape": None}, "no 'input_shape'"),
        ({"classes": None}, "no class names"),
        ({"classes": "[]"}, "no class names"),
        ({"classes": '{"a": 1}'}, "'classes' should be a list"),
        ({"preprocessing": "{not json"}, "'preprocessing' is not valid JSON"),
        ({"preprocessing": "[1, 2]"}, "'preprocessing' should be a dict"),
        ({"input_shape": "[]"}, "input_shape should list sizes"),
        ({"input_shape": '["batch", -3]'}, "input_shape should list sizes"),
        ({"input_shape": '["batch", 2.5]'}, "input_shape should list sizes"),
        ({"output": '{"size": 5}'}, "names 2 classes but says the output has 5 values"),
    ],
)
def test_malformed_metadata_is_one_line(changes: dict[str, str | None], message: str) -> None:
    with pytest.raises(MetadataError, match=message) as e:
        parse(_props(**changes))
    assert "\n" not in str(e.value)


def test_regression_needs_no_classes() -> None:
    info = parse(
        _props(
            task="regression",
            classes=None,
            output='{"kind": "values", "size": 2, "names": ["a", "b"]}',
        )
    )
    assert info.classes is None and info.output["names"] == ["a", "b"]


def test_read_metadata_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="no such file"):
        read_metadata(tmp_path / "missing.onnx")
    with pytest.raises(MetadataError, match="is a folder"):
        read_metadata(tmp_path)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 this is not a protobuf \x13\x37" * 10)
    with pytest.raises(MetadataError, match="junk.onnx: not an ONNX file"):
        read_metadata(junk)


def test_read_metadata_of_an_export(image_model: Exported) -> None:
    info = read_metadata(image_model.path)
    assert info.classes == ["cat", "dog", "fox"] and info.kind == "image"
    assert info.input_shape == ["batch", 3, 8, 8]
    assert info.extra["opset"] == "18" and info.extra["exporter"].startswith("torch")
