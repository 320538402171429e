"""The model graph: ports, edges, cycles, topological order, copy and paste."""

from __future__ import annotations

import pytest

from workbench.core.graph import Edge, Graph, GraphError


def chain() -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [4]}, node_id="inp")
    g.add_node("Linear", {"units": 3}, node_id="lin")
    g.add_node("Output", {"num_classes": 2}, node_id="out")
    g.connect("inp", "lin")
    g.connect("lin", "out")
    return g


def test_ids_are_fresh_and_validated() -> None:
    g = Graph()
    a = g.add_node("Linear")
    b = g.add_node("Linear")
    assert (a.id, b.id) == ("linear_1", "linear_2")
    with pytest.raises(GraphError, match="already used"):
        g.add_node("Linear", node_id="linear_1")
    with pytest.raises(GraphError, match="letters"):
        g.add_node("Linear", node_id="1bad")
    with pytest.raises(GraphError, match="unknown layer type"):
        g.add_node("NoSuchLayer")
    with pytest.raises(GraphError, match="at least 1"):
        g.add_node("Linear", {"units": 0})


def test_connect_refuses_cycles_and_missing_ports() -> None:
    g = chain()
    with pytest.raises(GraphError, match="cycle"):
        g.connect("lin", "lin")
    g.add_node("Linear", node_id="l2")
    g.connect("lin", "l2")
    with pytest.raises(GraphError, match="cycle"):
        g.connect("l2", "lin")
    with pytest.raises(GraphError, match="no inputs"):
        g.connect("lin", "inp")
    with pytest.raises(GraphError, match="no input port 1"):
        g.connect("inp", "lin", 1)
    with pytest.raises(GraphError, match="Output is where the model ends"):
        g.connect("out", "l2")


def test_connecting_an_occupied_port_replaces_the_edge() -> None:
    g = chain()
    g.add_node("Input", {"shape": [4]}, node_id="inp2")
    g.connect("inp2", "lin")
    assert g.inputs_of("lin") == [Edge("inp2", "lin", 0)]
    assert len([e for e in g.edges if e.dst == "lin"]) == 1


def test_remove_node_drops_its_edges_and_topo_order_is_forward() -> None:
    g = chain()
    order = g.topo_order()
    assert order.index("inp") < order.index("lin") < order.index("out")
    g.remove_node("lin")
    assert g.edges == []
    with pytest.raises(GraphError):
        g.remove_node("lin")


def test_dict_round_trip_and_paste() -> None:
    g = chain()
    assert Graph.from_dict(g.to_dict()).to_dict() == g.to_dict()
    new = g.paste(g.subgraph_dict(["lin", "out"]))
    assert len(new) == 2 and not set(new) & {"lin", "out"}
    assert Edge(new[0], new[1], 0) in g.edges
    assert g.nodes[new[0]].pos == (40.0, 40.0)
