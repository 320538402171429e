"""The export-format registry, and the two formats added through it: int8 ONNX and a Triton model repository."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from workbench.cli import build_parser, main
from workbench.core.export_formats import (
    EXPORT_FORMATS,
    default_file_name,
    path_for_format,
    stem_of,
)
from workbench.data.samples import generate_sample
from workbench.engine.runs import train_project
from workbench.export import quantized, service, triton
from workbench.export.onnx_export import ExportError


def test_file_naming_comes_from_the_registry() -> None:
    assert default_file_name("LeNet CNN", "onnx-int8") == "LeNet_CNN_int8.onnx"
    assert default_file_name("lenet", "triton") == "lenet_triton"
    assert path_for_format(Path("/a/net_int8.onnx"), "onnx") == Path("/a/net.onnx")
    assert path_for_format(Path("/a/net.onnx"), "onnx-int8") == Path("/a/net_int8.onnx")
    assert path_for_format(Path("/a/net_triton"), "weights") == Path("/a/net.pt")
    assert path_for_format(Path("/a/net.pth"), "triton") == Path("/a/net_triton")
    assert stem_of("notes.txt") == "notes.txt"


def test_the_export_command_offers_every_registered_format() -> None:
    export = build_parser()._subparsers._group_actions[0].choices["export"]  # type: ignore[union-attr]
    action = next(a for a in export._actions if "--format" in a.option_strings)
    assert list(action.choices) == list(EXPORT_FORMATS)
    assert all(f"{name}:" in action.help for name in EXPORT_FORMATS)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("formats")
    projects = {}
    for name, sample in (("mlp", "tabular"), ("mlp-housing", "housing")):
        (root / sample).mkdir()
        data = generate_sample(sample, root / sample)
        path = root / f"{name}.wbproj"
        assert main(["new", "--template", "mlp", str(path)]) == 0
        assert train_project(path, data=data, epochs=2, batch_size=64, seed=1).status == "finished"
        projects[name] = path
    return projects


@pytest.mark.parametrize("name", ["mlp", "mlp-housing"])
def test_int8_export_is_smaller_and_agrees_with_the_float_model(
    name: str, trained: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "m_int8.onnx"
    result = service.export_trained(service.load_trained(trained[name]), "onnx-int8", out)
    assert result.path == out and [p.name for p in tmp_path.iterdir()] == [
        out.name
    ]  # no staging files left
    d = result.details
    assert d["int8_bytes"] < d["float_bytes"] * 0.6, d
    if name == "mlp":
        assert d["agreement"] >= quantized.MIN_AGREEMENT
        assert "top-1 agreement" in result.lines[2]
    else:
        assert d["relative_error"] <= quantized.MAX_RELATIVE_ERROR
        assert "spread" in result.lines[2]
    assert "of the float file's" in result.lines[0]
    model = onnx.load(str(out))
    assert any(
        n.op_type in ("MatMulInteger", "DynamicQuantizeLinear", "ConvInteger")
        for n in model.graph.node
    )
    props = {p.key: p.value for p in model.metadata_props}
    assert props["quantization"].startswith("dynamic int8") and "task" in props
    from workbench.deploy.predict import Predictor

    assert (
        Predictor(out)
        .run(np.zeros((3, *Predictor(out).input_shape[1:]), dtype=np.float32))
        .shape[0]
        == 3
    )


def test_int8_that_disagrees_keeps_the_old_file(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m_int8.onnx"
    out.write_bytes(b"earlier export")
    monkeypatch.setattr(quantized, "MIN_AGREEMENT", 1.01)  # nothing can agree this well
    with pytest.raises(ExportError, match="top-1 agreement"):
        service.export_trained(service.load_trained(trained["mlp"]), "onnx-int8", out)
    assert out.read_bytes() == b"earlier export" and [p.name for p in tmp_path.iterdir()] == [
        out.name
    ]


def test_triton_repository_parses_with_the_model_config_schema(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    out = tmp_path / "repo"
    assert main(["export", str(trained["mlp"]), "--format", "triton", "-o", str(out)]) == 0
    model_dir = out / "mlp"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "mlp/1/model.onnx",
        "mlp/config.pbtxt",
        "mlp/labels.txt",
    ]
    config = text_format.Parse(
        (model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    assert config.name == "mlp" and config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == triton.MAX_BATCH_SIZE and config.HasField("dynamic_batching")
    model = onnx.load(str(model_dir / "1" / "model.onnx"))
    (inp,), (outp,) = config.input, config.output
    assert inp.name == model.graph.input[0].name and outp.name == model.graph.output[0].name
    assert (
        inp.data_type == model_config_pb2.TYPE_FP32 and outp.data_type == model_config_pb2.TYPE_FP32
    )
    assert (
        list(inp.dims) == [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    )
    assert outp.label_filename == "labels.txt"
    assert len((model_dir / "labels.txt").read_text().splitlines()) == outp.dims[0]

    # a second export replaces the first; a folder that is not a Triton export is refused
    assert main(["export", str(trained["mlp"]), "--format", "triton", "-o", str(out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["repo"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an earlier Triton export"):
        service.export_trained(service.load_trained(trained["mlp"]), "triton", other)
    assert (other / "keep.txt").read_text() == "mine"


def test_triton_config_marks_symbolic_axes() -> None:
    text = triton.config_text(
        "seq",
        [{"name": "x", "data_type": "TYPE_INT64", "dims": [-1]}],
        [{"name": "y", "data_type": "TYPE_FP32", "dims": [3]}],
    )
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse(text, model_config_pb2.ModelConfig())
    assert (
        list(config.input[0].dims) == [-1]
        and config.input[0].data_type == model_config_pb2.TYPE_INT64
    )


def test_triton_export_interrupted_keeps_the_old_folder(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "repo"
    service.export_trained(service.load_trained(trained["mlp"]), "triton", out)
    before = (out / "mlp" / "config.pbtxt").read_text()
    calls = iter([False, False, False, True])  # cancelled at the last stage, before the swap
    with pytest.raises(ExportError, match="cancelled"):
        service.export_trained(
            service.load_trained(trained["mlp"]), "triton", out, cancelled=lambda: next(calls, True)
        )
    assert (out / "mlp" / "config.pbtxt").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["repo"]
