"""``ModelServer`` on uvicorn: bounded work (concurrency, images, pixels, deadlines), threads, TCP_NODELAY.

No wall-clock assertions: every wait is an event or a poll with a generous deadline.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from tests.deploy.models import Exported, one_line
from tests.deploy.test_server import post, request
from workbench.deploy.predict import Predictor
from workbench.deploy.server import ModelServer


def _wait_for(condition: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _b64_image(size: tuple[int, int], fmt: str) -> dict[str, str]:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, fmt)
    return {"b64": base64.b64encode(buf.getvalue()).decode()}


@pytest.fixture
def one_worker(table_model: Exported) -> Iterator[ModelServer]:
    """One worker thread, at most one prediction in progress."""
    with ModelServer(table_model.path, port=0, quiet=True, workers=1, max_concurrent=1) as server:
        yield server


def test_busy_server_answers_503_and_health_stays_up(
    one_worker: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    real = one_worker.predictor.predict_instances

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(one_worker.predictor, "predict_instances", slow)
    answers: list[tuple[int, Any]] = []
    first = threading.Thread(
        target=lambda: answers.append(post(one_worker, {"instances": [[150, 7.0, "red"]]}))
    )
    first.start()
    try:
        assert entered.wait(30)
        # The only worker is busy: /health and the metadata still answer at once (event loop free) ...
        assert request(one_worker, "GET", "/health")[:2] == (200, {"status": "ok"})
        assert request(one_worker, "GET", "/v2/health/ready")[0] == 200
        # ... and a second prediction is refused, in JSON, rather than queued without bound.
        status, answer, headers = request(
            one_worker, "POST", "/predict", b'{"instances": [[150, 7, "red"]]}'
        )
        assert (
            status == 503
            and headers["Retry-After"] == "1"
            and headers["Content-Type"] == "application/json"
        )
        assert one_line(answer["error"]) and "the limit is 1" in answer["error"]
    finally:
        release.set()
        first.join(30)
    assert answers and answers[0][0] == 200
    assert post(one_worker, {"instances": [[150, 7.0, "red"]]})[0] == 200  # the slot was given back


def test_images_per_request_and_pixel_budget(image_model: Exported) -> None:
    small = {"b64": base64.b64encode(image_model.files[0].read_bytes()).decode()}
    with ModelServer(
        Predictor(image_model.path), port=0, quiet=True, max_images=2, pixel_budget=300_000
    ) as server:
        assert post(server, {"instances": [small, small]})[0] == 200
        status, answer = post(server, {"instances": [small] * 3})
        assert status == 413 and answer == {"error": "3 images in one request; the limit is 2"}
        # A PNG cannot decode at a reduced scale: refused from its header, naming the limit.
        status, answer = post(server, {"instances": [_b64_image((2000, 2000), "PNG")]})
        assert status == 413 and one_line(answer["error"])
        assert (
            "4,000,000 pixels" in answer["error"]
            and "the limit is 300,000 pixels per request" in answer["error"]
        )
        # The same size as a JPEG decodes at 1/8 scale (250×250): within the budget.
        status, answer = post(server, {"instances": [_b64_image((2000, 2000), "JPEG")]})
        assert status == 200 and answer["predictions"][0]["label"] in image_model.info.classes  # type: ignore[operator]


def test_default_pixel_budget_refuses_a_huge_png(image_model: Exported) -> None:
    """The default budget, from an 8×8 model: a 5000×5000 PNG is refused before it is decoded."""
    with ModelServer(Predictor(image_model.path), port=0, quiet=True) as server:
        assert server.pixel_budget == 2**24
        status, answer = post(server, {"instances": [_b64_image((5000, 5000), "PNG")]})
    assert status == 413 and "the limit is 16,777,216 pixels per request" in answer["error"]


def test_headers_sent_a_byte_at_a_time_are_cut_off(table_model: Exported) -> None:
    """The header deadline counts from the connection, not from the last byte received."""
    with ModelServer(table_model.path, port=0, quiet=True, timeout=0.5) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
            closed = False
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    s.sendall(b"X")  # well within any per-read timeout
                    s.settimeout(0.1)
                    if s.recv(1024) == b"":
                        closed = True
                        break
                except TimeoutError:
                    continue
                except OSError:  # reset by the server
                    closed = True
                    break
            assert closed, "the server kept a connection whose headers never ended"


def test_idle_sockets_cost_no_threads(table_model: Exported) -> None:
    with ModelServer(table_model.path, port=0, quiet=True, workers=2) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        assert request(server, "GET", "/health")[0] == 200
        threads = threading.active_count()
        socks = []
        try:
            for _ in range(60):
                s = socket.create_connection((host, int(port)), timeout=10)
                s.sendall(
                    b"GET /health HTTP/1.1\r\nHost: x\r\n"
                )  # and never the end of the headers
                socks.append(s)
            _wait_for(lambda: server.connections >= 60, "the server to accept 60 connections")
            assert threading.active_count() <= threads + 2
            assert request(server, "GET", "/health")[0] == 200
        finally:
            for s in socks:
                s.close()


def test_tcp_nodelay_on_every_connection(table_model: Exported) -> None:
    """Headers and body go out in separate writes; without TCP_NODELAY, Nagle and delayed
    ACKs would add ~40 ms to each keep-alive request."""
    with ModelServer(table_model.path, port=0, quiet=True) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            _wait_for(lambda: server.connections >= 1, "the connection")
            assert server._server is not None
            socks = [
                c.transport.get_extra_info("socket")
                for c in server._server.server_state.connections
            ]
            assert socks and all(
                sk.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sk in socks
            )


def test_stop_closes_idle_connections(table_model: Exported) -> None:
    server = ModelServer(table_model.path, port=0, quiet=True)
    server.start()
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    idle = socket.create_connection((host, int(port)), timeout=10)
    try:
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b'"ok"' not in data:
            data += idle.recv(4096)
        assert data.startswith(b"HTTP/1.1 200")
        server.stop()  # returns once the server's thread has ended
        assert idle.recv(4096) == b""
    finally:
        idle.close()


def test_v1_json_errors_from_the_http_layer(table_server_v1: ModelServer) -> None:
    host, port = table_server_v1.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"NOT A REQUEST\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["error"].startswith("the request is not valid HTTP/1.1")


@pytest.fixture
def table_server_v1(table_model: Exported) -> Iterator[ModelServer]:
    with ModelServer(table_model.path, port=0, quiet=True) as server:
        yield server
