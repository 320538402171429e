"""An export interrupted halfway (Ctrl+C, a failure) keeps the file or folder already at the target.

The new export is written beside the target under a temporary name, verified and only then
renamed over it; whatever stops it before that leaves the old bytes and no temporary files.
A Ctrl+C that arrives while the files are being swapped in is held back until the swap is
complete, so the target is always one whole export, the old or the new.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from workbench.cli import main
from workbench.core.graph import Graph
from workbench.core.templates import make_project
from workbench.engine.compiler import compile_graph
from workbench.export import python_code, service
from workbench.export.onnx_export import export_onnx
from workbench.export.python_code import export_python
from workbench.export.weights import export_weights, load_weights

ROOT = Path(__file__).resolve().parents[2]
OLD = b"the export that was there before\n"


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _interrupt(*_args: Any, **_kwargs: Any) -> Any:
    raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def _ctrl_c_as_in_a_terminal() -> Any:
    """Ctrl+C raises KeyboardInterrupt here, as in a terminal.

    A suite started in the background by a shell without job control (``cmd &`` in a
    script) inherits SIGINT ignored, and Python then leaves it ignored.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "proj" / "net.wbproj"
    path.parent.mkdir()
    assert main(["new", "--template", "mlp", str(path)]) == 0
    return path


def _signal_after_replace(
    monkeypatch: pytest.MonkeyPatch, when: Callable[[Path, Path], bool]
) -> list[Path]:
    """Make ``os.replace`` send this process a real SIGINT right after the rename that ``when`` picks."""
    real = os.replace
    sent: list[Path] = []

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        real(src, dst, *args, **kwargs)
        if not sent and when(Path(src), Path(dst)):
            sent.append(Path(dst))
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace)
    return sent


# --- ONNX ----------------------------------------------------------------------------------------


def test_interrupting_the_onnx_check_keeps_the_old_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "net.onnx"
    out.write_bytes(OLD)
    trained = service.load_trained(project, untrained=True)
    monkeypatch.setattr(service, "_check_samples", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        service.export_trained(trained, "onnx", out)
    assert out.read_bytes() == OLD
    assert _names(tmp_path) == ["net.onnx", "proj"]


def test_a_failed_onnx_export_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx

    out = tmp_path / "net.onnx"
    out.write_bytes(OLD)
    graph = make_project("mlp").graph
    monkeypatch.setattr(onnx.checker, "check_model", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(compile_graph(graph), graph.of_type("Input")[0].params["shape"], "float32", out)
    assert out.read_bytes() == OLD
    assert _names(tmp_path) == ["net.onnx"]


# --- weights + architecture ----------------------------------------------------------------------


def test_interrupting_a_weights_export_keeps_the_old_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "w.pt"
    (tmp_path / "w.json").write_bytes(OLD + b"json")
    out.write_bytes(OLD)
    graph = make_project("mlp").graph
    real = os.fsync
    calls: list[int] = []

    def fsync(fd: int) -> None:  # the second file (the architecture) is interrupted
        calls.append(fd)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        export_weights(compile_graph(graph), graph.to_dict(), out)
    assert out.read_bytes() == OLD and (tmp_path / "w.json").read_bytes() == OLD + b"json"
    assert _names(tmp_path) == ["w.json", "w.pt"]


def test_interrupting_the_weights_verification_keeps_the_old_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.export import weights

    out = tmp_path / "w.pt"
    out.write_bytes(OLD)
    (tmp_path / "w.json").write_bytes(OLD)
    graph = make_project("mlp").graph
    monkeypatch.setattr(weights, "load_weights", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        export_weights(compile_graph(graph), graph.to_dict(), out)
    assert out.read_bytes() == OLD and (tmp_path / "w.json").read_bytes() == OLD
    assert _names(tmp_path) == ["w.json", "w.pt"]


def test_ctrl_c_between_the_two_renames_still_swaps_in_a_matching_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "w.pt"
    old_graph, new_graph = make_project("mlp").graph, make_project("lenet").graph
    export_weights(compile_graph(old_graph), old_graph.to_dict(), out)
    torch.manual_seed(3)
    new_model = compile_graph(new_graph)
    sent = _signal_after_replace(monkeypatch, lambda _src, dst: dst.name == "w.pt")
    with pytest.raises(KeyboardInterrupt):
        export_weights(new_model, new_graph.to_dict(), out)
    assert sent
    state, graph = load_weights(out)  # the two files belong together: all new (or all old)
    assert Graph.from_dict(graph).to_dict() == new_graph.to_dict()
    for key, value in new_model.state_dict().items():
        assert torch.equal(state[key], value)
    assert _names(tmp_path) == ["w.json", "w.pt"]


# --- the PyTorch code folder ---------------------------------------------------------------------


def _state(graph: Graph, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return compile_graph(graph).state_dict()


def test_interrupting_the_code_check_keeps_the_old_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = make_project("mlp").graph
    out = tmp_path / "code"
    export_python(graph, _state(graph, 0), None, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(python_code, "_verify", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        export_python(graph, _state(graph, 1), None, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _names(tmp_path) == ["code"]


def test_ctrl_c_during_the_folder_swap_leaves_one_whole_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = make_project("mlp").graph
    out = tmp_path / "code"
    export_python(graph, _state(graph, 0), None, out)
    old_weights = (out / "weights.pt").read_bytes()
    # the signal arrives just after the old folder was moved aside, before the new one moved in
    sent = _signal_after_replace(monkeypatch, lambda src, _dst: src == out)
    with pytest.raises(KeyboardInterrupt):
        export_python(graph, _state(graph, 1), None, out)
    assert sent
    assert _names(tmp_path) == ["code"]
    assert {"model.py", "weights.pt", "README.md"} <= set(_names(out))
    assert (out / "weights.pt").read_bytes() != old_weights  # the verified new export is in place


# --- a Ctrl+C that Python or a library swallows -------------------------------------------------


class _InterruptedWhileCollected:
    """Sends SIGINT from ``__del__``: Python only reports it ("Exception ignored in ...")."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


def _swallowed_in_a_library() -> None:
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        raise RuntimeError("the library's own error") from None


@pytest.mark.parametrize(
    "swallow", [_InterruptedWhileCollected, _swallowed_in_a_library], ids=["gc-callback", "library"]
)
def test_the_command_stops_on_a_ctrl_c_that_was_swallowed(
    swallow: Callable[[], object],
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "net.onnx"
    out.write_bytes(OLD)

    def check(*_args: Any, **_kwargs: Any) -> tuple[int, None, str]:
        try:
            swallow()
        except RuntimeError:
            pass  # the library's caller goes on
        return 0, None, "no samples"

    monkeypatch.setattr(service, "_check_samples", check)
    assert main(["export", str(project), "--untrained", "-o", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "workbench: interrupted"
    assert "Traceback" not in err and "Exception ignored" not in err
    assert out.read_bytes() == OLD
    assert _names(tmp_path) == ["net.onnx", "proj"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# --- a real process, a real Ctrl+C ---------------------------------------------------------------

# ``workbench export`` with its check on the dataset's samples slowed down, so the SIGINT lands
# while the staged file waits to be verified (without the sleep the window is a fraction of a second)
_SLOW_EXPORT = """
import sys, time
from workbench.export import service
check = service._check_samples
def slow(*args, **kwargs):
    print("checking", flush=True)
    time.sleep(60)
    return check(*args, **kwargs)
service._check_samples = slow
from workbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_sigint_to_the_export_command_keeps_the_old_file(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "net.onnx"
    out.write_bytes(OLD)
    before = _sha256(out)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_EXPORT, "export", str(project), "--untrained", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 240
        staged: list[str] = []
        while not staged and proc.poll() is None and time.monotonic() < deadline:
            staged = [n for n in os.listdir(tmp_path) if n.startswith(".net.onnx.")]
            time.sleep(0.05)
        assert staged, proc.communicate(timeout=60)
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert stderr.decode().strip().splitlines()[-1] == "workbench: interrupted"
    assert "Traceback" not in stderr.decode()
    assert _sha256(out) == before
    assert _names(tmp_path) == ["net.onnx", "proj"]
