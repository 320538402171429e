"""Image-dataset benchmark: index a generated folder of small PNGs, stream one epoch, compare
with the in-memory path.

``python -m workbench.data.bench_images [--count 100000] [--size 28] [--no-cold] [--json]``

The folder (``count`` grayscale PNGs in 10 class subfolders) is generated once with
Pillow under the system temporary folder and reused by later runs. Printed figures:

* index time: :meth:`ImageFolderSource.scan` of the whole folder (listing, header check,
  truncation check and content hashing of every file), first with the files in the OS
  cache (this measures our code, not the disk), then, on POSIX, with the files' contents
  evicted from the OS cache by ``posix_fadvise(DONTNEED)`` (only the benchmark's files;
  directory entries stay cached).
* streaming: one epoch over the training split, batches of 128, with the in-memory path
  switched off (``memory_budget=0``), a bounded cache (emptied before the epoch) and
  background prefetch; peak memory is the largest resident-set size sampled every 5 ms
  during preparation and the epoch, minus the resident size just before (Linux
  ``/proc/self/statm``; where it cannot be read the delta is None and the process-wide
  peak from ``getrusage`` is the only figure). Then the same epoch with the files
  evicted from the OS cache.
* in memory: decoding time of the whole set into one uint8 tensor, then one epoch over the
  same training split (a subset when ``--in-memory-count`` is smaller than ``count``).
  No model runs in either epoch: these are the loaders' own rates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CLASSES = 10


def bench_folder(
    count: int, size: int = 28, base: str | os.PathLike[str] | None = None
) -> tuple[Path, float | None]:
    """The generated folder for ``count`` images, creating it when missing.

    Returns:
        The folder and the seconds spent generating it (None when it was reused).
    """
    import numpy as np
    from PIL import Image

    root = Path(base or tempfile.gettempdir()) / "workbench-bench-images" / f"{count}-{size}px"
    marker = root / ".complete"
    if marker.exists() and marker.read_text().strip() == str(count):
        return root, None
    t0 = time.perf_counter()
    for c in range(CLASSES):
        (root / f"class_{c}").mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size]

    def write(start: int, stop: int) -> None:
        rng = np.random.default_rng(start)
        for i in range(start, stop):
            c = i % CLASSES
            cx, cy = rng.integers(size // 4, 3 * size // 4, 2)
            r = 2 + c * size // (3 * CLASSES)
            a = rng.integers(0, 48, (size, size), dtype=np.uint8)
            a[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 200
            Image.fromarray(a, "L").save(root / f"class_{c}" / f"{i:07d}.png", compress_level=1)

    step = 2000
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(lambda s: write(s, min(count, s + step)), range(0, count, step)))
    marker.write_text(str(count))
    return root, time.perf_counter() - t0


def rss_bytes() -> int | None:
    """This process's resident-set size in bytes (Linux ``/proc/self/statm``), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError, IndexError):
        return None


class RssSampler:
    """Samples the resident-set size in a thread; ``peak - baseline`` is the peak delta."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.baseline = rss_bytes()
        self.peak = self.baseline or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = rss_bytes()
            if rss is not None and rss > self.peak:
                self.peak = rss
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        rss = rss_bytes()
        if rss is not None:
            self.peak = max(self.peak, rss)

    @property
    def delta_mib(self) -> float | None:
        """Peak minus baseline in MiB (None where the RSS cannot be read)."""
        if self.baseline is None:
            return None
        return round((self.peak - self.baseline) / 2**20, 1)


def process_peak_mib() -> float | None:
    """This process's peak resident-set size so far in MiB (``getrusage``), else None."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / (2**20 if sys.platform == "darwin" else 1024), 1)
    except (ImportError, OSError):  # pragma: no cover - Windows
        return None


def _epoch(data: Any, batch_size: int, seed: int) -> tuple[int, float]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    n = 0
    t = time.perf_counter()
    for xb, _ in data.iter_batches(batch_size, shuffle=True, generator=gen):
        n += len(xb)
    return n, time.perf_counter() - t


def evict_from_os_cache(paths: Sequence[str]) -> bool:
    """Drop these files' contents from the OS page cache (``posix_fadvise`` DONTNEED), so
    the next reads go to the disk; only these files are affected. False where unsupported."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:  # pragma: no cover - not POSIX
        return False
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def run(
    count: int = 100_000,
    size: int = 28,
    batch_size: int = 128,
    cache_mib: int = 16,
    in_memory_count: int | None = None,
    workers: int | None = None,
    base: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
    cold: bool = True,
) -> dict[str, Any]:
    """Run the benchmark and return its figures.

    Args:
        count: Images in the generated folder.
        size: Their side in pixels (the model input size too).
        batch_size: Batch size of the epochs.
        cache_mib: Byte budget of the streaming cache, in MiB.
        in_memory_count: Images for the in-memory comparison (default all of them).
        workers: Decoding threads (default: chosen by image size, see
            :func:`workbench.data.image_pipeline.default_workers`).
        base: Where to keep the generated folder (default the system temporary folder).
        log: Called with a line of progress text now and then.
        cold: Also index and stream with the files' contents evicted from the OS cache
            (where ``posix_fadvise`` exists).
    """
    import torch  # noqa: F401 - imported before any memory is measured

    import workbench.data.image_pipeline  # noqa: F401
    from workbench.data.base import DataSettings
    from workbench.data.images import ImageFolderSource

    say = log or (lambda _s: None)
    load_before = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    say(f"generating or reusing {count} PNGs of {size}x{size} ...")
    root, gen_s = bench_folder(count, size, base)
    say(f"indexing {root} ...")
    t = time.perf_counter()
    source = ImageFolderSource.scan(root)
    scan_s = time.perf_counter() - t
    info = source.info()
    scan_cold_s = None
    if cold and evict_from_os_cache(source.files):
        say("indexing again with the files evicted from the OS cache ...")
        t = time.perf_counter()
        ImageFolderSource.scan(root)
        scan_cold_s = time.perf_counter() - t
    settings = DataSettings(image_size=(size, size), color="grayscale", seed=0)

    say("streaming one epoch ...")
    with RssSampler() as rss:
        t = time.perf_counter()
        prepared = source.prepare(
            settings, memory_budget=0, cache_bytes=cache_mib * 2**20, workers=workers
        )
        stream_prepare_s = time.perf_counter() - t
        cache = prepared.train.cache  # type: ignore[attr-defined]
        cache.clear()  # the statistics sample would otherwise be served from the cache
        hits0, misses0 = cache.hits, cache.misses
        n_stream, stream_s = _epoch(prepared.train, batch_size, 1)
    stream_workers = prepared.train.decoder.workers  # type: ignore[attr-defined]
    stream: dict[str, Any] = {
        "prepare_s": round(stream_prepare_s, 3),
        "epoch_samples": n_stream,
        "epoch_s": round(stream_s, 3),
        "samples_per_s": round(n_stream / stream_s),
        "peak_rss_delta_mib": rss.delta_mib,
        "cache_budget_mib": cache_mib,
        "cache_peak_mib": round(cache.peak_bytes / 2**20, 1),
        "cache_hits": cache.hits - hits0,
        "cache_misses": cache.misses - misses0,
        "prefetch_batches": 4,
        "workers": stream_workers,
        "cold_epoch_s": None,
        "cold_samples_per_s": None,
    }
    del prepared, cache

    subset = None
    src = source
    if in_memory_count is not None and in_memory_count < count:
        subset = in_memory_count
        sub_root, _ = bench_folder(in_memory_count, size, base)
        src = ImageFolderSource.scan(sub_root)
    say("decoding into memory and running one epoch ...")
    with RssSampler() as rss_mem:
        t = time.perf_counter()
        prepared = src.prepare(settings, workers=workers)
        mem_prepare_s = time.perf_counter() - t
        n_mem, mem_s = _epoch(prepared.train, batch_size, 1)
    memory = {
        "images": subset or count,
        "decode_s": round(mem_prepare_s, 3),
        "decode_images_per_s": round((subset or count) / mem_prepare_s),
        "epoch_samples": n_mem,
        "epoch_s": round(mem_s, 4),
        "samples_per_s": round(n_mem / mem_s),
        "peak_rss_delta_mib": rss_mem.delta_mib,
        "in_memory": prepared.in_memory,
        "workers": workers or (1 if size * size < 128 * 128 else "auto"),
    }
    del prepared

    if cold and evict_from_os_cache(source.files):
        say("streaming one epoch with the files evicted from the OS cache ...")
        prepared = source.prepare(
            settings, memory_budget=0, cache_bytes=cache_mib * 2**20, workers=workers
        )
        prepared.train.cache.clear()  # type: ignore[attr-defined]
        evict_from_os_cache(source.files)  # the statistics sample read some back
        n_cold, cold_s = _epoch(prepared.train, batch_size, 1)
        stream["cold_epoch_s"] = round(cold_s, 3)
        stream["cold_samples_per_s"] = round(n_cold / cold_s)
        del prepared
    return {
        "folder": str(root),
        "count": count,
        "image_size": [size, size],
        "classes": info.num_classes,
        "batch_size": batch_size,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "generate_s": None if gen_s is None else round(gen_s, 1),
        "index_s": round(scan_s, 3),
        "index_files_per_s": round(count / scan_s),
        "index_cold_s": None if scan_cold_s is None else round(scan_cold_s, 3),
        "index_problems": len(info.problems),
        "streaming": stream,
        "in_memory": memory,
        "in_memory_subset": subset,
        "process_peak_rss_mib": process_peak_mib(),
        "rss_source": "sampled /proc/self/statm" if rss_bytes() is not None else "unavailable",
    }


def format_report(r: dict[str, Any]) -> str:
    """The human-readable report of :func:`run`'s figures."""
    s, m = r["streaming"], r["in_memory"]
    gen = "reused" if r["generate_s"] is None else f"generated in {r['generate_s']} s"
    sub = f" (a subset of {m['images']} images)" if r["in_memory_subset"] else ""
    lines = [
        f"image benchmark: {r['count']} PNGs {r['image_size'][1]}x{r['image_size'][0]}, {r['classes']} classes, "
        f"{r['cpus']} CPUs, load average {r['load_average_before']} ({gen})",
        f"  index (list + header check + truncation check + hash): {r['index_s']:.2f} s with the files in the OS cache"
        f" ({r['index_files_per_s']:,} files/s)",
    ]
    if r["index_cold_s"] is not None:
        lines.append(
            f"    {r['index_cold_s']:.2f} s with the files' contents evicted from the OS cache"
        )
    lines += [
        f"  streaming epoch (train split, batch {r['batch_size']}, {s['workers']} decode thread(s),"
        f" {s['prefetch_batches']} batches prefetched, cache emptied first):",
        f"    {s['epoch_samples']:,} samples in {s['epoch_s']:.2f} s = {s['samples_per_s']:,} samples/s"
        f" (preparation incl. statistics: {s['prepare_s']:.2f} s)",
    ]
    if s["cold_samples_per_s"] is not None:
        lines.append(
            f"    files evicted from the OS cache: {s['cold_epoch_s']:.2f} s = {s['cold_samples_per_s']:,} samples/s"
        )
    lines += [
        f"    peak RSS delta while preparing + streaming: {s['peak_rss_delta_mib']} MiB"
        f" (cache budget {s['cache_budget_mib']} MiB, peak {s['cache_peak_mib']} MiB;"
        f" {s['cache_hits']:,} hits / {s['cache_misses']:,} misses)",
        f"  in memory{sub}: decode ({m['workers']} thread(s)) {m['decode_s']:.2f} s ({m['decode_images_per_s']:,} images/s),"
        f" peak RSS delta {m['peak_rss_delta_mib']} MiB",
        f"    epoch: {m['epoch_samples']:,} samples in {m['epoch_s']:.3f} s = {m['samples_per_s']:,} samples/s"
        f" ({m['samples_per_s'] / max(1, s['samples_per_s']):.0f}x streaming)",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    ap = argparse.ArgumentParser(
        prog="python -m workbench.data.bench_images", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--count", type=int, default=100_000, help="images in the generated folder (default 100000)"
    )
    ap.add_argument("--size", type=int, default=28, help="image side in pixels (default 28)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument(
        "--cache-mib", type=int, default=16, help="streaming cache budget in MiB (default 16)"
    )
    ap.add_argument(
        "--in-memory-count",
        type=int,
        default=None,
        help="images for the in-memory comparison (default all)",
    )
    ap.add_argument("--workers", type=int, default=None, help="decoding threads")
    ap.add_argument(
        "--dir", default=None, help="where to keep the generated folder (default: the temp folder)"
    )
    ap.add_argument(
        "--no-cold",
        action="store_true",
        help="skip the runs with the files evicted from the OS cache",
    )
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if args.count < CLASSES * 4 or not 4 <= args.size <= 512:
        print(
            f"error: --count must be at least {CLASSES * 4} and --size between 4 and 512",
            file=sys.stderr,
        )
        return 2
    log = None if args.json else (lambda s: print(s, file=sys.stderr, flush=True))
    r = run(
        args.count,
        args.size,
        args.batch_size,
        args.cache_mib,
        args.in_memory_count,
        args.workers,
        args.dir,
        log,
        not args.no_cold,
    )
    print(json.dumps(r, indent=2) if args.json else format_report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
