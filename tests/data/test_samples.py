"""Sample datasets: generated deterministically, cached atomically, and trainable by their template."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.core.adapt import adapt_graph
from workbench.core.settings import cache_dir
from workbench.core.shapes import analyze
from workbench.core.templates import TEMPLATES, make_project
from workbench.data import open_dataset
from workbench.data.base import DataError, DataSettings, Source
from workbench.data.samples import (
    MARKER,
    SAMPLES,
    SHAPE_CLASSES,
    draw_shape,
    generate_sample,
    sample_path,
)
from workbench.engine.compiler import compile_graph

EXPECTED = {  # name: (kind, samples, classes or None for regression)
    "shapes": ("images", 1500, sorted(SHAPE_CLASSES)),
    "tabular": ("table", 1000, ["apple", "banana", "orange"]),
    "housing": ("table", 1000, None),
    "sequences": ("arrays", 2000, ["negative", "positive"]),
    "timeseries": ("arrays", 1000, None),
}


def fitted(name: str, source: Source, settings: DataSettings) -> torch.nn.Module:
    """The sample's template with its Input and Output fitted to the data, compiled."""
    graph = make_project(SAMPLES[name].template).graph
    info = source.info()
    shape, dtype = source.input_spec(settings)
    vocab = info.details.get("vocab_size")
    adapt_graph(graph, shape, dtype, info.task, info.num_classes, info.num_targets, vocab)
    analysis = analyze(graph)
    assert analysis.ok, analysis.errors
    return compile_graph(graph)


def test_the_catalogue() -> None:
    assert set(SAMPLES) == set(EXPECTED)
    for name, spec in SAMPLES.items():
        assert spec.name == name and spec.template in TEMPLATES and spec.kind == EXPECTED[name][0]
        assert spec.title and spec.description and spec.size


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_sample_generates_scans_and_fits_its_template(tmp_path: Path, name: str) -> None:
    path = sample_path(name, tmp_path)
    written = [f for f in (tmp_path / name).rglob("*") if f.is_file()]
    # small enough to make in about a second: its size is bounded (measured: 1,501 files and
    # 3.8 MB at most), not its time, which a busy machine stretches
    assert len(written) <= 2_000 and sum(f.stat().st_size for f in written) < 8_000_000
    assert path == tmp_path / name / SAMPLES[name].entry and path.exists()
    source = open_dataset(path)
    info = source.info()
    kind, n, classes = EXPECTED[name]
    assert (info.kind, info.num_samples, info.classes) == (kind, n, classes)
    assert not [p for p in info.problems if p.severity == "error"], info.problems
    if classes is not None:
        counts = list(info.class_counts.values())
        assert min(counts) * 2 > max(counts)  # roughly balanced
    settings = DataSettings()
    model = fitted(name, source, settings)
    prepared = source.prepare(settings)
    assert prepared.input_shape == source.input_spec(settings)[0]
    xb, yb = next(iter(prepared.train.iter_batches(8)))
    with torch.no_grad():
        out = model.eval()(xb)
    assert out.shape == (8, len(classes) if classes else 1)


def test_samples_are_deterministic(tmp_path: Path) -> None:
    for name in ("tabular", "housing", "sequences", "timeseries"):
        a = generate_sample(name, tmp_path / "a" / name)
        b = generate_sample(name, tmp_path / "b" / name)
        c = generate_sample(name, tmp_path / "c" / name, seed=1)
        assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    one = draw_shape("star", np.random.default_rng(3))
    assert one.shape == (32, 32, 3) and one.dtype == np.uint8
    assert np.array_equal(one, draw_shape("star", np.random.default_rng(3)))


def test_shapes_classes_look_different() -> None:
    rng = np.random.default_rng(0)
    for kind in SHAPE_CLASSES:
        img = draw_shape(kind, rng).astype(np.float32)
        assert img.std() > 20  # a shape on a background, not a flat image


def test_sample_path_caches_replaces_stale_copies_and_leaves_no_temp_folders(
    tmp_path: Path,
) -> None:
    first = sample_path("tabular", tmp_path)
    stamp = first.stat().st_mtime_ns
    assert sample_path("tabular", tmp_path) == first and first.stat().st_mtime_ns == stamp  # cached
    marker = tmp_path / "tabular" / MARKER
    marker.write_text(json.dumps({"name": "tabular", "version": -1}))  # an older generator's copy
    (tmp_path / "tabular" / "leftover.txt").write_text("old")
    again = sample_path("tabular", tmp_path)
    assert again == first and not (tmp_path / "tabular" / "leftover.txt").exists()
    marker.unlink()  # a folder without a marker (an interrupted copy, say) is replaced too
    assert sample_path("tabular", tmp_path).exists() and marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tabular"]


def test_sample_path_defaults_to_the_cache_folder() -> None:
    path = sample_path("timeseries")
    assert path == cache_dir() / "samples" / "timeseries" / "waves.npz" and path.exists()


def test_unknown_sample_and_unwritable_root(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown sample dataset 'nope' \\(known: shapes, tabular"):
        sample_path("nope", tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot write the sample datasets to"):
        sample_path("tabular", blocker)


def _train(name: str, root: Path, epochs: int, lr: float = 3e-3) -> float:
    """Train the sample's template briefly; return validation accuracy or R^2."""
    torch.manual_seed(0)
    source = open_dataset(sample_path(name, root))
    settings = DataSettings()
    model = fitted(name, source, settings)
    prepared = source.prepare(settings)
    opt = torch.optim.Adam(model.parameters(), lr)
    classify = prepared.task == "classification"
    loss_fn = torch.nn.CrossEntropyLoss() if classify else torch.nn.MSELoss()
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        for xb, yb in prepared.train.iter_batches(32, shuffle=True, generator=gen):
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pairs = [(model(xb), yb) for xb, yb in prepared.val.iter_batches(512)]
    out = torch.cat([o for o, _ in pairs])
    y = torch.cat([t for _, t in pairs])
    if classify:
        return float((out.argmax(1) == y).float().mean())
    return float(1 - ((out - y) ** 2).mean() / y.var())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "epochs", "floor"), [("tabular", 6, 0.85), ("housing", 8, 0.8), ("timeseries", 5, 0.9)]
)
def test_small_samples_are_learnable_by_their_template(
    tmp_path: Path, name: str, epochs: int, floor: float
) -> None:
    assert _train(name, tmp_path, epochs) > floor


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "epochs", "floor"), [("shapes", 10, 0.75), ("sequences", 5, 0.85)]
)
def test_image_and_sequence_samples_are_learnable(
    tmp_path: Path, name: str, epochs: int, floor: float
) -> None:
    assert _train(name, tmp_path, epochs) > floor
