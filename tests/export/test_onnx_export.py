"""ONNX export: every template exports and verifies; a failed check leaves no file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from workbench.core.templates import TEMPLATES, make_project
from workbench.engine.compiler import compile_graph
from workbench.export import onnx_export
from workbench.export.onnx_export import ExportError, ExportReport, export_onnx

SEQUENCE_TEMPLATES = {"rnn", "gru", "transformer"}
# every sequence template keeps a symbolic sequence axis: the GRU natively, the RNN through
# the workbench::rnn op (onnx_ops), the Transformer because its sinusoidal positions are
# computed for the input's length
SYMBOLIC_SEQUENCE = {"rnn", "gru", "transformer"}


def _template(name: str) -> tuple[nn.Module, list[int], str]:
    graph = make_project(name).graph
    inp = graph.of_type("Input")[0]
    torch.manual_seed(0)
    return compile_graph(graph), list(inp.params["shape"]), str(inp.params["dtype"])


def test_sequence_templates_exist() -> None:
    assert SEQUENCE_TEMPLATES <= set(TEMPLATES)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_exports_and_verifies(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, shape, dtype = _template(name)
    out = tmp_path / f"{name}.onnx"
    report = export_onnx(model, shape, dtype, out, sequence_axis=name in SEQUENCE_TEMPLATES)

    assert isinstance(report, ExportReport)
    assert report.path == out and out.is_file()
    assert report.opset == 18
    assert report.batch_sizes_checked == (1, 7)
    assert 0.0 <= report.max_abs_diff <= 1e-4
    assert report.dynamic_axes[0] == "batch"
    assert report.seconds > 0
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind
    # the exporter's console noise is kept out of the user's way
    captured = capsys.readouterr()
    assert "[torch.onnx]" not in captured.out + captured.err

    proto = onnx.load(str(out))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    assert len(dims) == 1 + len(shape)
    assert any(o.domain in ("", "ai.onnx") and o.version == 18 for o in proto.opset_import)
    assert model.training  # the caller's model is not switched to eval mode

    if name in SEQUENCE_TEMPLATES:
        t = shape[0]
        if name in SYMBOLIC_SEQUENCE:
            assert report.dynamic_axes == {0: "batch", 1: "sequence"}
            assert report.sequence_lengths_checked == (t, t + 3)
            assert dims[1].dim_param == "sequence"
            # a length neither traced nor checked during the export
            x = (
                torch.randint(0, 1000, (3, 11))
                if dtype == "int64"
                else torch.randn(3, 11, *shape[1:])
            )
            session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
            got = session.run(None, {report.input_name: x.numpy()})[0]
            with torch.no_grad():
                want = model.eval()(x).numpy()
            np.testing.assert_allclose(got, want, atol=1e-4)
        else:
            assert report.dynamic_axes == {0: "batch"}
            assert report.sequence_lengths_checked == (t,)
            assert any(f"sequence length stays {t}" in n for n in report.notes), report.notes
    else:
        assert report.notes == []


def test_metadata_is_written(tmp_path: Path) -> None:
    model, shape, dtype = _template("mlp")
    out = tmp_path / "mlp.onnx"
    meta = {"task": "classification", "class_names": json.dumps(["a", "b", "c"])}
    export_onnx(model, shape, dtype, out, metadata=meta, opset=19)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["task"] == "classification"
    assert json.loads(props["class_names"]) == ["a", "b", "c"]
    assert props["input_name"] == "x"
    assert json.loads(props["input_shape"]) == ["batch", 20]
    assert props["input_dtype"] == "float32"
    assert props["opset"] == "19"


def test_difference_above_tolerance_keeps_the_older_file(tmp_path: Path) -> None:
    model, shape, dtype = _template("mlp")
    out = tmp_path / "mlp.onnx"
    out.write_bytes(
        b"an older export"
    )  # replaced only by a verified file; the error says none was written
    with pytest.raises(ExportError, match=r"differs from torch by up to") as info:
        export_onnx(model, shape, dtype, out, tolerance=-1.0)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert list(tmp_path.iterdir()) == [out] and out.read_bytes() == b"an older export"


def test_checker_failure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def reject(*_args: object, **_kwargs: object) -> None:
        raise onnx.checker.ValidationError("broken on purpose")

    monkeypatch.setattr(onnx.checker, "check_model", reject)
    model, shape, dtype = _template("mlp")
    out = tmp_path / "mlp.onnx"
    with pytest.raises(
        ExportError, match="checker rejects the file: ValidationError: broken on purpose"
    ):
        export_onnx(model, shape, dtype, out)
    assert list(tmp_path.iterdir()) == []


def test_exporter_error_is_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        print("lots of exporter noise")
        raise RuntimeError("unsupported operator foo\nlong traceback text")

    monkeypatch.setattr(torch.onnx, "export", fail)
    model, shape, dtype = _template("mlp")
    with pytest.raises(
        ExportError, match=r"^the ONNX exporter failed: RuntimeError: unsupported operator foo$"
    ):
        export_onnx(model, shape, dtype, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_unknown_dtype_is_refused(tmp_path: Path) -> None:
    model, shape, _ = _template("mlp")
    with pytest.raises(ExportError, match="unsupported input dtype"):
        export_onnx(model, shape, "complex64", tmp_path / "m.onnx")


def test_integer_inputs_stay_below_the_vocabulary() -> None:
    model, _, _ = _template("gru")
    assert onnx_export._vocab(model) == 1000
    assert onnx_export._vocab(nn.Linear(2, 2)) == 2


def _recurrent_graph(kind: str, **params: object) -> tuple[torch.nn.Module, list[int]]:
    from workbench.core.graph import Graph
    from workbench.engine.compiler import compile_graph

    g = Graph()
    a = g.add_node("Input", {"shape": [12, 3], "dtype": "float32"}).id
    b = g.add_node(kind, {"hidden_size": 5, **params}).id
    c = g.add_node("Output", {"task": "regression", "num_targets": 2}).id
    g.connect(a, b)
    g.connect(b, c)
    return compile_graph(g), [12, 3]


@pytest.mark.parametrize(
    "params",
    [
        {"num_layers": 1, "bidirectional": False, "nonlinearity": "tanh"},
        {"num_layers": 2, "bidirectional": True, "nonlinearity": "relu"},
        {"num_layers": 3, "bidirectional": True, "nonlinearity": "tanh", "dropout": 0.2},
    ],
)
def test_rnn_variants_keep_a_symbolic_sequence_axis(
    params: dict[str, object], tmp_path: Path
) -> None:
    model, shape = _recurrent_graph("RNN", **params)
    out = tmp_path / "rnn.onnx"
    report = export_onnx(model, shape, "float32", out, sequence_axis=True)
    assert report.dynamic_axes == {0: "batch", 1: "sequence"}, report.notes
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for n, t in ((1, 2), (5, 31)):
        x = torch.randn(n, t, 3)
        with torch.no_grad():
            want = model.eval()(x).numpy()
        np.testing.assert_allclose(
            session.run(None, {report.input_name: x.numpy()})[0], want, atol=1e-5
        )


def test_learned_positions_fix_the_sequence_length(tmp_path: Path) -> None:
    from workbench.core.graph import Graph
    from workbench.engine.compiler import compile_graph

    g = Graph()
    a = g.add_node("Input", {"shape": [10], "dtype": "int64"}).id
    e = g.add_node("Embedding", {"num_embeddings": 20, "embedding_dim": 8}).id
    pe = g.add_node("PositionalEncoding", {"kind": "learned"}).id
    pool = g.add_node("GlobalAvgPool", {"over": "time"}).id
    c = g.add_node("Output", {"task": "classification", "num_classes": 2}).id
    for src, dst in ((a, e), (e, pe), (pe, pool), (pool, c)):
        g.connect(src, dst)
    report = export_onnx(compile_graph(g), [10], "int64", tmp_path / "pe.onnx", sequence_axis=True)
    assert report.dynamic_axes == {0: "batch"}
    assert any("sequence length stays 10" in n and "learned" in n for n in report.notes), (
        report.notes
    )


class _Prices(torch.nn.Module):
    """A regression model whose outputs are in their own units: prices around 250,000."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * 80_000.0 + 250_000.0


def test_large_regression_outputs_are_compared_relatively(tmp_path: Path) -> None:
    from workbench.export.onnx_export import output_difference

    # float32 carries ~7 digits: outputs of 250,000 cannot agree to 1e-4 absolutely
    assert output_difference([250_000.02], [250_000.0]) == pytest.approx(0.02 / 250_000)
    assert output_difference([0.5002], [0.5]) == pytest.approx(2e-4)  # absolute up to 1
    assert output_difference([float("nan")], [1.0]) == float("inf")
    assert output_difference([], []) == 0.0
    torch.manual_seed(0)
    out = tmp_path / "prices.onnx"
    report = export_onnx(_Prices().eval(), (4,), "float32", out)
    assert out.is_file() and 0.0 <= report.max_abs_diff <= 1e-4
    assert "relative above" in report.summary()
