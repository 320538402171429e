"""``ModelServer``: answers under concurrency, JSON errors with the right status, limits, life cycle."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.deploy.models import FRUIT_ROWS, Exported, one_line
from workbench.deploy.predict import Predictor
from workbench.deploy.server import ModelServer, ServeError


@pytest.fixture(scope="module")
def table_server(table_model: Exported) -> Iterator[ModelServer]:
    with ModelServer(table_model.path, port=0, quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def image_server(image_model: Exported) -> Iterator[ModelServer]:
    with ModelServer(Predictor(image_model.path), port=0, quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def small_server(table_model: Exported) -> Iterator[ModelServer]:
    """Tight limits: 1 KiB bodies, 8 instances, half a second of silence."""
    with ModelServer(
        table_model.path, port=0, max_bytes=1024, max_instances=8, timeout=0.5, quiet=True
    ) as server:
        yield server


def request(
    server: ModelServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    length: bool = True,
) -> tuple[int, Any, http.client.HTTPMessage]:
    """One request on a fresh connection: (status, parsed JSON body or None, headers)."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None and length and "Content-Length" not in (headers or {}):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return r.status, json.loads(data) if data else None, r.headers
    finally:
        conn.close()


def post(server: ModelServer, doc: Any, path: str = "/predict") -> tuple[int, Any]:
    status, body, _ = request(
        server, "POST", path, json.dumps(doc).encode(), {"Content-Type": "application/json"}
    )
    return status, body


def test_health_and_metadata(table_server: ModelServer) -> None:
    assert request(table_server, "GET", "/health")[:2] == (200, {"status": "ok"})
    status, meta, headers = request(table_server, "GET", "/metadata")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert meta["name"] == "fruit" and meta["task"] == "classification"
    assert meta["classes"] == ["apple", "banana", "cherry"] and meta["input"]["shape"] == [
        "batch",
        5,
    ]
    assert meta["preprocessing"]["kind"] == "table" and meta["project"] == "fruit"
    assert request(table_server, "GET", "/v1/models/fruit")[1] == meta
    status, body, headers = request(table_server, "HEAD", "/health")
    assert status == 200 and body is None and int(headers["Content-Length"]) > 0


def test_concurrent_requests_match_the_predictor(
    table_server: ModelServer, image_server: ModelServer, image_model: Exported
) -> None:
    images = [{"b64": base64.b64encode(f.read_bytes()).decode()} for f in image_model.files]
    rows: list[Any] = [[w, ln, c] for w, ln, c, _ in FRUIT_ROWS]
    rows += [
        {"weight": w, "length": ln, "colour": c, "fruit": f} for w, ln, c, f in FRUIT_ROWS[:20]
    ]
    rows += [[None, 7.0, "purple"], ["171", "", "red"]]
    jobs: list[tuple[ModelServer, str, dict[str, Any], dict[str, Any]]] = []
    for i in range(96):
        server, pool = (image_server, images) if i % 3 == 0 else (table_server, rows)
        size = 1 + (i * 7) % 12
        start = (i * 5) % len(pool)
        instances = (pool[start:] + pool[:start])[:size]
        path = "/predict" if i % 2 else f"/v1/models/{server.name}:predict"
        expected = {"predictions": server.predictor.predict_instances(instances, 3)}
        jobs.append((server, path, {"instances": instances, "top_k": 3}, expected))

    def send(job: tuple[ModelServer, str, dict[str, Any], dict[str, Any]]) -> tuple[int, Any]:
        server, path, doc, _ = job
        req = urllib.request.Request(
            server.url + path, json.dumps(doc).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)

    with ThreadPoolExecutor(max_workers=16) as executor:
        answers = list(executor.map(send, jobs))
    for (status, body), (_, _, doc, expected) in zip(answers, jobs, strict=True):
        assert status == 200
        assert (
            body == expected
        )  # the same numbers, not merely close: JSON floats round-trip exactly
        assert [p["input"] for p in body["predictions"]] == list(range(len(doc["instances"])))
    assert request(table_server, "GET", "/health")[0] == 200


BAD_REQUESTS: list[tuple[str, str, bytes | None, dict[str, str], int, str]] = [
    # method, path, body, headers, status, part of the error
    ("POST", "/predict", b"{not json", {}, 400, "the body is not valid JSON"),
    ("POST", "/predict", b"\xff\xfe\x00garbage", {}, 400, "the body is not valid JSON"),
    ("POST", "/predict", b"[1, 2]", {}, 400, "the body must be a JSON object"),
    ("POST", "/predict", b'{"inputs": [[1, 2, "red"]]}', {}, 400, 'the body has no "instances"'),
    ("POST", "/predict", b'{"instances": {"weight": 1}}', {}, 400, '"instances" must be a list'),
    ("POST", "/predict", b'{"instances": []}', {}, 400, '"instances" is empty'),
    (
        "POST",
        "/predict",
        b'{"instances": [[150, 7, "red"], [150, 7]]}',
        {},
        400,
        "instance 1: has 2 values but the model takes 3 columns",
    ),
    (
        "POST",
        "/predict",
        b'{"instances": [{"weight": 150}]}',
        {},
        400,
        "instance 0: has no value for the column 'length'",
    ),
    (
        "POST",
        "/predict",
        b'{"instances": [[150, 7, "red"]], "top_k": 0}',
        {},
        400,
        '"top_k" must be a whole number',
    ),
    (
        "POST",
        "/predict",
        b"{}",
        {"Content-Length": "many"},
        400,
        "the Content-Length is not a number of bytes",
    ),
    (
        "POST",
        "/predict",
        b"{}",
        {"Transfer-Encoding": "chunked", "Content-Length": "2"},
        411,
        "chunked bodies are not accepted",
    ),
    ("GET", "/predict", None, {}, 405, "GET is not allowed here; use POST"),
    ("POST", "/health", b"{}", {}, 405, "POST is not allowed here; use GET"),
    ("DELETE", "/metadata", None, {}, 405, "DELETE is not allowed here; use GET"),
    ("GET", "/v1/models/fruit:predict", None, {}, 405, "use POST"),
    ("GET", "/nope", None, {}, 404, "no such path: /nope"),
    (
        "POST",
        "/v1/models/other:predict",
        b"{}",
        {},
        404,
        "no model named 'other' here; this server serves 'fruit'",
    ),
    ("FOO", "/health", None, {}, 501, "Unsupported method ('FOO')"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "message"),
    BAD_REQUESTS,
    ids=[c[5][:40] for c in BAD_REQUESTS],
)
def test_bad_requests_get_a_json_error(
    table_server: ModelServer,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    got, answer, response_headers = request(table_server, method, path, body, headers)
    assert got == status
    assert response_headers["Content-Type"] == "application/json"
    assert set(answer) == {"error"} and one_line(answer["error"]) and message in answer["error"], (
        answer
    )
    if status == 405:
        assert response_headers["Allow"] in ("GET", "POST")


def test_a_body_needs_a_length(table_server: ModelServer) -> None:
    status, answer, _ = request(table_server, "POST", "/predict", b"", length=False)
    assert status == 411 and answer == {"error": "a Content-Length header is required"}


def test_a_bad_image_instance_names_its_index(
    image_server: ModelServer, image_model: Exported
) -> None:
    good = {"b64": base64.b64encode(image_model.files[0].read_bytes()).decode()}
    status, answer = post(image_server, {"instances": [good, {"b64": "!!"}]})
    assert status == 400 and answer == {"error": "instance 1: 'b64' is not valid base64"}
    status, answer = post(image_server, {"instances": [good, [[0.0]]]})
    assert status == 400 and answer["error"].startswith('instance 1: an image model takes {"b64"')


def test_limits_on_bodies_and_instances(small_server: ModelServer) -> None:
    big = json.dumps({"instances": [[150, 7.0, "red"]] * 200}).encode()
    assert len(big) > 1024
    status, answer, headers = request(small_server, "POST", "/predict", big)
    assert (
        status == 413
        and "the limit is 1,024" in answer["error"]
        and headers["Connection"] == "close"
    )
    # A huge Content-Length is refused without waiting for the body (none is sent: waiting
    # for it would end in a 408 after the timeout, not a 413).
    status, answer, _ = request(
        small_server, "POST", "/predict", b"", {"Content-Length": str(10**12)}
    )
    assert status == 413 and "1,000,000,000,000 bytes" in answer["error"]
    status, answer = post(small_server, {"instances": [[150, 7.0, "red"]] * 9})
    assert status == 413 and answer == {"error": "9 instances in one request; the limit is 8"}
    assert post(small_server, {"instances": [[150, 7.0, "red"]] * 8})[0] == 200


def test_a_silent_client_is_timed_out(small_server: ModelServer) -> None:
    host, port = small_server.url.removeprefix("http://").rsplit(":", 1)
    # Headers that never end: the connection is closed after the timeout.
    with socket.create_connection((host, int(port)), timeout=10) as s:
        start = time.perf_counter()
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
        assert s.recv(1024) == b""
        assert (
            time.perf_counter() - start > 0.4
        )  # not before the timeout (no upper bound: issue 10)
    # A body that never comes: 408, in JSON.
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert (
        head.startswith(b"HTTP/1.1 408")
        and "did not arrive within 0.5 s" in json.loads(body)["error"]
    )
    assert request(small_server, "GET", "/health")[0] == 200


def test_a_bug_is_a_json_500_and_the_server_goes_on(
    table_server: ModelServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail\nmore detail")

    monkeypatch.setattr(table_server.predictor, "predict_instances", broken)
    status, answer = post(table_server, {"instances": [[150, 7.0, "red"]]})
    assert status == 500 and answer == {
        "error": "internal error (RuntimeError); see the server's log"
    }
    assert "secret detail" in caplog.text  # the traceback goes to the log, not the client
    monkeypatch.undo()
    assert request(table_server, "GET", "/health")[0] == 200
    assert post(table_server, {"instances": [[150, 7.0, "red"]]})[0] == 200


def test_one_connection_serves_several_requests(table_server: ModelServer) -> None:
    host, port = table_server.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for body, status in [
            (b'{"instances": [[150, 7, "red"]]}', 200),
            (b'{"instances": []}', 400),
            (b'{"instances": [[1, 2, "x"]]}', 200),
        ]:
            conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == status and not r.will_close
        # A body the server did not read (an unknown path) would be taken for the next
        # request: it closes that connection instead.
        conn.request("POST", "/nope", b'{"instances": []}')
        r = conn.getresponse()
        assert (
            r.status == 404
            and r.will_close
            and json.loads(r.read())["error"].startswith("no such path")
        )
        conn.close()
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_life_cycle(table_model: Exported) -> None:
    predictor = Predictor(table_model.path)
    server = ModelServer(predictor, port=0, quiet=True)
    assert not server.running
    server.start()
    url = server.url
    assert server.running and url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    with pytest.raises(ServeError, match="already serving"):
        server.start()
    with pytest.raises(ServeError, match="the port is in use") as e:
        ModelServer(predictor, port=int(url.rsplit(":", 1)[1]), quiet=True).start()
    assert one_line(str(e.value))
    server.stop(wait=False)  # returns at once; the server's own thread shuts it down
    assert not server.running
    deadline = time.monotonic() + 60
    while True:  # the helper thread closes the socket soon after
        try:
            urllib.request.urlopen(url + "/health", timeout=1).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "the server still answers"
        time.sleep(0.05)
    server.stop()  # stopping twice does nothing
    server.start()  # and it can start again
    assert urllib.request.urlopen(server.url + "/health", timeout=5).status == 200
    stopper = threading.Timer(0.2, server.stop)
    stopper.start()
    server.serve_forever()  # returns once stop() is called from another thread
    assert not server.running
