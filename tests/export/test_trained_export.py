"""Every template, trained on its sample dataset, exports to a verified ONNX file.

The export checks onnxruntime against torch at batch sizes 1 and 7 (and a second
sequence length for sequence models) and on real samples of the dataset, read from disk
and preprocessed the way ``workbench predict`` does; the metadata holds what
inference needs (task, classes, preprocessing, final metrics).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from workbench.cli import main
from workbench.core.templates import TEMPLATES
from workbench.data.samples import generate_sample
from workbench.deploy.metadata import read_metadata
from workbench.engine.runs import train_project
from workbench.export import service
from workbench.export.onnx_export import ExportError
from workbench.export.weights import load_weights

#: template -> (sample dataset, task, sequence length when the input has a time axis)
CASES = {
    "mlp": ("tabular", "classification", None),
    "lenet": ("shapes", "classification", None),
    "resnet": ("shapes", "classification", None),
    "rnn": ("timeseries", "regression", 50),
    "gru": ("sequences", "classification", 40),
    "transformer": ("sequences", "classification", 40),
}


def test_every_template_with_a_model_is_covered() -> None:
    assert set(CASES) == set(TEMPLATES) - {"empty"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One project per template (and mlp on the housing regression), trained one epoch."""
    root = tmp_path_factory.mktemp("trained")
    data: dict[str, Path] = {}
    projects: dict[str, Path] = {}
    for name, (sample, _, _) in {**CASES, "mlp-housing": ("housing", "regression", None)}.items():
        if sample not in data:
            (root / sample).mkdir()
            data[sample] = generate_sample(sample, root / sample)
        path = root / f"{name}.wbproj"
        assert main(["new", "--template", name.split("-")[0], str(path)]) == 0
        result = train_project(path, data=data[sample], epochs=1, batch_size=64, seed=1)
        assert result.status == "finished", result.status
        projects[name] = path
    return projects


@pytest.mark.slow
@pytest.mark.parametrize("name", [*CASES, "mlp-housing"])
def test_trained_template_exports_and_verifies(
    name: str, trained: dict[str, Path], tmp_path: Path
) -> None:
    project = trained[name]
    task = "regression" if name == "mlp-housing" else CASES[name][1]
    seq_len = CASES.get(name, (None, None, None))[2]
    out = tmp_path / f"{name}.onnx"
    t = service.load_trained(project)
    assert t.run is not None and t.checkpoint is not None and t.metrics["epoch"] == 1
    result = service.export_trained(t, "onnx", out)

    report = result.onnx
    assert report is not None and result.path == out and out.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no staging file left
    assert report.batch_sizes_checked == (1, 7)
    assert report.samples_checked == 16, result.notes
    assert report.samples_max_abs_diff is not None and report.samples_max_abs_diff <= 1e-4
    assert 0.0 <= report.max_abs_diff <= 1e-4
    if seq_len:
        assert report.dynamic_axes == {0: "batch", 1: "sequence"}
        assert report.sequence_lengths_checked == (seq_len, seq_len + 3)
    else:
        assert report.dynamic_axes == {0: "batch"}
    onnx.checker.check_model(str(out), full_check=True)

    info = read_metadata(out)
    assert info.task == task
    assert info.input_shape[0] == "batch" and info.input_name == report.input_name
    assert info.metrics["epoch"] == 1 and any(k.startswith("val_") for k in info.metrics)
    assert info.extra["run"] == t.run_id and info.extra["workbench_version"]
    kind = {"shapes": "image", "tabular": "table", "housing": "table"}.get(
        CASES.get(name, ("housing",))[0], "arrays"
    )
    assert info.kind == kind
    if task == "classification":
        assert (
            info.classes
            and info.output["activation"] == "softmax"
            and info.output["size"] == len(info.classes)
        )
    else:
        assert info.classes is None and info.output["activation"] == "none"

    # a batch size and sequence length that were neither traced nor checked during export
    inp = t.project.graph.of_type("Input")[0]
    shape = list(inp.params["shape"])
    if seq_len:
        shape[0] = seq_len - 7
    gen = torch.Generator().manual_seed(5)
    if inp.params["dtype"] == "int64":
        x = torch.randint(0, 50, (5, *shape), generator=gen)
    else:
        x = torch.randn(5, *shape, generator=gen)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {info.input_name: x.numpy()})[0]
    with torch.no_grad():
        want = t.inference_model().eval()(x).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    if task == "regression":
        # the file answers in the targets' own units: the network's standardized output, scaled back
        scale = info.preprocessing["target_scale"]
        with torch.no_grad():
            z = t.model.eval()(x).numpy()
        np.testing.assert_allclose(
            got, z * np.float32(scale["std"]) + np.float32(scale["mean"]), rtol=1e-5, atol=1e-4
        )

    # the same run as weights: loadable with weights_only and equal to the model's
    pt = tmp_path / f"{name}.pt"
    service.export_trained(t, "weights", pt)
    state, graph = load_weights(pt)
    assert graph == t.project.graph.to_dict()
    for key, value in t.model.state_dict().items():
        assert torch.equal(state[key], value)


def test_untrained_models_export_too(trained: dict[str, Path], tmp_path: Path) -> None:
    t = service.load_trained(trained["mlp"], untrained=True)
    assert t.run is None and "untrained" in t.describe()
    result = service.export_trained(t, "onnx", tmp_path / "mlp.onnx")
    assert result.onnx is not None and result.onnx.samples_checked == 0
    assert any("no dataset samples" in n for n in result.notes)
    info = read_metadata(tmp_path / "mlp.onnx")
    assert info.extra["run"] == "untrained" and info.classes == ["class 0", "class 1", "class 2"]


def test_a_file_that_fails_on_real_samples_is_not_kept(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m.onnx"
    out.write_bytes(b"an older export")
    monkeypatch.setattr(service, "_check_samples", lambda *a, **k: (16, 0.5, ""))
    with pytest.raises(ExportError, match="dataset's own samples.*not kept"):
        service.export_trained(service.load_trained(trained["mlp"]), "onnx", out)
    assert list(tmp_path.iterdir()) == [out]  # not the new file: the older one, unchanged
    assert out.read_bytes() == b"an older export"


def test_a_vanished_dataset_still_exports_with_a_note(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    t = service.load_trained(trained["mlp"])
    t.config = {**t.config, "data": {**t.config["data"], "path": str(tmp_path / "gone.csv")}}
    result = service.export_trained(t, "onnx", tmp_path / "m.onnx")
    assert result.onnx is not None and result.onnx.samples_checked == 0
    assert any("gone.csv is gone" in n for n in result.notes)


def test_export_errors_are_one_line(trained: dict[str, Path], tmp_path: Path) -> None:
    t = service.load_trained(trained["mlp"])
    for kwargs, match in (
        ({"opset": 17}, "opset 17 is not supported"),
        ({"opset": 26}, "opset 26 is not supported"),
    ):
        with pytest.raises(ExportError, match=match) as err:
            service.export_trained(t, "onnx", tmp_path / "m.onnx", **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(ExportError, match="no such folder"):
        service.export_trained(t, "onnx", tmp_path / "missing" / "m.onnx")
    (tmp_path / "folder").mkdir()
    with pytest.raises(
        ExportError, match=r"folder: is a folder; give a file name, such as .*mlp\.onnx"
    ):
        service.export_trained(t, "onnx", tmp_path / "folder")
    (tmp_path / "folder").rmdir()
    with pytest.raises(ExportError, match="no run 'nope'"):
        service.load_trained(trained["mlp"], "nope")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_prints_the_verification(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lenet.onnx"
    assert main(["export", str(trained["lenet"]), "-o", str(out), "--opset", "20"]) == 0
    text = capsys.readouterr().out
    assert "opset 20" in text and "batch sizes 1, 7" in text and "16 samples of the dataset" in text
    assert [o.version for o in onnx.load(str(out)).opset_import if o.domain in ("", "ai.onnx")] == [
        20
    ]
    assert main(["export", str(trained["lenet"]), "-o", str(out), "--opset", "11"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "opset 11 is not supported" in err


def test_a_run_exports_as_it_was_trained_after_the_model_is_edited(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    from workbench.core.project import load_project, save_project

    path = tmp_path / "edited.wbproj"
    project = load_project(trained["mlp"])
    project.graph.set_params("linear_1", {"units": 7})  # trained with 64 units
    save_project(project, path)
    runs = trained["mlp"].with_name("mlp.runs")
    import shutil

    shutil.copytree(runs, tmp_path / "edited.runs")
    t = service.load_trained(path)
    assert t.model_graph.nodes["linear_1"].params["units"] != 7
    assert any("edited after run" in n for n in t.notes)
    result = service.export_trained(t, "onnx", tmp_path / "m.onnx")
    assert any("edited after run" in n for n in result.notes)
    assert result.onnx is not None and result.onnx.samples_checked == 16


def test_image_samples_come_from_nested_folders_and_skip_broken_files(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    import shutil

    t = service.load_trained(trained["lenet"])
    source = service._dataset_path(t)
    assert source is not None
    data = tmp_path / "data"
    for split in ("train", "val"):  # a dataset that comes split in folders
        shutil.copytree(source, data / split)
    broken = data / "train" / "circle" / "aaa_broken.png"
    broken.write_bytes(b"not a png")
    t.config = {**t.config, "data": {**t.config["data"], "path": str(data)}}
    files, note = service.sample_files(t)
    assert len(files) == 16 and note == "" and broken in files
    assert {f.parent.parent.name for f in files} == {"train", "val"}
    result = service.export_trained(t, "onnx", tmp_path / "m.onnx")
    assert result.onnx is not None and result.onnx.samples_checked == 15  # the broken file skipped


def test_cli_exports_an_untrained_model(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "u.onnx"
    assert main(["export", str(trained["mlp"]), "--untrained", "-o", str(out)]) == 0
    assert (
        "untrained model" in capsys.readouterr().out
        and read_metadata(out).extra["run"] == "untrained"
    )
    assert main(["export", str(trained["mlp"]), "--untrained", "--run", "x", "-o", str(out)]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_an_image_index_gives_its_listed_images_as_samples(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    from workbench.data.images import index_image_paths

    t = service.load_trained(trained["lenet"])
    folder = service._dataset_path(t)
    assert folder is not None
    images = sorted(folder.glob("*/*.png"))[:30]
    index = tmp_path / "index.csv"
    index.write_text(
        "path,label\n" + "".join(f"{p},{p.parent.name}\n" for p in images) + "gone.png,circle\n"
    )
    assert index_image_paths(index, 16) == images[:16]
    t.config = {**t.config, "data": {**t.config["data"], "path": str(index)}}
    result = service.export_trained(t, "onnx", tmp_path / "m.onnx")
    assert result.onnx is not None and result.onnx.samples_checked == 16
