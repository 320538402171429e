"""Tables: CSV, TSV and text files (and Parquet where pyarrow is installed) as datasets.

Reading streams the file row by row and converts it to numpy a chunk of rows at a
time, so a column ends up as one float array (numbers, NaN where missing) and, for
text, one array of integer codes into its distinct values; no Python object per cell
outlives its chunk. The delimiter and the header are sniffed; UTF-8 (with or without a
byte-order mark), UTF-16 with a byte-order mark and Latin-1 are read.

Scanning decides what each column is: numeric, categorical (one-hot encoded), or
dropped with a reason (id-like, constant, empty, too many distinct values), and what
the target is (regression when it is numeric with many distinct values or fractions,
classification otherwise). Infinite cells are reported with their lines and treated as
missing; numbers too large to standardize (their squares overflow) are an error that
names the column and the lines, before any training. :meth:`TableSource.prepare`
standardizes numeric columns with training-split statistics and encodes categories seen
in the training split;
``Prepared.preprocessing`` holds everything :func:`encode_rows` needs to repeat that
on new rows at inference.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from workbench.data.base import (
    Cancelled,
    DataCancelled,
    DataError,
    DatasetInfo,
    DataSettings,
    Problem,
    Progress,
    SampleIds,
    Source,
    Split,
    Task,
    make_split,
    target_note,
    target_scale,
)
from workbench.standalone.train_encode import encode_features
from workbench.standalone.train_text import MISSING, sniff_delimiter

if TYPE_CHECKING:
    from workbench.data.prepared import Prepared

#: A text column with more distinct values than this is dropped rather than one-hot encoded.
MAX_CATEGORIES = 50
#: A whole-number target is a regression target when it has more distinct values than
#: this and than ``REGRESSION_FRACTION`` of the rows.
MAX_INTEGER_CLASSES = 20
REGRESSION_FRACTION = 0.05
#: A column is numeric when at least this share of its non-missing cells are numbers.
NUMERIC_SHARE = 0.9
#: The imbalance warning fires when the largest class is this many times the smallest.
IMBALANCE_RATIO = 3.0
#: The largest float64 and float32 (what the model is fed).
_F64_MAX = float(np.finfo(np.float64).max)
_F32_MAX = float(np.finfo(np.float32).max)
CHUNK_ROWS = 8192
PREVIEW_ROWS = 200
SNIFF_BYTES = 65536

ColumnType = Literal[
    "numeric", "categorical", "id", "constant", "empty", "too many values", "target"
]

_ID_NAMES = frozenset(
    {"id", "uuid", "guid", "index", "idx", "key", "rowid", "row_id", "row", "#", "unnamed: 0"}
)
_ID_PATTERN = re.compile(r"(^|[\s_.\-])(id|uuid|guid)$|^(id|uuid|guid)[\s_.\-]", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z](Id|ID|Uuid|UUID)$")
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)


# --- parsed columns ------------------------------------------------------------------


@dataclass(eq=False)
class Column:
    """One parsed column: numbers where cells are numbers, codes into distinct texts.

    ``floats`` holds every cell that reads as a finite number (NaN elsewhere);
    ``missing`` marks the empty / NA / NaN / null / ? cells; ``numeric`` tells whether
    the column is mostly numbers (then its other cells are ``bad``: reported, and
    treated as missing). ``nonfinite`` marks the bad cells that are infinite numbers
    (``inf``, ``-Infinity``), with their own examples (``(line, text)``).
    """

    name: str
    floats: np.ndarray
    missing: np.ndarray
    bad: np.ndarray
    bad_examples: list[tuple[int, str]]
    _codes: np.ndarray | None = None
    _levels: list[str] | None = None
    nonfinite: np.ndarray | None = None
    nonfinite_examples: list[tuple[int, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.floats)

    @property
    def numeric(self) -> bool:
        """True when at least 90 % of the non-missing cells are numbers."""
        present = self.n - int(self.missing.sum())
        return present > 0 and present - int(self.bad.sum()) >= NUMERIC_SHARE * present

    def values(self) -> np.ndarray:
        """The numbers, NaN for missing and non-numeric cells (float64)."""
        return self.floats

    def codes(self) -> tuple[np.ndarray, list[str]]:
        """Per-row codes (int32, -1 for missing) into the column's distinct texts."""
        if self._codes is None or self._levels is None:
            # A column parsed only as numbers: its texts are the numbers, formatted.
            present = ~np.isnan(self.floats)
            uniq, inv = np.unique(self.floats[present], return_inverse=True)
            codes = np.full(self.n, -1, np.int32)
            codes[present] = inv
            self._codes, self._levels = codes, [_format_number(v) for v in uniq]
        return self._codes, self._levels


class _ColumnBuilder:
    """Collects a column chunk by chunk: clean numeric chunks stay float arrays."""

    def __init__(self, name: str, decimal_comma: bool = False) -> None:
        self.name = name
        #: Read "1,5" as 1.5 (files separated by semicolons or tabs, as European locales write them).
        self.decimal_comma = decimal_comma
        self.floats: list[np.ndarray] = []
        self.missing: list[np.ndarray] = []
        self.bad: list[np.ndarray] = []
        self.nonfinite: list[np.ndarray] = []
        self.codes: list[np.ndarray | None] = []
        self.levels: dict[str, int] = {}
        self.bad_examples: list[tuple[int, str]] = []
        self.nonfinite_examples: list[tuple[int, str]] = []
        self.any_text = False

    def add(self, cells: Sequence[str], lines: Sequence[int]) -> None:
        """Add a chunk of cell texts; ``lines`` are their line numbers (for messages)."""
        n = len(cells)
        try:
            arr = np.array(cells, dtype=np.float64)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and not np.isinf(arr).any():
            self.floats.append(arr)
            self.missing.append(np.isnan(arr))
            self.bad.append(np.zeros(n, bool))
            self.nonfinite.append(np.zeros(n, bool))
            self.codes.append(None)
            return
        self.any_text = True
        floats = np.full(n, np.nan)
        missing = np.zeros(n, bool)
        bad = np.zeros(n, bool)
        nonfinite = np.zeros(n, bool)
        codes = np.full(n, -1, np.int32)
        levels = self.levels
        for i, cell in enumerate(cells):
            s = cell.strip()
            if s.lower() in MISSING:
                missing[i] = True
                continue
            code = levels.get(s)
            if code is None:
                code = levels[s] = len(levels)
            codes[i] = code
            try:
                v = float(s)
            except ValueError:
                v = math.nan
                if self.decimal_comma and s.count(",") == 1 and "." not in s:
                    try:
                        v = float(s.replace(",", "."))
                    except ValueError:
                        pass
            if math.isfinite(v):
                floats[i] = v
            elif math.isinf(v):  # a number, but not one a model can use
                bad[i] = nonfinite[i] = True
                if len(self.nonfinite_examples) < 5:
                    self.nonfinite_examples.append((lines[i], s))
            else:
                bad[i] = True
                if len(self.bad_examples) < 5:
                    self.bad_examples.append((lines[i], s))
        self.floats.append(floats)
        self.missing.append(missing)
        self.bad.append(bad)
        self.nonfinite.append(nonfinite)
        self.codes.append(codes)

    def add_floats(self, arr: np.ndarray, first_row: int = 1) -> None:
        """Add a chunk that is already numeric (Parquet), NaN where missing; ``first_row``
        numbers its rows in messages."""
        arr = np.array(arr, np.float64)
        inf = np.isinf(arr)
        for i in np.flatnonzero(inf)[: max(0, 5 - len(self.nonfinite_examples))]:
            self.nonfinite_examples.append((first_row + int(i), repr(float(arr[i]))))
        arr[inf] = np.nan
        self.floats.append(arr)
        self.missing.append(np.isnan(arr) & ~inf)
        self.bad.append(inf)
        self.nonfinite.append(inf)
        self.codes.append(None)

    def finish(self) -> Column:
        """The parsed column."""
        floats = np.concatenate(self.floats) if self.floats else np.zeros(0)
        missing = np.concatenate(self.missing) if self.missing else np.zeros(0, bool)
        bad = np.concatenate(self.bad) if self.bad else np.zeros(0, bool)
        nonfinite = np.concatenate(self.nonfinite) if self.nonfinite else np.zeros(0, bool)
        col = Column(
            self.name,
            floats,
            missing,
            bad,
            self.bad_examples,
            nonfinite=nonfinite,
            nonfinite_examples=self.nonfinite_examples,
        )
        if self.any_text:
            # Chunks that were all numbers get codes from their formatted numbers.
            levels = self.levels
            parts = []
            for f, c in zip(self.floats, self.codes, strict=True):
                if c is None:
                    c = np.full(len(f), -1, np.int32)
                    for i in np.flatnonzero(~np.isnan(f)):
                        s = _format_number(float(f[i]))
                        code = levels.get(s)
                        if code is None:
                            code = levels[s] = len(levels)
                        c[i] = code
                parts.append(c)
            col._codes = np.concatenate(parts)
            col._levels = list(levels)
        return col


def _format_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


@dataclass
class Table:
    """A parsed table: named columns of equal length plus what reading it learned."""

    path: Path
    columns: list[Column]
    num_rows: int
    preview_rows: list[list[str]]
    delimiter: str | None = None
    has_header: bool = True
    encoding: str = "utf-8"
    problems: list[Problem] = field(default_factory=list)
    #: The line of the file each row was read from (None: rows numbered from 1, as for Parquet).
    lines: np.ndarray | None = None

    def where(self, row: int) -> str:
        """Where row ``row`` (0-based) is in the file, for messages: ``line 12`` or ``row 11``."""
        if self.lines is not None:
            return f"line {int(self.lines[row])}"
        return f"row {row + 1}"

    @property
    def names(self) -> list[str]:
        """Column names in file order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (exact, then case-insensitive), or None."""
        for c in self.columns:
            if c.name == name:
                return c
        low = name.strip().lower()
        for c in self.columns:
            if c.name.strip().lower() == low:
                return c
        return None


# --- reading -------------------------------------------------------------------------


def read_table(
    path: str | os.PathLike[str],
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Table:
    """Parse a CSV/TSV/text (or Parquet) file into columns; raises DataError for bad input."""
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return _read_parquet(p)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise DataError(f"{p.name}: cannot be read ({e.strerror or e})") from None
    if size == 0:
        raise DataError(f"{p.name}: the file is empty")
    try:
        with open(p, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as e:
        raise DataError(f"{p.name}: cannot be read ({e.strerror or e})") from None
    encoding = _detect_encoding(p.name, head)
    try:
        table = _read_text(p, size, head, encoding, progress, cancelled)
    except UnicodeDecodeError:
        if encoding not in ("utf-8", "utf-8-sig"):
            raise DataError(
                f"{p.name}: is not a text table (it cannot be decoded as {encoding})"
            ) from None
        encoding = "latin-1"
        table = _read_text(p, size, head, encoding, progress, cancelled)
    if encoding == "latin-1":
        table.problems.append(
            Problem(p.name, "the file is not valid UTF-8; it was read as Latin-1", "info")
        )
    return table


def _detect_encoding(name: str, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise DataError(f"{name}: is a binary file, not a text table (it contains NUL bytes)")
    control = len(head.translate(None, _NOT_CONTROL))
    if control > 0.02 * len(head):
        raise DataError(f"{name}: is a binary file, not a text table (it is full of control bytes)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def _is_number(cell: str) -> bool | None:
    """True for a number, False for text, None for a missing cell."""
    s = cell.strip()
    if s.lower() in MISSING:
        return None
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


def _looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    if any(_is_number(c) for c in first):
        return False
    if not rest:
        return True
    for j in range(len(first)):
        flags = [f for f in (_is_number(r[j]) for r in rest if j < len(r)) if f is not None]
        if flags and sum(flags) >= NUMERIC_SHARE * len(flags):
            return True  # a text cell above a column of numbers
    # All text: a header's names do not recur as values of their own columns.
    repeats = sum(
        1
        for j, name in enumerate(first)
        if name.strip() in {r[j].strip() for r in rest if j < len(r)}
    )
    return repeats * 2 < len(first)


def _header_names(first: list[str]) -> tuple[list[str], list[str]]:
    names: list[str] = []
    renamed: list[str] = []
    seen: set[str] = set()
    for j, raw in enumerate(first):
        name = raw.strip() or f"column_{j + 1}"
        base, k = name, 2
        while name in seen:
            name = f"{base}_{k}"
            k += 1
        if name != base:
            renamed.append(f"'{base}' → '{name}'")
        seen.add(name)
        names.append(name)
    return names, renamed


def _read_text(
    path: Path,
    size: int,
    head: bytes,
    encoding: str,
    progress: Progress | None,
    cancelled: Cancelled | None,
) -> Table:
    name = path.name
    sample = head.decode(encoding, errors="ignore")
    if len(head) >= SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    if not sample.strip() and size <= len(head):
        raise DataError(f"{name}: the file is empty (only blank lines)")
    delimiter = sniff_delimiter(sample, path.suffix.lower()) or ","
    problems: list[Problem] = []
    with open(path, "rb") as fb:
        text = io.TextIOWrapper(fb, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text, delimiter=delimiter, skipinitialspace=delimiter == " ")
        rows = _rows(reader, name)
        buffered: list[tuple[int, list[str]]] = []
        for item in rows:
            buffered.append(item)
            if len(buffered) >= 50:
                break
        if not buffered:
            raise DataError(f"{name}: the file is empty (only blank lines)")
        first_line, first = buffered[0]
        has_header = _looks_like_header(first, [r for _, r in buffered[1:]])
        if has_header:
            names, renamed = _header_names(first)
            if renamed:
                problems.append(
                    Problem(
                        name, "repeated column names were renamed: " + ", ".join(renamed), "info"
                    )
                )
            buffered = buffered[1:]
        else:
            names = [f"column_{j + 1}" for j in range(len(first))]
            problems.append(
                Problem(
                    name, "no header row found; the columns are named column_1, column_2, …", "info"
                )
            )
        ncols = len(names)
        if ncols < 2:
            raise DataError(
                f"{name}: has only one column ('{names[0]}'); a table needs feature columns and a target "
                "(columns separated by commas, tabs, semicolons or |)"
            )
        builders = [_ColumnBuilder(n, decimal_comma=delimiter != ",") for n in names]
        preview: list[list[str]] = []
        chunk: list[list[str]] = []
        lines: list[int] = []
        all_lines: list[np.ndarray] = []
        n_rows = 0

        def flush() -> None:
            if not chunk:
                return
            for j, cells in enumerate(zip(*chunk, strict=True)):
                builders[j].add(cells, lines)
            all_lines.append(np.array(lines, np.int64))
            chunk.clear()
            lines.clear()

        def accept(line: int, row: list[str]) -> None:
            nonlocal n_rows
            if len(row) != ncols:
                if len(row) == ncols + 1 and not row[-1].strip():
                    row = row[:-1]  # a trailing delimiter
                elif len(row) == 1 and not row[0].strip():
                    return  # a line of blanks
                else:
                    raise DataError(
                        f"{name}: line {line} has {len(row)} field{'s' if len(row) != 1 else ''} "
                        f"but the header has {ncols} (delimiter {_describe_delimiter(delimiter)})"
                    )
            if len(preview) < PREVIEW_ROWS:
                preview.append(row)
            chunk.append(row)
            lines.append(line)
            n_rows += 1

        for line, row in buffered:
            accept(line, row)
        for line, row in rows:
            accept(line, row)
            if len(chunk) >= CHUNK_ROWS:
                flush()
                if cancelled is not None and cancelled():
                    raise DataCancelled()
                if progress is not None:
                    progress(min(fb.tell(), size), size)
        flush()
    if n_rows == 0:
        raise DataError(f"{name}: has a header but no data rows")
    if progress is not None:
        progress(size, size)
    columns = [b.finish() for b in builders]
    # A trailing delimiter on every line (header included) leaves an empty last column.
    if len(columns) > 2 and names[-1] == f"column_{ncols}" and columns[-1].missing.all():
        columns.pop()
        preview = [r[:-1] for r in preview]
    table = Table(path, columns, n_rows, preview, delimiter, has_header, encoding, problems)
    table.lines = np.concatenate(all_lines)
    return table


def _rows(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line number each ends on; csv errors become DataError."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataError(f"{name}: line {reader.line_num}: {e}") from None
        if row:
            yield reader.line_num, row


def _describe_delimiter(d: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "'|'", " ": "space"}.get(d, repr(d))


def _read_parquet(path: Path) -> Table:
    try:
        import pyarrow as pa  # type: ignore[import-not-found,unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise DataError(
            f"{path.name}: reading Parquet needs pyarrow: pip install pyarrow"
        ) from None
    try:
        t = pq.read_table(path)
    except Exception as e:  # pyarrow raises many kinds for a bad file
        raise DataError(
            f"{path.name}: not a readable Parquet file ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        ) from None
    if t.num_rows == 0:
        raise DataError(f"{path.name}: has columns but no rows")
    names, _ = _header_names([str(n) for n in t.column_names])
    if len(names) < 2:
        raise DataError(
            f"{path.name}: has only one column ('{names[0]}'); a table needs feature columns and a target"
        )
    columns: list[Column] = []
    texts: list[list[str]] = []
    for name, col in zip(names, t.columns, strict=True):
        b = _ColumnBuilder(name)
        typ = col.type
        if (
            pa.types.is_integer(typ)
            or pa.types.is_floating(typ)
            or pa.types.is_boolean(typ)
            or pa.types.is_decimal(typ)
        ):
            arr = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
            b.add_floats(np.asarray(arr, np.float64), first_row=1)
            texts.append(["" if math.isnan(v) else _format_number(v) for v in arr[:PREVIEW_ROWS]])
        else:
            cells = ["" if v is None else str(v) for v in col.to_pylist()]
            for start in range(0, len(cells), CHUNK_ROWS):
                part = cells[start : start + CHUNK_ROWS]
                b.add(part, list(range(start + 1, start + 1 + len(part))))
            texts.append(cells[:PREVIEW_ROWS])
        columns.append(b.finish())
    preview = [list(r) for r in zip(*texts, strict=True)]
    return Table(path, columns, t.num_rows, preview, None, True, "parquet")


# --- scanning ------------------------------------------------------------------------


@dataclass
class ColumnSummary:
    """What the scan decided about one column."""

    name: str
    type: ColumnType
    missing: int
    distinct: int
    reason: str = ""  # why a column is dropped

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``DatasetInfo.details``."""
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "missing": self.missing,
            "distinct": self.distinct,
        }
        if self.reason:
            d["reason"] = self.reason
        return d


def _is_id_name(name: str) -> bool:
    return name.strip().lower() in _ID_NAMES or bool(
        _ID_PATTERN.search(name.strip()) or _CAMEL_ID.search(name.strip())
    )


def _summarize(col: Column) -> ColumnSummary:
    n = col.n
    if col.numeric:
        v = col.floats
        present = ~np.isnan(v)
        n_missing = n - int(present.sum())
        finite = v[present]
        uniq = np.unique(finite)
        distinct = len(uniq)
        whole = bool(np.all(finite == np.round(finite)))
        if distinct == 0:
            return ColumnSummary(col.name, "empty", n_missing, 0, "no values")
        if n_missing == 0 and whole and distinct == n and n >= 2:
            if _is_id_name(col.name):
                return ColumnSummary(
                    col.name, "id", 0, distinct, "id-like: a unique number in every row"
                )
            with np.errstate(
                over="ignore", invalid="ignore"
            ):  # huge values are reported by the check
                steps_of_one = bool(np.all(np.diff(v) == 1))
            if n >= 10 and v[0] in (0, 1) and steps_of_one:
                return ColumnSummary(
                    col.name,
                    "id",
                    0,
                    distinct,
                    f"id-like: the row numbers {int(v[0])}…{int(v[-1])}",
                )
        if distinct == 1:
            return ColumnSummary(col.name, "constant", n_missing, 1, "the same value in every row")
        return ColumnSummary(col.name, "numeric", n_missing, distinct)
    codes, levels = col.codes()
    n_missing = int((codes < 0).sum())
    distinct = len(np.unique(codes[codes >= 0]))
    if distinct == 0:
        return ColumnSummary(col.name, "empty", n_missing, 0, "no values")
    if n_missing == 0 and distinct == n and n >= 2 and (_is_id_name(col.name) or n >= 20):
        return ColumnSummary(col.name, "id", 0, distinct, "id-like: a different text in every row")
    if distinct == 1:
        return ColumnSummary(col.name, "constant", n_missing, 1, "the same value in every row")
    if distinct > MAX_CATEGORIES:
        return ColumnSummary(
            col.name,
            "too many values",
            n_missing,
            distinct,
            f"{distinct} distinct texts: too many to one-hot encode (at most {MAX_CATEGORIES})",
        )
    return ColumnSummary(col.name, "categorical", n_missing, distinct)


def _square_limit(n: int) -> float:
    """How large a value of a column of ``n`` numbers may be for the column to be standardized:
    the squared deviations from the mean, summed in float64, must stay finite."""
    return math.sqrt(_F64_MAX / (4 * max(n, 1)))


def _too_large(values: np.ndarray, limit: float) -> np.ndarray:
    """Indices of the values larger than ``limit`` in size (NaN never is)."""
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(np.abs(values) > limit)


def _number_examples(table: Table, rows: np.ndarray, values: np.ndarray) -> str:
    """``line 9: 1e+308, line 32: -3e+200`` for the first three of ``rows`` (file rows)."""
    shown = ", ".join(
        f"{table.where(int(r))}: {float(v):g}" for r, v in zip(rows[:3], values[:3], strict=True)
    )
    return shown + (", …" if len(rows) > 3 else "")


def _cell_examples(examples: list[tuple[int, str]]) -> str:
    return ", ".join(f"line {ln}: '{t}'" for ln, t in examples[:3])


def _default_target(table: Table) -> Column:
    for wanted in ("label", "target", "class", "y"):
        for c in table.columns:
            if c.name.strip().lower() == wanted:
                return c
    return table.columns[-1]


def _pct(k: int, n: int) -> str:
    p = 100.0 * k / max(n, 1)
    return f"{p:.1f} %" if p < 10 else f"{p:.0f} %"


class TableSource(Source):
    """A table: one row per sample, one target column, the other columns features."""

    kind = "table"

    def __init__(self, table: Table, target: str | None = None) -> None:
        self.path = table.path
        self.table = table
        name = table.path.name
        if target is not None and target.strip():
            col = table.column(target)
            if col is None:
                listed = ", ".join(f"'{n}'" for n in table.names[:30]) + (
                    " …" if len(table.names) > 30 else ""
                )
                raise DataError(f"{name}: no column named '{target}' (columns: {listed})")
        else:
            col = _default_target(table)
        self.target: str = col.name
        self._target_col = col
        self._problems: list[Problem] = list(table.problems)
        self._summaries: list[ColumnSummary] = []
        for c in table.columns:
            if c is col:
                self._summaries.append(ColumnSummary(c.name, "target", 0, 0))
            else:
                self._summaries.append(_summarize(c))
        self._label_target(col)
        distinct = len(self.classes) if self.classes is not None else len(np.unique(self._labels))
        at = next(i for i, c in enumerate(table.columns) if c is col)
        self._summaries[at] = ColumnSummary(col.name, "target", col.n - len(self._rows), distinct)
        if not self.features:
            dropped = ", ".join(
                f"'{s.name}' ({s.reason})" for s in self._summaries if s.type not in ("target",)
            )
            raise DataError(
                f"{name}: no usable feature columns besides the target '{self.target}' (dropped: {dropped})"
            )
        self._check()
        self._default_width = self._feature_width(self.split(DataSettings()).train)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def scan(
        cls,
        path: str | os.PathLike[str],
        target: str | None = None,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> TableSource:
        """Read and check the table at ``path``; ``target`` names the target column."""
        return cls(read_table(path, progress, cancelled), target)

    def with_target(self, target: str | None) -> TableSource:
        """The same table with another target column (no re-reading)."""
        return TableSource(self.table, target)

    # -- what the scan learned ---------------------------------------------------------

    def _label_target(self, col: Column) -> None:
        name = self.path.name
        n = col.n
        if col.numeric:
            v = col.floats
            keep = ~np.isnan(v)
            vals = v[keep]
            if len(vals) == 0:
                raise DataError(f"{name}: the target column '{col.name}' has no values")
            uniq = np.unique(vals)
            whole = bool(np.all(uniq == np.round(uniq)))
            many = len(uniq) > MAX_INTEGER_CLASSES and len(uniq) > REGRESSION_FRACTION * len(vals)
            if not whole or many:
                self.task: Task = "regression"
                self.classes: list[str] | None = None
                # targets are standardized like the features, and trained on as float32
                limit = min(_square_limit(len(vals)), _F32_MAX)
                huge = _too_large(vals, limit)
                if len(huge):
                    where = _number_examples(self.table, np.flatnonzero(keep)[huge], vals[huge])
                    self._problems.append(
                        Problem(
                            f"column '{col.name}'",
                            f"the target has {len(huge)} value(s) too large to train on ({where}): targets are "
                            f"standardized and trained on as float32, so they must stay below {limit:.2g} in size; "
                            "fix or remove those rows",
                            "error",
                        )
                    )
                with np.errstate(over="ignore"):
                    self._labels = vals.astype(np.float32)
            else:
                self.task = "classification"
                self.classes = [_format_number(float(u)) for u in uniq]
                self._labels = np.searchsorted(uniq, vals).astype(np.int64)
            n_inf = int(col.nonfinite.sum()) if col.nonfinite is not None else 0
            n_bad = int(col.bad.sum()) - n_inf
            if n_bad:
                self._problems.append(
                    Problem(
                        f"column '{col.name}'",
                        f"{n_bad} non-numeric cell(s) in the numeric target ({_cell_examples(col.bad_examples)}); "
                        "those rows are left out",
                    )
                )
            if n_inf:
                self._problems.append(
                    Problem(
                        f"column '{col.name}'",
                        f"{n_inf} non-finite value(s) in the numeric target ({_cell_examples(col.nonfinite_examples)}); "
                        "those rows are left out",
                    )
                )
        else:
            codes, levels = col.codes()
            keep = codes >= 0
            used = np.unique(codes[keep])
            if len(used) == 0:
                raise DataError(f"{name}: the target column '{col.name}' has no values")
            order = sorted(used.tolist(), key=lambda c: levels[c])
            lut = np.full(len(levels), -1, np.int64)
            lut[order] = np.arange(len(order))
            self.task = "classification"
            self.classes = [levels[c] for c in order]
            self._labels = lut[codes[keep]]
        self._rows = np.flatnonzero(keep).astype(np.int64)
        n_missing = n - len(self._rows)
        if n_missing:
            self._problems.append(
                Problem(
                    f"column '{col.name}'",
                    f"{n_missing} row(s) ({_pct(n_missing, n)}) have no target value; they are left out",
                )
            )

    def _check(self) -> None:
        n = len(self._rows)
        if self.classes is not None:
            counts = np.bincount(self._labels, minlength=len(self.classes))
            if len(self.classes) < 2:
                self._problems.append(
                    Problem(
                        f"column '{self.target}'",
                        f"the target has a single class ('{self.classes[0]}'); a classifier needs at least two",
                        "error",
                    )
                )
            else:
                big, small = int(counts.argmax()), int(counts.argmin())
                if counts[big] >= IMBALANCE_RATIO * counts[small]:
                    self._problems.append(
                        Problem(
                            f"column '{self.target}'",
                            f"classes are imbalanced: '{self.classes[big]}' has {counts[big]} rows, "
                            f"'{self.classes[small]}' only {counts[small]}",
                        )
                    )
                few = [self.classes[i] for i in np.flatnonzero(counts < 3)]
                if few:
                    shown = ", ".join(f"'{c}'" for c in few[:5]) + (" …" if len(few) > 5 else "")
                    self._problems.append(
                        Problem(
                            f"column '{self.target}'",
                            f"{len(few)} class(es) have fewer than 3 rows ({shown}): too few for every split",
                        )
                    )
        for s, col in zip(self._summaries, self.table.columns, strict=True):
            if s.type == "target":
                continue
            if s.type in ("id", "constant", "empty", "too many values"):
                self._problems.append(Problem(f"column '{s.name}'", f"dropped: {s.reason}", "info"))
                continue
            n_bad = int(col.bad[self._rows].sum()) if s.type == "numeric" else 0
            n_inf = (
                int(col.nonfinite[self._rows].sum())
                if s.type == "numeric" and col.nonfinite is not None
                else 0
            )
            if n_bad - n_inf:
                self._problems.append(
                    Problem(
                        f"column '{s.name}'",
                        f"{n_bad - n_inf} non-numeric cell(s) in a numeric column ({_cell_examples(col.bad_examples)}); "
                        "treated as missing",
                    )
                )
            if n_inf:
                self._problems.append(
                    Problem(
                        f"column '{s.name}'",
                        f"{n_inf} non-finite value(s) ({_cell_examples(col.nonfinite_examples)}); treated as missing",
                    )
                )
            if s.type == "numeric":
                self._check_size(col)
            n_missing = int(self._missing_mask(col, s.type)[self._rows].sum()) - n_bad
            if n_missing:
                self._problems.append(
                    Problem(
                        f"column '{s.name}'", f"{n_missing} missing value(s) ({_pct(n_missing, n)})"
                    )
                )

    def _check_size(self, col: Column) -> None:
        """An error for the values of numeric feature ``col`` too large to standardize."""
        v = col.floats[self._rows]
        limit = _square_limit(int(np.count_nonzero(~np.isnan(v))))
        huge = _too_large(v, limit)
        if len(huge):
            self._problems.append(
                Problem(
                    f"column '{col.name}'",
                    f"{len(huge)} value(s) too large to standardize ({_number_examples(self.table, self._rows[huge], v[huge])}): "
                    f"squaring them overflows; keep values below {limit:.2g} in size, or fix or remove those rows",
                    "error",
                )
            )

    def _check_standardized(self, pre: Mapping[str, Any]) -> None:
        """A DataError when a value, standardized with the training split's mean and std, does
        not fit the float32 the model is fed (a huge value outside the training split)."""
        cols = {c.name: c for c in self.table.columns}
        for f in pre["features"]:
            if f["type"] != "numeric":
                continue
            v = cols[f["name"]].floats[self._rows]
            with np.errstate(over="ignore", invalid="ignore"):
                z = (v - f["mean"]) / f["std"]
            huge = _too_large(z, _F32_MAX)
            if len(huge):
                raise DataError(
                    f"{self.path.name}: column '{f['name']}': {len(huge)} value(s) too large for the model "
                    f"once standardized with the training split's mean and std "
                    f"({_number_examples(self.table, self._rows[huge], v[huge])}); fix or remove those rows"
                )

    @staticmethod
    def _missing_mask(col: Column, typ: str) -> np.ndarray:
        if typ == "numeric":
            return np.isnan(col.floats)
        return col.codes()[0] < 0

    @property
    def features(self) -> list[str]:
        """The columns used as features, in file order."""
        return [s.name for s in self._summaries if s.type in ("numeric", "categorical")]

    @property
    def dropped(self) -> list[str]:
        """Columns left out (id-like, constant, empty, too many distinct texts)."""
        return [
            s.name
            for s in self._summaries
            if s.type in ("id", "constant", "empty", "too many values")
        ]

    @property
    def column_summaries(self) -> list[ColumnSummary]:
        """Every column with its inferred type."""
        return list(self._summaries)

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def sample_ids(self) -> SampleIds:
        """Sample indices -> the samples' rows in the file: 1-based, the header not counted
        (``workbench predict`` names them ``file.csv:N``)."""
        rows = self._rows

        def numbers(indices: np.ndarray) -> list[Any]:
            return [int(rows[int(i)]) + 1 for i in indices]

        return numbers

    def split(self, settings: DataSettings) -> Split:
        # As Source.split, without building the whole info() first.
        return make_split(
            self._labels, self.task, settings.val_ratio, settings.test_ratio, settings.seed
        )

    def _feature_width(self, train: np.ndarray) -> int:
        width = 0
        rows = self._rows[train]
        for s, col in zip(self._summaries, self.table.columns, strict=True):
            if s.type == "numeric":
                width += 1
            elif s.type == "categorical":
                codes = col.codes()[0][rows]
                width += len(np.unique(codes[codes >= 0]))
        return max(width, 1)

    def info(self) -> DatasetInfo:
        counts: dict[str, int] = {}
        if self.classes is not None:
            per = np.bincount(self._labels, minlength=len(self.classes))
            counts = {c: int(k) for c, k in zip(self.classes, per, strict=True)}
        return DatasetInfo(
            path=str(self.path),
            kind="table",
            task=self.task,
            num_samples=len(self._rows),
            classes=list(self.classes) if self.classes is not None else None,
            class_counts=counts,
            problems=list(self._problems),
            sample_shape=(self._default_width,),
            dtype="float32",
            num_targets=1,
            details={
                "columns": [s.to_dict() for s in self._summaries],
                "target": self.target,
                "features": self.features,
                "dropped": self.dropped,
                "rows": self.table.num_rows,
                "delimiter": self.table.delimiter,
                "header": self.table.has_header,
                "encoding": self.table.encoding,
                "preview": self.preview(10),
            },
        )

    def preview(self, limit: int = 64) -> dict[str, Any]:
        return {
            "columns": self.table.names,
            "rows": [list(r) for r in self.table.preview_rows[:limit]],
            "types": {s.name: s.type for s in self._summaries},
            "total_rows": self.table.num_rows,
        }

    # -- preparing ---------------------------------------------------------------------

    def fit_preprocessing(self, train_rows: np.ndarray, missing: str = "impute") -> dict[str, Any]:
        """Encoding learned from the training rows (file-row indices): means, stds, categories."""
        specs: list[dict[str, Any]] = []
        names: list[str] = []
        for s, col in zip(self._summaries, self.table.columns, strict=True):
            if s.type == "numeric":
                v = col.floats[train_rows]
                v = v[~np.isnan(v)]
                mean = float(v.mean()) if len(v) else 0.0
                std = float(v.std()) if len(v) > 1 else 1.0
                if not math.isfinite(std) or std < 1e-12:
                    std = 1.0
                specs.append({"name": s.name, "type": "numeric", "mean": mean, "std": std})
                names.append(s.name)
            elif s.type == "categorical":
                codes, levels = col.codes()
                c = codes[train_rows]
                c = c[c >= 0]
                counts = np.bincount(c, minlength=len(levels))
                present = np.flatnonzero(counts)
                cats = sorted(levels[i] for i in present)
                if len(present):
                    top = int(counts.max())
                    fill = min(levels[i] for i in present if counts[i] == top)
                else:
                    fill = None
                specs.append(
                    {"name": s.name, "type": "categorical", "categories": cats, "fill": fill}
                )
                names.extend(f"{s.name}={cat}" for cat in cats)
        return {
            "kind": "table",
            "target": self.target,
            "task": self.task,
            "classes": list(self.classes) if self.classes is not None else None,
            "missing": missing,
            "features": specs,
            "feature_names": names,
            "num_features": len(names),
            "dropped": self.dropped,
        }

    def _split_rows(self, settings: DataSettings) -> tuple[Split, str | None]:
        """The split, less rows with missing features when ``settings.missing`` is "drop"."""
        split = self.split(settings)
        if settings.missing != "drop":
            return split, None
        incomplete = np.zeros(len(self._rows), bool)
        for s, col in zip(self._summaries, self.table.columns, strict=True):
            if s.type in ("numeric", "categorical"):
                incomplete |= self._missing_mask(col, s.type)[self._rows]
        if not incomplete.any():
            return split, None
        parts = []
        for which in ("train", "val", "test"):
            idx: np.ndarray = getattr(split, which)
            bad = incomplete[idx]
            parts.append(f"{which} {int(bad.sum())}")
            setattr(split, which, idx[~bad])
        if len(split.train) == 0:
            raise DataError(
                f"{self.path.name}: every training row has a missing value; choose imputation instead of dropping rows"
            )
        return (
            split,
            f"Dropped {int(incomplete.sum())} row(s) with missing values ({', '.join(parts)})",
        )

    def input_spec(
        self, settings: DataSettings
    ) -> tuple[tuple[int, ...], Literal["float32", "int64"]]:
        """(F,) float32, F counting the categories seen in the training split of ``settings``."""
        if settings.target and self.table.column(settings.target) is not self._target_col:
            return self.with_target(settings.target).input_spec(settings)
        split, _ = self._split_rows(settings)
        return (self._feature_width(split.train),), "float32"

    def prepare(
        self,
        settings: DataSettings,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> Prepared:
        import torch

        from workbench.data.prepared import Prepared, TensorData

        name = self.path.name
        for p in self._problems:
            if p.severity == "error":
                raise DataError(
                    f"{name}: {p.item}: {p.reason}"
                    if p.item.startswith("column ")
                    else f"{name}: {p.reason}"
                )
        if settings.target and self.table.column(settings.target) is not self._target_col:
            # The project names another target column: re-target without re-reading.
            return self.with_target(settings.target).prepare(settings, progress, cancelled)
        split, dropped_note = self._split_rows(settings)
        notes: list[str] = []
        for s in self._summaries:
            if s.type in ("id", "constant", "empty", "too many values"):
                notes.append(f"Column '{s.name}' dropped: {s.reason}")
        excluded = self.table.num_rows - len(self._rows)
        if excluded:
            notes.append(f"{excluded} row(s) without a target value left out")
        if dropped_note:
            notes.append(dropped_note)
        if cancelled is not None and cancelled():
            raise DataCancelled()
        pre = self.fit_preprocessing(self._rows[split.train], settings.missing)
        self._check_standardized(pre)
        cols = {c.name: c for c in self.table.columns}
        x, imputed = _encode(pre, cols, self._rows)
        if settings.missing == "impute" and imputed:
            cells = sum(imputed.values())
            where = ", ".join(f"'{k}' {v}" for k, v in imputed.items())
            notes.append(
                f"Imputed {cells} missing cell(s) (mean for numbers, most frequent for categories): {where}"
            )
        n_num = sum(1 for f in pre["features"] if f["type"] == "numeric")
        if n_num:
            notes.append(
                f"{n_num} numeric column(s) standardized with the training split's mean and std"
            )
        for f in pre["features"]:
            if f["type"] == "categorical":
                notes.append(
                    f"Column '{f['name']}' one-hot encoded into {len(f['categories'])} columns"
                )
        if progress is not None:
            progress(1, 1)
        xt = torch.from_numpy(x)
        if self.task == "classification":
            yt = torch.from_numpy(self._labels.astype(np.int64))
        else:
            yt = torch.from_numpy(self._labels.astype(np.float32).reshape(-1, 1))
            pre["target_scale"] = target_scale(self._labels[split.train])
            notes.append(target_note(pre["target_scale"]))

        def part(idx: np.ndarray) -> TensorData:
            i = torch.from_numpy(idx.astype(np.int64))
            return TensorData(xt[i].contiguous(), yt[i].contiguous())

        return Prepared(
            task=self.task,
            classes=list(self.classes) if self.classes is not None else None,
            input_shape=(x.shape[1],),
            input_dtype="float32",
            num_targets=1,
            split=split,
            train=part(split.train),
            val=part(split.val),
            test=part(split.test),
            in_memory=True,
            notes=notes,
            preprocessing=pre,
            sample_ids=self.sample_ids(),
        )

    # -- inference ---------------------------------------------------------------------

    @staticmethod
    def transform_rows(
        rows: Iterable[Mapping[str, Any]], preprocessing: Mapping[str, Any]
    ) -> np.ndarray:
        """Encode new rows given as ``{column: value}`` mappings like the training data."""
        rows = list(rows)
        header = list(dict.fromkeys(k for r in rows for k in r))
        return encode_rows(header, [[r.get(k) for k in header] for r in rows], preprocessing)


def _encode(
    pre: Mapping[str, Any], cols: Mapping[str, Column], rows: np.ndarray
) -> tuple[np.ndarray, dict[str, int]]:
    """Features (len(rows), F) float32 for the given file rows, and imputed cells per column
    (the encoding is :func:`workbench.standalone.train_encode.encode_features`, train.py's)."""
    lookup = {c.lower(): c for c in cols}

    def column(f: Mapping[str, Any]) -> Column:
        col = cols.get(f["name"]) or cols.get(lookup.get(f["name"].lower(), ""))
        if col is None:
            raise DataError(
                f"the rows have no column '{f['name']}' (the model was trained with it)"
            )
        return col

    def numbers(f: Mapping[str, Any]) -> np.ndarray:
        return column(f).floats[rows]

    def categories(f: Mapping[str, Any], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        codes, levels = column(f).codes()
        lut = np.full(len(levels) + 1, -1, np.int64)
        for i, lv in enumerate(levels):
            lut[i] = index.get(lv, -1)
        fill = f.get("fill")
        lut[-1] = index.get(fill, -1) if fill is not None else -1  # code -1 (missing) → the fill
        c = codes[rows]
        return lut[c], c < 0

    x, missing = encode_features(
        pre["features"], len(rows), int(pre["num_features"]), numbers, categories
    )
    imputed = {name: int(m.sum()) for name, m in missing.items() if m.any()}
    return x, imputed


def encode_rows(
    header: Sequence[str], rows: Iterable[Sequence[Any]], preprocessing: Mapping[str, Any]
) -> np.ndarray:
    """Encode new rows (cells as text, numbers or None) like the training data: (N, F) float32.

    Numeric cells are standardized with the training mean and std; missing or
    non-numeric ones become the training mean. Categories unseen in training encode as
    all zeros; missing ones as the training split's most frequent category. Columns the
    model does not use (the target, dropped ids) are ignored.
    """
    header = [str(h) for h in header]
    n = len(header)
    chunk: list[list[str]] = []
    for i, row in enumerate(rows):
        if len(row) != n:
            raise DataError(f"row {i + 1} has {len(row)} fields but the header has {n}")
        chunk.append(
            ["" if v is None else (v if isinstance(v, str) else _cell_text(v)) for v in row]
        )
    lines = list(range(2, len(chunk) + 2))
    builders = [_ColumnBuilder(h) for h in header]
    if chunk:
        for j, cells in enumerate(zip(*chunk, strict=True)):
            builders[j].add(cells, lines)
    cols = {b.name: b.finish() for b in builders}
    return _encode(preprocessing, cols, np.arange(len(chunk)))[0]


def _cell_text(v: Any) -> str:
    if isinstance(v, float) and math.isnan(v):
        return ""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return _format_number(float(v))
    return str(v)


def encode_file(path: str | os.PathLike[str], preprocessing: Mapping[str, Any]) -> np.ndarray:
    """Encode every row of a table file of new rows (CSV/TSV/Parquet): (N, F) float32."""
    table = read_table(path)
    cols = {c.name: c for c in table.columns}
    try:
        return _encode(preprocessing, cols, np.arange(table.num_rows))[0]
    except DataError as e:
        raise DataError(f"{Path(path).name}: {e}") from None
