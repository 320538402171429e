"""Reading a text table's cells as Model Workbench does; torch-free, shared by the app.

Which character separates the cells (:func:`sniff_delimiter`) and which cell texts mean
a missing value (:data:`MISSING`). The workbench's table reader and train_tables.py use
these, so an exported train.py splits and reads a file the way the app did.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

#: Cell texts read as a missing value (compared lower-cased, after stripping blanks).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "missing"})
#: The delimiters tried, in the order that breaks a tie.
DELIMITERS = (",", "\t", ";", "|")


def sniff_delimiter(sample: str, suffix: str = ".csv") -> str | None:
    """The delimiter that splits the sample's lines into the most consistent field count.

    Only the first 200 non-blank lines count. Ties go to :class:`csv.Sniffer`'s guess,
    then to tab for .tsv files. A single space is tried last (whitespace-separated .txt
    files). None when nothing splits the lines.
    """
    lines = [ln for ln in sample.splitlines() if ln.strip()][:200]
    if not lines:
        return None
    text = "\n".join(lines)
    try:
        sniffed: str | None = csv.Sniffer().sniff(text, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None

    def consistency(delim: str) -> float:
        try:
            counts = [
                len(r)
                for r in csv.reader(
                    io.StringIO(text), delimiter=delim, skipinitialspace=delim == " "
                )
            ]
        except csv.Error:
            return 0.0
        counts = [c for c in counts if c > 0]
        if not counts:
            return 0.0
        k, freq = Counter(counts).most_common(1)[0]
        return freq / len(counts) if k >= 2 else 0.0

    scores = {d: consistency(d) for d in DELIMITERS}
    best = max(scores.values())
    if best <= 0:
        return " " if consistency(" ") >= 0.9 else None
    tied = [d for d in DELIMITERS if scores[d] >= best - 1e-9]
    if sniffed in tied:
        return sniffed
    if suffix == ".tsv" and "\t" in tied:
        return "\t"
    return tied[0]
