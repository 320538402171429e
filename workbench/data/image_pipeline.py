"""Image preprocessing and loading for training (imports torch; written with Pillow + torch).

Decoding (:func:`decode_image`): the first frame of the file, alpha composited on
**white** (RGBA, LA and palette images with transparency), palette and CMYK images
expanded, 16-bit images scaled to 8 bits, then converted to grayscale (ITU-R 601 luma) or
RGB and resized to the chosen ``(height, width)`` with Pillow's antialiased bilinear
filter (the aspect ratio is not kept). EXIF orientation is not applied. Pixels are kept
as ``uint8``; batches are scaled to [0, 1] and normalized with per-channel mean and std
of the **training split** by an :class:`ImageBatchTransform`, which also applies the
training-only augmentation (random horizontal flip, small rotation, random resized crop,
brightness and contrast) to float batches with torch, drawing every random number from a
``torch.Generator``.

Two ways to hold a prepared dataset, chosen by :func:`prepare_images`:

* :class:`ImageTensorData`: when the decoded train+val+test pixels fit the memory budget
  (default :func:`default_memory_budget`), every image is decoded once into one ``uint8``
  tensor, by a thread pool for larger images (Pillow releases the GIL while it decodes)
  and by one thread for small ones (see :func:`default_workers`).
* :class:`StreamData`: otherwise each batch is decoded from disk (by the same rule), a
  background thread keeps a few batches ready in a bounded queue, and decoded images are
  kept in an LRU cache bounded by bytes (:class:`ByteLRUCache`). The whole set is never
  loaded.

Both yield identical batches for the same generator: the same order, the same
augmentation and the same pixels. An image that fails to decode is reported (on the
source's :meth:`~workbench.data.base.Source.info` problems and in the prepared notes) and
skipped, never a crash.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from workbench.data.base import (
    Augment,
    Cancelled,
    DataCancelled,
    DataError,
    DataSettings,
    Progress,
    Split,
)
from workbench.data.decode import Color, decode_image, load_image
from workbench.data.images import IO_THREADS, ReadStallMeter
from workbench.data.prepared import Batch, Prepared, TensorData
from workbench.standalone import train_images

if TYPE_CHECKING:
    from workbench.data.images import ImageSource


#: The in-memory path is used up to this many decoded bytes at most.
MAX_MEMORY_BUDGET = 2 * 1024**3
#: Training images decoded to estimate mean/std when streaming (all of them when fewer).
STATS_SAMPLE = 4096
#: Per-entry bookkeeping counted by the cache on top of the pixel bytes.
CACHE_ENTRY_OVERHEAD = 128
#: Source images smaller than this many pixels are decoded by one thread.
SMALL_IMAGE_PIXELS = 128 * 128
_CHUNK = 256  # images per unit of work when decoding everything
_INV_255 = float(np.float32(1 / 255))


# --------------------------------------------------------------------------- memory


def total_memory() -> int | None:
    """Physical memory in bytes, or None when it cannot be found out."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    try:  # pragma: no cover - Windows
        import ctypes

        class _MemoryStatus(ctypes.Structure):
            _fields_ = [
                ("dwLength", ctypes.c_ulong),
                ("dwMemoryLoad", ctypes.c_ulong),
                ("ullTotalPhys", ctypes.c_ulonglong),
                ("ullAvailPhys", ctypes.c_ulonglong),
                ("ullTotalPageFile", ctypes.c_ulonglong),
                ("ullAvailPageFile", ctypes.c_ulonglong),
                ("ullTotalVirtual", ctypes.c_ulonglong),
                ("ullAvailVirtual", ctypes.c_ulonglong),
                ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
            ]

        status = _MemoryStatus()
        status.dwLength = ctypes.sizeof(status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullTotalPhys)
    except Exception:  # noqa: BLE001
        pass
    return None


def default_memory_budget() -> int:
    """Decoded bytes a dataset may take to be held in memory: min(2 GiB, 25 % of RAM)."""
    ram = total_memory()
    return MAX_MEMORY_BUDGET if ram is None else min(MAX_MEMORY_BUDGET, ram // 4)


def default_workers(image_pixels: int | None = None) -> int:
    """Decoding threads for images of about ``image_pixels`` pixels.

    Small images (under :data:`SMALL_IMAGE_PIXELS`) are decoded by one thread: their cost
    is Pillow's Python code, which holds the GIL, and measured here more threads only
    fought over it (28x28 PNGs on 2 cores: two threads 1.7x slower than one). Larger ones
    get one thread per core (2 to 8), because Pillow releases the GIL while it decodes.
    """
    if image_pixels is not None and image_pixels < SMALL_IMAGE_PIXELS:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(2, min(8, cpus))


def _read_file(path: str) -> bytes | OSError:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return e


def _failure_reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return "cannot be decoded: " + (text[0] if text and text[0] else type(e).__name__)


def preprocess_image(
    image: str | os.PathLike[str] | bytes | Image.Image, preprocessing: dict[str, Any]
) -> torch.Tensor:
    """Repeat a prepared dataset's preprocessing on one image, for inference.

    Args:
        image: A path, the file's bytes, or a Pillow image.
        preprocessing: :attr:`Prepared.preprocessing` of the dataset the model was trained on.

    Returns:
        A ``(channels, height, width)`` float32 tensor, scaled and normalized.
    """
    size = (int(preprocessing["size"][0]), int(preprocessing["size"][1]))
    color: Color = preprocessing["color"]
    a = np.asarray(load_image(image, size, color))
    x = torch.from_numpy(
        a[None].copy() if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))
    )
    t = ImageBatchTransform(preprocessing["mean"], preprocessing["std"], None)
    return t(x[None], None)[0]


# --------------------------------------------------------------------------- augmentation


def augment_batch(
    x: torch.Tensor, augment: Augment, generator: torch.Generator | None
) -> torch.Tensor:
    """Randomly augment a float batch ``(B, C, H, W)`` with values in [0, 1].

    Geometric augmentations (flip, rotation, resized crop) are one affine resampling per
    sample; brightness multiplies by a factor in ``[1-b, 1+b]``; contrast moves pixels
    away from or towards the image's mean by a factor in ``[1-c, 1+c]``. The result is
    clamped to [0, 1]. Random numbers are drawn from ``generator`` in a fixed order, so
    the same generator state gives the same batch. The code is the exported train.py's
    (:func:`workbench.standalone.train_images.augment_batch`).
    """
    if not augment.active:
        return x
    return train_images.augment_batch(x, dataclasses.asdict(augment), generator)


class ImageBatchTransform:
    """Turns a uint8 batch into the float32 batch a model sees: scale to [0, 1], augment
    (training only, when an :class:`Augment` is given), normalize.

    The arithmetic is ``x * float32(1/255)``, then ``(x - mean) * float32(1/std)``, all in
    float32, so the torch path (:meth:`__call__`, used in memory and on any device) and the
    numpy path used by the streaming loader's background thread
    (:meth:`scale_numpy` + :meth:`finish`) give bit-identical results.
    """

    def __init__(
        self, mean: Sequence[float], std: Sequence[float], augment: Augment | None
    ) -> None:
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        self.augment = augment if augment is not None and augment.active else None
        self._mean_np = np.asarray(self.mean, dtype=np.float32).reshape(-1, 1, 1)
        self._inv_std_np = (
            (1.0 / np.asarray(self.std, dtype=np.float64)).astype(np.float32).reshape(-1, 1, 1)
        )
        self._stats: dict[torch.device, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def _device_stats(
        self, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stats = self._stats.get(device)
        if stats is None:
            stats = (
                torch.tensor(_INV_255, dtype=torch.float32, device=device),
                torch.from_numpy(self._mean_np).to(device)[None],
                torch.from_numpy(self._inv_std_np).to(device)[None],
            )
            self._stats[device] = stats
        return stats

    def __call__(self, xb: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Transform ``xb`` (uint8, ``(B, C, H, W)``) with torch on its device."""
        scale, mean, inv_std = self._device_stats(xb.device)
        x = xb.to(torch.float32).mul_(scale)
        if self.augment is not None:
            x = augment_batch(x, self.augment, generator)
        return (x - mean).mul_(inv_std)

    def scale_numpy(self, pixels: np.ndarray) -> np.ndarray:
        """The part that needs no random numbers, in numpy (no torch thread pool): scale,
        and normalize too when there is no augmentation."""
        x = pixels.astype(np.float32)
        x *= np.float32(_INV_255)
        if self.augment is None:
            x -= self._mean_np
            x *= self._inv_std_np
        return x

    def finish(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The rest, after :meth:`scale_numpy`: augment and normalize (training only)."""
        if self.augment is None:
            return x
        _, mean, inv_std = self._device_stats(x.device)
        x = augment_batch(x, self.augment, generator)
        return (x - mean).mul_(inv_std)


def channel_stats(pixels: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std of uint8 images ``(N, C, H, W)``, in [0, 1] units.

    Sums run in float64 over chunks of about a million values, so the temporary copies
    stay small whatever the number of images.
    """
    n, c = pixels.shape[0], pixels.shape[1]
    if n == 0:
        return [0.0] * c, [1.0] * c
    chunk = max(1, 2**20 // max(1, pixels[0].numel()))
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for start in range(0, n, chunk):
        part = pixels[start : start + chunk].to(torch.float64)
        total += part.sum(dim=(0, 2, 3))
        squares += (part * part).sum(dim=(0, 2, 3))
    count = n * pixels.shape[2] * pixels.shape[3]
    mean = total / count
    var = (squares / count - mean * mean).clamp(min=0)
    return (mean / 255).tolist(), (var.sqrt() / 255).tolist()


# --------------------------------------------------------------------------- in memory


class ImageTensorData(TensorData):
    """A split decoded into memory.

    ``x`` holds the **raw uint8 pixels** ``(N, C, H, W)`` (4x smaller than floats);
    :meth:`iter_batches` yields float32 batches scaled, augmented (training split only)
    and normalized by ``transform``. ``to(device)`` moves the pixels, so the transform
    then runs on that device.
    """

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, transform: ImageBatchTransform, seed: int = 0
    ) -> None:
        super().__init__(x, y, None)
        self.transform = transform
        #: Used for augmentation when ``iter_batches`` is given no generator.
        self.generator = torch.Generator().manual_seed(seed)

    def to(self, device: torch.device | str) -> ImageTensorData:
        """A copy whose tensors live on ``device``."""
        out = ImageTensorData(self.x.to(device), self.y.to(device), self.transform)
        out.generator = self.generator
        return out

    def iter_batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> Iterator[Batch]:
        """Yield ``(x, y)`` float32/int64 batches; see :meth:`TensorData.iter_batches`."""
        aug_gen = generator if generator is not None else self.generator
        for xb, yb in super().iter_batches(batch_size, shuffle, generator, drop_last):
            yield self.transform(xb, aug_gen), yb


# --------------------------------------------------------------------------- streaming


class ByteLRUCache:
    """A thread-safe least-recently-used cache of numpy arrays bounded by bytes.

    Each entry costs its ``nbytes`` plus :data:`CACHE_ENTRY_OVERHEAD`; inserting evicts
    the least recently used entries until the total is within ``max_bytes``; an entry
    larger than the whole budget is not kept. ``peak_bytes`` records the largest total
    ever held.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self.bytes = 0
        self.peak_bytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def cost(value: np.ndarray) -> int:
        """Bytes an entry is charged."""
        return int(value.nbytes) + CACHE_ENTRY_OVERHEAD

    def get(self, key: int) -> np.ndarray | None:
        """The cached value (marked recently used) or None."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: int, value: np.ndarray) -> None:
        """Insert, evicting the least recently used entries to stay within budget."""
        cost = self.cost(value)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= self.cost(old)
            while self._items and self.bytes + cost > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self.bytes -= self.cost(evicted)
            self._items[key] = value
            self.bytes += cost
            self.peak_bytes = max(self.peak_bytes, self.bytes)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._items.clear()
            self.bytes = 0


class ImageDecoder:
    """Decodes samples of an image source by index, with a thread pool and a cache.

    Shared by the three :class:`StreamData` splits of one prepared dataset.
    """

    def __init__(
        self,
        files: Sequence[str],
        size: tuple[int, int],
        color: Color,
        cache: ByteLRUCache,
        workers: int,
        on_failure: Callable[[int, str], None],
    ) -> None:
        self.files = files
        self.size = size
        self.color: Color = color
        self.channels = 1 if color == "grayscale" else 3
        self.cache = cache
        self.workers = max(1, workers)
        self.on_failure = on_failure
        #: Indices that failed to decode: index -> reason.
        self.failed: dict[int, str] = {}
        self._lock = threading.Lock()
        #: None with one worker: decoding then runs in the calling thread.
        self._pool: ThreadPoolExecutor | None = None
        #: With one worker: threads that read files ahead once reads are found to stall.
        self._io_pool: ThreadPoolExecutor | None = None
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix="wb-decode"
            )
            self._finalizer = weakref.finalize(
                self, self._pool.shutdown, wait=False, cancel_futures=True
            )

    def close(self) -> None:
        """Stop the decoding threads (also done when the decoder is garbage collected)."""
        if self._pool is not None:
            self._finalizer()
        if self._io_pool is not None:
            self._io_pool.shutdown(wait=False, cancel_futures=True)

    def _decode_into(
        self,
        out: np.ndarray,
        ok: np.ndarray,
        indices: Sequence[int],
        positions: Sequence[int] | range,
        blobs: Sequence[bytes | OSError] | None = None,
    ) -> None:
        for k, (pos, idx) in enumerate(zip(positions, indices, strict=True)):
            if idx in self.failed:
                continue
            try:
                src = blobs[k] if blobs is not None else self.files[idx]
                if isinstance(src, OSError):
                    raise src
                arr = decode_image(src, self.size, self.color)
            except Exception as e:  # noqa: BLE001 - a bad file is reported, never a crash
                reason = _failure_reason(e)
                with self._lock:
                    self.failed[idx] = reason
                self.on_failure(idx, reason)
                continue
            out[pos] = arr
            ok[pos] = True
            self.cache.put(idx, arr)

    def _decode_inline(
        self,
        out: np.ndarray,
        ok: np.ndarray,
        indices: Sequence[int],
        positions: Sequence[int] | range,
    ) -> None:
        """Decode in the calling thread; once reads are found to stall (files not in the OS
        cache), read each chunk's files ahead with :data:`IO_THREADS` threads."""
        if self._io_pool is not None:
            blobs = list(self._io_pool.map(_read_file, [self.files[i] for i in indices]))
            self._decode_into(out, ok, indices, positions, blobs)
            return
        meter = ReadStallMeter()
        self._decode_into(out, ok, indices, positions)
        if len(indices) >= 16 and meter.stalled(len(indices)):
            with self._lock:
                if self._io_pool is None:
                    pool = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="wb-read")
                    weakref.finalize(self, pool.shutdown, wait=False, cancel_futures=True)
                    self._io_pool = pool

    def decode_many(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode samples (from the cache where possible), spread over the threads.

        Returns:
            ``(pixels, ok)``: uint8 ``(n, C, H, W)`` and a bool mask of the samples that
            decoded (failed ones are left zero).
        """
        n = len(indices)
        h, w = self.size
        out = np.zeros((n, self.channels, h, w), dtype=np.uint8)
        ok = np.zeros(n, dtype=bool)
        miss_idx: list[int] = []
        miss_pos: list[int] = []
        for pos, idx in enumerate(indices):
            idx = int(idx)
            hit = self.cache.get(idx) if self.cache.max_bytes else None
            if hit is not None:
                out[pos] = hit
                ok[pos] = True
            elif idx not in self.failed:
                miss_idx.append(idx)
                miss_pos.append(pos)
        if miss_idx and self._pool is None:
            self._decode_inline(out, ok, miss_idx, miss_pos)
        elif miss_idx and self._pool is not None:
            parts = min(self.workers, len(miss_idx))
            step = -(-len(miss_idx) // parts)
            futures = [
                self._pool.submit(
                    self._decode_into, out, ok, miss_idx[s : s + step], miss_pos[s : s + step]
                )
                for s in range(0, len(miss_idx), step)
            ]
            for f in futures:
                f.result()
        return out, ok

    def decode_all(
        self,
        indices: np.ndarray,
        progress: Progress | None,
        cancelled: Cancelled | None,
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Decode every listed sample into one uint8 tensor (the in-memory path, and the
        sample for the statistics when streaming), reporting progress between chunks.

        Returns:
            ``(pixels, ok)``: uint8 ``(n, C, H, W)`` and a bool mask of the samples that
            decoded (the rows of failed ones are undefined).

        Raises:
            DataCancelled: when ``cancelled()`` returned True.
        """
        n = len(indices)
        h, w = self.size
        pixels = torch.empty(
            (n, self.channels, h, w), dtype=torch.uint8
        )  # failed rows stay undefined
        out = pixels.numpy()
        ok = np.zeros(n, dtype=bool)
        stop = threading.Event()
        idx_list = [int(i) for i in indices]

        def work(start: int) -> int:
            end = min(n, start + _CHUNK)
            if not stop.is_set():
                self._decode_into(out, ok, idx_list[start:end], range(start, end))
            return end - start

        done = 0
        if progress:
            progress(0, n)
        if self._pool is None:
            for start in range(0, n, _CHUNK):
                end = min(n, start + _CHUNK)
                self._decode_inline(out, ok, idx_list[start:end], range(start, end))
                done += end - start
                if cancelled is not None and cancelled():
                    raise DataCancelled()
                if progress:
                    progress(done, n)
            return pixels, ok
        starts = iter(range(0, n, _CHUNK))
        pending: set[Future[int]] = set()
        try:
            while True:
                while len(pending) < 2 * self.workers and (s := next(starts, None)) is not None:
                    pending.add(self._pool.submit(work, s))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    done += fut.result()
                if cancelled is not None and cancelled():
                    raise DataCancelled()
                if progress:
                    progress(done, n)
        finally:
            stop.set()
            wait(pending)
        return pixels, ok


_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class StreamData:
    """A split decoded from disk batch by batch (implements the ``SplitData`` protocol).

    A background thread decodes the batches ahead of the consumer (at most ``prefetch``
    ready at a time, in a bounded queue), spreading each batch over the decoder's thread
    pool when it has one; decoded images go into the decoder's byte-bounded LRU cache.
    That thread also scales (and, without augmentation, normalizes) each batch in numpy,
    so the consumer's thread does no per-batch work and torch's own thread pool is not
    woken (its spinning threads were measured to starve decoding 5x on 2 cores).
    Augmentation runs in the consumer's thread, drawing random numbers from the generator
    in the same order as :class:`ImageTensorData`, so both give the same batches. A sample
    that fails to decode is dropped from its batch.
    """

    def __init__(
        self,
        decoder: ImageDecoder,
        indices: np.ndarray,
        labels: np.ndarray,
        transform: ImageBatchTransform,
        prefetch: int = 4,
        seed: int = 0,
    ) -> None:
        self.decoder = decoder
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.transform = transform
        self.prefetch = max(1, prefetch)
        #: Used for augmentation when ``iter_batches`` is given no generator.
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def cache(self) -> ByteLRUCache:
        """The decoded-image cache (shared by the splits of one dataset)."""
        return self.decoder.cache

    def iter_batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> Iterator[Batch]:
        """Yield ``(x, y)`` batches: float32 ``(B, C, H, W)`` and int64 ``(B,)``."""
        for _, x, y in self._iter(batch_size, shuffle, generator, drop_last):
            yield x, y

    def iter_indexed(
        self, batch_size: int
    ) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        """Yield ``(indices, x, y)`` in order, unshuffled: the source indices of each batch's
        samples with the batch (evaluation: a sample that fails to decode is left out of
        its batch, so the position in the split alone does not say which sample it is)."""
        yield from self._iter(batch_size, False, None, False)

    def _iter(
        self,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None,
        drop_last: bool,
    ) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        n = len(self.indices)
        order = torch.randperm(n, generator=generator).numpy() if shuffle else None
        stop = n - (n % batch_size) if drop_last else n
        ready: queue.Queue[Any] = queue.Queue(maxsize=self.prefetch)
        halt = threading.Event()

        def put(item: Any) -> bool:
            while not halt.is_set():
                try:
                    ready.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for start in range(0, stop, batch_size):
                    if halt.is_set():
                        return
                    pos = (
                        order[start : start + batch_size]
                        if order is not None
                        else np.arange(start, min(stop, start + batch_size))
                    )
                    indices = self.indices[pos]
                    pixels, ok = self.decoder.decode_many(indices)
                    labels = self.labels[pos]
                    if not ok.all():
                        pixels, labels, indices = pixels[ok], labels[ok], indices[ok]
                    if not put((self.transform.scale_numpy(pixels), labels, indices)):
                        return
                put(_END)
            except BaseException as e:  # noqa: BLE001 - handed to the consumer
                put(_Failed(e))

        thread = threading.Thread(target=produce, name="wb-prefetch", daemon=True)
        thread.start()
        aug_gen = generator if generator is not None else self.generator
        try:
            while True:
                item = ready.get()
                if item is _END:
                    break
                if isinstance(item, _Failed):
                    raise item.exc
                x, labels, indices = item
                if len(labels) == 0:
                    continue
                x = self.transform.finish(torch.from_numpy(x), aug_gen)
                yield indices, x, torch.from_numpy(labels)
        finally:
            halt.set()
            while True:
                try:
                    ready.get_nowait()
                except queue.Empty:
                    break
            thread.join(timeout=10)


# --------------------------------------------------------------------------- prepare


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def prepare_images(
    source: ImageSource,
    settings: DataSettings,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    *,
    memory_budget: int | None = None,
    cache_bytes: int | None = None,
    workers: int | None = None,
    prefetch: int = 4,
) -> Prepared:
    """Split an image source and make it ready for training.

    Args:
        source: The scanned source.
        settings: Split ratios and seed, image size, colour, normalization, augmentation.
        progress: ``progress(done, total)`` while decoding.
        cancelled: Returns True to abandon the preparation.
        memory_budget: Decoded bytes up to which everything is held in memory (default
            :func:`default_memory_budget`); 0 forces streaming.
        cache_bytes: Byte budget of the streaming cache (default a quarter of the memory
            budget, at most 512 MiB); 0 disables it.
        workers: Decoding threads (default :func:`default_workers` for the most common
            image size); 1 decodes in the calling (or the prefetch) thread.
        prefetch: Batches the streaming loader keeps ready.

    Returns:
        The prepared dataset: ``ImageTensorData`` splits when in memory, ``StreamData``
        splits when streaming.

    Raises:
        DataError: a single class, or no image of the training split decodes.
        DataCancelled: when ``cancelled()`` returned True.
    """
    name = source.path.name or str(source.path)
    if len(source.classes) < 2:
        raise DataError(
            f"{name}: only one class ({source.classes[0]!r}): a classifier needs at least two"
        )
    h, w = settings.image_size
    color: Color = settings.color
    channels = 1 if color == "grayscale" else 3
    split = source.split(settings)
    labels = source.labels
    budget = default_memory_budget() if memory_budget is None else max(0, int(memory_budget))
    nworkers = workers or default_workers(source.typical_size[0] * source.typical_size[1])
    all_idx = np.concatenate([split.train, split.val, split.test])
    decoded_bytes = len(all_idx) * channels * h * w
    in_memory = decoded_bytes <= budget
    if cache_bytes is None:
        cache_bytes = min(512 * 2**20, budget // 4)
    cache = ByteLRUCache(0 if in_memory else cache_bytes)
    decoder = ImageDecoder(source.files, (h, w), color, cache, nworkers, source.record_failure)
    notes: list[str] = []
    seed = settings.seed
    aug = settings.augment if settings.augment.active else None

    def lab(idx: np.ndarray) -> np.ndarray:
        return labels[idx].astype(np.int64)

    if in_memory:
        try:
            pixels, ok = decoder.decode_all(all_idx, progress, cancelled)
        finally:
            decoder.close()
        bounds = np.cumsum([0, len(split.train), len(split.val), len(split.test)])
        parts = []
        for k in range(3):
            sl = slice(int(bounds[k]), int(bounds[k + 1]))
            keep = np.flatnonzero(ok[sl]) + bounds[k]
            parts.append(
                (all_idx[keep], pixels[torch.from_numpy(keep)] if not ok[sl].all() else pixels[sl])
            )
        split = Split(parts[0][0], parts[1][0], parts[2][0])
        if len(split.train) == 0:
            raise DataError(f"{name}: none of the training images can be decoded")
        mean, std = channel_stats(parts[0][1])
        stats_note = f"all {len(split.train)} training images"
        notes.append(
            f"decoded {len(split.train) + len(split.val) + len(split.test)} images into memory ({_mib(decoded_bytes)} of uint8 pixels)"
        )
    else:
        train = split.train
        if len(train) > STATS_SAMPLE:
            rng = np.random.default_rng(seed)
            sample = np.sort(rng.choice(train, STATS_SAMPLE, replace=False))
        else:
            sample = train
        try:
            sample_pixels, ok = decoder.decode_all(sample, progress, cancelled)
            if len(sample) and not ok.any():
                raise DataError(f"{name}: none of the training images can be decoded")
        except BaseException:
            decoder.close()
            raise
        mean, std = channel_stats(sample_pixels[torch.from_numpy(ok)])
        stats_note = (
            f"all {len(sample)} training images"
            if len(sample) == len(train)
            else f"a sample of {int(ok.sum())} training images"
        )
        notes.append(
            f"streaming from disk: {len(all_idx)} images ({_mib(decoded_bytes)} decoded) exceed the in-memory budget "
            f"of {_mib(budget)}; cache {_mib(cache_bytes)}, {nworkers} decoding threads, {prefetch} batches prefetched"
        )
    if not settings.normalize:
        mean, std = [0.0] * channels, [1.0] * channels
    else:
        std = [s if s > 1e-6 else 1.0 for s in std]
        notes.append(
            "normalized with mean "
            + ", ".join(f"{m:.4f}" for m in mean)
            + " and std "
            + ", ".join(f"{s:.4f}" for s in std)
            + f" of {stats_note}"
        )
    train_t = ImageBatchTransform(mean, std, aug)
    eval_t = ImageBatchTransform(mean, std, None)
    if in_memory:
        train_d: Any = ImageTensorData(
            parts[0][1], torch.from_numpy(lab(split.train)), train_t, seed
        )
        val_d: Any = ImageTensorData(parts[1][1], torch.from_numpy(lab(split.val)), eval_t, seed)
        test_d: Any = ImageTensorData(parts[2][1], torch.from_numpy(lab(split.test)), eval_t, seed)
    else:
        train_d = StreamData(decoder, split.train, lab(split.train), train_t, prefetch, seed)
        val_d = StreamData(decoder, split.val, lab(split.val), eval_t, prefetch, seed)
        test_d = StreamData(decoder, split.test, lab(split.test), eval_t, prefetch, seed)
    if aug is not None:
        notes.append(
            "augmentation on the training split only: "
            + ", ".join(k for k, v in vars(aug).items() if v)
        )
    if decoder.failed:
        bad = sorted(decoder.failed)
        shown = ", ".join(source.names[i] for i in bad[:5])
        failed = (
            f"{len(bad)} images failed to decode and were skipped"
            if len(bad) != 1
            else "1 image failed to decode and was skipped"
        )
        notes.append(f"{failed}: {shown}{' …' if len(bad) > 5 else ''}")
    code = np.full(len(labels), -1, dtype=np.int8)
    for k, idx in enumerate((split.train, split.val, split.test)):
        code[idx] = k
    across = sum(1 for g in source.duplicates if len({int(code[i]) for i in g} - {-1}) > 1)
    if across:
        notes.append(
            f"{across} groups of identical images are spread across the train, validation and test splits"
        )
    preprocessing = {
        "kind": "image",
        "size": [h, w],
        "color": color,
        "channels": channels,
        "layout": "CHW",
        "scale": 1 / 255,
        "mean": list(mean),
        "std": list(std),
        "normalize": bool(settings.normalize),
        "resize": "bilinear",
        "alpha": "composite on white",
    }
    return Prepared(
        task="classification",
        classes=list(source.classes),
        input_shape=(channels, h, w),
        input_dtype="float32",
        num_targets=1,
        split=split,
        train=train_d,
        val=val_d,
        test=test_d,
        in_memory=in_memory,
        notes=notes,
        preprocessing=preprocessing,
        sample_ids=source.sample_ids(),
    )


__all__ = [
    "ByteLRUCache",
    "ImageBatchTransform",
    "ImageDecoder",
    "ImageTensorData",
    "StreamData",
    "augment_batch",
    "channel_stats",
    "decode_image",
    "default_memory_budget",
    "load_image",
    "prepare_images",
    "preprocess_image",
    "total_memory",
]
