"""Whole-graph shape inference: shapes, counts and issues pinned to nodes and edges."""

from __future__ import annotations

from workbench.core.graph import Edge, Graph
from workbench.core.shapes import Analysis, Issue, analyze, worst_severity
from workbench.core.templates import make_project


def test_lenet_shapes_and_counts() -> None:
    a = analyze(make_project("lenet").graph)
    assert a.ok, a.issues
    shapes = {nid: info.output.shape for nid, info in a.nodes.items()}
    assert shapes["conv2d_1"] == (16, 24, 24)
    assert shapes["maxpool2d_1"] == (16, 12, 12)
    assert shapes["conv2d_2"] == (32, 8, 8)
    assert shapes["flatten_1"] == (512,)
    assert shapes["output_1"] == (10,)
    assert a.nodes["conv2d_1"].params == 16 * 25 + 16
    assert a.nodes["linear_1"].params == 512 * 128 + 128
    assert a.nodes["conv2d_1"].flops == 2 * 16 * 24 * 24 * 25 + 16 * 24 * 24  # MACs and bias
    assert a.total_params == sum(i.params for i in a.nodes.values())
    assert a.activation_bytes(32) == 32 * a.activation_bytes(1)


def test_linear_after_conv_says_insert_flatten_and_is_pinned() -> None:
    g = Graph()
    g.add_node("Input", {"shape": [1, 28, 28]}, node_id="inp")
    g.add_node("Conv2d", {"out_channels": 16, "kernel_size": 5}, node_id="conv")
    g.add_node("MaxPool2d", {"kernel_size": 2}, node_id="pool")
    g.add_node("Conv2d", {"out_channels": 16, "kernel_size": 3}, node_id="conv2")
    g.add_node("MaxPool2d", {"kernel_size": 2}, node_id="pool2")
    g.add_node("Linear", node_id="lin")
    g.add_node("Output", node_id="out")
    for a, b in [
        ("inp", "conv"),
        ("conv", "pool"),
        ("pool", "conv2"),
        ("conv2", "pool2"),
        ("pool2", "lin"),
        ("lin", "out"),
    ]:
        g.connect(a, b)
    a = analyze(g)
    (issue,) = a.errors
    assert issue.node == "lin" and issue.edge == Edge("pool2", "lin", 0)
    assert (
        issue.message
        == "Linear needs (N, features) but gets (N, 16, 5, 5): insert a Flatten before it"
    )
    # Downstream of the error nothing more is reported, and shapes up to it are known.
    assert a.nodes["out"].output is None
    assert a.nodes["pool2"].output.shape == (16, 5, 5)


def test_missing_input_output_and_unconnected_ports() -> None:
    a = analyze(Graph())
    messages = " ".join(i.message for i in a.errors)
    assert "no Input" in messages and "no Output" in messages
    g = Graph()
    g.add_node("Input", {"shape": [4]}, node_id="inp")
    g.add_node("Add", node_id="add")
    g.add_node("Output", node_id="out")
    g.connect("inp", "add", 0)
    g.connect("add", "out")
    (issue,) = analyze(g).errors
    assert issue.node == "add" and "input 2" in issue.message


def test_unconnected_side_branch_is_a_warning_not_an_error() -> None:
    g = make_project("mlp").graph
    g.add_node("Linear", node_id="stray")
    a = analyze(g)
    assert a.ok
    assert {i.severity for i in a.issues_for("stray")} == {"warning"}


def test_skip_connection_with_mismatched_channels() -> None:
    g = Graph()
    g.add_node("Input", {"shape": [3, 8, 8]}, node_id="inp")
    g.add_node("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, node_id="c")
    g.add_node("Add", node_id="add")
    g.add_node("GlobalAvgPool", node_id="gap")
    g.add_node("Output", node_id="out")
    g.connect("inp", "c")
    g.connect("inp", "add", 0)
    g.connect("c", "add", 1)
    g.connect("add", "gap")
    g.connect("gap", "out")
    (issue,) = analyze(g).errors
    assert (
        issue.node == "add" and "(N, 3, 8, 8)" in issue.message and "(N, 16, 8, 8)" in issue.message
    )


def test_issues_by_node_edge_errors_and_the_worst_severity() -> None:
    issues = [
        Issue("lin", "first", "error", Edge("a", "lin")),
        Issue("lin", "second", "error", Edge("a", "lin")),
        Issue("stray", "unused", "warning", Edge("b", "stray")),
        Issue(None, "no Output"),
    ]
    a = Analysis(nodes={}, issues=issues, order=[])
    assert a.issues_by_node() == {"lin": issues[:2], "stray": [issues[2]]}
    # Only errors mark a connection; the last one pinned to it is shown.
    assert a.edge_errors() == {Edge("a", "lin"): "second"}
    assert worst_severity(issues) == "error"
    assert worst_severity(issues[2:3]) == "warning"
    assert worst_severity([]) is None
