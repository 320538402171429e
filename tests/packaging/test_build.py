"""packaging/build.py: prerequisites in one line, the Linux package's parts, the installers' recipes.

The build itself (``test_the_built_deb_runs_its_self_test``) takes 10-20 minutes on two
cores, so it runs only with ``WORKBENCH_BUILD_TESTS=1``.
"""

from __future__ import annotations

import importlib.util
import os
import plistlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_build() -> ModuleType:
    # packaging/ is not a package (the name belongs to PyPI's `packaging`): load it by path.
    spec = importlib.util.spec_from_file_location("workbench_build", ROOT / "packaging/build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["workbench_build"] = module
    spec.loader.exec_module(module)
    return module


build = _load_build()


def test_the_packaging_extra_pins_pyinstaller() -> None:
    pins = build.packaging_pins()
    assert set(pins) == {"pyinstaller", "pyinstaller-hooks-contrib"}
    assert re.fullmatch(r"6\.\d+\.\d+", pins["pyinstaller"])
    assert re.fullmatch(r"\d{4}\.\d+", pins["pyinstaller-hooks-contrib"])


def _all_present(monkeypatch: pytest.MonkeyPatch) -> None:
    pins = build.packaging_pins()
    versions = {**pins, "torch": "2.13.0+cpu"}
    monkeypatch.setattr(build, "_dist_version", lambda name: versions.get(name))
    monkeypatch.setattr(build.shutil, "which", lambda tool: f"/usr/bin/{tool}")


def test_prerequisites_present(monkeypatch: pytest.MonkeyPatch) -> None:
    _all_present(monkeypatch)
    assert build.check_prerequisites("linux") == []


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("pyinstaller", "pyinstaller is not installed: pip install -e '.[packaging]'"),
        ("dpkg-deb", "dpkg-deb is not on the PATH (Debian/Ubuntu: apt-get install dpkg)"),
        ("cuda", "torch 2.13.0+cu128 is not the CPU build: pip install torch==2.13.0 --index-url"),
    ],
)
def test_a_missing_prerequisite_is_one_line_exit_2(
    missing: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    _all_present(monkeypatch)
    if missing == "pyinstaller":
        real = build._dist_version
        monkeypatch.setattr(build, "_dist_version", lambda n: None if n == missing else real(n))
    elif missing == "cuda":
        real = build._dist_version
        monkeypatch.setattr(
            build, "_dist_version", lambda n: "2.13.0+cu128" if n == "torch" else real(n)
        )
    else:
        monkeypatch.setattr(build.shutil, "which", lambda t: None if t == missing else f"/bin/{t}")
    monkeypatch.setattr(build.sys, "platform", "linux")
    ran: list[object] = []
    monkeypatch.setattr(build, "run_pyinstaller", lambda *a: ran.append(a))
    assert build.main(["--dist", str(tmp_path / "dist")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"build.py: {message}")
    assert ran == []  # nothing was built


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils")
def test_the_desktop_entry_validates(tmp_path: Path) -> None:
    build._share_tree(tmp_path)
    entry = tmp_path / "applications" / "model-workbench.desktop"
    assert build.validate_desktop_entry(entry) is None
    text = entry.read_text(encoding="utf-8")
    assert "Exec=workbench %f" in text and f"MimeType={build.MIME_TYPE};" in text


def test_the_share_tree_has_icons_in_the_hicolor_sizes(tmp_path: Path) -> None:
    from PIL import Image

    build._share_tree(tmp_path)
    for size in build.HICOLOR_SIZES:
        png = tmp_path / f"icons/hicolor/{size}x{size}/apps/model-workbench.png"
        with Image.open(png) as image:
            assert image.size == (size, size)


@pytest.mark.skipif(shutil.which("update-mime-database") is None, reason="shared-mime-info")
def test_wbproj_files_get_the_apps_mime_type(tmp_path: Path) -> None:
    build._share_tree(tmp_path)
    subprocess.run(["update-mime-database", str(tmp_path / "mime")], check=True, timeout=120)
    globs = (tmp_path / "mime" / "globs2").read_text(encoding="utf-8")
    assert f"{build.MIME_TYPE}:*.wbproj" in globs


def test_the_deb_control_file() -> None:
    text = build.deb_control("1.2.3", "amd64", 900_000)
    fields = dict(line.split(": ", 1) for line in text.splitlines() if not line.startswith(" "))
    assert fields["Package"] == "model-workbench" and fields["Version"] == "1.2.3"
    assert fields["Architecture"] == "amd64" and fields["Installed-Size"] == "900000"
    assert "libxcb-cursor0" in fields["Depends"].split(", ")
    assert text.endswith("\n")


def test_the_windows_script_names_what_build_py_expects() -> None:
    iss = (ROOT / "packaging/windows/model-workbench.iss").read_text(encoding="utf-8")
    assert "OutputBaseFilename=ModelWorkbench-{#AppVersion}-windows-x64-setup" in iss
    assert "PrivilegesRequired=lowest" in iss and "ChangesAssociations=yes" in iss
    assert 'Subkey: "Software\\Classes\\.wbproj\\OpenWithProgids"' in iss
    assert (ROOT / "packaging/windows" / "../../workbench/resources/icons/workbench.ico").is_file()


def test_the_macos_files_parse() -> None:
    info = plistlib.loads((ROOT / "packaging/macos/Info.plist").read_bytes())
    assert info["CFBundleIdentifier"] == "org.modelworkbench.ModelWorkbench"
    (doc,) = info["CFBundleDocumentTypes"]
    (uti,) = info["UTExportedTypeDeclarations"]
    assert doc["LSItemContentTypes"] == [uti["UTTypeIdentifier"]]
    assert uti["UTTypeTagSpecification"]["public.filename-extension"] == ["wbproj"]
    entitlements = plistlib.loads((ROOT / "packaging/macos/entitlements.plist").read_bytes())
    assert entitlements["com.apple.security.cs.disable-library-validation"] is True
    script = ROOT / "packaging/macos/make_dmg.sh"
    assert subprocess.run(["bash", "-n", str(script)], timeout=60).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("WORKBENCH_BUILD_TESTS") != "1",
    reason="builds the installers (10-20 minutes): set WORKBENCH_BUILD_TESTS=1",
)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .deb is built on Linux")
def test_the_built_deb_runs_its_self_test(tmp_path: Path) -> None:
    dist, work = tmp_path / "dist", tmp_path / "work"
    built = subprocess.run(
        [
            sys.executable,
            str(ROOT / "packaging/build.py"),
            "--dist",
            str(dist),
            "--work",
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert "bundle size: " in built.stdout and "build time: " in built.stdout
    (deb,) = dist.glob("model-workbench_*.deb")
    assert list(dist.glob("model-workbench-*-linux-*.tar.gz"))
    depends = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True, check=True
    ).stdout
    assert "libxcb-cursor0" in depends
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    for part in (
        "usr/bin/workbench",
        "usr/share/applications/model-workbench.desktop",
        "usr/share/mime/packages/model-workbench.xml",
        "usr/share/icons/hicolor/256x256/apps/model-workbench.png",
        "opt/model-workbench/_internal/workbench/standalone/train.py",
    ):
        assert (root / part).is_file(), part
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    test = subprocess.run(
        [str(root / "opt/model-workbench/workbench"), "--self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "frozen application" in test.stdout and "self-test passed" in test.stdout
