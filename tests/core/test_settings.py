"""Settings' recent-files rules and the folder file dialogs start in, without Qt."""

from __future__ import annotations

from pathlib import Path

from workbench.core.settings import MAX_RECENT, Settings


def _project(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.wbproj"
    path.write_text("{}", encoding="utf-8")
    return path


def test_remember_project_puts_it_first_and_remembers_its_folder(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    a = _project(tmp_path / "a", "one")
    b = _project(tmp_path / "b", "two")
    settings.remember_project(a)
    settings.remember_project(b)
    settings.remember_project(a)
    assert settings.recent_files() == [str(a.resolve()), str(b.resolve())]
    assert settings.start_dir() == str(a.resolve().parent)
    # Saved: a fresh Settings on the same file reads the same.
    again = Settings(tmp_path / "settings.json")
    assert again.recent_files() == settings.recent_files()
    assert again.start_dir() == settings.start_dir()


def test_recent_files_drop_missing_files_and_keep_at_most_max(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    paths = [_project(tmp_path, f"p{i}") for i in range(MAX_RECENT + 3)]
    for p in paths:
        settings.remember_project(p)
    recent = settings.recent_files()
    assert len(recent) == MAX_RECENT
    assert recent[0] == str(paths[-1].resolve())
    paths[-1].unlink()
    assert str(paths[-1].resolve()) not in settings.recent_files()


def test_clear_recent(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    settings.remember_project(_project(tmp_path, "one"))
    settings.clear_recent()
    assert settings.recent_files() == []
    assert settings.get("recent_files") == []


def test_start_dir_falls_back_to_home(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    assert settings.start_dir() == str(Path.home())
    settings.set("last_dir", str(tmp_path / "gone"))
    assert settings.start_dir() == str(Path.home())
    settings.set("last_dir", 42)
    assert settings.start_dir() == str(Path.home())
    settings.set("last_dir", str(tmp_path))
    assert settings.start_dir() == str(tmp_path)
