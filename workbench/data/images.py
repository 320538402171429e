"""Image datasets: folders of class subfolders and CSV indexes of ``image path, label`` rows.

Scanning is fast and torch-free. It lists files with :func:`os.scandir` and reads each
image file once, in one ``read`` of at most :data:`HEAD_BYTES` (the whole file for
small images), in the calling thread or, when the disk is slow, from a few threads
(:func:`check_files`). From those bytes it

* parses the header itself for PNG, JPEG, GIF, BMP and WebP (size and mode, no pixel
  decoding) and asks Pillow's lazy ``Image.open`` (header only) for TIFF and for the
  rare header that lies beyond the first bytes;
* finds empty (zero-byte) files, files whose content is not an image whatever their
  name says, corrupt headers and truncated files: a PNG without its ``IEND`` chunk, a
  JPEG without its end-of-image marker, a BMP or WebP shorter than its header declares;
* hashes the content (BLAKE2b) for duplicate detection: small files are hashed whole
  from the bytes already read; a large file gets a cheap fingerprint (size, first and
  last bytes) and is hashed whole only when its fingerprint collides with another
  file's, so only likely duplicates are ever read to the end.

Measured on 2 cores (``python -m workbench.data.bench_images``): 100,000 PNGs of 28x28
index in about 1.7 s with the files in the OS cache (about 15 microseconds a file, one
thread) and in about 4.8 s with their contents evicted from it (the reads then move to
:data:`IO_THREADS` threads). Pixel data is never decoded during the scan; an image that
is damaged inside its compressed data is found when :meth:`ImageSource.prepare` decodes
it, and is reported and skipped there.

Duplicates are exact copies (same bytes). Copies across the train/val/test folders, and
copies with different labels, are listed as warnings (the first
:data:`MAX_DUPLICATE_PROBLEMS` groups, then a count); without given splits the number of
copies is an info, and :meth:`ImageSource.prepare` notes how many groups its split puts
on both sides.

Alpha is composited on white and palette images are expanded (see
:mod:`workbench.data.image_pipeline`, which does the decoding and imports torch).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

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
)

# Which files are images and which folder names give the split: train.py's (one copy).
from workbench.standalone.train_decode import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
from workbench.standalone.train_split import SPLIT_NAMES as SPLIT_NAMES

if TYPE_CHECKING:
    from workbench.data.prepared import Prepared

SPLIT_LABELS = ("train", "val", "test")
#: Modes that hold no colour.
GRAYSCALE_MODES: frozenset[str] = frozenset(
    {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
)
#: Bytes read from the start of every file in one go; smaller files are read whole.
HEAD_BYTES = 64 * 1024
#: Bytes read from the end of a larger file (end markers, fingerprint).
TAIL_BYTES = 4 * 1024
#: A dataset whose largest class has more than this many times the samples of its
#: smallest is reported as imbalanced.
IMBALANCE_RATIO = 3.0
#: Duplicate groups listed one by one in the problems; the rest are counted.
MAX_DUPLICATE_PROBLEMS = 100
#: Images with more pixels are refused (Pillow's own decompression-bomb threshold): a
#: damaged header can claim any size, and decoding it would allocate that much memory.
MAX_PIXELS = 89_478_485
#: Longest side of the suggested input size.
MAX_SUGGESTED_SIDE = 64

_FORMATS_TEXT = "PNG, JPEG, BMP, GIF, TIFF or WebP"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_CHUNK = 512  # files per unit of work in the scan
#: A scan chunk slower than this per file switches the scan to several threads.
SLOW_FILE_SECONDS = 60e-6


# --------------------------------------------------------------------------- file check


@dataclass(slots=True)
class FileCheck:
    """What the scan learned about one file without decoding its pixels.

    Attributes:
        size: File size in bytes.
        width: Width in pixels (0 when unknown).
        height: Height in pixels (0 when unknown).
        mode: Pillow mode, such as ``"RGB"``, ``"L"``, ``"P"`` (empty when unknown).
        fmt: Format, such as ``"PNG"`` (empty when unknown).
        digest: BLAKE2b digest of the whole content, for small files.
        fingerprint: For large files: a digest of the size, the first and the last bytes.
        error: Why the file cannot be used, or None when it looks fine.
    """

    size: int = 0
    width: int = 0
    height: int = 0
    mode: str = ""
    fmt: str = ""
    digest: bytes | None = None
    fingerprint: bytes | None = None
    error: str | None = None


def _png(data: bytes, tail: bytes, check: FileCheck) -> None:
    if len(data) < 33 or data[12:16] != b"IHDR":
        check.error = "corrupt PNG: the header is missing or damaged"
        return
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        check.error = "corrupt PNG: the header checksum does not match"
        return
    w, h = struct.unpack(">II", data[16:24])
    depth, ctype = data[24], data[25]
    modes = {
        0: "1" if depth == 1 else ("I;16" if depth == 16 else "L"),
        2: "RGB",
        3: "P",
        4: "LA",
        6: "RGBA",
    }
    if ctype not in modes or not w or not h:
        check.error = "corrupt PNG: the header is invalid"
        return
    check.width, check.height, check.mode, check.fmt = w, h, modes[ctype], "PNG"
    if b"IEND" not in tail[-1024:]:
        check.error = "truncated PNG: the file ends before its last chunk"


def _jpeg(data: bytes, tail: bytes, whole: bool, check: FileCheck) -> bool:
    """Parse a JPEG's frame header; returns False when it lies beyond ``data``."""
    check.fmt = "JPEG"
    i, n, sos = 2, len(data), -1
    while i + 4 <= n:
        if data[i] != 0xFF:
            check.error = "corrupt JPEG: bad marker in the header"
            return True
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (seglen,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _JPEG_SOF and i + 10 <= n:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            check.width, check.height = w, h
            check.mode = {1: "L", 3: "RGB", 4: "CMYK"}.get(data[i + 9], "RGB")
        elif marker == 0xDA:
            sos = i
            break
        elif marker == 0xD9:
            break
        i += 2 + seglen
    if not check.width:
        if whole:
            check.error = "corrupt JPEG: no frame header"
            return True
        return False
    if not check.height:
        check.height = 1  # height 0 means "given later by a DNL marker"; rare
    if whole:
        if sos < 0 or data.find(b"\xff\xd9", sos) < 0:
            check.error = "truncated JPEG: the end-of-image marker is missing"
    elif b"\xff\xd9" not in tail:
        check.error = "truncated JPEG: the end-of-image marker is missing"
    return True


def _bmp(data: bytes, size: int, check: FileCheck) -> None:
    if len(data) < 30:
        check.error = "corrupt BMP: the header is too short"
        return
    declared = struct.unpack("<I", data[2:6])[0]
    dib = struct.unpack("<I", data[14:18])[0]
    if dib == 12:
        w, h = struct.unpack("<HH", data[18:22])
        bpp = struct.unpack("<H", data[24:26])[0]
    else:
        w, h = struct.unpack("<ii", data[18:26])
        bpp = struct.unpack("<H", data[28:30])[0]
    if w <= 0 or h == 0 or bpp not in (1, 2, 4, 8, 16, 24, 32):
        check.error = "corrupt BMP: the header is invalid"
        return
    check.width, check.height, check.fmt = w, abs(h), "BMP"
    check.mode = "P" if bpp <= 8 else ("RGBA" if bpp == 32 else "RGB")
    if declared > size:
        check.error = f"truncated BMP: {size} bytes of the {declared} its header declares"


def _gif(data: bytes, check: FileCheck) -> None:
    if len(data) < 13:
        check.error = "corrupt GIF: the header is too short"
        return
    w, h = struct.unpack("<HH", data[6:10])
    if not w or not h:
        check.error = "corrupt GIF: the header is invalid"
        return
    check.width, check.height, check.mode, check.fmt = w, h, "P", "GIF"


def _webp(data: bytes, size: int, check: FileCheck) -> bool:
    """Parse a WebP header; returns False when Pillow should be asked instead."""
    check.fmt = "WEBP"
    declared = struct.unpack("<I", data[4:8])[0] + 8
    if declared > size:
        check.error = f"truncated WebP: {size} bytes of the {declared} its header declares"
        return True
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        check.width = struct.unpack("<H", data[26:28])[0] & 0x3FFF
        check.height = struct.unpack("<H", data[28:30])[0] & 0x3FFF
        check.mode = "RGB"
    elif chunk == b"VP8L" and len(data) >= 25:
        bits = struct.unpack("<I", data[21:25])[0]
        check.width, check.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        check.mode = "RGBA" if (bits >> 28) & 1 else "RGB"
    elif chunk == b"VP8X" and len(data) >= 30:
        check.width = 1 + int.from_bytes(data[24:27], "little")
        check.height = 1 + int.from_bytes(data[27:30], "little")
        check.mode = "RGBA" if data[20] & 0x10 else "RGB"
    else:
        return False
    if not check.width or not check.height:
        check.error = "corrupt WebP: the header is invalid"
    return True


def _pillow_header(source: str | bytes, check: FileCheck) -> None:
    """Ask Pillow for the header (lazy: pixels are not decoded)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            check.width, check.height = im.size
            check.mode, check.fmt = im.mode, im.format or check.fmt
    except Exception as e:  # noqa: BLE001 - any failure means "unreadable", never a crash
        check.error = f"unreadable {check.fmt or 'image'}: {_one_line(e)}"


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text and text[0] else type(e).__name__


def check_image_file(path: str) -> FileCheck:
    """Check one image file cheaply: read its first bytes (or all of a small file), parse
    the header, look for truncation and hash the content; never raises for bad files.

    Args:
        path: The file to check.

    Returns:
        What was learned; ``error`` says why the file cannot be used.
    """
    check = FileCheck()
    try:
        with open(path, "rb", buffering=0) as f:
            data = f.read(HEAD_BYTES)
            whole = len(data) < HEAD_BYTES
            if whole:
                size, tail = len(data), data
            else:
                size = os.fstat(f.fileno()).st_size
                if size > len(data):
                    f.seek(max(len(data), size - TAIL_BYTES))
                    tail = f.read(TAIL_BYTES)
                else:
                    whole, tail = True, data
    except OSError as e:
        check.error = f"cannot be read: {e.strerror or _one_line(e)}"
        return check
    check.size = size
    if size == 0:
        check.error = "empty file (0 bytes)"
        return check
    if whole:
        check.digest = hashlib.blake2b(data, digest_size=16).digest()
    else:
        check.fingerprint = hashlib.blake2b(
            data + tail + size.to_bytes(8, "little"), digest_size=16
        ).digest()
    if data.startswith(_PNG_SIG):
        _png(data, tail, check)
    elif data.startswith(b"\xff\xd8\xff"):
        if not _jpeg(data, tail, whole, check):  # the frame header lies beyond the first bytes
            _pillow_header(path, check)
            if check.error is None and b"\xff\xd9" not in tail:
                check.error = "truncated JPEG: the end-of-image marker is missing"
    elif data.startswith((b"GIF87a", b"GIF89a")):
        _gif(data, check)
    elif data.startswith(b"BM"):
        _bmp(data, size, check)
    elif data.startswith(b"RIFF") and data[8:12] == b"WEBP" and len(data) >= 16:
        if not _webp(data, size, check):
            _pillow_header(data if whole else path, check)
    elif data.startswith((b"II*\x00", b"MM\x00*")):
        check.fmt = "TIFF"
        _pillow_header(data if whole else path, check)
    else:
        check.error = f"not an image: the content is not {_FORMATS_TEXT}"
    if check.error is None and check.width * check.height > MAX_PIXELS:
        check.error = (
            f"too large: {check.width}x{check.height} pixels (the limit is {MAX_PIXELS:,})"
        )
    return check


def _full_digest(path: str) -> bytes | None:
    h = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    except OSError:
        return None
    return h.digest()


#: Threads reading files once the scan finds the disk is the limit: they mostly sleep in
#: reads, so more than the cores pays off (measured here, 100,000 small files not in the
#: OS cache on 2 cores: 11.7 s in one thread, 3.3 s with 8).
IO_THREADS = 8


def _blocking_waits() -> int | None:
    """Voluntary context switches of the calling thread so far (Linux), or None."""
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw)  # type: ignore[attr-defined,unused-ignore]
    except (ImportError, AttributeError, OSError, ValueError):
        return None


class ReadStallMeter:
    """Tells, for work done in the calling thread, whether reading files was the limit.

    Work is read-bound when it averaged more than :data:`SLOW_FILE_SECONDS` per file and
    the thread kept going to sleep while doing it: on Linux, voluntary context switches
    (waits for a read) for more than a quarter of the files, which a machine merely busy
    with other work does not cause; elsewhere, less than half the wall time on the CPU.

    Use: ``m = ReadStallMeter()`` before the work, ``m.stalled(files)`` after it.
    """

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.thread_time()
        self._waits = _blocking_waits()

    def stalled(self, files: int) -> bool:
        """True when the work since construction (over ``files`` files) was read-bound."""
        wall = time.perf_counter() - self._wall
        if files <= 0 or wall / files <= SLOW_FILE_SECONDS:
            return False
        after = _blocking_waits()
        if self._waits is not None and after is not None:
            return after - self._waits > files / 4
        return time.thread_time() - self._cpu < 0.5 * wall


def check_files(
    paths: Sequence[str],
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    workers: int | None = None,
) -> list[FileCheck]:
    """Run :func:`check_image_file` over many files.

    With ``workers=None`` the files are checked in the calling thread, chunk by chunk,
    for as long as that is fast (files in the OS cache: about 10 microseconds each, and
    threads would only contend for the GIL); when a chunk averages more than
    :data:`SLOW_FILE_SECONDS` per file because the thread kept going to sleep on reads
    (see :class:`ReadStallMeter`: the disk or network is the limit, not a machine busy with
    other work), the rest is spread over :data:`IO_THREADS` threads, whose reads overlap. ``workers=1`` never uses threads;
    more than 1 always does. Progress is reported and cancellation honoured from the
    calling thread between chunks.

    Raises:
        DataCancelled: when ``cancelled()`` returned True.
    """
    n = len(paths)
    results: list[FileCheck | None] = [None] * n
    stop = threading.Event()

    def work(start: int) -> int:
        end = min(n, start + _CHUNK)
        for i in range(start, end):
            if stop.is_set():
                break
            results[i] = check_image_file(paths[i])
        return end - start

    def tick(done: int) -> None:
        if cancelled is not None and cancelled():
            raise DataCancelled()
        if progress:
            progress(done, n)

    if progress:
        progress(0, n)
    done = 0
    threaded = workers is not None and workers > 1
    while done < n and not threaded:
        meter = ReadStallMeter()
        count = work(done)
        done += count
        tick(done)
        threaded = workers is None and meter.stalled(count)  # the disk is the limit: overlap reads
    if done < n:
        nworkers = workers if workers is not None and workers > 1 else IO_THREADS
        with ThreadPoolExecutor(max_workers=nworkers, thread_name_prefix="wb-scan") as pool:
            starts = iter(range(done, n, _CHUNK))
            pending: set[Future[int]] = set()
            try:
                while True:
                    while len(pending) < 2 * nworkers and (s := next(starts, None)) is not None:
                        pending.add(pool.submit(work, s))
                    if not pending:
                        break
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        done += fut.result()
                    tick(done)
            finally:
                stop.set()
    return [r if r is not None else FileCheck(error="not checked") for r in results]


def _duplicate_groups(
    paths: Sequence[str], checks: Sequence[FileCheck], cancelled: Cancelled | None
) -> list[list[int]]:
    """Groups (of two or more sample positions) of files with identical content."""
    groups: dict[bytes, list[int]] = {}
    by_fp: dict[tuple[int, bytes], list[int]] = {}
    for i, c in enumerate(checks):
        if c.digest is not None:
            groups.setdefault(c.digest, []).append(i)
        elif c.fingerprint is not None:
            by_fp.setdefault((c.size, c.fingerprint), []).append(i)
    for members in by_fp.values():
        if len(members) < 2:
            continue
        if cancelled is not None and cancelled():
            raise DataCancelled()
        for i in members:
            d = _full_digest(paths[i])
            if d is not None:
                groups.setdefault(b"L" + d, []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


# --------------------------------------------------------------------------- sources


def _size_text(w: int, h: int) -> str:
    return f"{w}x{h}"


def suggested_size(width: int, height: int, max_side: int = MAX_SUGGESTED_SIDE) -> tuple[int, int]:
    """A model input size ``(height, width)`` for images of this size: the size itself,
    scaled down to ``max_side`` on its longer side keeping the aspect ratio."""
    if width <= 0 or height <= 0:
        return DataSettings().image_size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(height * scale)), max(1, round(width * scale))


class ImageSource(Source):
    """A scanned image dataset (shared by the folder and the CSV-index sources).

    Samples are the readable image files; each has a class index into :attr:`classes`
    (sorted by name) and, when the layout gives one, a split code.
    """

    kind = "images"

    def __init__(
        self,
        path: Path,
        root: Path,
        files: list[str],
        names: list[str],
        labels: np.ndarray,
        classes: list[str],
        given: np.ndarray | None,
        problems: list[Problem],
        details: dict[str, Any],
        duplicates: list[list[int]],
        grayscale: bool,
    ) -> None:
        self.path = path
        #: The folder that relative names are relative to.
        self.root = root
        #: Absolute path of every sample.
        self.files = files
        #: Every sample's name as shown to the user (relative to the dataset).
        self.names = names
        #: Class names, sorted.
        self.classes = classes
        #: Groups of sample indices whose files have identical content.
        self.duplicates = duplicates
        #: True when every image is grayscale.
        self.grayscale = grayscale
        #: The most common image size, ``(width, height)``.
        self.typical_size: tuple[int, int] = (0, 0)
        self._labels = labels
        self._given = given
        self._problems = problems
        self._details = details
        self._lock = threading.Lock()
        #: Samples that failed to decode during preparation: index -> reason.
        self.failed: dict[int, str] = {}

    # -- Source API

    @property
    def labels(self) -> np.ndarray:
        """Per-sample class indices (int64)."""
        return self._labels

    @property
    def given_split(self) -> np.ndarray | None:
        """Split codes from the train/val/test folders (or an index's split column)."""
        return self._given

    def sample_ids(self) -> SampleIds:
        """Sample indices -> the images' absolute file paths."""
        files = self.files

        def paths(indices: np.ndarray) -> list[Any]:
            return [files[int(i)] for i in indices]

        return paths

    def info(self) -> DatasetInfo:
        """Counts per class, the check's problems and the default per-sample shape.

        ``sample_shape`` is ``(1 if every image is grayscale else 3, 32, 32)``. Files that
        failed to decode during a preparation are counted as problems, not samples, from
        then on. ``details`` (JSON-ready) holds:

        * ``sizes``: ``{"WIDTHxHEIGHT": count}`` (the 50 most common, the rest as "other");
        * ``modes`` and ``formats``: counts of Pillow modes and file formats;
        * ``suggested_size``: ``[height, width]``, the most common size scaled down to at
          most 64 on its longer side; ``suggested_color``: "grayscale" or "rgb";
        * ``duplicates``: counts of groups of identical files, of extra copies, of groups
          across given splits and of groups with conflicting labels;
        * ``unreadable_files``: files skipped by the check;
        * ``split_counts`` (given splits): ``{"train": {class: count}, ...}``;
        * ``index_rows`` (CSV index): data rows in the file.
        """
        with self._lock:
            failed = dict(self.failed)
        counts = np.bincount(self._labels, minlength=len(self.classes))
        problems = list(self._problems)
        for i, reason in sorted(failed.items()):
            counts[self._labels[i]] -= 1
            problems.append(Problem(self.names[i], reason, "warning"))
        h, w = DataSettings().image_size
        return DatasetInfo(
            path=str(self.path),
            kind="images",
            task="classification",
            num_samples=int(counts.sum()),
            classes=list(self.classes),
            class_counts={c: int(k) for c, k in zip(self.classes, counts, strict=True)},
            problems=problems,
            sample_shape=(1 if self.grayscale else 3, h, w),
            dtype="float32",
            splits_given=self._given is not None,
            details=dict(self._details),
        )

    def preview(self, limit: int = 64) -> dict[str, Any]:
        """A few images per class, training images first: ``{"items": [(path, class)]}``."""
        per_class: list[list[int]] = [[] for _ in self.classes]
        want = max(1, limit // max(1, len(self.classes)))
        order: Iterable[int] = range(len(self.files))
        if self._given is not None:
            order = np.argsort(self._given, kind="stable").tolist()
        for i in order:
            bucket = per_class[int(self._labels[i])]
            if len(bucket) < want:
                bucket.append(i)
        items: list[tuple[str, str]] = []
        for rank in range(want):
            for c, bucket in enumerate(per_class):
                if rank < len(bucket) and len(items) < limit:
                    items.append((self.files[bucket[rank]], self.classes[c]))
        return {"items": items}

    def prepare(
        self,
        settings: DataSettings,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        *,
        memory_budget: int | None = None,
        cache_bytes: int | None = None,
        workers: int | None = None,
        prefetch: int = 4,
    ) -> Prepared:
        """Split, decode and preprocess for training; see
        :func:`workbench.data.image_pipeline.prepare_images` for the keyword options."""
        from workbench.data.image_pipeline import prepare_images

        return prepare_images(
            self,
            settings,
            progress,
            cancelled,
            memory_budget=memory_budget,
            cache_bytes=cache_bytes,
            workers=workers,
            prefetch=prefetch,
        )

    # -- used by the pipeline

    def record_failure(self, index: int, reason: str) -> None:
        """Note that sample ``index`` failed to decode (thread-safe)."""
        with self._lock:
            self.failed.setdefault(index, reason)

    # -- building

    @classmethod
    def _build(
        cls,
        path: Path,
        root: Path,
        entries: list[tuple[str, str, str, int]],
        problems: list[Problem],
        progress: Progress | None,
        cancelled: Cancelled | None,
        splits_given: bool,
        workers: int | None = None,
        extra_details: dict[str, Any] | None = None,
    ) -> Self:
        """Check the files and build the source.

        Args:
            entries: ``(absolute path, display name, class name, split code)`` per file;
                the split code is -1 when the layout gives none.
        """
        files = [e[0] for e in entries]
        checks = check_files(files, progress, cancelled, workers)
        keep: list[int] = []
        unreadable = 0
        sizes: Counter[tuple[int, int]] = Counter()
        modes: Counter[str] = Counter()
        formats: Counter[str] = Counter()
        for i, (chk, ent) in enumerate(zip(checks, entries, strict=True)):
            if chk.error is not None:
                problems.append(Problem(ent[1], chk.error, "warning"))
                unreadable += 1
                continue
            keep.append(i)
            sizes[(chk.width, chk.height)] += 1
            modes[chk.mode] += 1
            formats[chk.fmt] += 1
        name = path.name or str(path)
        if not keep:
            first = problems[-1].reason if problems else "no images"
            raise DataError(
                f"{name}: none of its {len(entries)} images can be read (for example: {first})"
            )
        entries = [entries[i] for i in keep]
        checks = [checks[i] for i in keep]
        files = [e[0] for e in entries]
        classes = sorted({e[2] for e in entries})
        class_index = {c: k for k, c in enumerate(classes)}
        labels = np.array([class_index[e[2]] for e in entries], dtype=np.int64)
        given = np.array([e[3] for e in entries], dtype=np.int8) if splits_given else None
        counts = np.bincount(labels, minlength=len(classes))

        if len(classes) == 1:
            problems.append(
                Problem(
                    name,
                    f"only one class ({classes[0]!r}): a classifier needs at least two; "
                    "add a folder of images for each other class",
                    "error",
                )
            )
        elif counts.max() > IMBALANCE_RATIO * counts.min():
            big, small = int(counts.argmax()), int(counts.argmin())
            problems.append(
                Problem(
                    name,
                    f"classes are imbalanced: {classes[big]!r} has {counts[big]} images, "
                    f"{classes[small]!r} only {counts[small]} ({counts[big] / counts[small]:.1f}x)",
                    "warning",
                )
            )
        if given is not None:
            if not (given == 0).any():
                raise DataError(f"{name}: the train/ folder holds no readable images")
            train_classes = set(labels[given == 0].tolist())
            for k, c in enumerate(classes):
                if k not in train_classes:
                    problems.append(
                        Problem(
                            c,
                            f"class {c!r} has no training images (only in val/ or test/)",
                            "warning",
                        )
                    )

        names = [e[1] for e in entries]
        duplicates = _duplicate_groups(files, checks, cancelled)
        dup_details = cls._duplicate_problems(duplicates, names, labels, classes, given, problems)

        (w, h), _ = sizes.most_common(1)[0]
        size_items = sizes.most_common()
        size_summary = {_size_text(*s): k for s, k in size_items[:50]}
        if len(size_items) > 50:
            size_summary["other"] = sum(k for _, k in size_items[50:])
        grayscale = all(m in GRAYSCALE_MODES for m in modes)
        details: dict[str, Any] = {
            "sizes": size_summary,
            "modes": dict(modes.most_common()),
            "formats": dict(formats.most_common()),
            "suggested_size": list(suggested_size(w, h)),
            "suggested_color": "grayscale" if grayscale else "rgb",
            "duplicates": dup_details,
            "unreadable_files": unreadable,
        }
        if given is not None:
            details["split_counts"] = {
                SPLIT_LABELS[code]: {
                    c: int(k)
                    for c, k in zip(
                        classes,
                        np.bincount(labels[given == code], minlength=len(classes)),
                        strict=True,
                    )
                }
                for code in range(3)
            }
        if extra_details:
            details.update(extra_details)
        source = cls(
            path,
            root,
            files,
            names,
            labels,
            classes,
            given,
            problems,
            details,
            duplicates,
            grayscale,
        )
        source.typical_size = (w, h)
        return source

    @staticmethod
    def _duplicate_problems(
        groups: list[list[int]],
        names: list[str],
        labels: np.ndarray,
        classes: list[str],
        given: np.ndarray | None,
        problems: list[Problem],
    ) -> dict[str, int]:
        """Add problems for duplicates across splits and with conflicting labels."""
        across = conflicting = flagged = listed = 0
        for g in groups:
            label_set = sorted({classes[int(labels[i])] for i in g})
            split_set = sorted({int(given[i]) for i in g}) if given is not None else []
            reasons = []
            if len(split_set) > 1:
                across += 1
                reasons.append("in " + " and ".join(SPLIT_LABELS[s] for s in split_set))
            if len(label_set) > 1:
                conflicting += 1
                reasons.append("labelled " + " and ".join(repr(c) for c in label_set))
            flagged += bool(reasons)
            if reasons and listed < MAX_DUPLICATE_PROBLEMS:
                listed += 1
                others = ", ".join(names[i] for i in g[1:4]) + (" …" if len(g) > 4 else "")
                problems.append(
                    Problem(
                        names[g[0]], f"same content as {others}: " + ", ".join(reasons), "warning"
                    )
                )
        extra = flagged - listed
        dup_files = sum(len(g) - 1 for g in groups)
        if extra > 0:
            problems.append(
                Problem(
                    "duplicates",
                    f"{extra} more groups of identical images across splits or classes",
                    "warning",
                )
            )
        if given is None and dup_files:
            problems.append(
                Problem(
                    "duplicates",
                    (
                        f"{dup_files} images are exact copies of others"
                        if dup_files != 1
                        else "1 image is an exact copy of another"
                    )
                    + "; copies may land in different splits",
                    "info",
                )
            )
        return {
            "groups": len(groups),
            "duplicate_files": dup_files,
            "across_splits": across,
            "conflicting_labels": conflicting,
        }


class ImageFolderSource(ImageSource):
    """A folder with one subfolder per class, optionally inside train/, val/ and test/."""

    @classmethod
    def scan(
        cls,
        path: str | os.PathLike[str],
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        workers: int | None = None,
    ) -> ImageFolderSource:
        """Index and check an image folder.

        Args:
            path: The folder.
            progress: ``progress(done, total)`` while files are checked.
            cancelled: Returns True to abandon the scan.
            workers: Threads for reading files (default: a few per core, at most 8).

        Raises:
            DataError: the folder is missing, empty, has no class subfolders or no
                readable image.
            DataCancelled: when ``cancelled()`` returned True.
        """
        root = Path(path)
        name = root.name or str(root)
        if not root.is_dir():
            raise DataError(f"{name}: not a folder")
        try:
            top = sorted(os.scandir(root), key=lambda e: e.name)
        except OSError as err:
            raise DataError(f"{name}: cannot be read ({err.strerror})") from None
        top = [e for e in top if not e.name.startswith(".")]
        if not top:
            raise DataError(f"{name}: the folder is empty")
        dirs = [e for e in top if _is_dir(e)]
        loose = [e for e in top if not _is_dir(e)]
        problems: list[Problem] = []
        skipped: list[str] = []

        split_dirs = [e for e in dirs if e.name.lower() in SPLIT_NAMES and _has_subdirs(e.path)]
        entries: list[tuple[str, str, str, int]] = []
        if progress:
            progress(0, 0)
        if split_dirs:
            codes = {SPLIT_NAMES[e.name.lower()] for e in split_dirs}
            if 0 not in codes:
                raise DataError(
                    f"{name}: has val/ or test/ folders but no train/ folder of class subfolders"
                )
            for d in dirs:
                if d not in split_dirs:
                    problems.append(
                        Problem(
                            d.name + "/", "ignored: beside train/, val/ and test/ folders", "info"
                        )
                    )
            for sd in split_dirs:
                code = SPLIT_NAMES[sd.name.lower()]
                try:
                    sub = sorted(
                        (c for c in os.scandir(sd.path) if not c.name.startswith(".")),
                        key=lambda c: c.name,
                    )
                except OSError as err:
                    raise DataError(f"{name}/{sd.name}: cannot be read ({err.strerror})") from None
                n_loose = sum(1 for c in sub if not _is_dir(c) and _is_image_name(c.name))
                if n_loose:
                    problems.append(
                        Problem(
                            sd.name + "/",
                            (
                                f"{n_loose} images outside class subfolders were ignored"
                                if n_loose != 1
                                else "1 image outside class subfolders was ignored"
                            ),
                            "warning",
                        )
                    )
                for c in sub:
                    if _is_dir(c):
                        cls._collect(root, c, c.name, code, entries, skipped, problems, cancelled)
        else:
            if not dirs:
                if any(_is_image_name(e.name) for e in loose):
                    raise DataError(
                        f"{name}: no class subfolders: put the images of each class in a folder named after the class"
                    )
                raise DataError(
                    f"{name}: no class subfolders and no images: put the images of each class in a folder named after the class"
                )
            for d in dirs:
                cls._collect(root, d, d.name, -1, entries, skipped, problems, cancelled)
        n_loose = sum(1 for e in loose if _is_image_name(e.name))
        if n_loose:
            problems.append(
                Problem(
                    name,
                    (
                        f"{n_loose} images directly in the folder were ignored (they belong to no class)"
                        if n_loose != 1
                        else "1 image directly in the folder was ignored (it belongs to no class)"
                    ),
                    "warning",
                )
            )
        if skipped:
            example = ", ".join(skipped[:3])
            problems.append(
                Problem(
                    name,
                    f"{len(skipped)} files that are not images were skipped ({example}…)",
                    "info",
                )
            )
        if not entries:
            raise DataError(
                f"{name}: no images in its class subfolders (expected {_FORMATS_TEXT} files)"
            )
        entries.sort(key=lambda t: (t[3], t[2], t[1]))
        return cls._build(
            root, root, entries, problems, progress, cancelled, bool(split_dirs), workers
        )

    @staticmethod
    def _collect(
        root: Path,
        folder: os.DirEntry[str],
        class_name: str,
        code: int,
        entries: list[tuple[str, str, str, int]],
        skipped: list[str],
        problems: list[Problem],
        cancelled: Cancelled | None,
    ) -> None:
        """Add every image under a class folder (recursively) to ``entries``."""
        before = len(entries)
        prefix = len(str(root)) + 1
        stack = [folder.path]
        seen: set[tuple[int, int]] = set()
        while stack:
            if cancelled is not None and cancelled():
                raise DataCancelled()
            d = stack.pop()
            try:
                st = os.stat(d)
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                it = list(os.scandir(d))
            except OSError as err:
                problems.append(Problem(d[prefix:], f"cannot be read ({err.strerror})", "warning"))
                continue
            for entry in it:
                if entry.name.startswith("."):
                    continue
                if _is_dir(entry):
                    stack.append(entry.path)
                elif _is_image_name(entry.name):
                    entries.append(
                        (entry.path, entry.path[prefix:].replace(os.sep, "/"), class_name, code)
                    )
                elif len(skipped) < 1000:
                    skipped.append(entry.path[prefix:].replace(os.sep, "/"))
        if len(entries) == before:
            rel = folder.path[prefix:].replace(os.sep, "/")
            problems.append(
                Problem(rel + "/", f"no images: the class {class_name!r} is left out", "warning")
            )


def _is_dir(e: os.DirEntry[str]) -> bool:
    try:
        return e.is_dir()
    except OSError:
        return False


def _has_subdirs(path: str) -> bool:
    try:
        return any(_is_dir(e) for e in os.scandir(path) if not e.name.startswith("."))
    except OSError:
        return False


def _is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


# --------------------------------------------------------------------------- CSV index

_PATH_HEADERS = ("path", "file", "filename", "file_name", "image", "image_path", "img", "filepath")
_LABEL_HEADERS = ("label", "class", "target", "y", "category", "class_name")
_SPLIT_HEADER = "split"


def _read_text(path: Path, limit: int | None = None) -> str:
    with open(path, "rb") as f:
        raw = f.read() if limit is None else f.read(limit)
    if b"\x00" in raw:
        raise DataError(f"{path.name}: not a text file (it contains binary data)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if limit is not None and e.start >= len(raw) - 4:
            return raw[: e.start].decode("utf-8-sig")
        raise DataError(
            f"{path.name}: not a UTF-8 text file (bad byte at offset {e.start})"
        ) from None


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample[:8192], delimiters=",\t;")
    except csv.Error:
        return csv.excel_tab if "\t" in sample.split("\n", 1)[0] else csv.excel


def is_image_index(path: str | os.PathLike[str]) -> bool:
    """True when a CSV/TSV file looks like an index of images: at least one of its first
    rows has a first field ending with an image extension. Never raises."""
    try:
        text = _read_text(Path(path), 64 * 1024)
        lines = text.splitlines()[:50]
        if not lines:
            return False
        for row in csv.reader(lines, _dialect("\n".join(lines))):
            if row and _is_image_name(row[0].strip()):
                return True
    except (OSError, DataError, csv.Error, ValueError):
        return False
    return False


def index_image_paths(path: str | os.PathLike[str], limit: int = 16) -> list[Path]:
    """Up to ``limit`` existing image files named by an image index (a quick look at its
    first 256 KiB, no checks of the images themselves). Never raises."""
    p = Path(path)
    found: list[Path] = []
    try:
        text = _read_text(p, 256 * 1024)
        lines = text.splitlines()
        if len(text) >= 256 * 1024:
            lines = lines[:-1]  # the last line may be cut
        for row in csv.reader(lines, _dialect("\n".join(lines[:50]))):
            for field in row:
                name = field.strip()
                if _is_image_name(name):
                    f = Path(name) if Path(name).is_absolute() else p.parent / name
                    if f.is_file():
                        found.append(f)
                    break
            if len(found) >= limit:
                break
    except (OSError, DataError, csv.Error, ValueError):
        return found
    return found


class ImageIndexSource(ImageSource):
    """A CSV (or TSV) file of ``image path, label`` rows; paths are relative to the file.

    A header is optional: when no field of the first row is an image name it is a header,
    and columns named like path/file/image and label/class/target are used (else the
    column holding image names and the first other one). A ``split`` column
    (train/val/test) gives the split. Extra columns are ignored; a row with a different
    number of fields than the header (or the first row) is reported and skipped.
    """

    @classmethod
    def scan(
        cls,
        path: str | os.PathLike[str],
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        workers: int | None = None,
    ) -> ImageIndexSource:
        """Read and check an image index.

        Raises:
            DataError: the file cannot be read, has no rows, or none of its images is usable.
            DataCancelled: when ``cancelled()`` returned True.
        """
        p = Path(path)
        name = p.name
        try:
            text = _read_text(p)
        except OSError as e:
            raise DataError(f"{name}: cannot be read ({e.strerror})") from None
        if not text.strip():
            raise DataError(f"{name}: the file is empty")
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), _dialect(text)))
        except csv.Error as e:
            raise DataError(f"{name}: not a readable CSV file ({e})") from None
        numbered = [
            (k + 1, [f.strip() for f in r]) for k, r in enumerate(rows) if any(f.strip() for f in r)
        ]
        if not numbered:
            raise DataError(f"{name}: the file is empty")
        first = numbered[0][1]
        image_cols = [k for k, f in enumerate(first) if _is_image_name(f)]
        header: list[str] | None = None
        if not image_cols:
            header = [h.lower() for h in first]
            numbered = numbered[1:]
            if not numbered:
                raise DataError(f"{name}: a header but no rows")
        width = len(header) if header else len(first)
        if width < 2:
            raise DataError(f"{name}: expected two columns (image path, label), found one")
        split_col = None
        if header is None:
            path_col = image_cols[0]
        else:
            named = [header.index(h) for h in _PATH_HEADERS if h in header]
            sniffed = [k for k, f in enumerate(numbered[0][1]) if _is_image_name(f)]
            path_col = (named or sniffed or [0])[0]
            split_col = header.index(_SPLIT_HEADER) if _SPLIT_HEADER in header else None
        label_col = next((k for k in range(width) if k not in (path_col, split_col)), -1)
        if label_col < 0:
            raise DataError(f"{name}: no label column (expected image path, label)")
        if header is not None:
            label_col = next((header.index(h) for h in _LABEL_HEADERS if h in header), label_col)
        base = p.parent
        problems: list[Problem] = []
        entries: list[tuple[str, str, str, int]] = []
        for line, row in numbered:
            item = f"{name}:{line}"
            if len(row) != width:
                problems.append(
                    Problem(
                        item,
                        f"{len(row)} fields where {width} were expected; row skipped",
                        "warning",
                    )
                )
                continue
            rel, label = row[path_col], row[label_col]
            if not rel or not label:
                problems.append(Problem(item, "empty image path or label; row skipped", "warning"))
                continue
            code = -1
            if split_col is not None:
                code = SPLIT_NAMES.get(row[split_col].lower(), -2)
                if code == -2:
                    problems.append(
                        Problem(
                            item,
                            f"unknown split {row[split_col]!r} (use train, val or test); row skipped",
                            "warning",
                        )
                    )
                    continue
            full = os.path.normpath(os.path.join(base, rel))
            if not os.path.isfile(full) and "\\" in rel and os.sep == "/":  # written on Windows
                full = os.path.normpath(os.path.join(base, rel.replace("\\", "/")))
            if not os.path.isfile(full):
                problems.append(
                    Problem(rel, f"no such file (line {line} of {name}); row skipped", "warning")
                )
                continue
            entries.append((full, rel, label, code))
        if not entries:
            example = problems[0].reason if problems else "no rows"
            raise DataError(f"{name}: no usable rows ({example})")
        return cls._build(
            p,
            base,
            entries,
            problems,
            progress,
            cancelled,
            split_col is not None,
            workers,
            {"index_rows": len(numbered)},
        )
