"""Small helpers for the words shown to people (counts with their noun)."""

from __future__ import annotations

#: Nouns whose plural is not the singular plus "s".
_IRREGULAR = {"class": "classes", "batch": "batches", "index": "indices", "entry": "entries"}


def plural(n: int | float, noun: str, plural_form: str | None = None, *, sep: str = ",") -> str:
    """``n`` followed by ``noun`` in the right number: "1 class", "3 classes", "1,500 images".

    Args:
        n: The count.
        noun: The singular noun.
        plural_form: The plural when it is not ``noun + "s"`` (common ones are known).
        sep: The thousands separator format ("," or "" for none).
    """
    word = noun if n == 1 else plural_form or _IRREGULAR.get(noun, noun + "s")
    number = format(n, sep) if isinstance(n, int) else f"{n:{sep}g}"
    return f"{number} {word}"


__all__ = ["plural"]


def human_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KB'`` (binary units, labelled the way most people read them)."""
    n = float(n)
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"
