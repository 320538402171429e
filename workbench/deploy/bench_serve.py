"""``workbench bench --serve``: the prediction service measured against onnxruntime itself.

A digits classifier (8×8 grayscale images, 10 classes, a small MLP) is written with the
``onnx`` helpers and the workbench's metadata, so neither the bench nor the servers import
torch. Each server runs as a subprocess (its RSS and thread count read from ``/proc``) and
is measured by the same clients in the same run:

* one keep-alive client, requests back to back: ``POST /predict`` with one 8×8 PNG (decoded
  and preprocessed) and ``POST /v2/models/digits/infer`` with one raw ``(1, 1, 8, 8)``
  tensor, against ``session.run`` of one sample in this process;
* 32 concurrent keep-alive clients, errors counted;
* eight concurrent requests, each one 9000×9000 image (PNG, then JPEG), the server's peak RSS;
* 2,000 sockets that send half a request's headers and stall: the server's threads, how
  many sockets it has dropped after its (short) timeout, and ``/health`` latency meanwhile.

``--old REV`` (or a folder holding an older checkout) measures that version's server side by
side. Figures only, no pass/fail: the machine may be shared.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from workbench import __version__
from workbench.deploy.metadata import ModelInfo, metadata_props

#: The short timeout the servers run with here, so slow sockets are dropped within the bench.
BENCH_TIMEOUT = 5.0

_SERVER_CHILD = """
import sys, logging
sys.path.insert(0, sys.argv[1])
from workbench.deploy.server import ModelServer
kw = dict(port=0, quiet=True, timeout=float(sys.argv[3]))
server = ModelServer(sys.argv[2], **kw)
server.start()
print(server.url, flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
"""


def make_digits_model(path: Path) -> Path:
    """An 8×8 grayscale, 10-class MLP (64→32→10) with the workbench's metadata; torch-free."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.3, (64, 32)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (32, 10)).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w1"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("MatMul", ["hr", "w2"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "digits",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    info = ModelInfo(
        task="classification",
        input_name="x",
        input_shape=["batch", 1, 8, 8],
        input_dtype="float32",
        preprocessing={
            "kind": "image",
            "size": [8, 8],
            "color": "grayscale",
            "mean": [0.5],
            "std": [0.25],
        },
        classes=[str(d) for d in range(10)],
        output={"kind": "logits", "activation": "softmax", "size": 10},
        extra={"workbench_version": __version__, "project": "digits", "run": "bench"},
    )
    helper.set_model_props(model, metadata_props(info))
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


# --------------------------------------------------------------------------- helpers


class _Server:
    """A server in a subprocess: ``root`` is the folder its ``workbench`` package comes from."""

    def __init__(self, root: Path, model: Path, timeout: float) -> None:
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_CHILD, str(root), str(model), str(timeout)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"the server in {root} did not start")
        host, port = line.removeprefix("http://").rsplit(":", 1)
        self.host, self.port = host, int(port)

    def status(self) -> dict[str, int]:
        """VmRSS, VmHWM (kB) and Threads from /proc."""
        out: dict[str, int] = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    out[key] = int(value.split()[0])
        return out

    def connect(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _huge_image(size: int = 9000) -> np.ndarray:
    """A size×size RGB image that compresses well (a gradient with a stroke), as photos
    of that size would not: a few hundred KB on the wire, 243 MB decoded."""
    row = (np.arange(size, dtype=np.uint32) * 255 // size).astype(np.uint8)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = row[None, :, None]
    image[size // 3 : size // 3 + 50] = (255, 0, 0)
    return image


def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


# --------------------------------------------------------------------------- measurements


def raw_latency(model: Path, n: int = 3000) -> float:
    """Seconds per ``session.run`` of one sample in this process (median of batches)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    s = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((1, 1, 8, 8), dtype=np.float32)
    for _ in range(100):
        s.run(None, {"x": x})
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n // 5):
            s.run(None, {"x": x})
        times.append((time.perf_counter() - t) / (n // 5))
    return statistics.median(times)


def keep_alive(server: _Server, path: str, body: bytes, seconds: float = 3.0) -> dict[str, Any]:
    """One client, one connection, requests back to back for ``seconds``."""
    conn = server.connect()
    try:
        for _ in range(20):
            status, _ = _post(conn, path, body)
            if status != 200:
                return {"error": f"status {status}"}
        count, errors = 0, 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            status, _ = _post(conn, path, body)
            count += 1
            errors += status != 200
        elapsed = time.perf_counter() - t0
    finally:
        conn.close()
    return {
        "requests_per_s": count / elapsed,
        "ms_per_request": elapsed / count * 1000,
        "errors": errors,
    }


def concurrent_clients(
    server: _Server, path: str, body: bytes, clients: int = 32, each: int = 40
) -> dict[str, Any]:
    """``clients`` threads, each with its own keep-alive connection, ``each`` requests."""
    errors: list[str] = []

    def client(_: int) -> int:
        done = 0
        try:
            conn = server.connect()
            for _ in range(each):
                status, _data = _post(conn, path, body)
                if status != 200:
                    errors.append(str(status))
                done += 1
            conn.close()
        except OSError as e:
            errors.append(type(e).__name__)
        return done

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = sum(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests": clients * each,
        "requests_per_s": done / elapsed,
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
    }


def huge_images(server: _Server, image: bytes, count: int = 8) -> dict[str, Any]:
    """``count`` concurrent requests of one huge image each: statuses and the server's peak RSS."""
    body = json.dumps({"instances": [{"b64": base64.b64encode(image).decode()}]}).encode()
    before = server.status()
    peak = before["VmRSS"]
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            with contextlib.suppress(OSError):
                peak = max(peak, server.status()["VmRSS"])
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def one(_: int) -> int:
        conn = server.connect(timeout=300)
        try:
            return _post(conn, "/predict", body)[0]
        except OSError:
            return -1
        finally:
            conn.close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - t0
    stop.set()
    sampler.join()
    after = server.status()
    return {
        "statuses": sorted(set(statuses)),
        "rss_before_mb": before["VmRSS"] / 1024,
        "rss_peak_mb": max(peak, after["VmHWM"])
        / 1024,  # the high-water mark catches what sampling missed
        "seconds": elapsed,
        "body_kb": len(body) / 1024,
    }


def slow_sockets(
    server: _Server, count: int = 2000, timeout: float = BENCH_TIMEOUT
) -> dict[str, Any]:
    """``count`` sockets send half a request and stall; threads, /health latency, drops."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 256
    if soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    threads_before = server.status()["Threads"]
    socks: list[socket.socket] = []
    connect_errors = 0
    t_open = time.perf_counter()
    for _ in range(count):
        try:
            s = socket.create_connection((server.host, server.port), timeout=10)
            s.sendall(
                b"POST /predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            )
            socks.append(s)
        except OSError:
            connect_errors += 1
    opened_s = time.perf_counter() - t_open
    health: list[float] = []
    health_errors = 0
    peak_threads = server.status()["Threads"]
    conn = server.connect(timeout=30)
    # The first answer waits behind the server accepting the burst of sockets; timed apart.
    t = time.perf_counter()
    first_status, _ = _get(conn, "/health")
    first_ms = (time.perf_counter() - t) * 1000
    health_errors += first_status != 200
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        t = time.perf_counter()
        try:
            status, _ = _get(conn, "/health")
            health_errors += status != 200
        except OSError:
            health_errors += 1
            conn.close()
            conn = server.connect(timeout=30)
        health.append((time.perf_counter() - t) * 1000)
        peak_threads = max(peak_threads, server.status()["Threads"])
        time.sleep(0.02)
    conn.close()
    # Wait past the timeout (counted from the last socket opened), then see which were dropped.
    time.sleep(max(0.0, timeout + 2.0 - (time.perf_counter() - t_open - opened_s)))
    dropped = 0
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(1)
            dropped += data == b""  # closed by the server
        except BlockingIOError:
            pass  # still open
        except OSError:
            dropped += 1  # reset by the server
    for s in socks:
        s.close()
    return {
        "sockets": len(socks),
        "connect_errors": connect_errors,
        "open_s": opened_s,
        "threads_before": threads_before,
        "threads_peak": peak_threads,
        "health_first_ms": first_ms,
        "health_ms_median": statistics.median(health) if health else float("nan"),
        "health_ms_p99": float(np.percentile(health, 99)) if health else float("nan"),
        "health_checks": len(health),
        "health_ms_max": max(health) if health else float("nan"),
        "health_errors": health_errors,
        "dropped_after_timeout": dropped,
        "timeout_s": timeout,
    }


@contextlib.contextmanager
def _old_checkout(rev: str) -> Iterator[Path]:
    """``git archive REV`` of this repository in a temporary folder (or REV if it is a folder)."""
    if Path(rev).is_dir():
        yield Path(rev)
        return
    repo = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="workbench-old-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", rev, "workbench"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


def run(
    old: str | None = None, log: Callable[[str], None] | None = None, slow: int = 2000
) -> dict[str, Any]:
    """All figures, for this tree's server and (with ``old``) an older one."""
    say = log or (lambda _line: None)
    here = Path(__file__).resolve().parents[2]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="workbench-bench-serve-") as tmp:
        model = make_digits_model(Path(tmp) / "digits.onnx")
        raw = raw_latency(model)
        results["raw_session_run_ms"] = raw * 1000
        say(f"raw session.run: {raw * 1e6:.1f} µs per call")
        x = np.random.default_rng(1).random((1, 1, 8, 8), dtype=np.float32)
        v2_body = json.dumps(
            {
                "inputs": [
                    {
                        "name": "x",
                        "shape": [1, 1, 8, 8],
                        "datatype": "FP32",
                        "data": x.reshape(-1).tolist(),
                    }
                ]
            }
        ).encode()
        digit = (np.random.default_rng(2).random((8, 8)) * 255).astype(np.uint8)
        v1_body = json.dumps(
            {"instances": [{"b64": base64.b64encode(_png(digit)).decode()}]}
        ).encode()
        huge = _huge_image()
        huge_png, huge_jpeg = _png(huge), _jpeg(huge)
        del huge
        servers = [("new", here)]
        with contextlib.ExitStack() as stack:
            if old:
                servers.append(("old", stack.enter_context(_old_checkout(old))))
            for label, root in servers:
                say(f"[{label}] starting the server from {root}")
                figures: dict[str, Any] = {}
                server = _Server(root, model, BENCH_TIMEOUT)
                try:
                    if label == "new":
                        figures["keep_alive_v2"] = keep_alive(
                            server, "/v2/models/digits/infer", v2_body
                        )
                        say(f"[{label}] keep-alive v2 infer: {figures['keep_alive_v2']}")
                    figures["keep_alive_v1"] = keep_alive(server, "/predict", v1_body)
                    say(f"[{label}] keep-alive v1 predict: {figures['keep_alive_v1']}")
                    figures["concurrent_32"] = concurrent_clients(server, "/predict", v1_body)
                    say(f"[{label}] 32 clients: {figures['concurrent_32']}")
                finally:
                    server.close()
                for kind, image in (("png", huge_png), ("jpeg", huge_jpeg)):
                    server = _Server(
                        root, model, BENCH_TIMEOUT
                    )  # a fresh process: its own peak RSS
                    try:
                        figures[f"huge_{kind}"] = huge_images(server, image)
                        say(f"[{label}] 8 × 9000² {kind}: {figures[f'huge_{kind}']}")
                    finally:
                        server.close()
                server = _Server(root, model, BENCH_TIMEOUT)
                try:
                    figures["slow_sockets"] = slow_sockets(server, slow)
                    say(f"[{label}] {slow} slow sockets: {figures['slow_sockets']}")
                finally:
                    server.close()
                results[label] = figures
    return results


def format_report(r: dict[str, Any]) -> str:
    """A table of the figures, new beside old (with ratios) where both were measured."""
    labels = [k for k in ("new", "old") if k in r]

    def get(label: str, *keys: str) -> Any:
        v: Any = r.get(label, {})
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        return v

    rows: list[tuple[str, tuple[str, ...], str, bool]] = [
        (
            "keep-alive client, v1 /predict (one PNG), req/s",
            ("keep_alive_v1", "requests_per_s"),
            "{:,.0f}",
            True,
        ),
        (
            "keep-alive client, v1 /predict, ms/request",
            ("keep_alive_v1", "ms_per_request"),
            "{:.2f}",
            False,
        ),
        (
            "keep-alive client, v2 infer (raw tensor), req/s",
            ("keep_alive_v2", "requests_per_s"),
            "{:,.0f}",
            True,
        ),
        (
            "keep-alive client, v2 infer, ms/request",
            ("keep_alive_v2", "ms_per_request"),
            "{:.2f}",
            False,
        ),
        ("32 concurrent clients, req/s", ("concurrent_32", "requests_per_s"), "{:,.0f}", True),
        ("32 concurrent clients, errors", ("concurrent_32", "errors"), "{}", False),
        ("8 × 9000² PNG: statuses", ("huge_png", "statuses"), "{}", False),
        ("8 × 9000² PNG: peak RSS, MB", ("huge_png", "rss_peak_mb"), "{:,.0f}", False),
        ("8 × 9000² JPEG: statuses", ("huge_jpeg", "statuses"), "{}", False),
        ("8 × 9000² JPEG: peak RSS, MB", ("huge_jpeg", "rss_peak_mb"), "{:,.0f}", False),
        ("slow sockets: open", ("slow_sockets", "sockets"), "{:,}", False),
        ("slow sockets: seconds to open them all", ("slow_sockets", "open_s"), "{:.2f}", False),
        ("slow sockets: server threads, peak", ("slow_sockets", "threads_peak"), "{:,}", False),
        (
            "slow sockets: first /health (behind the accepts), ms",
            ("slow_sockets", "health_first_ms"),
            "{:.2f}",
            False,
        ),
        ("slow sockets: /health median, ms", ("slow_sockets", "health_ms_median"), "{:.2f}", False),
        ("slow sockets: /health p99, ms", ("slow_sockets", "health_ms_p99"), "{:.2f}", False),
        ("slow sockets: /health max, ms", ("slow_sockets", "health_ms_max"), "{:.2f}", False),
        (
            "slow sockets: dropped after the timeout",
            ("slow_sockets", "dropped_after_timeout"),
            "{:,}",
            False,
        ),
    ]
    raw = r["raw_session_run_ms"]
    lines = [
        f"raw onnxruntime session.run, one sample: {raw * 1000:.1f} µs ({1 / raw * 1000:,.0f} calls/s)",
        "",
    ]
    width = max(len(name) for name, *_ in rows)
    lines.append(
        f"{'':<{width}}  "
        + "  ".join(f"{label:>12}" for label in labels)
        + ("  new/old" if len(labels) == 2 else "")
    )
    for name, keys, fmt, _higher in rows:
        values = [get(label, *keys) for label in labels]
        if all(v is None for v in values):
            continue
        cells = [fmt.format(v) if v is not None else "-" for v in values]
        ratio = ""
        if (
            len(values) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            and values[1]
        ):
            ratio = f"  {values[0] / values[1]:.2f}×"
        lines.append(f"{name:<{width}}  " + "  ".join(f"{c:>12}" for c in cells) + ratio)
    v1 = get("new", "keep_alive_v1", "ms_per_request")
    v2 = get("new", "keep_alive_v2", "ms_per_request")
    if v2:
        lines.append("")
        lines.append(
            f"new server, v2 infer per request: {v2 / raw:.0f}× the raw session.run; v1 (PNG decode) {v1 / raw:.0f}×"
        )
    return "\n".join(lines)


__all__ = ["format_report", "make_digits_model", "run"]
