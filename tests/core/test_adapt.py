"""Whether a dataset fits a model, and which template to offer when it does not."""

from __future__ import annotations

from workbench.core.adapt import adapt_graph, check_fit, use_template
from workbench.core.graph import Graph
from workbench.core.shapes import analyze
from workbench.core.templates import TEMPLATES


def test_a_table_does_not_fit_lenet_and_the_mlp_template_is_offered():
    check = check_fit(
        TEMPLATES["lenet"].build(), (4,), "float32", "classification", 3, data_kind="table"
    )
    assert not check.fits
    assert check.template == "mlp"
    assert check.action == "Use the MLP template for this table"
    assert "does not fit this model" in check.problem and "Conv2d" in check.problem


def test_data_that_fits_after_adapting_passes():
    assert check_fit(
        TEMPLATES["mlp"].build(), (4,), "float32", "regression", None, data_kind="table"
    ).fits
    assert check_fit(
        TEMPLATES["lenet"].build(), (3, 32, 32), "float32", "classification", 5, data_kind="images"
    ).fits


def test_images_into_an_mlp_offer_lenet_and_tokens_offer_a_sequence_model():
    images = check_fit(
        TEMPLATES["mlp"].build(), (3, 32, 32), "float32", "classification", 5, data_kind="images"
    )
    assert images.template == "lenet" and images.action == "Use the LeNet template for these images"
    tokens = check_fit(
        TEMPLATES["mlp"].build(),
        (40,),
        "int64",
        "classification",
        2,
        vocab_size=50,
        data_kind="arrays",
    )
    assert tokens.template == "gru"


def test_a_model_without_input_is_not_judged():
    assert check_fit(Graph(), (4,), "float32", "classification", 3).fits


def test_use_template_replaces_the_graph_in_place_and_the_data_then_fits():
    g = TEMPLATES["lenet"].build()
    use_template(g, "mlp")
    assert [n.type for n in g][:2] == ["Input", "Linear"]
    adapt_graph(g, (4,), "float32", "classification", 3)
    assert analyze(g).ok
