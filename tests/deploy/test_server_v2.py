"""The Open Inference Protocol (KServe v2), tested with NVIDIA's own client, ``tritonclient.http``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from tests.deploy.models import Exported, one_line
from tests.deploy.test_server import request
from workbench.deploy.server import ModelServer

httpclient = pytest.importorskip("tritonclient.http")


@pytest.fixture(scope="module")
def token_server(token_model: Exported) -> Iterator[ModelServer]:
    with ModelServer(token_model.path, port=0, quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def image_server(image_model: Exported) -> Iterator[ModelServer]:
    with ModelServer(image_model.path, port=0, quiet=True) as server:
        yield server


def _client(server: ModelServer) -> Any:
    return httpclient.InferenceServerClient(
        server.url.removeprefix("http://"), network_timeout=30.0
    )


def _raw(model: Exported, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_tritonclient_health_and_metadata(image_server: ModelServer) -> None:
    client = _client(image_server)
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("pets") and not client.is_model_ready("other")
        server_meta = client.get_server_metadata()
        assert server_meta["name"] == "workbench" and "version" in server_meta
        meta = client.get_model_metadata("pets")
        assert meta["name"] == "pets" and meta["platform"] == "onnxruntime_onnx"
        assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 3, 8, 8]}]
        assert len(meta["outputs"]) == 1 and meta["outputs"][0]["datatype"] == "FP32"
        assert meta["outputs"][0]["shape"] == [-1, 3]
        assert client.get_model_metadata("pets", model_version="1") == meta
    finally:
        client.close()


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_infer_matches_onnxruntime(
    image_server: ModelServer, image_model: Exported, binary: bool
) -> None:
    x = np.random.default_rng(0).normal(size=(5, 3, 8, 8)).astype(np.float32)
    client = _client(image_server)
    try:
        tensor = httpclient.InferInput("x", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=binary)
        out_name = image_server._app.output_names[0]
        result = client.infer(
            "pets",
            [tensor],
            outputs=[httpclient.InferRequestedOutput(out_name, binary_data=binary)],
            request_id="r-1",
        )
        got = result.as_numpy(out_name)
        response = result.get_response()
        # No outputs named: the client asks for every output, in binary.
        everything = client.infer("pets", [tensor]).as_numpy(out_name)
    finally:
        client.close()
    expected = _raw(image_model, x)
    assert got.dtype == np.float32 and got.shape == (5, 3)
    np.testing.assert_array_equal(got, expected)  # raw logits: no preprocessing, no softmax
    np.testing.assert_array_equal(everything, expected)
    assert response["model_name"] == "pets" and response["id"] == "r-1"


def test_int64_inputs_over_json(token_server: ModelServer, token_model: Exported) -> None:
    x = np.array([[1, 2, 3, 4, 5, 6], [19, 0, 0, 7, 7, 7]], dtype=np.int64)
    doc = {
        "inputs": [{"name": "x", "shape": [2, 6], "datatype": "INT64", "data": x.tolist()}]
    }  # nested data too
    status, answer, _ = request(
        token_server, "POST", "/v2/models/tokens/infer", json.dumps(doc).encode()
    )
    assert status == 200, answer
    (out,) = answer["outputs"]
    assert out["datatype"] == "FP32" and out["shape"] == [2, 2]
    np.testing.assert_array_equal(
        np.asarray(out["data"], np.float32).reshape(2, 2), _raw(token_model, x)
    )


X = {"name": "x", "shape": [1, 3, 8, 8], "datatype": "FP32", "data": [0.0] * 192}
V2_ERRORS: list[tuple[str, str, Any, int, str]] = [
    (
        "POST",
        "/v2/models/other/infer",
        {"inputs": [X]},
        404,
        "no model named 'other' here; this server serves 'pets'",
    ),
    ("GET", "/v2/models/pets/versions/2", None, 404, "has no version '2'"),
    ("GET", "/v2/models/pets/infer", None, 405, "use POST"),
    ("POST", "/v2/models/pets/infer", {"instances": []}, 400, 'the body has no "inputs"'),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [{**X, "name": "y"}]},
        400,
        "input 'y': the model has no such input",
    ),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [{**X, "datatype": "FP64"}]},
        400,
        "the datatype must be FP32, not 'FP64'",
    ),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [{**X, "shape": [1, 3, 8, 9]}]},
        400,
        "has shape [1, 3, 8, 9]; the model takes [-1, 3, 8, 8]",
    ),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [{**X, "data": [0.0] * 10}]},
        400,
        "10 values for the shape [1, 3, 8, 8]",
    ),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [{**X, "data": ["a"] * 192}]},
        400,
        "the data is not a (nested) list of FP32 values",
    ),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [X], "outputs": [{"name": "nope"}]},
        400,
        "the model has no output 'nope'",
    ),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [{**X, "parameters": {"binary_data_size": 768}}]},
        400,
        "more than the binary data sent",
    ),
    (
        "POST",
        "/v2/models/pets/infer",
        {"inputs": [X], "outputs": [{"name": "PLACEHOLDER", "parameters": {"classification": 2}}]},
        400,
        "the classification extension is not supported",
    ),
    ("GET", "/v2/nothing", None, 404, "no such path: /v2/nothing"),
]


@pytest.mark.parametrize(
    ("method", "path", "doc", "status", "message"), V2_ERRORS, ids=[c[4][:40] for c in V2_ERRORS]
)
def test_v2_errors_are_json(
    image_server: ModelServer, method: str, path: str, doc: Any, status: int, message: str
) -> None:
    if doc is not None and doc.get("outputs") and doc["outputs"][0]["name"] == "PLACEHOLDER":
        doc = {**doc, "outputs": [{**doc["outputs"][0], "name": image_server._app.output_names[0]}]}
    got, answer, headers = request(
        image_server, method, path, None if doc is None else json.dumps(doc).encode()
    )
    assert got == status and headers["Content-Type"] == "application/json"
    assert set(answer) == {"error"} and one_line(answer["error"]) and message in answer["error"], (
        answer
    )


def test_tritonclient_sees_errors(image_server: ModelServer) -> None:
    client = _client(image_server)
    try:
        tensor = httpclient.InferInput("x", [1, 3, 8, 7], "FP32")
        tensor.set_data_from_numpy(np.zeros((1, 3, 8, 7), np.float32), binary_data=False)
        with pytest.raises(httpclient.InferenceServerException, match="the model takes"):
            client.infer("pets", [tensor])
    finally:
        client.close()


def test_the_bench_digits_model_serves_both_protocols(tmp_path: Any) -> None:
    """``workbench bench --serve``'s model (written without torch) is a genuine export."""
    from workbench.deploy.bench_serve import make_digits_model

    path = make_digits_model(tmp_path / "digits.onnx")
    x = np.random.default_rng(3).random((2, 1, 8, 8), dtype=np.float32)
    with ModelServer(path, port=0, quiet=True) as server:
        doc = {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2, 1, 8, 8],
                    "datatype": "FP32",
                    "data": x.reshape(-1).tolist(),
                }
            ]
        }
        status, answer, _ = request(
            server, "POST", "/v2/models/digits/infer", json.dumps(doc).encode()
        )
        assert status == 200 and server.predictor.classes == [str(d) for d in range(10)]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(
        np.asarray(answer["outputs"][0]["data"], np.float32).reshape(2, 10),
        session.run(None, {"x": x})[0],
    )
