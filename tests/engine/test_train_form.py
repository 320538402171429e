"""Which training settings the Train form shows and offers, without Qt
(:mod:`workbench.engine.train_form`)."""

from __future__ import annotations

from workbench.core.templates import make_project
from workbench.engine.config import TrainConfig
from workbench.engine.train_form import (
    RELEVANT,
    checked_metrics,
    curve_keys,
    is_stored,
    metric_choices,
    metrics_setting,
    model_task,
    monitor_choices,
    relevant_settings,
    settings_in_force,
    settings_problem,
    valid_config,
)


def test_settings_in_force_are_the_defaults_overlaid_with_known_keys():
    values = settings_in_force({"epochs": 7, "not_a_setting": 1})
    assert values["epochs"] == 7 and "not_a_setting" not in values
    assert values["lr"] == TrainConfig().lr
    assert settings_in_force({}) == TrainConfig().to_dict()


def test_momentum_shows_for_sgd_and_not_for_adam():
    adam = relevant_settings(settings_in_force({"optimizer": "adam"}), "classification")
    sgd = relevant_settings(settings_in_force({"optimizer": "sgd"}), "classification")
    assert not adam["momentum"] and sgd["momentum"]
    assert set(adam) == set(RELEVANT)


def test_patience_follows_early_stopping_and_top_k_its_metric():
    values = settings_in_force({"early_stop": False})
    assert not relevant_settings(values, "classification")["patience"]
    values = settings_in_force({"early_stop": True})
    assert relevant_settings(values, "classification")["patience"]
    assert relevant_settings(values, "classification")["top_k"]  # the defaults include it
    assert not relevant_settings(values, "regression")["top_k"]
    values = settings_in_force({"metrics": ["accuracy"]})
    assert not relevant_settings(values, "classification")["top_k"]


def test_settings_that_are_not_valid_are_judged_as_the_defaults():
    values = settings_in_force({"optimizer": "sgd", "epochs": 0})
    assert valid_config(values) is None
    problem = settings_problem(values)
    assert problem is not None and problem[:1].isupper()
    assert relevant_settings(values, "classification") == relevant_settings(
        TrainConfig().to_dict(), "classification"
    )
    assert settings_problem(settings_in_force({})) is None


def test_monitor_and_metric_choices_follow_the_task():
    assert "val_accuracy" in monitor_choices("classification")
    assert "val_r2" in monitor_choices("regression")
    assert "val_accuracy" not in monitor_choices("regression")
    assert monitor_choices("something else") == monitor_choices("classification")
    assert "f1" in metric_choices("classification") and "mae" in metric_choices("regression")


def test_the_metrics_setting_is_left_out_while_it_is_the_default():
    task = "classification"
    defaults = TrainConfig().metric_names(task)
    assert checked_metrics({}, task) == defaults
    assert metrics_setting(defaults, task) is None
    assert metrics_setting(["f1", "accuracy"], task) == ["accuracy", "f1"]  # in table order
    assert metrics_setting([*defaults, "mae"], task) is None  # another task's box is ignored
    assert checked_metrics({"metrics": ["recall"]}, task) == ["recall"]


def test_storing_a_value_that_is_already_in_force_changes_nothing():
    default_lr = TrainConfig().lr
    assert is_stored({}, "lr", default_lr)  # left out and the default
    assert not is_stored({}, "lr", default_lr * 2)
    assert is_stored({"lr": 0.5}, "lr", 0.5)
    assert not is_stored({"lr": 0.5}, "lr", default_lr)


def test_curve_keys_name_the_metrics_a_run_reports():
    config = TrainConfig(top_k=3, metrics=["accuracy", "top_k_accuracy"])
    assert curve_keys(config, "classification") == ["val_accuracy", "val_top3_accuracy"]
    assert curve_keys(TrainConfig(), "regression") == ["val_mae", "val_rmse", "val_r2"]


def test_the_model_task_is_its_outputs():
    graph = make_project("mlp").graph
    assert model_task(graph) == "classification"
    out = graph.of_type("Output")[0].id
    graph.set_params(out, {"task": "regression"})
    assert model_task(graph) == "regression"
    graph.remove_node(out)
    assert model_task(graph) == "classification"  # no Output yet: the default
    assert model_task(None) == "classification"
