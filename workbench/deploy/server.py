"""A local HTTP service for an exported model on uvicorn + starlette (``workbench serve``).

Two protocols, on the same port:

**KServe v1 / TensorFlow-Serving JSON** (what an instance is depends on the model's
preprocessing, see :mod:`workbench.deploy.predict`):

* ``GET /health`` → ``{"status": "ok"}``.
* ``GET /metadata`` and ``GET /v1/models/NAME`` → what the model is:
  :meth:`~workbench.deploy.metadata.ModelInfo.to_dict` plus ``name``.
* ``POST /predict`` and ``POST /v1/models/NAME:predict`` with ``{"instances": [...]}``
  (and optionally ``"top_k": 5``) → ``{"predictions": [...]}``, each prediction as
  ``workbench predict --json`` gives it, ``input`` being the instance's index.

**The Open Inference Protocol (KServe v2)**, which Triton, KServe and MLServer speak, so their
clients (``tritonclient.http``) work against this server. Tensors go in and come out as they
are: no preprocessing, no softmax.

* ``GET /v2/health/live``, ``GET /v2/health/ready``, ``GET /v2`` (server metadata).
* ``GET /v2/models/NAME[/versions/1]`` (inputs and outputs: name, datatype, shape with -1 for
  a variable axis), ``GET /v2/models/NAME[/versions/1]/ready``.
* ``POST /v2/models/NAME[/versions/1]/infer``: ``{"inputs": [{"name", "shape", "datatype",
  "data"}], "outputs": [{"name"}]}`` → ``{"model_name", "model_version", "outputs": [...]}``;
  the binary tensor data extension (``Inference-Header-Content-Length``) is understood too.

Every error is JSON ``{"error": "one line"}`` with a 4xx status (500 only for a bug, whose
traceback goes to the server's log, never to the client).

Work is bounded: bodies need a ``Content-Length`` and are refused unread beyond
``max_bytes``; a request may hold ``max_instances`` instances (``max_images`` for an image
model) and its images may decode to ``pixel_budget`` pixels, checked from their headers
before any is decoded (a JPEG decodes at a reduced scale, ``Image.draft``); at most
``max_concurrent`` predictions are in progress (503 beyond); decoding and inference run on
``workers`` threads, off the event loop, so ``/health`` answers while they work. A
connection must deliver a request's headers within ``timeout`` seconds of opening (or of the
previous answer) and its body within ``timeout`` more, or it is closed (408 for a body).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.to_thread
import h11
import numpy as np
import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from workbench import __version__
from workbench.deploy.predict import TOP_K, PredictError, Predictor, TooLargeError, _first_line

#: The largest request body accepted, in bytes.
MAX_BYTES = 16 * 2**20
#: The most instances one request may hold.
MAX_INSTANCES = 1024
#: The most images one request may hold (image models).
MAX_IMAGES = 64
#: The most predictions in progress at once (waiting for a worker, or running); 503 beyond.
MAX_CONCURRENT = 64
#: Seconds a client has for a request's headers (from connecting, or from the previous
#: answer on the connection), and as many again for its body.
TIMEOUT = 30.0
#: The least pixel budget per request; more for a model with large inputs (see ModelServer).
MIN_PIXEL_BUDGET = 2**24
#: Seconds a stopping server waits for requests in progress before it cancels them.
SHUTDOWN_SECONDS = 5.0

logger = logging.getLogger("workbench.serve")

_V1_MODEL = re.compile(r"/v1/models/(?P<name>[^/:]+)(?P<predict>:predict)?/?")
_V2_MODEL = re.compile(
    r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<what>/ready|/infer)?/?"
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_VERSION = "1"

#: onnxruntime's element types and the v2 protocol's datatypes.
_V2_TYPES = {
    "tensor(float)": ("FP32", np.float32),
    "tensor(double)": ("FP64", np.float64),
    "tensor(float16)": ("FP16", np.float16),
    "tensor(int64)": ("INT64", np.int64),
    "tensor(int32)": ("INT32", np.int32),
    "tensor(int16)": ("INT16", np.int16),
    "tensor(int8)": ("INT8", np.int8),
    "tensor(uint64)": ("UINT64", np.uint64),
    "tensor(uint32)": ("UINT32", np.uint32),
    "tensor(uint16)": ("UINT16", np.uint16),
    "tensor(uint8)": ("UINT8", np.uint8),
    "tensor(bool)": ("BOOL", np.bool_),
    "tensor(string)": ("BYTES", np.object_),
}


class ServeError(Exception):
    """The server cannot start (the port is in use, the address is wrong); one line."""


class _HttpError(Exception):
    """An answer with an error status; ``close`` when the rest of the request was not read."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close
        self.headers = headers or {}


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so it is valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(body: Any) -> bytes:
    return json.dumps(body, allow_nan=False).encode("utf-8") + b"\n"


def _parse_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise _HttpError(400, "the body is not valid JSON (nested too deeply)") from None
    except ValueError as e:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not text
        raise _HttpError(400, f"the body is not valid JSON ({str(e).splitlines()[0]})") from None


# --------------------------------------------------------------------------- connections


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for a request's headers, and TCP_NODELAY.

    uvicorn's keep-alive timer is reset by every byte that arrives, so a client sending
    headers a byte at a time could hold a connection forever; here a connection must
    deliver complete headers within ``timeout`` seconds of opening or of the previous answer.
    The body has its own deadline, in the application (408).
    """

    timeout: float = TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # asyncio sets it too; make sure it holds
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._deadline: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.timeout, self._expire)

    def _expire(self) -> None:
        self._deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; its body has its own deadline
        if not self.transport.is_closing():
            logger.debug(
                "%s: no complete request within %g s; closing",
                (self.client or ("?",))[0],
                self.timeout,
            )
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """A request h11 cannot parse (called while handling its error): JSON, like every answer."""
        exc = sys.exc_info()[1]
        detail = str(exc).strip() if exc is not None else ""
        if detail == "bad Content-Length":
            text = "the Content-Length is not a number of bytes"
        else:
            text = f"the request is not valid HTTP/1.1 ({detail or msg})"
        body = _json({"error": text})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            self.transport.write(
                self.conn.send(
                    h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
                )
                or b""
            )
            self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:  # h11 cannot answer in its state: just close
            pass
        self.transport.close()
        logger.info("%s: 400 (%s)", (self.client or ("?",))[0], text)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)


# --------------------------------------------------------------------------- the application


class _Call:
    """What one request did, for its log line."""

    __slots__ = ("body_read", "instances")

    def __init__(self) -> None:
        self.body_read = False
        self.instances = 0


class _App:
    """The ASGI application: routes one request; every answer is JSON."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server
        self.limiter: anyio.CapacityLimiter | None = None  # made on the server's event loop
        self.in_progress = 0
        p = server.predictor
        self.input_names = [i.name for i in p.session.get_inputs()]
        self.output_names = [o.name for o in p.session.get_outputs()]
        self.v2_metadata = {
            "name": server.name,
            "versions": [_VERSION],
            "platform": "onnxruntime_onnx",
            "inputs": [_tensor_metadata(i) for i in p.session.get_inputs()],
            "outputs": [_tensor_metadata(o) for o in p.session.get_outputs()],
        }
        self._v2_inputs = {i.name: i for i in p.session.get_inputs()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        start = time.perf_counter()
        request = Request(scope, receive)
        call = _Call()
        close = False
        headers: dict[str, str] = {}
        content_type = "application/json"
        try:
            status, data = 200, await self._route(request, call)
            if isinstance(data, tuple):  # a binary v2 answer: (body, JSON header length)
                data, header_length = data
                headers["Inference-Header-Content-Length"] = str(header_length)
                content_type = "application/octet-stream"
        except _HttpError as e:
            status, data, close, headers = e.status, _json({"error": e.message}), e.close, e.headers
        except Exception as e:  # a bug: log it here, tell the client only that it happened
            logger.exception("%s %s failed", request.method, scope["path"])
            status = 500
            data = _json({"error": f"internal error ({type(e).__name__}); see the server's log"})
        h = request.headers
        if not call.body_read and (
            h.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in h
        ):
            close = True  # do not read on through a body nobody wanted
        if close:
            headers["Connection"] = "close"
        headers["Cache-Control"] = "no-store"
        await Response(data, status, headers, media_type=content_type)(scope, receive, send)
        if not self.server.quiet:
            extra = f" {call.instances} instance(s)" if call.instances else ""
            note = f" ({json.loads(data)['error']})" if status >= 400 else ""
            client = (scope.get("client") or ("?",))[0]
            logger.info(
                '%s "%s %s" %d %dB %.1f ms%s%s',
                client,
                request.method,
                scope.get("raw_path", b"").decode("latin-1") or scope["path"],
                status,
                len(data),
                (time.perf_counter() - start) * 1000,
                extra,
                note,
            )

    async def _route(self, request: Request, call: _Call) -> bytes | tuple[bytes, int]:
        server = self.server
        method = request.method
        if method not in _METHODS:
            raise _HttpError(501, f"Unsupported method ('{method}')")
        if method == "HEAD":
            method = "GET"
        path = request.scope["path"]
        if path in ("/health", "/health/"):
            _allow(method, "GET")
            return _json({"status": "ok"})
        if path in ("/metadata", "/metadata/"):
            _allow(method, "GET")
            return _json(server.metadata)
        if path in ("/predict", "/predict/"):
            _allow(method, "POST")
            return await self._work(request, call, self._predict)
        if path.startswith("/v1/"):
            m = _V1_MODEL.fullmatch(path)
            if m is not None:
                self._check_name(unquote(m.group("name")))
                if m.group("predict"):
                    _allow(method, "POST")
                    return await self._work(request, call, self._predict)
                _allow(method, "GET")
                return _json(server.metadata)
        if path.startswith("/v2"):
            return await self._v2(request, call, method, path)
        raise _HttpError(
            404,
            f"no such path: {path} (the paths are GET /health, GET /metadata, POST /predict, "
            f"GET /v1/models/{server.name}, POST /v1/models/{server.name}:predict, "
            f"and the v2 protocol's under /v2)",
        )

    def _check_name(self, name: str, version: str | None = None) -> None:
        if name != self.server.name:
            raise _HttpError(
                404, f"no model named '{name}' here; this server serves '{self.server.name}'"
            )
        if version not in (None, "", _VERSION):
            raise _HttpError(
                404,
                f"the model '{name}' has no version '{version}' (its only version is {_VERSION})",
            )

    async def _read_body(self, request: Request, call: _Call) -> bytes:
        server = self.server
        h = request.headers
        if "chunked" in h.get("transfer-encoding", "").lower():
            raise _HttpError(
                411,
                "send the body with a Content-Length header (chunked bodies are not accepted)",
                close=True,
            )
        text = h.get("content-length")
        if text is None:
            raise _HttpError(411, "a Content-Length header is required", close=True)
        try:
            length = int(text)
            if length < 0:
                raise ValueError
        except ValueError:
            raise _HttpError(
                400, f"the Content-Length '{text}' is not a number of bytes", close=True
            ) from None
        if length > server.max_bytes:
            raise _HttpError(
                413,
                f"the body is {length:,} bytes; the limit is {server.max_bytes:,} (send fewer instances per request)",
                close=True,
            )

        async def read() -> bytes:
            parts = []
            async for chunk in request.stream():
                parts.append(chunk)
            return b"".join(parts)

        try:
            body = await asyncio.wait_for(read(), server.timeout)
        except TimeoutError:
            raise _HttpError(
                408, f"the request body did not arrive within {server.timeout:g} s", close=True
            ) from None
        except ClientDisconnect:
            raise _HttpError(
                400, "the client hung up before sending the whole body", close=True
            ) from None
        call.body_read = True
        if len(body) != length:
            raise _HttpError(
                400, f"the body ended after {len(body):,} of {length:,} bytes", close=True
            )
        return body

    async def _work(
        self, request: Request, call: _Call, fn: Callable[[Request, bytes, _Call], Any]
    ) -> Any:
        """Read the body, then run ``fn`` on a worker thread; at most ``max_concurrent`` at once."""
        server = self.server
        if self.in_progress >= server.max_concurrent:
            raise _HttpError(
                503,
                f"the server is busy: {self.in_progress} requests are in progress (the limit is "
                f"{server.max_concurrent}); try again shortly",
                headers={"Retry-After": "1"},
            )
        self.in_progress += 1
        try:
            body = await self._read_body(request, call)
            return await anyio.to_thread.run_sync(fn, request, body, call, limiter=self.limiter)
        finally:
            self.in_progress -= 1

    # -- v1 ------------------------------------------------------------------------------------

    def _predict(self, request: Request, body: bytes, call: _Call) -> bytes:
        server = self.server
        doc = _parse_json(body)
        if not isinstance(doc, dict):
            raise _HttpError(400, 'the body must be a JSON object: {"instances": [...]}')
        if "instances" not in doc:
            raise _HttpError(400, 'the body has no "instances": send {"instances": [...]}')
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise _HttpError(400, '"instances" must be a list')
        if not instances:
            raise _HttpError(400, '"instances" is empty')
        if server.predictor.kind == "image" and len(instances) > server.max_images:
            raise _HttpError(
                413, f"{len(instances):,} images in one request; the limit is {server.max_images:,}"
            )
        if len(instances) > server.max_instances:
            raise _HttpError(
                413,
                f"{len(instances):,} instances in one request; the limit is {server.max_instances:,}",
            )
        top_k = doc.get("top_k", TOP_K)
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise _HttpError(400, '"top_k" must be a whole number, at least 1')
        call.instances = len(instances)
        try:
            if server.predictor.kind == "image":
                predictions = server.predictor.predict_instances(
                    instances, top_k, pixel_budget=server.pixel_budget
                )
            else:
                predictions = server.predictor.predict_instances(instances, top_k)
        except TooLargeError as e:
            raise _HttpError(413, str(e)) from None
        except PredictError as e:
            raise _HttpError(400, str(e)) from None
        return _json({"predictions": predictions})

    # -- v2 ------------------------------------------------------------------------------------

    async def _v2(
        self, request: Request, call: _Call, method: str, path: str
    ) -> bytes | tuple[bytes, int]:
        server = self.server
        if path in ("/v2", "/v2/"):
            _allow(method, "GET")
            return _json(
                {"name": "workbench", "version": __version__, "extensions": ["binary_tensor_data"]}
            )
        if path in ("/v2/health/live", "/v2/health/ready"):
            _allow(method, "GET")
            return _json({"live": True} if path.endswith("live") else {"ready": True})
        m = _V2_MODEL.fullmatch(path)
        if m is None:
            raise _HttpError(
                404,
                f"no such path: {path} (the v2 paths are GET /v2, GET /v2/health/live, GET /v2/health/ready, "
                f"GET /v2/models/{server.name}, GET /v2/models/{server.name}/ready and POST /v2/models/{server.name}/infer)",
            )
        self._check_name(unquote(m.group("name")), m.group("version"))
        what = m.group("what")
        if what == "/infer":
            _allow(method, "POST")
            return await self._work(request, call, self._infer)
        _allow(method, "GET")
        if what == "/ready":
            return _json({"name": server.name, "ready": True})
        return _json(self.v2_metadata)

    def _infer(self, request: Request, body: bytes, call: _Call) -> bytes | tuple[bytes, int]:
        header_text = request.headers.get("inference-header-content-length")
        binary = b""
        if header_text is not None:
            try:
                n = int(header_text)
                if not 0 <= n <= len(body):
                    raise ValueError
            except ValueError:
                raise _HttpError(
                    400,
                    f"the Inference-Header-Content-Length '{header_text}' is not a length within the body",
                ) from None
            body, binary = body[:n], body[n:]
        doc = _parse_json(body)
        if not isinstance(doc, dict):
            raise _HttpError(400, 'the body must be a JSON object: {"inputs": [...]}')
        feeds = self._v2_feeds(doc, binary)
        call.instances = len(next(iter(feeds.values())))
        wanted, binary_out = self._v2_outputs(doc)
        try:
            values = self.server.predictor.session.run(wanted, feeds)
        except Exception as e:
            if type(e).__name__ not in ("InvalidArgument", "Fail", "RuntimeException"):
                raise
            raise _HttpError(400, f"the model rejects the inputs: {_first_line(e)}") from None
        outputs = []
        chunks: list[bytes] = []
        for name, value in zip(wanted, values, strict=True):
            a = np.asarray(value)
            out: dict[str, Any] = {
                "name": name,
                "datatype": _v2_datatype(a.dtype),
                "shape": list(a.shape),
            }
            if binary_out[name]:
                raw = np.ascontiguousarray(a).tobytes()
                out["parameters"] = {"binary_data_size": len(raw)}
                chunks.append(raw)
            else:
                data = a.reshape(-1).tolist()
                if a.dtype.kind == "f" and not np.isfinite(a).all():
                    data = _finite(data)
                out["data"] = data
            outputs.append(out)
        answer: dict[str, Any] = {
            "model_name": self.server.name,
            "model_version": _VERSION,
            "outputs": outputs,
        }
        if isinstance(doc.get("id"), str):
            answer["id"] = doc["id"]
        head = json.dumps(answer, allow_nan=False).encode("utf-8")
        if not chunks:
            return head + b"\n"
        return head + b"".join(chunks), len(head)

    def _v2_feeds(self, doc: dict[str, Any], binary: bytes) -> dict[str, np.ndarray]:
        inputs = doc.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _HttpError(
                400,
                'the body has no "inputs": send {"inputs": [{"name", "shape", "datatype", "data"}]}',
            )
        feeds: dict[str, np.ndarray] = {}
        offset = 0
        for i, t in enumerate(inputs):
            if not isinstance(t, dict):
                raise _HttpError(
                    400, f"input {i}: must be an object with name, shape, datatype and data"
                )
            name = t.get("name")
            where = f"input '{name}'" if isinstance(name, str) else f"input {i}"
            node = self._v2_inputs.get(name) if isinstance(name, str) else None
            if node is None or not isinstance(name, str):
                raise _HttpError(
                    400,
                    f"{where}: the model has no such input (its inputs are {', '.join(map(repr, self.input_names))})",
                )
            if name in feeds:
                raise _HttpError(400, f"{where}: given twice")
            want_type, dtype = _V2_TYPES.get(node.type, ("?", None))
            if t.get("datatype") != want_type or dtype is None or dtype is np.object_:
                raise _HttpError(
                    400, f"{where}: the datatype must be {want_type}, not {t.get('datatype')!r}"
                )
            shape = t.get("shape")
            if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
            ):
                raise _HttpError(
                    400, f"{where}: the shape must be a list of whole numbers, at least 0"
                )
            want = [d if isinstance(d, int) else -1 for d in (node.shape or [])]
            if len(shape) != len(want) or any(
                w not in (-1, None) and w != d for w, d in zip(want, shape, strict=True)
            ):
                raise _HttpError(
                    400, f"{where}: has shape {shape}; the model takes {want} (-1: any size)"
                )
            count = math.prod(shape)
            params: dict[str, Any] = (
                t["parameters"] if isinstance(t.get("parameters"), dict) else {}
            )
            size = params.get("binary_data_size")
            if size is not None:
                if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                    raise _HttpError(
                        400, f"{where}: binary_data_size {size!r} is more than the binary data sent"
                    )
                if size != count * np.dtype(dtype).itemsize:
                    raise _HttpError(
                        400,
                        f"{where}: {size:,} bytes of binary data for {count:,} {want_type} values",
                    )
                a: np.ndarray = np.frombuffer(
                    binary, dtype=dtype, count=count, offset=offset
                ).reshape(shape)
                offset += size
            else:
                if "data" not in t:
                    raise _HttpError(
                        400, f'{where}: has no data (send "data" or use the binary data extension)'
                    )
                try:
                    a = np.asarray(t["data"], dtype=dtype)
                except (ValueError, TypeError, OverflowError):
                    raise _HttpError(
                        400, f"{where}: the data is not a (nested) list of {want_type} values"
                    ) from None
                if a.size != count:
                    raise _HttpError(
                        400, f"{where}: {a.size:,} values for the shape {shape} ({count:,} values)"
                    )
                a = a.reshape(shape)
            feeds[name] = a
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise _HttpError(
                400, "the model's input " + ", ".join(map(repr, missing)) + " is missing"
            )
        if offset != len(binary):
            raise _HttpError(
                400, f"{len(binary) - offset:,} bytes of binary data belong to no input"
            )
        return feeds

    def _v2_outputs(self, doc: dict[str, Any]) -> tuple[list[str], dict[str, bool]]:
        params: dict[str, Any] = (
            doc["parameters"] if isinstance(doc.get("parameters"), dict) else {}
        )
        default_binary = params.get("binary_data_output") is True
        requested = doc.get("outputs")
        if requested is None:
            return list(self.output_names), dict.fromkeys(self.output_names, default_binary)
        if not isinstance(requested, list):
            raise _HttpError(400, '"outputs" must be a list of {"name": ...}')
        names: list[str] = []
        binary: dict[str, bool] = {}
        for r in requested:
            name = r.get("name") if isinstance(r, dict) else None
            if not isinstance(name, str) or name not in self.output_names:
                raise _HttpError(
                    400,
                    f"the model has no output {name!r} (its outputs are {', '.join(map(repr, self.output_names))})",
                )
            p: dict[str, Any] = r["parameters"] if isinstance(r.get("parameters"), dict) else {}
            if "shared_memory_region" in p:
                raise _HttpError(400, f"output '{name}': shared memory is not supported here")
            if "classification" in p:
                raise _HttpError(
                    400, f"output '{name}': the classification extension is not supported here"
                )
            names.append(name)
            binary[name] = bool(p.get("binary_data", default_binary))
        return names or list(self.output_names), binary or dict.fromkeys(
            self.output_names, default_binary
        )


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise _HttpError(
            405, f"{method} is not allowed here; use {allowed}", headers={"Allow": allowed}
        )


def _tensor_metadata(node: Any) -> dict[str, Any]:
    return {
        "name": node.name,
        "datatype": _V2_TYPES.get(node.type, (node.type, None))[0],
        "shape": [d if isinstance(d, int) else -1 for d in (node.shape or [])],
    }


def _v2_datatype(dtype: np.dtype[Any]) -> str:
    for name, t in _V2_TYPES.values():
        if t is not np.object_ and np.dtype(t) == dtype:
            return name
    return str(dtype).upper()


# --------------------------------------------------------------------------- the server


class ModelServer:
    """Serves one exported model over HTTP on a local address (uvicorn in a thread).

    Args:
        model: The ``.onnx`` file, or a :class:`Predictor` already loaded.
        host: The address to listen on; ``127.0.0.1`` (this machine only) unless told.
        port: The port; 0 picks a free one (see :attr:`url`).
        max_bytes: The largest request body accepted (413 beyond it, unread).
        max_instances: The most instances one request may hold (413 beyond it).
        timeout: Seconds a client has for a request's headers, and again for its body.
        quiet: Log nothing per request (the ``workbench.serve`` logger, INFO).
        name: The model's name in ``/v1/models/NAME`` (default: the file name's stem).
        max_images: The most images one request may hold (image models; 413 beyond).
        max_concurrent: The most predictions in progress at once (503 beyond).
        pixel_budget: The most pixels a request's images may decode to (413 beyond);
            default ``max(MIN_PIXEL_BUDGET, 4 × height × width × max_images)`` of the
            model's input size.
        workers: Threads that decode and run the model (default: up to 4, one per CPU).

    Raises:
        PredictError: the model file cannot be used.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | Predictor,
        host: str = "127.0.0.1",
        port: int = 8000,
        max_bytes: int = MAX_BYTES,
        *,
        max_instances: int = MAX_INSTANCES,
        timeout: float = TIMEOUT,
        quiet: bool = False,
        name: str | None = None,
        max_images: int = MAX_IMAGES,
        max_concurrent: int = MAX_CONCURRENT,
        pixel_budget: int | None = None,
        workers: int | None = None,
    ) -> None:
        workers = workers if workers is not None else max(1, min(4, os.cpu_count() or 1))
        if min(max_bytes, max_instances, max_images, max_concurrent, workers) < 1 or timeout <= 0:
            raise ValueError(
                "max_bytes, max_instances, max_images, max_concurrent, workers and timeout must be positive"
            )
        if pixel_budget is not None and pixel_budget < 1:
            raise ValueError("pixel_budget must be positive")
        if not 0 <= port <= 65535:
            raise ServeError(f"the port must be between 0 and 65535, not {port}")
        self.predictor = model if isinstance(model, Predictor) else Predictor(model)
        self.host = host
        self.port = port
        self.max_bytes = int(max_bytes)
        self.max_instances = int(max_instances)
        self.max_images = int(max_images)
        self.max_concurrent = int(max_concurrent)
        self.workers = int(workers)
        self.timeout = float(timeout)
        self.quiet = quiet
        self.name = name or self.predictor.name
        if pixel_budget is None:
            pixel_budget = MIN_PIXEL_BUDGET
            if self.predictor.kind == "image":
                h, w = (int(v) for v in self.predictor.info.preprocessing["size"])
                pixel_budget = max(MIN_PIXEL_BUDGET, 4 * h * w * self.max_images)
        self.pixel_budget = int(pixel_budget)
        self.metadata: dict[str, Any] = _finite(
            {**self.predictor.info.to_dict(), "name": self.name}
        )
        self._app = _App(self)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._signalled = False

    # -- life cycle ---------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        where = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            # SO_REUSEADDR on POSIX only: on Windows it would let a second server bind a port in use
            return socket.create_server((self.host, self.port), family=family, backlog=2048)
        except socket.gaierror:
            raise ServeError(
                f"cannot listen on {self.host}: no such address on this machine"
            ) from None
        except OSError as e:
            if e.errno == errno.EADDRINUSE or getattr(e, "winerror", None) == 10048:
                raise ServeError(
                    f"cannot listen on {where}: the port is in use (stop what uses it, or choose another with --port)"
                ) from None
            if e.errno == errno.EACCES or getattr(e, "winerror", None) == 10013:
                raise ServeError(
                    f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
                ) from None
            if e.errno == errno.EADDRNOTAVAIL:
                raise ServeError(
                    f"cannot listen on {where}: {self.host} is not an address of this machine"
                ) from None
            raise ServeError(f"cannot listen on {where}: {e.strerror or e}") from None

    def start(self) -> None:
        """Bind, then serve from a daemon thread; returns at once (connections already queue).

        Raises:
            ServeError: it is already running, or the address cannot be bound.
        """
        with self._lock:
            if self._server is not None:
                raise ServeError(f"already serving at {self.url}")
            sock = self._bind()
            protocol = type("_BoundProtocol", (_Protocol,), {"timeout": self.timeout})
            config = uvicorn.Config(
                self._app,
                http=protocol,
                ws="none",
                lifespan="off",
                interface="asgi3",
                log_config=None,
                access_log=False,
                proxy_headers=False,
                server_header=False,
                timeout_keep_alive=max(1, math.ceil(self.timeout)),  # the protocol closes sooner
                timeout_graceful_shutdown=math.ceil(SHUTDOWN_SECONDS),
                backlog=2048,
            )
            server = uvicorn.Server(config)
            address = sock.getsockname()
            self._address = (str(address[0]), int(address[1]))
            self._server = server
            self._thread = threading.Thread(
                target=self._run,
                args=(server, sock),
                name=f"workbench-serve-{self.name}",
                daemon=True,
            )
            self._thread.start()

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        async def main() -> None:
            self._app.limiter = anyio.CapacityLimiter(self.workers)
            await server.serve(sockets=[sock])

        try:
            asyncio.run(main())
        except BaseException:  # noqa: BLE001 - a thread has nobody else to tell
            logger.exception("the server stopped unexpectedly")
        finally:
            sock.close()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    @property
    def url(self) -> str:
        """The address it listens on, e.g. ``http://127.0.0.1:8000`` (the real port after binding)."""
        host, port = (
            self._address if self._server is not None and self._address else (self.host, self.port)
        )
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def connections(self) -> int:
        """Connections open now (0 when not running)."""
        server = self._server
        return len(server.server_state.connections) if server is not None else 0

    def stop(self, wait: bool = True) -> None:
        """Stop listening; requests in progress get up to ``SHUTDOWN_SECONDS`` to finish.

        Args:
            wait: Block until the server's thread has ended. With False this returns at
                once (for a GUI thread) and the server shuts down on its own thread.
        """
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.should_exit = True
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()

    def serve_forever(self) -> None:
        """Serve until :meth:`stop` from another thread, a signal while :meth:`stop_on_signals`
        is in effect, or Ctrl+C; starts it if needed."""
        if self._server is None and not self._signalled:
            self.start()
        try:
            while not self._signalled:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    break
                thread.join(0.1)  # with a timeout, so a signal is noticed on every platform
        except KeyboardInterrupt:
            pass
        finally:
            self._signalled = False
            self.stop()

    @contextlib.contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """While inside: SIGINT (Ctrl+C) and SIGTERM stop the server cleanly (and make
        :meth:`serve_forever` return) instead of raising KeyboardInterrupt or ending the
        process, whenever they arrive. A second Ctrl+C cancels requests in progress.
        Does nothing outside the main thread (where signals cannot be handled)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = [signal.SIGINT, signal.SIGTERM]
        if sys.platform == "win32":
            signals.append(signal.SIGBREAK)  # type: ignore[attr-defined,unused-ignore]

        def handle(signum: int, frame: Any) -> None:
            # only plain assignments: the handler may run while this thread holds a lock
            server = self._server
            if server is not None:
                if server.should_exit:
                    server.force_exit = True
                server.should_exit = True
            self._signalled = True

        self._signalled = False
        previous = {s: signal.signal(s, handle) for s in signals}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = [
    "MAX_BYTES",
    "MAX_CONCURRENT",
    "MAX_IMAGES",
    "MAX_INSTANCES",
    "TIMEOUT",
    "ModelServer",
    "ServeError",
]
