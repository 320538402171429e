"""Dropped files: what opens as a project, what imports as data, and the hints shown."""

from __future__ import annotations

from pathlib import Path

from workbench.core.dropped import (
    DropPlan,
    drop_hint,
    is_project_path,
    one_at_a_time_note,
    plan_drop,
    split_dropped,
)


def test_is_project_path_ignores_case() -> None:
    assert is_project_path("/a/net.wbproj")
    assert is_project_path("/a/NET.WBPROJ")
    assert not is_project_path("/a/net.wbproj.json")
    assert not is_project_path("/a/flowers")


def test_split_dropped_opens_only_existing_project_files(tmp_path: Path) -> None:
    project = tmp_path / "net.wbproj"
    project.write_text("{}", encoding="utf-8")
    missing = tmp_path / "gone.wbproj"
    folder = tmp_path / "flowers"
    folder.mkdir()
    table = tmp_path / "t.csv"
    paths = [str(folder), str(project), str(missing), str(table)]
    assert split_dropped(paths) == ([str(project)], [str(folder), str(missing), str(table)])
    assert split_dropped([]) == ([], [])


def test_drop_hint() -> None:
    assert drop_hint(["/d/flowers"]) == "Drop to import flowers"
    assert (
        drop_hint(["/d/flowers", "/d/t.csv", "/d/x.npz"]) == "Drop to import flowers (and 2 more)"
    )
    assert drop_hint(["/d/t.csv", "/p/net.wbproj"]) == "Drop to open net.wbproj"
    assert drop_hint(["/"]) == "Drop to import /"


def test_one_at_a_time_note() -> None:
    assert one_at_a_time_note(["/d/flowers"]) == ""
    assert one_at_a_time_note(["/d/flowers", "/d/t.csv"]) == (
        "Importing flowers: one dataset at a time"
    )


def test_a_dropped_project_is_opened_and_nothing_imported(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wbproj", tmp_path / "b.wbproj"
    for p in (a, b):
        p.write_text("{}", encoding="utf-8")
    folder = str(tmp_path / "flowers")
    assert plan_drop([folder, str(a), str(b)]) == DropPlan(str(a), [folder], None, "")


def test_without_a_project_the_first_path_is_imported(tmp_path: Path) -> None:
    folder, table = str(tmp_path / "flowers"), str(tmp_path / "t.csv")
    assert plan_drop([folder]) == DropPlan(None, [folder], folder, "")
    assert plan_drop([folder, table]) == DropPlan(
        None, [folder, table], folder, "Importing flowers: one dataset at a time"
    )
    assert plan_drop([]) == DropPlan(None, [], None, "")
