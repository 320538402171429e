"""Evaluation benchmark of ``workbench bench --evaluate``: a run evaluated on every image of a
generated folder, its speed against training's and its memory.

The folder is the one ``workbench bench --images`` makes (``count`` grayscale PNGs in 10
class folders, generated once and reused). A project with the LeNet template fitted to it
(as ``workbench data attach`` does) is made in a temporary folder and trained for one
epoch the way ``workbench train`` trains it: the trainer's own samples per second of that
epoch is the training figure. Then a fresh Python process evaluates the run's best
weights on its train, validation and test splits, one after the other, with
:func:`~workbench.engine.evaluation.run.evaluate_run` (what ``workbench evaluate`` runs:
each split streamed from disk batch by batch). A process of its own, so that its peak
resident-set size (:func:`peak_rss_mib`) is the evaluation's alone, not the training's.
It reads its resident-set size (``/proc/self/statm``) after its imports and, for each
split, when the loop starts, after 10 % and after 100 % of its images, and samples it
every 5 ms for the peak of each phase (reading the folder, streaming, the results).
Memory that stays flat from 10 % to 100 % of the largest split (the train split, 70 % of
the images) is memory that does not grow with the number of images streamed: what grows
is only the outputs every evaluation keeps for its per-sample results. Reading the
folder (its index: paths, labels, content hashes) costs memory in proportion to the
number of files, as it does for training.

``python -m workbench.engine.bench_eval PROJECT --run ID`` is that second process; it
prints its figures as one line of JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.data.bench_images import CLASSES, bench_folder, process_peak_mib, rss_bytes
from workbench.engine.trainer import Callback, Trainer

#: The splits evaluated, in this order: together they are every image of the folder.
SPLITS = ("train", "val", "test")


def _mib(n: int | None) -> float | None:
    return None if n is None else round(n / 2**20, 1)


def peak_rss_mib() -> float | None:
    """This process's own peak resident-set size in MiB.

    Linux's ``VmHWM`` of ``/proc/self/status`` where it can be read: ``getrusage``'s
    ``ru_maxrss`` survives ``exec``, so a process started from a bigger one would report
    its parent's peak. Elsewhere ``ru_maxrss`` (see :func:`process_peak_mib`).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # in kB
    except (OSError, ValueError, IndexError):
        pass
    return process_peak_mib()


def _quiet(_line: str) -> None:
    """Drop a progress line."""


class _TrainProbe(Callback):
    """What the benchmark reports about the training run besides its metrics."""

    def __init__(self) -> None:
        self.in_memory: bool | None = None
        self.threads: int | None = None
        self.test_samples = 0
        self.test_seconds = 0.0

    def on_fit_start(self, trainer: Trainer) -> None:
        """Note how the data is held and how many threads the run trains with."""
        import torch

        self.in_memory = bool(trainer.prepared.in_memory)
        self.threads = torch.get_num_threads() if trainer.device.type == "cpu" else None

    def on_test_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Note the size and time of the test evaluation at the run's end."""
        evaluation = trainer.test_evaluation
        if evaluation is not None:
            self.test_samples, self.test_seconds = evaluation.num_samples, evaluation.seconds


def make_project(folder: Path, project_path: Path, batch_size: int, device: str) -> dict[str, int]:
    """Save a LeNet project fitted to ``folder``, set to train for one epoch.

    Returns:
        The size of each split: ``{"train": n, "val": n, "test": n}``.
    """
    from workbench.core.project import save_project
    from workbench.core.templates import make_project as template
    from workbench.data.images import ImageFolderSource
    from workbench.data.link import default_settings, fit_model_to_data, store_settings

    source = ImageFolderSource.scan(folder)
    project = template("lenet")
    settings = default_settings(source)
    fit_model_to_data(project.graph, source, settings)
    store_settings(project, settings, project_path)
    project.training.update(epochs=1, batch_size=batch_size, device=device, seed=0)
    save_project(project, project_path)
    split = source.split(settings)
    return {name: len(getattr(split, name)) for name in SPLITS}


def _child_env() -> dict[str, str]:
    """The environment of the evaluating process: this copy of the workbench first on its path."""
    import workbench

    env = dict(os.environ)
    here = str(Path(workbench.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def evaluate_in_child(
    project_path: Path,
    run_id: str,
    device: str,
    log: Callable[[str], None] = _quiet,
) -> dict[str, Any]:
    """Evaluate a run on all its splits in a fresh process and return that process's figures.

    Raises:
        RuntimeError: the process failed (its last line of stderr says why).
    """
    cmd = [sys.executable, "-m", "workbench.engine.bench_eval", str(project_path)]
    cmd += ["--run", run_id, "--device", device]
    with subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(),
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        last = ""
        for line in child.stderr:  # its log lines, as they come
            line = line.rstrip()
            if line:
                last = line
                log(f"  {line}")
        out = child.stdout.read()
        code = child.wait()
    if code != 0:
        raise RuntimeError(f"the evaluating process failed: {last or f'exit status {code}'}")
    return dict(json.loads(out.strip().splitlines()[-1]))


class _PhasePeaks:
    """Samples the resident-set size every few milliseconds and keeps each phase's peak."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wb-rss", daemon=True)

    def _note(self) -> None:
        rss, phase = rss_bytes(), self.phase
        if rss is not None and rss > self.peaks.get(phase, 0):
            self.peaks[phase] = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._note()

    def enter(self, phase: str) -> None:
        """End the phase going on (with one last sample) and start ``phase``."""
        self._note()
        self.phase = phase

    def __enter__(self) -> _PhasePeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._note()


def evaluate_here(
    project_path: str | os.PathLike[str],
    run_id: str,
    device: str = "cpu",
    splits: Sequence[str] = SPLITS,
    log: Callable[[str], None] = _quiet,
) -> dict[str, Any]:
    """Evaluate a run on ``splits`` in this process and measure its time and resident memory.

    Meant for a fresh process (the second half of :func:`run`): its peak resident-set
    size is then the evaluation's own. For each split: the resident size when its loop
    starts, after the batch that reaches 10 % of its samples and after its last batch;
    and, from a thread that samples it every 5 ms, the peak of each phase: reading the
    folder (its index, the run's model), the streamed loop, and the results (metrics and
    per-sample results computed from the outputs once the last batch is done).

    Args:
        project_path: The project.
        run_id: The run whose best weights are evaluated.
        device: Where the model runs.
        splits: The splits, evaluated one after the other.
        log: Receives a line for each step.
    """
    import torch

    from workbench.engine.evaluation.run import evaluate_run

    rss_imports = rss_bytes()
    marks: dict[str, tuple[int, int | None]] = {}  # this split's: start, 10%, 100%
    threads: set[int] = set()
    phases = _PhasePeaks()

    def on_log(line: str) -> None:
        # evaluate_run says "Evaluating run …" right before its streamed loop starts
        if line.startswith("Evaluating"):
            phases.enter("loop")
            marks["start"] = (0, rss_bytes())
        log(line)

    def progress(done: int, of: int) -> None:
        if phases.phase != "loop":
            return  # the folder being read
        threads.add(torch.get_num_threads())
        rss = rss_bytes()
        if "10%" not in marks and done >= of / 10:
            marks["10%"] = (done, rss)
        marks["100%"] = (done, rss)  # what is left after the last batch is the 100 %
        if done >= of:
            phases.enter("results")

    rows: list[dict[str, Any]] = []
    with phases:
        for split in splits:
            marks.clear()
            phases.peaks.clear()
            phases.enter("reading")
            started = time.perf_counter()
            evaluation = evaluate_run(
                project_path, run_id, split=split, device=device, progress=progress, log=on_log
            )
            wall = time.perf_counter() - started
            phases.enter("between")
            row: dict[str, Any] = {
                "split": split,
                "samples": evaluation.num_samples,
                "loop_s": round(evaluation.seconds, 3),
                "samples_per_s": round(evaluation.num_samples / evaluation.seconds, 1),
                "reading_s": round(wall - evaluation.seconds, 3),
                "accuracy": evaluation.to_json_dict().get("accuracy"),
            }
            for key, name in (("start", "before"), ("10%", "at_10pct"), ("100%", "at_100pct")):
                done, rss = marks.get(key, (None, None))
                row[f"rss_{name}_mib"] = _mib(rss)
                if key != "start":
                    row[f"samples_{name}"] = done
            for phase in ("reading", "loop", "results"):
                row[f"peak_rss_{phase}_mib"] = _mib(phases.peaks.get(phase))
            rows.append(row)
            log(
                f"{split}: {row['samples']:,} samples in {row['loop_s']:.2f} s = "
                f"{row['samples_per_s']:,.0f} samples/s"
            )
            del evaluation  # its per-sample results are not what the next split is measured with
            gc.collect()
    samples = sum(r["samples"] for r in rows)
    loop_s = sum(r["loop_s"] for r in rows)
    largest = max(rows, key=lambda r: r["samples"])
    return {
        "device": device,
        "threads": max(threads) if threads else None,
        "splits": rows,
        "samples": samples,
        "loop_s": round(loop_s, 3),
        "samples_per_s": round(samples / loop_s, 1),
        "reading_s": round(sum(r["reading_s"] for r in rows), 3),
        "rss_after_imports_mib": _mib(rss_imports),
        # the memory figures of the largest split, the first evaluated
        "memory_split": largest["split"],
        **{
            k: largest[k]
            for k in (
                "rss_before_mib",
                "rss_at_10pct_mib",
                "samples_at_10pct",
                "rss_at_100pct_mib",
                "samples_at_100pct",
            )
        },
        "peak_rss_mib": peak_rss_mib(),
    }


def run(
    count: int = 100_000,
    size: int = 28,
    batch_size: int = 128,
    device: str = "cpu",
    base: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its figures.

    Args:
        count: Images in the generated folder (at least 40).
        size: Their side in pixels.
        batch_size: The training batch size (evaluation uses twice it, as
            ``workbench evaluate`` does).
        device: Where the model trains and is evaluated.
        base: Where to keep the generated folder (default the system temporary folder).
        log: Called with a line of progress text now and then.

    Raises:
        TrainError: the training run failed.
        RuntimeError: the evaluating process failed.
    """
    from workbench.engine.runs import train_project

    say = log or _quiet
    load_before = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    say(f"generating or reusing {count} PNGs of {size}x{size} ...")
    root, gen_s = bench_folder(count, size, base)
    with tempfile.TemporaryDirectory(prefix="workbench-bench-eval-") as tmp:
        path = Path(tmp) / "bench.wbproj"
        say(f"indexing {root} and fitting LeNet to it ...")
        t = time.perf_counter()
        sizes = make_project(root, path, batch_size, device)
        index_s = time.perf_counter() - t
        say(f"training one epoch on {sizes['train']:,} images ...")
        probe = _TrainProbe()
        t = time.perf_counter()
        result = train_project(path, callbacks=[probe])
        train_wall = time.perf_counter() - t
        epoch = result.history[-1]
        train = {
            "samples": sizes["train"],
            "epochs": 1,
            "batch_size": batch_size,
            "device": device,
            "threads": probe.threads,
            "in_memory": probe.in_memory,
            "epoch_s": round(float(epoch["epoch_seconds"]), 3),
            "samples_per_s": round(float(epoch["samples_per_s"]), 1),
            "val_accuracy": epoch.get("val_accuracy"),
            "run_s": round(train_wall, 3),
            "test_evaluation_samples": probe.test_samples,
            "test_evaluation_s": round(probe.test_seconds, 3),
        }
        say(f"evaluating run {result.run_id} on all {count:,} images in a fresh process ...")
        evaluation = evaluate_in_child(path, result.run_id, device, say)
    evaluation["batch_size"] = 2 * batch_size
    ratio = evaluation["samples_per_s"] / train["samples_per_s"]
    return {
        "folder": str(root),
        "count": count,
        "image_size": [size, size],
        "classes": CLASSES,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "generate_s": None if gen_s is None else round(gen_s, 1),
        "index_s": round(index_s, 3),
        "split_sizes": sizes,
        "train": train,
        "evaluation": evaluation,
        "eval_train_ratio": round(ratio, 3),
        "bench_process_peak_rss_mib": peak_rss_mib(),
        "rss_source": "/proc/self/statm, VmHWM" if rss_bytes() is not None else "unavailable",
    }


def _mib_text(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f} MiB"


def format_report(r: dict[str, Any]) -> str:
    """The human-readable report of :func:`run`'s figures."""
    t, e = r["train"], r["evaluation"]
    gen = "reused" if r["generate_s"] is None else f"generated in {r['generate_s']} s"
    side = f"{r['image_size'][1]}x{r['image_size'][0]}"
    held = {True: "decoded into memory", False: "streamed from disk"}.get(t["in_memory"], "")
    threads = "" if t["threads"] is None else f", {t['threads']} thread(s)"
    lines = [
        f"evaluation benchmark: {r['count']:,} PNGs {side}, {r['classes']} classes, {r['cpus']} CPUs, "
        f"load average {r['load_average_before']} ({gen}); indexed and fitted in {r['index_s']:.1f} s",
        f"  training (LeNet, one epoch on the train split, batch {t['batch_size']}, {t['device']}{threads}, data {held}):",
        f"    {t['samples']:,} samples in {t['epoch_s']:.2f} s = {t['samples_per_s']:,.0f} samples/s"
        f" (the whole run {t['run_s']:.1f} s, with decoding, validation and the test evaluation:"
        f" {t['test_evaluation_samples']:,} samples in {t['test_evaluation_s']:.2f} s)",
        f"  evaluation (workbench evaluate's code in a fresh process, streamed from disk, batch {e['batch_size']},"
        f" {e['device']}, {e['threads']} thread(s)):",
    ]
    for s in e["splits"]:
        lines.append(
            f"    {s['split']:<5} {s['samples']:>9,} samples in {s['loop_s']:7.2f} s = "
            f"{s['samples_per_s']:>8,.0f} samples/s (reading the folder first: {s['reading_s']:.1f} s)"
        )
    lines.append(
        f"    all   {e['samples']:>9,} samples in {e['loop_s']:7.2f} s = {e['samples_per_s']:>8,.0f} samples/s"
        f" = {r['eval_train_ratio']:.2f}x training"
    )
    m = e["memory_split"]
    lines.append(
        f"  memory of the evaluating process: {_mib_text(e['rss_after_imports_mib'])} after its imports;"
        f" peak {_mib_text(e['peak_rss_mib'])}; the {m} split:"
        f" {_mib_text(e['rss_before_mib'])} when its loop started (the folder read),"
        f" {_mib_text(e['rss_at_10pct_mib'])} at 10 % ({e['samples_at_10pct'] or 0:,} samples),"
        f" {_mib_text(e['rss_at_100pct_mib'])} at 100 % ({e['samples_at_100pct'] or 0:,})"
    )
    low, high, more = e["rss_at_10pct_mib"], e["rss_at_100pct_mib"], 0
    if low is not None and high is not None and e["samples_at_10pct"] and e["samples_at_100pct"]:
        more = e["samples_at_100pct"] - e["samples_at_10pct"]
    if more > 0:
        per = (high - low) * 2**20 / more
        image = 4 * r["image_size"][0] * r["image_size"][1]
        lines.append(
            f"    from 10 % to 100 %: {high - low:+,.1f} MiB over {more:,} more samples = {per:,.0f} bytes"
            f" per sample (one decoded {side} image is {image:,} bytes as float32)"
        )
    for s in e["splits"]:
        lines.append(
            f"    peaks, {s['split']}: reading the folder {_mib_text(s['peak_rss_reading_mib'])},"
            f" streaming {_mib_text(s['peak_rss_loop_mib'])},"
            f" computing the results {_mib_text(s['peak_rss_results_mib'])}"
        )
    lines.append(
        f"  the benchmark's own process (training included): peak {_mib_text(r['bench_process_peak_rss_mib'])}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The evaluating process of :func:`run`: prints its figures as one line of JSON."""
    ap = argparse.ArgumentParser(
        prog="python -m workbench.engine.bench_eval",
        description="Evaluate a run on its train, val and test splits and measure it.",
    )
    ap.add_argument("project")
    ap.add_argument("--run", required=True)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    from workbench.engine.evaluation.result import EvaluationError

    try:
        figures = evaluate_here(
            args.project,
            args.run,
            args.device,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except EvaluationError as e:
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
