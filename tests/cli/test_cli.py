"""The command line contract: outputs, JSON shape, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core.templates import TEMPLATES


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_templates_lists_one_per_line_name_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "templates")
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == list(TEMPLATES)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_new_then_info_json_has_no_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / f"{name}.wbproj"
    assert run(capsys, "new", "--template", name, str(path))[0] == 0
    code, out, err = run(capsys, "info", str(path), "--json")
    assert code == 0, err
    d = json.loads(out)
    assert set(d) >= {"nodes", "total_params", "total_flops", "errors"}
    assert d["errors"] == []
    assert {"id", "type", "output_shape", "params", "flops"} <= set(d["nodes"][0])
    assert d["total_params"] == sum(n["params"] for n in d["nodes"]) > 0
    assert d["nodes"][0]["output_shape"][0] == "N"


def test_info_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.wbproj"
    main(["new", "--template", "lenet", str(path)])
    code, out, _ = run(capsys, "info", str(path))
    assert code == 0
    assert "(N, 16, 24, 24)" in out and "conv2d_1" in out and "parameters" in out


@pytest.mark.parametrize(
    "args",
    [
        ["info", "missing.wbproj"],
        ["new", "--template", "nope", "x.wbproj"],
        ["new", "x.txt"],
        ["info"],
        ["frobnicate"],
        ["gui", "missing.wbproj"],
    ],
)
def test_errors_are_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as e:  # argparse usage errors
        code = e.code
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("workbench: ")
    assert "Traceback" not in err


def test_corrupt_project_is_one_line_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "bad.wbproj"
    path.write_bytes(b"\x00\x01garbage")
    out = subprocess.run(
        [sys.executable, "-m", "workbench", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "workbench: bad.wbproj: the file is not valid JSON (line 1, column 1: Expecting value); it may be truncated"
    ]


def test_new_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.wbproj"
    path.write_text("keep")
    code, _, err = run(capsys, "new", str(path))
    assert code == 2 and "already exists" in err
    assert path.read_text() == "keep"


def test_gui_without_a_display_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = run(capsys, "gui")
    assert code == 2 and "no display found" in err and "--screenshot" in err


def test_a_project_path_alone_opens_the_window(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`workbench net.wbproj` is how a desktop opens a project file: it means `workbench gui net.wbproj`."""
    from workbench import cli

    opened: list[tuple[str | None, str | None]] = []
    monkeypatch.setattr(
        cli, "cmd_gui", lambda args: opened.append((args.project, args.screenshot)) or 0
    )
    project = tmp_path / "net.wbproj"
    assert cli.main([str(project)]) == 0
    assert cli.main([str(project), "--screenshot", "w.png"]) == 0
    assert cli.main([]) == 0
    assert opened == [(str(project), None), (str(project), "w.png"), (None, None)]
