"""``workbench bench --evaluate``, and evaluation holding a bounded number of decoded images
whatever the size of the split."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workbench.cli import main
from workbench.data.bench_images import bench_folder
from workbench.engine import bench_eval
from workbench.engine.evaluation.run import evaluate_run
from workbench.engine.runs import train_project


@pytest.mark.slow
def test_bench_evaluate_evaluates_every_image_and_reports_speed_and_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the folder and the project
    assert main(["bench", "--evaluate", "--count", "300", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)

    assert r["count"] == 300 and Path(r["folder"]).parent.parent == tmp_path
    sizes = r["split_sizes"]
    assert list(sizes) == ["train", "val", "test"] and sum(sizes.values()) == 300
    train, e = r["train"], r["evaluation"]
    assert train["samples"] == sizes["train"] and train["samples_per_s"] > 0
    assert train["in_memory"] is True and train["test_evaluation_samples"] == sizes["test"]
    # every image of the folder was evaluated, split by split, by the child process
    assert [(s["split"], s["samples"]) for s in e["splits"]] == list(sizes.items())
    assert e["samples"] == 300 and e["samples_per_s"] > 0 and e["batch_size"] == 256
    assert all(0 <= s["accuracy"] <= 1 for s in e["splits"])
    assert r["eval_train_ratio"] == pytest.approx(
        e["samples_per_s"] / train["samples_per_s"], rel=1e-2
    )
    if sys.platform == "linux":
        # the memory figures are the train split's, the largest
        assert e["memory_split"] == "train" and e["samples_at_100pct"] == sizes["train"]
        assert 0 < e["samples_at_10pct"] <= sizes["train"]
        moments = ("after_imports", "before", "at_10pct", "at_100pct")
        assert all(e[f"rss_{k}_mib"] > 0 for k in moments)
        assert e["peak_rss_mib"] >= e["rss_after_imports_mib"]
        phases = ("reading", "loop", "results")
        assert all(s[f"peak_rss_{p}_mib"] > 0 for s in e["splits"] for p in phases)
    assert not list(tmp_path.glob("workbench-bench-eval-*"))  # the project was removed

    text = bench_eval.format_report(r)
    assert "x training" in text and "samples/s" in text and "at 10 %" in text


def test_bench_evaluate_refuses_a_tiny_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--evaluate", "--count", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--count must be at least 40" in err


class LiveImages:
    """Counts the decoded images alive at once, in any of the forms the pipeline holds them:
    one image from the decoder, a decoded batch, a batch handed to the model."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self.decoded = 0
        self._lock = threading.Lock()

    def track(self, obj: Any, n: int) -> None:
        with self._lock:
            self.live += n
            self.peak = max(self.peak, self.live)
        weakref.finalize(obj, self._gone, n)

    def _gone(self, n: int) -> None:
        with self._lock:
            self.live -= n


def instrument(monkeypatch: pytest.MonkeyPatch) -> LiveImages:
    from workbench.data import image_pipeline as ip

    counter = LiveImages()
    decode_image, stream = ip.decode_image, ip.StreamData._iter
    decode_many, decode_all = ip.ImageDecoder.decode_many, ip.ImageDecoder.decode_all

    def one(*args: Any, **kwargs: Any) -> np.ndarray:
        arr = decode_image(*args, **kwargs)
        counter.track(arr, 1)
        return arr

    def many(self: Any, indices: Any) -> tuple[np.ndarray, np.ndarray]:
        out, ok = decode_many(self, indices)
        counter.track(out, len(out))
        counter.decoded += int(ok.sum())
        return out, ok

    def everything(self: Any, indices: Any, *args: Any) -> Any:
        pixels, ok = decode_all(self, indices, *args)
        counter.track(pixels, len(pixels))
        counter.decoded += int(ok.sum())
        return pixels, ok

    def batches(self: Any, *args: Any) -> Iterator[Any]:
        for idx, x, y in stream(self, *args):
            counter.track(x, len(x))
            yield idx, x, y

    monkeypatch.setattr(ip, "decode_image", one)
    monkeypatch.setattr(ip.ImageDecoder, "decode_many", many)
    monkeypatch.setattr(ip.ImageDecoder, "decode_all", everything)
    monkeypatch.setattr(ip.StreamData, "_iter", batches)
    return counter


@pytest.mark.slow
def test_evaluation_holds_a_few_batches_of_decoded_images_whatever_the_split_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = bench_folder(1000, 28, tmp_path)
    path = tmp_path / "bench.wbproj"
    sizes = bench_eval.make_project(folder, path, 64, "cpu")
    run_id = train_project(path).run_id

    batch = 16
    # the stream's queue holds 4 prefetched batches (not counted: scaled copies), the
    # producer and the consumer one or two each while they move on to the next
    bound = 6 * batch
    peaks = {}
    for split in ("test", "train"):
        counter = instrument(monkeypatch)
        evaluation = evaluate_run(path, run_id, split=split, device="cpu", batch_size=batch)
        assert evaluation.num_samples == counter.decoded == sizes[split]  # all of it went through
        peaks[split] = counter.peak
        monkeypatch.undo()
    assert sizes["train"] > 5 * bound and sizes["test"] > bound
    assert 0 < peaks["test"] <= bound and 0 < peaks["train"] <= bound, peaks
