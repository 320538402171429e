"""A local HTTP service for an exported model, with the standard library only (``workbench serve``).

The TensorFlow-Serving / KServe v1 convention:

* ``GET /health`` → ``{"status": "ok"}``.
* ``GET /metadata`` and ``GET /v1/models/NAME`` → what the model is:
  :meth:`~workbench.deploy.metadata.ModelInfo.to_dict` plus ``name``.
* ``POST /predict`` and ``POST /v1/models/NAME:predict`` with ``{"instances": [...]}``
  (and optionally ``"top_k": 5``) → ``{"predictions": [...]}``, each prediction as
  ``workbench predict --json`` gives it, ``input`` being the instance's index.

What an instance is depends on the model (see :mod:`workbench.deploy.predict`). Every error
is JSON ``{"error": "one line"}`` with a 4xx status (500 only for a bug, whose traceback
goes to the server's log, never to the client). Bodies need a ``Content-Length`` and are
refused unread beyond ``max_bytes``; each connection's socket has a timeout, so a slow or
silent client cannot hold a thread forever. Requests are served by one thread each and
run the onnxruntime session concurrently (it allows that), without a global lock.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from workbench.deploy.predict import TOP_K, PredictError, Predictor

#: The largest request body accepted, in bytes.
MAX_BYTES = 16 * 2**20
#: The most instances one request may hold.
MAX_INSTANCES = 1024
#: Seconds a connection may stay silent (while sending a request, or idle between two).
TIMEOUT = 30.0
#: After refusing a body unread, at most this many seconds and bytes are drained before the
#: connection is closed, so the client can read the answer instead of a connection reset.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 64 * 2**20

logger = logging.getLogger("workbench.serve")

_MODEL_PATH = re.compile(r"/v1/models/(?P<name>[^/:]+)(?P<predict>:predict)?/?")


class ServeError(Exception):
    """The server cannot start (the port is in use, the address is wrong); one line."""


class _HttpError(Exception):
    """An answer with an error status; ``close`` when the rest of the request was not read."""

    def __init__(self, status: int, message: str, *, close: bool = False, headers: dict[str, str] | None = None) -> None:
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


class _HTTPServer(ThreadingHTTPServer):
    """One daemon thread per connection; knows its :class:`ModelServer`."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 resets connections when a burst of clients
    # connects at once (seen here with 16 concurrent clients)
    request_queue_size = 128
    # On Windows SO_REUSEADDR lets a second server bind a port in use; never set it there.
    allow_reuse_address = sys.platform != "win32"

    def __init__(self, address: tuple[str, int], app: ModelServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver would print a traceback to stderr; a client that hung up is routine.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            logger.debug("%s: connection ended: %s", client_address[0], type(exc).__name__)
        else:
            logger.exception("%s: unexpected error while handling a connection", client_address[0])


class _Handler(BaseHTTPRequestHandler):
    """Routes one request; every answer is JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "ModelWorkbench"
    sys_version = ""
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.app.timeout)

    # Every method goes through one dispatcher, so a wrong one is a JSON 405, not HTML.
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def _dispatch(self) -> None:
        start = time.perf_counter()
        app = self.server.app
        self._instances = 0
        self._body_read = False
        close = False
        headers: dict[str, str] = {}
        try:
            status, body = HTTPStatus.OK, self._route(app)
        except _HttpError as e:
            status, body, close, headers = HTTPStatus(e.status), {"error": e.message}, e.close, e.headers
        except TimeoutError:
            status, close = HTTPStatus.REQUEST_TIMEOUT, True
            body = {"error": f"the request body did not arrive within {app.timeout:g} s"}
        except Exception as e:  # a bug: log it here, tell the client only that it happened
            logger.exception("%s %s failed", self.command, self.path)
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            body = {"error": f"internal error ({type(e).__name__}); see the server's log"}
        declared = self.headers.get("Content-Length", "0").strip() not in ("", "0") or "Transfer-Encoding" in self.headers
        if declared and not self._body_read:
            close = True  # a body left unread would be taken for the next request
        sent = self._send_json(status, body, close=close, headers=headers)
        if close and status != HTTPStatus.REQUEST_TIMEOUT:
            self._linger()
        if not app.quiet:
            extra = f" {self._instances} instance(s)" if self._instances else ""
            note = f" ({body['error']})" if "error" in body else ""
            logger.info(
                '%s "%s %s" %d %dB %.1f ms%s%s',
                self.client_address[0], self.command, self.path, status, sent, (time.perf_counter() - start) * 1000, extra, note,
            )

    def _route(self, app: ModelServer) -> dict[str, Any]:
        path = urlsplit(self.path).path
        method = "GET" if self.command == "HEAD" else self.command
        if path in ("/health", "/health/"):
            self._allow(method, "GET")
            return {"status": "ok"}
        if path in ("/metadata", "/metadata/"):
            self._allow(method, "GET")
            return app.metadata
        if path in ("/predict", "/predict/"):
            self._allow(method, "POST")
            return self._predict(app)
        m = _MODEL_PATH.fullmatch(path)
        if m is not None:
            name = unquote(m.group("name"))
            if name != app.name:
                raise _HttpError(404, f"no model named '{name}' here; this server serves '{app.name}'")
            if m.group("predict"):
                self._allow(method, "POST")
                return self._predict(app)
            self._allow(method, "GET")
            return app.metadata
        raise _HttpError(
            404,
            f"no such path: {path} (the paths are GET /health, GET /metadata, POST /predict, "
            f"GET /v1/models/{app.name} and POST /v1/models/{app.name}:predict)",
        )

    def _allow(self, method: str, allowed: str) -> None:
        if method != allowed:
            raise _HttpError(405, f"{self.command} is not allowed here; use {allowed}", headers={"Allow": allowed})

    def _read_body(self, app: ModelServer) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise _HttpError(411, "send the body with a Content-Length header (chunked bodies are not accepted)", close=True)
        text = self.headers.get("Content-Length")
        if text is None:
            raise _HttpError(411, "a Content-Length header is required", close=True)
        try:
            length = int(text)
            if length < 0:
                raise ValueError
        except ValueError:
            raise _HttpError(400, f"the Content-Length '{text}' is not a number of bytes", close=True) from None
        if length > app.max_bytes:
            raise _HttpError(
                413, f"the body is {length:,} bytes; the limit is {app.max_bytes:,} (send fewer instances per request)", close=True
            )
        body = self.rfile.read(length)
        self._body_read = True
        if len(body) < length:
            raise _HttpError(400, f"the body ended after {len(body):,} of {length:,} bytes", close=True)
        return body

    def _predict(self, app: ModelServer) -> dict[str, Any]:
        body = self._read_body(app)
        try:
            doc = json.loads(body)
        except RecursionError:
            raise _HttpError(400, "the body is not valid JSON (nested too deeply)") from None
        except ValueError as e:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not text
            raise _HttpError(400, f"the body is not valid JSON ({str(e).splitlines()[0]})") from None
        if not isinstance(doc, dict):
            raise _HttpError(400, 'the body must be a JSON object: {"instances": [...]}')
        if "instances" not in doc:
            raise _HttpError(400, 'the body has no "instances": send {"instances": [...]}')
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise _HttpError(400, '"instances" must be a list')
        if not instances:
            raise _HttpError(400, '"instances" is empty')
        if len(instances) > app.max_instances:
            raise _HttpError(413, f"{len(instances):,} instances in one request; the limit is {app.max_instances:,}")
        top_k = doc.get("top_k", TOP_K)
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise _HttpError(400, '"top_k" must be a whole number, at least 1')
        self._instances = len(instances)
        try:
            predictions = app.predictor.predict_instances(instances, top_k)
        except PredictError as e:
            raise _HttpError(400, str(e)) from None
        return {"predictions": predictions}

    # -- writing ------------------------------------------------------------------------------

    def _send_json(
        self, status: HTTPStatus, body: dict[str, Any], *, close: bool = False, headers: dict[str, str] | None = None
    ) -> int:
        data = json.dumps(body, allow_nan=False).encode("utf-8") + b"\n"
        if close:
            self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            if close:
                self.send_header("Connection", "close")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return 0
        return len(data)

    def _linger(self) -> None:
        """Read and drop what the client still sends (a refused body) for a moment, then
        close: closing with unread data would reset the connection and could lose the
        answer before the client reads it."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.25)
            deadline = time.monotonic() + _LINGER_SECONDS
            drained = 0
            while time.monotonic() < deadline and drained < _LINGER_BYTES:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, huge headers...) as JSON."""
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        self._send_json(status, {"error": message or status.phrase}, close=True)
        if not self.server.app.quiet:
            logger.info('%s "%s" %d (%s)', self.client_address[0], (self.requestline or "")[:100], code, message or status.phrase)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are logged once they are answered (:meth:`_dispatch`)."""

    def log_message(self, format: str, *args: Any) -> None:
        """http.server's other messages (a connection that timed out) at debug level."""
        logger.debug("%s %s", self.client_address[0], format % args)


class ModelServer:
    """Serves one exported model over HTTP on a local address.

    Args:
        model: The ``.onnx`` file, or a :class:`Predictor` already loaded.
        host: The address to listen on; ``127.0.0.1`` (this machine only) unless told.
        port: The port; 0 picks a free one (see :attr:`url`).
        max_bytes: The largest request body accepted (413 beyond it, unread).
        max_instances: The most instances one request may hold (413 beyond it).
        timeout: Seconds a connection may stay silent before it is closed.
        quiet: Log nothing per request (the ``workbench.serve`` logger, INFO).
        name: The model's name in ``/v1/models/NAME`` (default: the file name's stem).

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
    ) -> None:
        if max_bytes < 1 or max_instances < 1 or timeout <= 0:
            raise ValueError("max_bytes, max_instances and timeout must be positive")
        if not 0 <= port <= 65535:
            raise ServeError(f"the port must be between 0 and 65535, not {port}")
        self.predictor = model if isinstance(model, Predictor) else Predictor(model)
        self.host = host
        self.port = port
        self.max_bytes = int(max_bytes)
        self.max_instances = int(max_instances)
        self.timeout = float(timeout)
        self.quiet = quiet
        self.name = name or self.predictor.name
        self.metadata: dict[str, Any] = _finite({**self.predictor.info.to_dict(), "name": self.name})
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------

    def _bind(self) -> _HTTPServer:
        where = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        try:
            return _HTTPServer((self.host, self.port), self)
        except socket.gaierror:
            raise ServeError(f"cannot listen on {self.host}: no such address on this machine") from None
        except OSError as e:
            if e.errno == errno.EADDRINUSE or getattr(e, "winerror", None) == 10048:
                raise ServeError(
                    f"cannot listen on {where}: the port is in use (stop what uses it, or choose another with --port)"
                ) from None
            if e.errno == errno.EACCES or getattr(e, "winerror", None) == 10013:
                raise ServeError(f"cannot listen on {where}: permission denied (ports below 1024 need privileges)") from None
            if e.errno == errno.EADDRNOTAVAIL:
                raise ServeError(f"cannot listen on {where}: {self.host} is not an address of this machine") from None
            raise ServeError(f"cannot listen on {where}: {e.strerror or e}") from None

    def start(self) -> None:
        """Bind and serve from a daemon thread; returns at once.

        Raises:
            ServeError: it is already running, or the address cannot be bound.
        """
        with self._lock:
            if self._httpd is not None:
                raise ServeError(f"already serving at {self.url}")
            httpd = self._bind()
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.25}, name=f"workbench-serve-{self.name}", daemon=True
            )
            self._thread.start()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._httpd is not None

    @property
    def url(self) -> str:
        """The address it listens on, e.g. ``http://127.0.0.1:8000`` (the real port after binding)."""
        httpd = self._httpd
        host, port = (httpd.server_address[0], httpd.server_address[1]) if httpd is not None else (self.host, self.port)
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def stop(self, wait: bool = True) -> None:
        """Stop listening. Connections already open finish their current request.

        Args:
            wait: Block until the server's thread has ended. With False the shutdown runs
                in a helper thread and this returns at once (for a GUI thread).
        """
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None:
            return

        def shutdown() -> None:
            httpd.shutdown()
            httpd.server_close()

        if wait:
            shutdown()
            if thread is not None and thread is not threading.current_thread():
                thread.join()
        else:
            threading.Thread(target=shutdown, name="workbench-serve-stop", daemon=True).start()

    def serve_forever(self) -> None:
        """Serve until Ctrl+C (or :meth:`stop` from another thread); starts it if needed."""
        if self._httpd is None:
            self.start()
        thread = self._thread
        try:
            # join() with a timeout, so Ctrl+C is noticed on every platform
            while thread is not None and thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["MAX_BYTES", "MAX_INSTANCES", "TIMEOUT", "ModelServer", "ServeError"]
