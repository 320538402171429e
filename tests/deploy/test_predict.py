"""The Predictor: loading, encoding files and instances, running in chunks, and its outputs."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.deploy.models import Exported, one_line
from workbench.data.tables import encode_file
from workbench.deploy.metadata import ModelInfo, metadata_props
from workbench.deploy.predict import PredictError, Predictor, sigmoid, softmax

# --------------------------------------------------------------------------- activations


def test_softmax_is_stable_and_sums_to_one() -> None:
    z = np.array(
        [[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0], [0.0, 1.0, 2.0]], np.float32
    )
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = softmax(z)
    assert p.dtype == np.float64 and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    small = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(p[2], small, rtol=1e-12)
    np.testing.assert_allclose(
        p[0], p[2][[1, 2, 0]], rtol=1e-12
    )  # shifting the logits changes nothing
    np.testing.assert_allclose(p[1], 1 / 3, rtol=1e-12)


def test_sigmoid_never_overflows() -> None:
    z = np.array([-1000.0, -30.0, 0.0, 2.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = sigmoid(z)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-np.clip(z, -700, 700))), rtol=1e-12, atol=1e-300)
    assert p[0] == 0.0 and p[2] == 0.5 and p[-1] == 1.0


# --------------------------------------------------------------------------- loading


def test_loading_errors_are_one_line(tmp_path: Path, image_model: Exported) -> None:
    junk = tmp_path / "notes.onnx"
    junk.write_text("not a model\n")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    # A valid ONNX model that the workbench did not write.
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
    )
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), foreign)
    # Workbench metadata that names an input the graph does not have.
    model = onnx.load(image_model.path)
    for p in model.metadata_props:
        if p.key == "input_name":
            p.value = "pixels"
    renamed = tmp_path / "renamed.onnx"
    onnx.save(model, renamed)
    cases = {
        tmp_path / "missing.onnx": "no such file",
        tmp_path: "is a folder",
        empty: "the file is empty",
        junk: "not an ONNX model onnxruntime can load",
        foreign: "not a Model Workbench export",
        renamed: "names the input 'pixels' but the graph's inputs are 'x'",
    }
    for path, message in cases.items():
        with pytest.raises(PredictError, match=message) as e:
            Predictor(path)
        assert one_line(str(e.value)) and str(path) in str(e.value)


def test_metadata_that_disagrees_with_the_graph_is_refused(
    tmp_path: Path, table_model: Exported
) -> None:
    model = onnx.load(table_model.path)
    for p in model.metadata_props:
        if p.key == "input_shape":
            p.value = '["batch", 7]'
    bad = tmp_path / "bad_shape.onnx"
    onnx.save(model, bad)
    with pytest.raises(
        PredictError, match=r"input shape \(batch, 7\) disagrees with the graph's \(batch, 5\)"
    ):
        Predictor(bad)


def test_what_a_predictor_knows(
    image_model: Exported, table_model: Exported, token_model: Exported, regression_model: Exported
) -> None:
    img = Predictor(image_model.path, threads=1)
    assert (img.name, img.kind, img.task, img.classes) == (
        "pets",
        "image",
        "classification",
        ["cat", "dog", "fox"],
    )
    assert img.input_shape == ["batch", 3, 8, 8] and img.sample_shape == [3, 8, 8]
    assert img.describe() == "classification into 3 classes (cat, dog, fox) from 8×8 rgb images"
    assert Predictor(token_model.path).input_shape == ["batch", "sequence"]
    reg = Predictor(regression_model.path)
    assert reg.target_names == ["price", "area"] and reg.classes is None
    assert "regression of 2 targets (price, area)" in reg.describe()
    assert json.loads(reg.example_instance()) == [0.0] * 4
    table = Predictor(table_model.path)
    example = json.loads(table.example_instance())
    assert list(example) == [
        "weight",
        "length",
        "colour",
    ]  # a runnable row: the training means and the most frequent category
    assert isinstance(example["weight"], float) and isinstance(example["colour"], str)
    assert len(table.predict_instances([example])) == 1


# --------------------------------------------------------------------------- files


def test_a_folder_of_images_is_searched_and_sorted(image_model: Exported) -> None:
    p = Predictor(image_model.path)
    folder = image_model.files[0].parents[1]
    x, names = p.encode_paths([folder])
    assert x.shape == (15, 3, 8, 8) and x.dtype == np.float32
    assert names == [str(folder / f.parent.name / f.name) for f in image_model.files]
    one, one_names = p.encode_paths([image_model.files[3]])
    assert one_names == [str(image_model.files[3])]
    np.testing.assert_array_equal(one[0], x[3])
    batches = list(p.iter_paths([folder], batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 4, 3]


def test_images_are_bit_identical_to_training(image_model: Exported) -> None:
    from workbench.data.image_pipeline import preprocess_image

    p = Predictor(image_model.path)
    x, _ = p.encode_paths(image_model.files[:4])
    for f, got in zip(image_model.files[:4], x, strict=True):
        np.testing.assert_array_equal(
            got, preprocess_image(f, image_model.info.preprocessing).numpy()
        )


def test_table_rows_are_named_by_file_and_row(table_model: Exported) -> None:
    p = Predictor(table_model.path)
    new = table_model.files[0]
    x, names = p.encode_paths([new, new])
    assert names == [f"{new}:{i}" for i in range(1, 6)] * 2
    np.testing.assert_array_equal(x[:5], encode_file(new, table_model.info.preprocessing))


def test_arrays_from_npy_and_npz(
    token_model: Exported, regression_model: Exported, tmp_path: Path
) -> None:
    p = Predictor(token_model.path)
    x, names = p.encode_paths(token_model.files)
    assert x.dtype == np.int64 and x.shape == (5, 6) and names[0].endswith("new_tokens.npy[0]")
    longer = tmp_path / "longer.npy"
    np.save(longer, np.ones((2, 9), np.int32))  # the sequence axis is symbolic
    assert p.encode_paths([longer])[0].shape == (2, 9)
    r = Predictor(regression_model.path)
    x, names = r.encode_paths(regression_model.files)
    assert x.shape == (3, 4) and names[2].endswith("new_houses.npz[2]")


@pytest.mark.parametrize(
    ("which", "content", "message"),
    [
        ("image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png: is not an image"),
        ("image", "fruit.csv", "this model takes image files or folders of them, not .csv files"),
        (
            "table",
            b"weight,length,colour\n1,2,red\n3,4\n",
            "line 3 has 2 fields but the header has 3",
        ),
        ("table", b"weight,colour\n1,red\n2,green\n", "no column 'length'"),
        ("table", "folder", "is a folder; this model takes .csv or .tsv files of rows"),
        ("tokens", b"not numpy", r"is not a \.npy file \(a NumPy array\)"),
        ("tokens", np.array([[1, 2, 25]]), r"token id 25 is outside the vocabulary \(0 to 19\)"),
        ("tokens", np.array([[1.5, 2.0]]), "token ids must be whole numbers"),
        (
            "houses",
            np.ones((2, 5), np.float32),
            r"holds samples shaped \(5,\); this model takes samples shaped \(4,\)",
        ),
        ("houses", np.array([[1.0, np.nan, 0, 0]]), "holds NaN or infinity"),
        ("houses", np.array([["a", "b", "c", "d"]]), "holds text, not numbers"),
        ("houses", {"y": np.ones(3), "z": np.ones(3)}, "has no array 'x'"),
    ],
)
def test_bad_input_files_are_one_line_errors(
    which: str,
    content: Any,
    message: str,
    tmp_path: Path,
    image_model: Exported,
    table_model: Exported,
    token_model: Exported,
    regression_model: Exported,
) -> None:
    model = {
        "image": image_model,
        "table": table_model,
        "tokens": token_model,
        "houses": regression_model,
    }[which]
    suffix = {"image": ".png", "table": ".csv", "tokens": ".npy", "houses": ".npy"}[which]
    path = tmp_path / f"broken{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        path = path.with_suffix(".npz")
        np.savez(path, **content)
    elif isinstance(content, np.ndarray):
        np.save(path, content)
    elif content == "folder":
        path = tmp_path
    else:
        path = tmp_path / content
        path.write_text("a,b\n1,2\n")
    with pytest.raises(PredictError, match=message) as e:
        Predictor(model.path).encode_paths([path])
    assert one_line(str(e.value))


def test_missing_inputs_fail_before_any_work(image_model: Exported, tmp_path: Path) -> None:
    p = Predictor(image_model.path)
    with pytest.raises(PredictError, match="nope.png: no such file or folder"):
        p.encode_paths([image_model.files[0], tmp_path / "nope.png"])
    with pytest.raises(PredictError, match="holds no image files"):
        p.encode_paths([tmp_path])
    with pytest.raises(PredictError, match="no inputs given"):
        p.encode_paths([])


# --------------------------------------------------------------------------- instances


def test_table_instances_as_lists_and_objects(table_model: Exported) -> None:
    p = Predictor(table_model.path)
    rows: list[list[Any]] = [
        [151, 7.3, "red"],
        ["190", "8.1", "green"],
        [172, None, "yellow"],
        [160, 7.6, "purple"],
        [155, 7.0, None],
    ]
    objects = [{"colour": c, "length": ln, "weight": w, "fruit": "ignored"} for w, ln, c in rows]
    expected = encode_file(table_model.files[0], table_model.info.preprocessing)
    np.testing.assert_array_equal(p.encode_instances(rows), expected)
    np.testing.assert_array_equal(p.encode_instances(objects), expected)
    np.testing.assert_array_equal(
        p.encode_instances([{"WEIGHT": 151, "Length": 7.3, "colour": "red"}]), expected[:1]
    )


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ([], "instances is empty"),
        (
            [[1, 2, "red"], [1, 2]],
            r"instance 1: has 2 values but the model takes 3 columns \(weight, length, colour\)",
        ),
        ([{"weight": 1, "colour": "red"}], "instance 0: has no value for the column 'length'"),
        ([[1, [2], "red"]], "instance 0: the column 'length' holds a list"),
        (
            ["150,7,red"],
            "instance 0: a table model takes a list of column values or an object of them, not a text",
        ),
    ],
)
def test_bad_table_instances(instances: list[Any], message: str, table_model: Exported) -> None:
    with pytest.raises(PredictError, match=message) as e:
        Predictor(table_model.path).encode_instances(instances)
    assert one_line(str(e.value))


def test_image_instances_are_the_files_bytes(image_model: Exported) -> None:
    p = Predictor(image_model.path)
    files = image_model.files[:3]
    instances = [{"b64": base64.b64encode(f.read_bytes()).decode()} for f in files]
    np.testing.assert_array_equal(p.encode_instances(instances), p.encode_paths(files)[0])
    cases: list[tuple[list[Any], str]] = [
        ([instances[0], {"b64": "***"}], "instance 1: 'b64' is not valid base64"),
        ([{"b64": base64.b64encode(b"hello").decode()}], "instance 0: is not an image"),
        ([[0.0] * 3], 'instance 0: an image model takes {"b64"'),
        ([{"b64": ""}], "instance 0: 'b64' holds no bytes"),
    ]
    for bad, message in cases:
        with pytest.raises(PredictError, match=message):
            p.encode_instances(bad)


def test_array_instances(token_model: Exported, regression_model: Exported) -> None:
    tokens = Predictor(token_model.path)
    assert tokens.encode_instances([[1, 2, 3, 4, 5, 6]]).dtype == np.int64
    reg = Predictor(regression_model.path)
    raw = np.load(regression_model.files[0])["x"]
    np.testing.assert_array_equal(
        reg.encode_instances(raw.tolist()), reg.encode_paths(regression_model.files)[0]
    )
    bad_arrays: list[tuple[list[Any], str]] = [
        (
            [[1, 2, 3, 4], [1, 2, 3]],
            r"instance 1: has shape \(3,\); this model takes samples shaped \(4,\)",
        ),
        ([[1, 2, 3, 4], [[1, 2], [3]]], "instance 1: is not a rectangular nested list of numbers"),
        ([[1, "a", 3, 4]], "instance 0: holds text, not numbers"),
        (
            [{"x": [1, 2, 3, 4]}],
            "instance 0: should be a number or a nested list of numbers, not an object",
        ),
    ]
    for bad, message in bad_arrays:
        with pytest.raises(PredictError, match=message):
            reg.encode_instances(bad)
    with pytest.raises(PredictError, match="instance 0: token id -1 is outside the vocabulary"):
        tokens.encode_instances([[-1, 2]])


# --------------------------------------------------------------------------- running and outputs


def test_run_goes_in_chunks_and_checks_the_shape(table_model: Exported) -> None:
    p = Predictor(table_model.path)
    x = np.random.default_rng(0).normal(size=(600, 5)).astype(np.float32)
    calls: list[int] = []
    real = p.session.run

    def counting(names: Any, feed: dict[str, np.ndarray]) -> Any:
        calls.append(len(feed["x"]))
        return real(names, feed)

    p.session.run = counting
    out = p.run(x)
    assert calls == [256, 256, 88] and out.shape == (600, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, real(None, {"x": x})[0], rtol=1e-6, atol=1e-6)
    assert p.run(np.zeros((0, 5), np.float32)).shape == (0, 3)
    with pytest.raises(
        PredictError, match=r"the input batch has shape \(2, 4\); the model takes \(batch, 5\)"
    ):
        p.run(np.zeros((2, 4), np.float32))


def test_classification_predictions(image_model: Exported) -> None:
    p = Predictor(image_model.path)
    logits = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 3.5]], np.float32)
    preds = p.predictions(logits, ["a", "b"], top_k=2)
    probs = softmax(logits)
    assert preds[0]["input"] == "a" and preds[0]["label"] == "cat" and preds[1]["label"] == "fox"
    assert preds[1]["top_k"] == [["fox", probs[1, 2]], ["dog", probs[1, 1]]]
    assert all(type(v) is float for pr in preds for _, v in pr["top_k"])
    assert type(preds[0]["probability"]) is float and "labels" not in preds[0]
    assert len(p.predictions(logits, ["a", "b"], top_k=10)[0]["top_k"]) == 3
    json.dumps(preds, allow_nan=False)
    with pytest.raises(PredictError, match="top_k must be at least 1"):
        p.predictions(logits, ["a", "b"], top_k=0)
    with pytest.raises(PredictError, match="2 outputs per sample for 3 classes"):
        p.predictions(logits[:, :2], ["a", "b"])


def test_sigmoid_predictions_score_each_class(token_model: Exported) -> None:
    p = Predictor(token_model.path)
    logits = np.array([[3.0, 1.0], [-2.0, -1.0]], np.float32)
    preds = p.predictions(logits, [0, 1])
    assert preds[0]["probability"] == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert (
        preds[0]["labels"] == ["neg", "pos"]
        and preds[1]["labels"] == []
        and preds[1]["label"] == "pos"
    )


def test_regression_predictions(regression_model: Exported, tmp_path: Path) -> None:
    p = Predictor(regression_model.path)
    preds = p.predictions(np.array([[1.5, -2.0], [np.nan, np.inf]], np.float32), ["a", "b"])
    assert preds == [{"input": "a", "value": [1.5, -2.0]}, {"input": "b", "value": [None, None]}]
    # one target: a plain float
    info = ModelInfo(
        task="regression",
        input_name="x",
        input_shape=["batch", 4],
        input_dtype="float32",
        preprocessing={},
        output={"kind": "values", "size": 1},
    )
    model = onnx.load(regression_model.path)
    del model.metadata_props[:]
    for k, v in metadata_props(info).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    raw = tmp_path / "raw.onnx"
    onnx.save(model, raw)
    q = Predictor(raw)
    assert q.kind == "" and q.target_names == ["value"]
    assert q.predictions(np.array([[0.25]], np.float32), ["a"]) == [{"input": "a", "value": 0.25}]
    # without preprocessing, instances are the model's inputs as they are
    np.testing.assert_array_equal(
        q.encode_instances([[1, 2, 3, 4]]), np.array([[1, 2, 3, 4]], np.float32)
    )


def test_the_deploy_package_does_not_import_torch() -> None:
    code = (
        "import sys, workbench.deploy.predict, workbench.deploy.server, workbench.deploy.metadata, workbench.deploy.bench_serve; "
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.') or m.startswith('PySide6')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
