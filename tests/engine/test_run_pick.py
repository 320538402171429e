"""Which run a run picker keeps chosen as the project's runs are listed again."""

from __future__ import annotations

from workbench.engine.run_pick import RunPick


def test_the_newest_run_is_shown_until_the_user_chooses_one() -> None:
    pick = RunPick()
    assert not pick.keep(["b", "a"])  # nothing chosen: the newest (first) entry
    pick.chosen()
    assert pick.keep(["b", "a"])  # listed again, nothing new: the user's choice stays
    assert pick.user_chose


def test_a_new_run_wins_over_the_users_choice() -> None:
    pick = RunPick()
    pick.keep(["a"])
    pick.chosen()
    assert not pick.keep(["b", "a"]) and not pick.user_chose
    assert not pick.keep(["b", "a"])  # and the choice is not remembered after that


def test_a_listing_under_way_does_not_count_its_runs_as_seen() -> None:
    pick = RunPick()
    pick.chosen()
    assert not pick.keep(["a"], loading=True)
    pick.chosen()
    assert not pick.keep(["a"])  # "a" is still new: the loading list did not count
    pick.chosen()
    assert pick.keep(["a"])


def test_nothing_to_keep_and_a_new_project() -> None:
    pick = RunPick()
    pick.keep(["a"])
    pick.chosen()
    assert not pick.keep(["a"], possible=False) and not pick.user_chose
    pick.chosen()
    pick.forget()
    assert not pick.user_chose and not pick.keep(["a"])
