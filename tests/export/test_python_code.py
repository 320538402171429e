"""Python export: model.py matches the workbench model for every layer type and template,
and train.py reads the data exactly as the workbench does and trains, alone and under torchrun."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from tests.catalog_cases import CASE_IDS, CASES, Case
from workbench.core.catalog import TensorSpec, get
from workbench.core.graph import Graph, GraphError
from workbench.core.project import save_project
from workbench.core.shapes import analyze
from workbench.core.templates import TEMPLATES, make_project
from workbench.data import DataSettings, open_dataset
from workbench.data.samples import sample_path
from workbench.engine import optim
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.compiler import compile_graph
from workbench.engine.config import LOSSES, OPTIMIZERS, SCHEDULES, TrainConfig
from workbench.engine.runs import RunDir, train_project
from workbench.export import python_code
from workbench.export.python_code import (
    PythonExportReport,
    export_python,
    model_source,
    rename_state_dict,
)
from workbench.export.report import ExportError

BATCH = 3


# --- helpers ---------------------------------------------------------------------------------


def _import(path: Path) -> ModuleType:
    """A generated file imported under a fresh name, with its folder importable (``model``)."""
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"_generated_{uuid.uuid4().hex}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop("model", None)  # the next folder's model.py is another module
    return module


def _random_state(graph: Graph) -> dict[str, torch.Tensor]:
    """The workbench model's state dict with every float tensor randomized (BN statistics too)."""
    torch.manual_seed(0)
    state = compile_graph(graph).state_dict()
    for key, value in state.items():
        if value.is_floating_point():
            value.copy_(torch.randn_like(value) * 0.5)
            if key.endswith("running_var"):
                value.abs_().add_(0.5)
    return state


def _inputs(graph: Graph) -> torch.Tensor:
    spec = graph.of_type("Input")[0].params
    shape = (BATCH, *spec["shape"])
    if spec["dtype"] == "int64":
        vocab = min((n.params["num_embeddings"] for n in graph.of_type("Embedding")), default=2)
        return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(1))
    return torch.randn(shape, generator=torch.Generator().manual_seed(1))


def _check_export(graph: Graph, out: Path) -> PythonExportReport:
    """Export untrained, then compare the generated model with the compiled one by hand."""
    state = _random_state(graph)
    report = export_python(graph, state, None, out, project_name="case")
    assert report.folder == out
    assert [p.name for p in report.files] == ["README.md", "model.py", "weights.pt"]
    assert report.max_abs_diff <= 1e-6
    source = (out / "model.py").read_text(encoding="utf-8")
    compile(source, "model.py", "exec")
    assert "workbench" not in source.split('"""', 2)[2]  # nothing imports the workbench

    generated = _import(out / "model.py").Model()
    weights = torch.load(out / "weights.pt", weights_only=True)
    expected_keys = rename_state_dict(graph, state)
    assert set(weights) == set(expected_keys)
    own = generated.state_dict()
    assert {k: tuple(v.shape) for k, v in own.items()} == {
        k: tuple(v.shape) for k, v in weights.items()
    }
    generated.load_state_dict(weights)
    reference = compile_graph(graph)
    reference.load_state_dict(state)
    x = _inputs(graph)
    with torch.no_grad():
        want = reference.eval()(x)
        got = generated.eval()(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    return report


def _case_graph(case: Case) -> Graph:
    """A small model around one catalog case: Input -> (adapters) -> layer -> (head) -> Output."""
    g = Graph()
    params = get(case.type).validate_params(case.params)
    if case.type == "Input":
        g.add_node("Input", params, node_id="inp")
        last = "inp"
    elif case.type == "Output":
        g.add_node("Input", {"shape": list(case.inputs[0].shape)}, node_id="inp")
        g.add_node("Output", params, node_id="out")
        g.connect("inp", "out")
        return g
    else:
        first = case.inputs[0]
        g.add_node("Input", {"shape": list(first.shape), "dtype": first.dtype}, node_id="inp")
        g.add_node(case.type, params, node_id="layer")
        g.connect("inp", "layer", 0)
        for port, spec in enumerate(case.inputs[1:], start=1):
            if (
                spec.dtype == "int64"
            ):  # integer branches cannot be reshaped by a layer: reuse the input
                g.connect("inp", "layer", port)
            elif spec == first:
                g.add_node("Tanh", node_id=f"branch{port}")
                g.connect("inp", f"branch{port}")
                g.connect(f"branch{port}", "layer", port)
            else:
                g.add_node("Flatten", node_id=f"flat{port}")
                g.add_node("Linear", {"units": spec.numel}, node_id=f"proj{port}")
                g.add_node("Reshape", {"shape": list(spec.shape)}, node_id=f"shape{port}")
                g.connect("inp", f"flat{port}")
                g.connect(f"flat{port}", f"proj{port}")
                g.connect(f"proj{port}", f"shape{port}")
                g.connect(f"shape{port}", "layer", port)
        last = "layer"
    out = analyze(g).nodes[last].output
    assert out is not None
    if out.dtype == "int64" and out.rank > 2:  # an Embedding takes (N, T) ids
        g.add_node("Flatten", node_id="tail_ids")
        g.connect(last, "tail_ids")
        last, out = "tail_ids", TensorSpec((out.numel,), "int64")
    if out.dtype == "int64":
        g.add_node(
            "Embedding", {"num_embeddings": 10, "embedding_dim": 4}, node_id="tail_embedding"
        )
        g.connect(last, "tail_embedding")
        last, out = "tail_embedding", TensorSpec((*out.shape, 4))
    if out.rank > 2:
        g.add_node("Flatten", node_id="tail_flatten")
        g.connect(last, "tail_flatten")
        last = "tail_flatten"
    g.add_node("Output", {"num_classes": 3}, node_id="out")
    g.connect(last, "out")
    assert analyze(g).ok, analyze(g).errors
    return g


# --- model.py ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_catalog_case_exports_to_an_equal_model(case: Case, tmp_path: Path) -> None:
    _check_export(_case_graph(case), tmp_path / "py")


def test_the_cases_cover_the_whole_catalog() -> None:
    from workbench.core.catalog import CATALOG

    assert {c.type for c in CASES} == set(CATALOG)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_exports_to_an_equal_model(name: str, tmp_path: Path) -> None:
    report = _check_export(make_project(name).graph, tmp_path / name)
    assert any("train.py" in n for n in report.notes)  # why there is no train.py


def test_lenet_reads_like_hand_written_pytorch() -> None:
    source = model_source(make_project("lenet").graph)
    assert "class Model(nn.Module):" in source
    assert "        self.conv2d_1 = nn.Conv2d(1, 16, kernel_size=5)\n" in source
    assert "        self.maxpool2d_1 = nn.MaxPool2d(2)\n" in source
    assert "        self.linear_1 = nn.Linear(512, 128)\n" in source
    assert "        x = self.conv2d_1(x)  # (N, 16, 24, 24)\n" in source
    assert "        x = x.flatten(1)  # (N, 512)\n" in source
    assert "        return self.output_1(x)" in source
    assert "import math" not in source  # only what the model needs
    assert all(len(line) <= 100 for line in source.splitlines())
    named = model_source(make_project("lenet").graph, class_name="LeNet")
    assert "class LeNet(nn.Module):" in named
    with pytest.raises(ExportError, match="class name"):
        model_source(make_project("lenet").graph, class_name="not valid")


def test_branches_get_named_variables_and_merges_are_expressions() -> None:
    source = model_source(make_project("resnet").graph)
    assert "        relu_1 = self.relu_1(x)" in source  # the skip connection keeps its value
    assert "        x = self.conv2d_2(relu_1)" in source
    assert "        x = relu_1 + x" in source
    assert "x.mean(dim=(2, 3))" in source
    transformer = model_source(make_project("transformer").graph)
    assert "class PositionalEncoding(nn.Module):" in transformer and "import math" in transformer
    assert "nn.TransformerEncoderLayer(" in transformer and "batch_first=True" in transformer
    gru = model_source(make_project("gru").graph)
    assert "self.gru_1 = nn.GRU(32, 64, batch_first=True)" in gru
    assert "x = x[:, -1]" in gru


def test_node_ids_that_clash_with_python_names(tmp_path: Path) -> None:
    g = Graph()
    g.add_node("Input", {"shape": [6]}, node_id="x")
    g.add_node("Linear", {"units": 6}, node_id="torch")
    g.add_node("ReLU", node_id="nn")
    g.add_node("Add", node_id="lambda")
    g.add_node("Linear", {"units": 4}, node_id="lambda_")
    g.add_node("Output", {"num_classes": 2}, node_id="self")
    for src, dst, port in [
        ("x", "torch", 0),
        ("torch", "nn", 0),
        ("nn", "lambda", 0),
        ("x", "lambda", 1),
        ("lambda", "lambda_", 0),
        ("lambda_", "self", 0),
    ]:
        g.connect(src, dst, port)
    names = python_code.attribute_names(g)
    assert names == {
        "x": "x_",
        "torch": "torch_",
        "nn": "nn_",
        "lambda": "lambda__",
        "lambda_": "lambda_",
        "self": "self_",
    }
    _check_export(g, tmp_path / "py")
    # Names of nn.Module's own attributes cannot be node ids at all (core.graph.RESERVED_IDS).
    with pytest.raises(GraphError, match="reserved"):
        Graph().add_node("Input", {"shape": [6]}, node_id="training")


def test_only_layers_that_lead_to_the_output_are_written(tmp_path: Path) -> None:
    graph = make_project("mlp").graph
    graph.add_node("Linear", {"units": 7}, node_id="side_branch")
    graph.connect("input_1", "side_branch")
    source = (
        _check_export(graph, tmp_path / "py")
        .folder.joinpath("model.py")
        .read_text(encoding="utf-8")
    )
    assert "side_branch" not in source
    graph.remove_node("output_1")
    with pytest.raises(ExportError, match="no Output"):
        export_python(graph, {}, None, tmp_path / "broken")
    assert not (tmp_path / "broken").exists()


# --- writing -------------------------------------------------------------------------------------


def test_a_failed_verification_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = make_project("mlp").graph
    state = _random_state(graph)
    out = tmp_path / "export"
    with monkeypatch.context() as m:
        m.setattr(python_code, "TOLERANCE", -1.0)  # no difference is small enough
        with pytest.raises(ExportError, match="does not match"):
            export_python(graph, state, None, out)
    assert list(tmp_path.iterdir()) == []

    export_python(graph, state, None, out)
    before = (out / "weights.pt").read_bytes()
    changed = {k: v + 1 if v.is_floating_point() else v for k, v in state.items()}
    with monkeypatch.context() as m:
        m.setattr(python_code, "TOLERANCE", -1.0)
        with pytest.raises(ExportError):
            export_python(graph, changed, None, out)
    assert (out / "weights.pt").read_bytes() == before  # the earlier export is kept
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_an_earlier_export_is_replaced_but_not_other_folders(tmp_path: Path) -> None:
    graph = make_project("mlp").graph
    state = _random_state(graph)
    out = tmp_path / "export"
    export_python(graph, state, None, out)
    (out / "stale.txt").write_text("left from before")
    export_python(graph, state, None, out)
    assert not (out / "stale.txt").exists()
    other = tmp_path / "documents"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(ExportError, match="not an earlier Python export"):
        export_python(graph, state, None, other)
    assert (other / "thesis.tex").read_text() == "precious"


def test_weights_of_another_model_are_refused(tmp_path: Path) -> None:
    graph = make_project("mlp").graph
    with pytest.raises(ExportError, match="weights"):
        export_python(graph, _random_state(make_project("lenet").graph), None, tmp_path / "a")
    wrong_shapes = _random_state(graph)
    wrong_shapes["layers.linear_1.weight"] = torch.zeros(3, 3)
    with pytest.raises(ExportError, match="do not fit"):
        export_python(graph, wrong_shapes, None, tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


# --- train.py ------------------------------------------------------------------------------------


@dataclass
class Trained:
    """A project trained by the workbench for one epoch, and its Python export."""

    kind: str
    graph: Graph
    config: dict[str, Any]
    state: dict[str, torch.Tensor]
    folder: Path


def _image_folder(root: Path) -> Path:
    """A small image dataset of three classes in assorted modes (RGB, RGBA, L, P, JPEG)."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(["circle", "square", "star"]):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(10):
            pixels = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
            pixels[..., c] = 255 - 20 * i
            im = Image.fromarray(pixels, "RGB")
            if i % 5 == 1:
                im = im.convert("RGBA")
                im.putalpha(128)
            elif i % 5 == 2:
                im = im.convert("L")
            elif i % 5 == 3:
                im = im.convert("P")
            suffix = ".jpg" if i % 5 == 4 else ".png"
            im.save(folder / f"{i:02d}{suffix}")
    return root


def _train(root: Path, kind: str, template: str, data: Path) -> Trained:
    project = root / f"{kind}.wbproj"
    save_project(make_project(template), project)
    result = train_project(project, data=data, epochs=1)
    config = RunDir(result.run_dir).read_config()
    state = load_checkpoint(result.run_dir / "checkpoints" / "last.pt")["model"]
    graph = Graph.from_dict(config["graph"])
    folder = root / f"{kind}_python"
    report = export_python(graph, state, config, folder, project_name=kind)
    assert [p.name for p in report.files] == [
        "README.md",
        "config.json",
        "model.py",
        "train.py",
        "train_arrays.py",
        "train_decode.py",
        "train_encode.py",
        "train_images.py",
        "train_optim.py",
        "train_split.py",
        "train_tables.py",
        "train_text.py",
        "weights.pt",
    ]
    return Trained(kind, graph, config, state, folder)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Trained]]:
    """Workbench runs of an image folder (resnet), a table of classes (fruit.csv, mlp) and one
    of prices (housing.csv, mlp), token ids (reviews.npz, gru) and float sequences (waves.npz, rnn)."""
    root = tmp_path_factory.mktemp("trained")
    with (
        pytest.MonkeyPatch.context() as mp
    ):  # module scope: the autouse settings fixture is not active yet
        mp.setenv("WORKBENCH_CONFIG_DIR", str(root / "config"))
        mp.setenv("WORKBENCH_CACHE_DIR", str(root / "cache"))
        images = _image_folder(root / "images")
        samples = root / "samples"
        yield {
            "image": _train(root, "image", "resnet", images),
            "table": _train(root, "table", "mlp", sample_path("tabular", samples)),
            "regression": _train(root, "regression", "mlp", sample_path("housing", samples)),
            "tokens": _train(root, "tokens", "gru", sample_path("sequences", samples)),
            "sequences": _train(root, "sequences", "rnn", sample_path("timeseries", samples)),
        }


def _train_module(t: Trained) -> ModuleType:
    return _import(t.folder / "train.py")


@pytest.mark.parametrize("kind", ["image", "table", "regression", "tokens", "sequences"])
def test_train_py_reads_the_data_exactly_as_the_workbench_does(
    kind: str, trained: dict[str, Trained]
) -> None:
    t = trained[kind]
    module = _train_module(t)
    config = json.loads((t.folder / "config.json").read_text(encoding="utf-8"))
    assert config["preprocessing"] == t.config["preprocessing"]
    datasets, notes = module.load_datasets(config, Path(config["data"]["path"]))
    assert notes == []
    settings = DataSettings.from_dict(config["data"])
    prepared = open_dataset(settings.path, settings.target).prepare(settings)
    to_input = module.make_input_transform(config, torch.device("cpu"), 0)
    for split in ("train", "val", "test"):
        xs, ys = zip(*getattr(prepared, split).iter_batches(10**6), strict=True)
        x, y = next(iter(torch.utils.data.DataLoader(datasets[split], batch_size=10**6)))
        assert torch.equal(y, torch.cat(ys)), split  # the same samples in the same order
        assert torch.equal(to_input(x, False), torch.cat(xs)), split  # bit for bit the same input


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["image", "table", "tokens", "sequences"])
def test_train_py_trains_one_epoch_on_its_own(
    kind: str, trained: dict[str, Trained], tmp_path: Path
) -> None:
    t = trained[kind]
    args = ["--epochs", "1", "--out", str(tmp_path / "trained.pt")]
    if kind == "table":  # the dataset moved, and training continues from the exported weights
        moved = tmp_path / "elsewhere" / "fruit.csv"
        moved.parent.mkdir()
        shutil.copy(t.config["data"]["path"], moved)
        args += ["--data", str(moved), "--init", "weights.pt"]
    if kind == "tokens":
        args += ["--batch-size", "64", "--seed", "3", "--workers", "1"]
    out = _run([sys.executable, "train.py", *args], t.folder)
    assert "epoch 1/1  train_loss" in out and "val_loss" in out and "test_loss" in out, out
    metrics = ("val_mae", "val_rmse", "val_r2") if kind == "sequences" else ("val_accuracy",)
    assert all(m in out for m in metrics), out
    model = _import(t.folder / "model.py").Model()
    model.load_state_dict(torch.load(tmp_path / "trained.pt", weights_only=True))


@pytest.mark.slow
def test_train_py_runs_under_torchrun_with_two_processes(
    trained: dict[str, Trained], tmp_path: Path
) -> None:
    t = trained["image"]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "train.py",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--out",
        str(tmp_path / "ddp.pt"),
    ]
    out = _run(command, t.folder)
    assert "x 2 processes" in out and out.count("epoch 1/1") == 1, out  # only rank 0 prints
    model = _import(t.folder / "model.py").Model()
    model.load_state_dict(torch.load(tmp_path / "ddp.pt", weights_only=True))


def _run(command: list[str], cwd: Path) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_train_py_schedule_loss_and_optimizer_are_the_workbench_s(
    trained: dict[str, Trained],
) -> None:
    module = _train_module(trained["table"])
    config = json.loads((trained["table"].folder / "config.json").read_text(encoding="utf-8"))
    # one copy: the exported folder's train_optim.py is the module the workbench trains with
    exported = (trained["table"].folder / "train_optim.py").read_bytes()
    assert exported == Path(optim.train_optim.__file__).read_bytes()
    assert issubclass(optim.LRSchedule, optim.train_optim.LRSchedule)
    model = torch.nn.Linear(3, 2)
    for schedule in SCHEDULES:
        for warmup in (0, 2):
            cfg = TrainConfig(
                epochs=6,
                schedule=schedule,
                warmup_epochs=warmup,
                min_lr=1e-4,
                step_size=2,
                plateau_patience=0,
            )
            steps = 5
            ours = module.train_optim.LRSchedule(
                torch.optim.SGD(model.parameters(), lr=cfg.lr),
                cfg.to_dict(),
                cfg.epochs,
                steps,
                False,
            )
            theirs = optim.LRSchedule(torch.optim.SGD(model.parameters(), lr=cfg.lr), cfg, steps)
            for step in range(cfg.epochs * steps):
                ours.apply(step)
                theirs.apply(step)
                assert ours.factor(step) == theirs.factor(step), (schedule, warmup, step)
                if step % steps == steps - 1:  # an epoch ends with a worse metric each time
                    ours.epoch_end(1.0 + step)
                    theirs.epoch_end(1.0 + step)
    out = torch.randn(6, 4)
    classes, values = torch.tensor([0, 1, 2, 3, 1, 0]), torch.randn(6, 4)
    for loss in LOSSES[1:]:
        cfg = TrainConfig(loss=loss, label_smoothing=0.1, huber_delta=0.5)
        target = classes if loss in ("cross_entropy", "bce_with_logits") else values
        want = optim.make_loss(loss, cfg, 4)(out, target)
        assert torch.equal(module.make_loss(loss, cfg.to_dict())(out, target), want)
    assert list(config["optimizers"]) == list(OPTIMIZERS)
    for name in OPTIMIZERS:
        cfg = TrainConfig(optimizer=name, weight_decay=0.01)
        document = {**config, "training": cfg.to_dict()}
        ours_opt = module.make_optimizer(list(model.parameters()), document)
        theirs_opt = optim.make_optimizer(model.parameters(), cfg, fused=False)
        assert type(ours_opt) is type(theirs_opt)
        assert ours_opt.defaults == theirs_opt.defaults
    # the L1 penalty: the same weights (biases left out) and the same sum
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    params = list(net.parameters())
    weights = module.train_optim.l1_weights(params)
    assert [w.shape for w in weights] == [(4, 3), (2, 4)]
    assert torch.equal(module.train_optim.l1_penalty(weights), optim.l1_penalty(params))
    with pytest.raises(SystemExit, match="unknown optimizer 'lion'"):
        module.make_optimizer(
            list(model.parameters()), {**config, "training": {"optimizer": "lion"}}
        )


AUGMENTATIONS = [
    {"hflip": True, "rotation": 0.0, "resized_crop": False, "brightness": 0.0, "contrast": 0.0},
    {"hflip": False, "rotation": 15.0, "resized_crop": False, "brightness": 0.0, "contrast": 0.3},
    {"hflip": True, "rotation": 10.0, "resized_crop": True, "brightness": 0.2, "contrast": 0.2},
]


def test_train_py_augments_images_as_the_workbench_does(
    trained: dict[str, Trained], tmp_path: Path
) -> None:
    from workbench.data.base import Augment
    from workbench.data.image_pipeline import ImageBatchTransform

    t = trained["image"]
    config = json.loads((t.folder / "config.json").read_text(encoding="utf-8"))
    pre = config["preprocessing"]
    module = _train_module(t)
    x = torch.randint(0, 256, (5, 3, *pre["size"]), dtype=torch.uint8)
    for k, augment in enumerate(AUGMENTATIONS):
        config["data"]["augment"] = augment
        to_input = module.make_input_transform(config, torch.device("cpu"), seed=k)
        workbench = ImageBatchTransform(pre["mean"], pre["std"], Augment(**augment))
        want = workbench(x, torch.Generator().manual_seed(k))
        assert torch.equal(to_input(x, True), want), augment
        assert torch.equal(
            to_input(x, False), ImageBatchTransform(pre["mean"], pre["std"], None)(x, None)
        )


def test_generated_code_is_lint_clean(trained: dict[str, Trained], tmp_path: Path) -> None:
    folders = [t.folder for t in trained.values()]
    for name in ("transformer", "resnet"):
        export_python(
            make_project(name).graph, _random_state(make_project(name).graph), None, tmp_path / name
        )
        folders.append(tmp_path / name)
    ruff = [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--no-cache",
        "--isolated",
        "--line-length",
        "100",
    ]
    for folder in folders:
        command = [*ruff, "--select", "E,F,W,I,B,UP", "."]
        proc = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{folder.name}: {proc.stdout}{proc.stderr}"


def test_readme_and_config_describe_the_export(trained: dict[str, Trained]) -> None:
    t = trained["image"]
    readme = (t.folder / "README.md").read_text(encoding="utf-8")
    for text in (
        "python train.py",
        "torchrun --standalone --nproc_per_node=4 train.py",
        "--epochs",
        "--data",
        "from model import Model",
        "weights_only=True",
    ):
        assert text in readme
    config = json.loads((t.folder / "config.json").read_text(encoding="utf-8"))
    assert config["format"] == python_code.FORMAT
    assert config["classes"] == ["circle", "square", "star"]
    assert config["training"]["epochs"] == 1 and config["training"]["loss"] == "cross_entropy"
    assert config["data"]["path"] == t.config["data"]["path"]
    model = (t.folder / "model.py").read_text(encoding="utf-8")
    assert 'CLASSES = ("circle", "square", "star")' in model


def test_a_run_without_a_dataset_gets_no_train_py(tmp_path: Path) -> None:
    graph = make_project("mlp").graph
    report = export_python(graph, _random_state(graph), {"training": {}}, tmp_path / "py")
    assert [p.name for p in report.files] == ["README.md", "model.py", "weights.pt"]
    assert any("no dataset" in n for n in report.notes)


def test_names_with_quotes_and_backslashes_stay_inside_their_strings(
    trained: dict[str, Trained], tmp_path: Path
) -> None:
    t = trained["table"]
    config = {**t.config, "classes": ['a"""b', "c\\d\\n", "\u00e9t\u00e9"]}
    report = export_python(
        t.graph, t.state, config, tmp_path / "py", project_name='my "best"\\ model\n"""'
    )
    for name in ("model.py", *python_code.TRAIN_MODULES):
        compile((report.folder / name).read_text(encoding="utf-8"), name, "exec")
    module = _import(report.folder / "model.py")
    assert module.CLASSES == ('a"""b', "c\\d\\n", "\u00e9t\u00e9")
