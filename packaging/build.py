"""Build Model Workbench's installers for the system this runs on.

    python packaging/build.py [--self-test] [--dist DIR] [--skip-bundle]

It checks the prerequisites, builds the PyInstaller bundle (``packaging/workbench.spec``:
onedir, windowed, CPU torch) and then the system's installers into ``dist/``:

* Linux: ``model-workbench_<version>_<arch>.deb`` (dpkg-deb) and
  ``model-workbench-<version>-linux-<machine>.tar.gz``
* Windows: ``ModelWorkbench-<version>-windows-x64-setup.exe`` (Inno Setup's ``iscc``)
* macOS: ``ModelWorkbench-<version>-macos-<machine>.dmg`` (``packaging/macos/make_dmg.sh``;
  signed and notarized when the identity is in the environment)

It prints the bundle's size and its largest parts, each installer's size and the build
time. A missing prerequisite stops it with one line (exit 2) before anything is built.
See docs/packaging.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "workbench.spec"
ICONS = ROOT / "workbench" / "resources" / "icons"
BUNDLE_NAME = "model-workbench"  # the onedir folder PyInstaller writes
APP_ID = "model-workbench"  # the .desktop file, icon and package name on Linux
MIME_TYPE = "application/x-model-workbench-project"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

#: Debian packages the bundle needs from the system: what Qt's xcb platform plugin links
#: (libxcb-cursor0 above all, which minimal desktops lack) and the C library.
DEB_DEPENDS = (
    "libc6 (>= 2.28)",
    "libstdc++6 (>= 10)",
    "libgcc-s1",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xfixes0",
    "libxcb-xkb1",
    "libxkbcommon-x11-0",
    "libxkbcommon0",
    "libx11-xcb1",
    "libfontconfig1",
    "libfreetype6",
    "libegl1",
    "libgl1",
    "libdbus-1-3",
    "libglib2.0-0",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
)

DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Version=1.4
Name=Model Workbench
GenericName=Neural network builder
Comment=Build, train, evaluate and export neural networks by pointing and clicking
Exec=workbench %f
Icon={app_id}
Terminal=false
Categories=Science;ArtificialIntelligence;
Keywords=neural;network;deep;learning;pytorch;onnx;training;
MimeType={mime};
StartupNotify=true
StartupWMClass=workbench
"""

MIME_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="{mime}">
    <comment>Model Workbench project</comment>
    <sub-class-of type="application/json"/>
    <generic-icon name="{app_id}"/>
    <glob pattern="*.wbproj"/>
  </mime-type>
</mime-info>
"""

LAUNCHER = """\
#!/bin/sh
# Model Workbench: the window, or a sub-command (workbench --help).
exec /opt/{bundle}/workbench "$@"
"""

TAR_NOTE = """\
Model Workbench {version} for Linux ({machine})

Run it from this folder:

    ./workbench                 the window
    ./workbench --self-test     check that training, export and prediction work here

To put it in the applications menu for your user only:

    ./install-desktop-entry.sh

Qt needs a few X11 libraries that minimal systems lack; on Debian and Ubuntu:

    sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1

The .deb package of the same version installs to /opt/model-workbench, puts `workbench`
on the PATH and opens .wbproj files with the app.
"""

TAR_DESKTOP_INSTALL = """\
#!/bin/sh
# Add Model Workbench to this user's applications menu, run from the unpacked folder.
set -e
here=$(cd "$(dirname "$0")" && pwd)
data=${{XDG_DATA_HOME:-$HOME/.local/share}}
mkdir -p "$data/applications" "$data/mime/packages"
for size in {sizes}; do
    mkdir -p "$data/icons/hicolor/${{size}}x${{size}}/apps"
    cp "$here/share/icons/hicolor/${{size}}x${{size}}/apps/{app_id}.png" \\
        "$data/icons/hicolor/${{size}}x${{size}}/apps/"
done
sed "s|^Exec=workbench|Exec=$here/workbench|" "$here/share/applications/{app_id}.desktop" \\
    > "$data/applications/{app_id}.desktop"
cp "$here/share/mime/packages/{app_id}.xml" "$data/mime/packages/"
update-mime-database "$data/mime" 2>/dev/null || true
update-desktop-database "$data/applications" 2>/dev/null || true
echo "Model Workbench is in your applications menu."
"""


class Missing(Exception):
    """A prerequisite is missing; the message is the one line to print."""


@dataclass
class Built:
    """An installer that was written, for the summary."""

    path: Path
    note: str = ""


def project_version() -> str:
    """The version in pyproject.toml: the one every installer carries."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def packaging_pins() -> dict[str, str]:
    """The pinned versions of the ``packaging`` extra, by distribution name."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {}
    for req in data["project"]["optional-dependencies"]["packaging"]:
        name, _, version = req.partition("==")
        pins[name.strip().lower()] = version.strip()
    return pins


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_prerequisites(system: str, *, bundle: bool = True) -> list[str]:
    """Raise :class:`Missing` for the first missing prerequisite; return notes on optional ones."""
    notes: list[str] = []
    if sys.version_info < (3, 11):  # noqa: UP036 - the one line, not tomllib's ImportError
        raise Missing(f"Python 3.11 or newer is needed, this is {platform.python_version()}")
    install = "pip install -e '.[packaging]'"
    if bundle:
        for name, pinned in packaging_pins().items():
            found = _dist_version(name)
            if found is None:
                raise Missing(f"{name} is not installed: {install}")
            if found != pinned:
                raise Missing(f"{name} {found} is installed but {pinned} is pinned: {install}")
        torch_version = _dist_version("torch")
        if torch_version is None:
            raise Missing(
                "torch is not installed: pip install torch --index-url "
                "https://download.pytorch.org/whl/cpu"
            )
        if system != "darwin" and "+cpu" not in torch_version:
            # The CUDA wheels add gigabytes of libraries the installer must not carry.
            raise Missing(
                f"torch {torch_version} is not the CPU build: pip install "
                f"torch=={torch_version.split('+')[0]} --index-url https://download.pytorch.org/whl/cpu"
            )
    if system == "linux":
        for tool in ("dpkg-deb", "tar"):
            if shutil.which(tool) is None:
                raise Missing(f"{tool} is not on the PATH (Debian/Ubuntu: apt-get install dpkg)")
        if shutil.which("desktop-file-validate") is None:
            notes.append(
                "desktop-file-validate not found (apt-get install desktop-file-utils): "
                "the .desktop entry was not validated"
            )
    elif system == "win32":
        if find_iscc() is None:
            raise Missing(
                "Inno Setup's iscc.exe is not on the PATH nor in Program Files: "
                "install Inno Setup 6 (choco install innosetup)"
            )
    elif system == "darwin":
        if shutil.which("hdiutil") is None:
            raise Missing("hdiutil is not on the PATH (it comes with macOS)")
    else:
        raise Missing(f"no installer recipe for {system}: Linux, Windows and macOS only")
    return notes


def find_iscc() -> Path | None:
    """Inno Setup's command-line compiler, on the PATH or where its installer puts it."""
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return Path(found)
    for base in (os.environ.get("ProgramFiles(x86)"), os.environ.get("ProgramFiles")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").is_file():
            return Path(base) / "Inno Setup 6" / "ISCC.exe"
    return None


def run_pyinstaller(dist: Path, work: Path) -> Path:
    """Build the bundle into ``dist``; return the onedir folder (or the .app on macOS)."""
    env = dict(os.environ)
    # The checkout's workbench package, not another one installed in the environment.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN"]
    cmd += ["--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    result = subprocess.run(cmd, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"build.py: PyInstaller failed (exit {result.returncode}); see above")
    return bundle_dir(dist)


def bundle_dir(dist: Path) -> Path:
    """Where the built bundle is."""
    if sys.platform == "darwin":
        return dist / "Model Workbench.app"
    return dist / BUNDLE_NAME


def tree_size(path: Path) -> int:
    """Bytes of the files under ``path`` (links not followed)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def largest_parts(bundle: Path, count: int = 12) -> list[tuple[str, int]]:
    """The biggest top-level packages and libraries of the bundle's data folder."""
    internal = bundle / "_internal"
    if sys.platform == "darwin":
        internal = bundle / "Contents" / "Frameworks"
    base = internal if internal.is_dir() else bundle
    sizes: dict[str, int] = {}
    for entry in base.iterdir():
        if entry.is_symlink():
            continue
        sizes[entry.name] = tree_size(entry)
    # torch and PySide6 are most of it: show their big folders one level down too.
    for package in ("torch", "PySide6"):
        folder = base / package
        if folder.is_dir():
            for entry in folder.iterdir():
                if not entry.is_symlink():
                    sizes[f"{package}/{entry.name}"] = tree_size(entry)
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:count]


def mb(n: int) -> str:
    """Bytes as megabytes with one decimal."""
    return f"{n / 1e6:.1f} MB"


# --- Linux -----------------------------------------------------------------------------------


def desktop_entry() -> str:
    """The .desktop entry's text."""
    return DESKTOP_ENTRY.format(app_id=APP_ID, mime=MIME_TYPE)


def mime_xml() -> str:
    """The shared-mime-info entry for .wbproj files."""
    return MIME_XML.format(app_id=APP_ID, mime=MIME_TYPE)


def deb_control(version: str, arch: str, installed_kib: int) -> str:
    """The .deb's DEBIAN/control file."""
    return (
        f"Package: {APP_ID}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: Model Workbench contributors <noreply@modelworkbench.invalid>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(DEB_DEPENDS)}\n"
        # Qt's GTK theme plugin (native dialogs on GNOME) loads GTK when it is there.
        "Recommends: libgtk-3-0\n"
        "Section: science\n"
        "Priority: optional\n"
        "Homepage: https://github.com/model-workbench/model-workbench\n"
        "Description: build, train and export neural networks by pointing and clicking\n"
        " Model Workbench draws a neural network as a graph of layers, shows every\n"
        " layer's output shape while you edit, trains it on your data with live curves\n"
        " and exports it as a verified ONNX file or as PyTorch code. It carries its own\n"
        " Python, PyTorch (CPU) and Qt under /opt/model-workbench.\n"
    )


def _share_tree(root: Path) -> None:
    """The .desktop entry, the MIME entry and the icons under ``root`` (a usr/share)."""
    (root / "applications").mkdir(parents=True, exist_ok=True)
    (root / "applications" / f"{APP_ID}.desktop").write_text(desktop_entry(), encoding="utf-8")
    (root / "mime" / "packages").mkdir(parents=True, exist_ok=True)
    (root / "mime" / "packages" / f"{APP_ID}.xml").write_text(mime_xml(), encoding="utf-8")
    for size in HICOLOR_SIZES:
        apps = root / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        apps.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ICONS / f"workbench-{size}.png", apps / f"{APP_ID}.png")


def validate_desktop_entry(path: Path) -> str | None:
    """desktop-file-validate's complaint about ``path``, None when it passes or is missing."""
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        return None
    out = subprocess.run([tool, str(path)], capture_output=True, text=True)
    text = "; ".join(
        line.strip() for line in (out.stdout + out.stderr).splitlines() if line.strip()
    )
    return text if out.returncode != 0 or text else None


def _copy_bundle(bundle: Path, dest: Path) -> None:
    shutil.copytree(bundle, dest, symlinks=True)
    for path in [dest, *dest.rglob("*")]:
        if path.is_symlink():
            continue
        # World-readable, executables executable: the package installs as root.
        mode = path.stat().st_mode
        path.chmod(0o755 if path.is_dir() or mode & 0o111 else 0o644)


def build_deb(bundle: Path, out_dir: Path, version: str, stage: Path) -> Built:
    """The .deb: the bundle under /opt, a launcher in /usr/bin, the menu entry, icons and MIME type."""
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    root = stage / "deb"
    if root.exists():
        shutil.rmtree(root)
    _copy_bundle(bundle, root / "opt" / BUNDLE_NAME)
    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / "workbench").write_text(LAUNCHER.format(bundle=BUNDLE_NAME), encoding="utf-8")
    (usr_bin / "workbench").chmod(0o755)
    _share_tree(root / "usr" / "share")
    problem = validate_desktop_entry(root / "usr/share/applications" / f"{APP_ID}.desktop")
    if problem:
        raise SystemExit(f"build.py: the .desktop entry does not validate: {problem}")
    # No maintainer scripts: dpkg's triggers refresh the menu, MIME and icon caches.
    debian = root / "DEBIAN"
    debian.mkdir()
    installed_kib = (tree_size(root) + 1023) // 1024
    (debian / "control").write_text(deb_control(version, arch, installed_kib), encoding="utf-8")
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    out = out_dir / f"{APP_ID}_{version}_{arch}.deb"
    cmd = ["dpkg-deb", "--root-owner-group", "-Zxz", "-z6", "--build", str(root), str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"build.py: dpkg-deb failed: {result.stderr.strip()}")
    shutil.rmtree(root)
    return Built(out, "validated .desktop entry" if shutil.which("desktop-file-validate") else "")


def build_tarball(bundle: Path, out_dir: Path, version: str, stage: Path) -> Built:
    """The .tar.gz: the same bundle in one folder, with an install note and a menu-entry script."""
    machine = platform.machine().lower()
    name = f"{APP_ID}-{version}-linux-{machine}"
    root = stage / name
    if root.exists():
        shutil.rmtree(root)
    _copy_bundle(bundle, root)
    _share_tree(root / "share")
    (root / "INSTALL.txt").write_text(
        TAR_NOTE.format(version=version, machine=machine), encoding="utf-8"
    )
    script = root / "install-desktop-entry.sh"
    script.write_text(
        TAR_DESKTOP_INSTALL.format(app_id=APP_ID, sizes=" ".join(map(str, HICOLOR_SIZES))),
        encoding="utf-8",
    )
    script.chmod(0o755)
    out = out_dir / f"{name}.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(root, arcname=name)
    shutil.rmtree(root)
    return Built(out)


# --- Windows and macOS -------------------------------------------------------------------------


def build_windows_installer(bundle: Path, out_dir: Path, version: str) -> Built:
    """The Inno Setup installer (packaging/windows/model-workbench.iss)."""
    iscc = find_iscc()
    assert iscc is not None  # checked with the prerequisites
    script = PACKAGING / "windows" / "model-workbench.iss"
    cmd = [str(iscc), f"/DAppVersion={version}", f"/DSourceDir={bundle}", f"/DOutputDir={out_dir}"]
    result = subprocess.run([*cmd, str(script)])
    if result.returncode != 0:
        raise SystemExit(f"build.py: iscc failed (exit {result.returncode}); see above")
    return Built(out_dir / f"ModelWorkbench-{version}-windows-x64-setup.exe")


def build_dmg(bundle: Path, out_dir: Path, version: str) -> Built:
    """The .dmg (packaging/macos/make_dmg.sh: signed and notarized when the environment says how)."""
    out = out_dir / f"ModelWorkbench-{version}-macos-{platform.machine().lower()}.dmg"
    script = PACKAGING / "macos" / "make_dmg.sh"
    result = subprocess.run(["bash", str(script), str(bundle), str(out)])
    if result.returncode != 0:
        raise SystemExit(f"build.py: make_dmg.sh failed (exit {result.returncode}); see above")
    signed = bool(os.environ.get("MACOS_SIGN_IDENTITY"))
    return Built(out, "signed" if signed else "unsigned")


def bundle_executable(bundle: Path) -> Path:
    """The command-line executable inside the bundle."""
    if sys.platform == "darwin":
        return bundle / "Contents" / "MacOS" / "workbench"
    if sys.platform == "win32":
        return bundle / "workbench.exe"
    return bundle / "workbench"


def run_bundle_self_test(bundle: Path) -> int:
    """Run ``workbench --self-test`` from the bundle, headless; returns its exit status."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(bundle_executable(bundle)), "--self-test"], env=env).returncode


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Build the bundle and the installers; returns the exit status."""
    parser = argparse.ArgumentParser(description="Build Model Workbench's installers.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder"
    )
    parser.add_argument(
        "--skip-bundle",
        action="store_true",
        help="reuse the bundle already in the output folder (installers only)",
    )
    parser.add_argument(
        "--self-test", action="store_true", help="run the built app's self-test afterwards"
    )
    args = parser.parse_args(argv)
    start = time.monotonic()
    system = (
        sys.platform if sys.platform in ("win32", "darwin") else sys.platform.rstrip("0123456789")
    )
    try:
        notes = check_prerequisites(system, bundle=not args.skip_bundle)
    except Missing as e:
        print(f"build.py: {e}", file=sys.stderr)
        return 2
    version = project_version()
    dist: Path = args.dist.resolve()
    dist.mkdir(parents=True, exist_ok=True)
    if args.skip_bundle:
        bundle = bundle_dir(dist)
        if not bundle.exists():
            print(
                f"build.py: {bundle} does not exist: build it without --skip-bundle",
                file=sys.stderr,
            )
            return 2
    else:
        bundle = run_pyinstaller(dist, args.work.resolve())
    bundle_time = time.monotonic() - start

    stage = args.work.resolve() / "stage"
    stage.mkdir(parents=True, exist_ok=True)
    built: list[Built] = []
    if system == "linux":
        built.append(build_deb(bundle, dist, version, stage))
        built.append(build_tarball(bundle, dist, version, stage))
    elif system == "win32":
        built.append(build_windows_installer(bundle, dist, version))
    else:
        built.append(build_dmg(bundle, dist, version))
    total = time.monotonic() - start

    print(f"\nModel Workbench {version}: bundle {bundle}")
    print(f"bundle size: {mb(tree_size(bundle))}")
    for name, size in largest_parts(bundle):
        print(f"  {mb(size):>10}  {name}")
    for b in built:
        print(
            f"installer: {b.path.name}  {mb(b.path.stat().st_size)}"
            + (f"  ({b.note})" if b.note else "")
        )
    print(
        f"build time: {total:.0f} s (bundle {bundle_time:.0f} s, installers {total - bundle_time:.0f} s)"
    )
    for note in notes:
        print(f"note: {note}")
    if args.self_test:
        print("\nself-test of the built application:", flush=True)
        status = run_bundle_self_test(bundle)
        if status != 0:
            print(
                f"build.py: the built application's self-test failed (exit {status})",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
