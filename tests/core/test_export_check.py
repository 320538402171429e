"""The builder's export checks: what stops or limits an export, known before Export is pressed."""

from __future__ import annotations

from workbench.core.export_check import MAX_OPSET, MIN_OPSET, export_issues, is_sequence_input
from workbench.core.graph import Graph
from workbench.core.templates import TEMPLATES


def _tokens(pe_kind: str, flatten: bool = False) -> Graph:
    g = Graph()
    ids = [
        g.add_node("Input", {"shape": [12], "dtype": "int64"}).id,
        g.add_node("Embedding", {"num_embeddings": 50, "embedding_dim": 8}).id,
        g.add_node("PositionalEncoding", {"kind": pe_kind}).id,
        g.add_node("Flatten").id if flatten else g.add_node("GlobalAvgPool", {"over": "time"}).id,
        g.add_node("Output", {"num_classes": 2}).id,
    ]
    for a, b in zip(ids, ids[1:], strict=False):
        g.connect(a, b)
    return g


def test_templates_have_no_errors_and_token_models_warn_about_the_vocabulary() -> None:
    for name, template in TEMPLATES.items():
        issues = export_issues(template.build())
        assert not [i for i in issues if i.severity == "error"], (name, issues)
        vocab = [i for i in issues if "vocabulary" in i.message]
        assert bool(vocab) == (name in ("gru", "transformer")), (name, issues)


def test_settings_that_fix_the_sequence_length_are_warned_about() -> None:
    assert not [i for i in export_issues(_tokens("sinusoidal")) if "sequence" in i.message]
    learned = [i for i in export_issues(_tokens("learned")) if "sequence length" in i.message]
    assert [i.node for i in learned] == ["positionalencoding_1"] and "exactly 12 steps" in learned[
        0
    ].message
    flat = [
        i for i in export_issues(_tokens("sinusoidal", flatten=True)) if "time axis" in i.message
    ]
    assert [i.node for i in flat] == ["flatten_1"]
    # other formats have no such limits
    assert export_issues(_tokens("learned"), "python") == []
    assert export_issues(_tokens("learned"), "weights") == []


def test_errors_come_first_and_block() -> None:
    g = TEMPLATES["lenet"].build()
    for opset in (MIN_OPSET - 1, MAX_OPSET + 1):
        issues = export_issues(g, "onnx", opset)
        assert (
            issues[0].severity == "error" and f"opset {opset} is not supported" in issues[0].message
        )
    assert export_issues(g, "onnx", MIN_OPSET) == [] and export_issues(g, "onnx", MAX_OPSET) == []
    g.remove_node("flatten_1")  # Linear after a convolution: a shape error
    issues = export_issues(g, "weights")
    assert (
        len(issues) == 1
        and issues[0].severity == "error"
        and "error(s) to fix first" in issues[0].message
    )
    assert export_issues(g, "zip")[0].message.startswith("unknown export format")


def test_sequence_inputs() -> None:
    assert is_sequence_input("int64", [40]) and is_sequence_input("float32", [50, 3])
    assert not is_sequence_input("float32", [12]) and not is_sequence_input("float32", [3, 32, 32])
