"""Which run a run picker keeps chosen as its list is read again (Qt-free).

The Evaluate and Export tabs each pick a trained run. When the project's runs are listed
again (a run ended, a project opened), a picker shows the newest run, unless the user
chose one that is still there and no new run appeared since: a new run is what they
want to see next.
"""

from __future__ import annotations

from collections.abc import Iterable


class RunPick:
    """A picker's memory: whether the user chose its run, and which runs it has seen."""

    def __init__(self) -> None:
        self.user_chose = False
        self._known: set[str] = set()

    def forget(self) -> None:
        """A (new) project: no run was chosen and none is known yet."""
        self.user_chose = False
        self._known = set()

    def chosen(self) -> None:
        """The user (or a caller on their behalf) chose the run shown."""
        self.user_chose = True

    def keep(self, run_ids: Iterable[str], loading: bool = False, possible: bool = True) -> bool:
        """Whether to keep the chosen run now that the list holds ``run_ids`` (newest
        first); else the picker shows its first entry. ``loading``: the list is not
        complete yet, so its runs do not count as seen; ``possible``: there is a choice
        to keep at all."""
        ids = set(run_ids)
        fresh = ids - self._known
        keep = self.user_chose and not fresh and possible
        if not keep:
            self.user_chose = False
        if not loading:
            self._known |= ids
        return keep


__all__ = ["RunPick"]
