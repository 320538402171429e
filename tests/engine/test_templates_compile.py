"""Every template compiles, and the inferred shapes and counts match torch."""

from __future__ import annotations

import pytest
import torch

from workbench.core.shapes import analyze
from workbench.core.templates import TEMPLATES, make_project
from workbench.engine.compiler import CompileError, compile_graph, count_parameters


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_compiles_with_matching_params_and_shape(name: str) -> None:
    graph = make_project(name).graph
    a = analyze(graph)
    assert a.ok, a.errors
    model = compile_graph(graph).eval()
    assert count_parameters(model) == a.total_params
    inp = graph.of_type("Input")[0]
    shape = (4, *inp.params["shape"])
    x = torch.randint(0, 100, shape) if inp.params["dtype"] == "int64" else torch.randn(shape)
    with torch.no_grad():
        y = model(x)
    assert tuple(y.shape) == (4, *a.nodes[graph.of_type("Output")[0].id].output.shape)


def test_compile_refuses_a_graph_with_errors() -> None:
    graph = make_project("lenet").graph
    graph.remove_node("flatten_1")
    graph.connect("maxpool2d_2", "linear_1")
    with pytest.raises(CompileError, match="insert a Flatten"):
        compile_graph(graph)


def test_reserved_node_ids_cover_every_module_dict_attribute() -> None:
    import torch.nn as nn

    from workbench.core.graph import RESERVED_IDS, Graph, GraphError

    attributes = {n for n in dir(nn.ModuleDict()) if not n.startswith("__")}
    assert attributes <= RESERVED_IDS, sorted(attributes - RESERVED_IDS)
    g = Graph()
    with pytest.raises(GraphError, match="reserved"):
        g.add_node("ReLU", node_id="training")
