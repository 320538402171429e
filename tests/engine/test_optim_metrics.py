"""Optimizers, schedules, losses, metrics and the training configuration, each on its own."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.engine.boring import BoringModel, make_prepared, same_weights, weights
from workbench.engine.config import OPTIMIZERS, SCHEDULES, TrainConfig, TrainError
from workbench.engine.metrics import (
    MetricAccumulator,
    classification_scores,
    compute_metrics,
    regression_scores,
)
from workbench.engine.optim import LRSchedule, l1_penalty, make_loss, make_optimizer, resolve_loss
from workbench.engine.trainer import Trainer, seed_everything

# --- optimizers ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_trains_the_boring_model(name: str) -> None:
    seed_everything(0)
    model = BoringModel()
    before = weights(model)
    config = TrainConfig(
        epochs=2,
        batch_size=4,
        optimizer=name,
        lr=0.05,
        nesterov=name == "sgd",
        weight_decay=1e-4,
        device="cpu",
    )
    result = Trainer(model, make_prepared(n_train=32), config).fit()
    assert result.status == "finished" and not same_weights(before, weights(model))
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"] * 1.5


def test_optimizer_settings_reach_torch() -> None:
    params = list(BoringModel().parameters())
    sgd = make_optimizer(
        params, TrainConfig(optimizer="sgd", lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01)
    )
    assert isinstance(sgd, torch.optim.SGD)
    group = sgd.param_groups[0]
    assert (group["lr"], group["momentum"], group["nesterov"], group["weight_decay"]) == (
        0.1,
        0.8,
        True,
        0.01,
    )
    assert isinstance(
        make_optimizer(params, TrainConfig(optimizer="adamw", weight_decay=0.05)), torch.optim.AdamW
    )
    assert isinstance(make_optimizer(params, TrainConfig(optimizer="rmsprop")), torch.optim.RMSprop)
    assert isinstance(make_optimizer(params, TrainConfig(optimizer="adagrad")), torch.optim.Adagrad)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("nadam", torch.optim.NAdam), ("radam", torch.optim.RAdam), ("adam", torch.optim.Adam)],
)
def test_optimizer_table_entries_build_their_torch_class(name: str, cls: type) -> None:
    params = list(BoringModel().parameters())
    opt = make_optimizer(
        params, TrainConfig(optimizer=name, lr=0.02, weight_decay=0.03, momentum=0.5)
    )
    assert type(opt) is cls
    assert (opt.defaults["lr"], opt.defaults["weight_decay"]) == (0.02, 0.03)


def test_the_optimizer_table_decides_which_settings_apply() -> None:
    from workbench.engine.config import OPTIMIZER_SPECS
    from workbench.engine.config import TrainConfig as C

    assert C(optimizer="sgd").uses("nesterov") and C(optimizer="rmsprop").uses("momentum")
    assert not C(optimizer="nadam").uses("momentum") and not C(optimizer="radam").uses("nesterov")
    assert C(schedule="plateau").uses("min_lr") and not C(schedule="step").uses("min_lr")
    assert C(loss="auto").uses("label_smoothing", "classification")
    assert not C(loss="auto").uses("label_smoothing", "regression")
    assert C(loss="huber").uses("huber_delta", "regression")
    assert C().uses("epochs")  # a setting no entry claims always applies
    assert {"nadam", "radam"} <= set(OPTIMIZER_SPECS)
    with pytest.raises(TrainError, match="nadam, radam"):
        TrainConfig(optimizer="lion").validate()


def test_the_train_command_lists_the_optimizers_of_the_table() -> None:
    from workbench.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    help_text = next(a.help for a in train._actions if "--optimizer" in a.option_strings)
    assert help_text == "sgd, adam, adamw, rmsprop, adagrad, nadam or radam"


def test_l1_penalty_sums_weights_but_not_biases() -> None:
    model = BoringModel(2, 2)
    with torch.no_grad():
        model.layer.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        model.layer.bias.fill_(100.0)
    assert float(l1_penalty(model.parameters()).detach()) == pytest.approx(3.5)


# --- schedules -------------------------------------------------------------------------------


def schedule(steps_per_epoch: int = 10, **config: Any) -> LRSchedule:
    config.setdefault("epochs", 10)
    config.setdefault("lr", 1.0)
    opt = torch.optim.SGD(BoringModel().parameters(), lr=config["lr"])
    return LRSchedule(opt, TrainConfig(**config), steps_per_epoch)


def test_linear_warm_up_then_constant() -> None:
    s = schedule(schedule="none", warmup_epochs=2)
    lrs = [s.lr_at(k) for k in range(25)]
    assert lrs[0] == pytest.approx(1 / 20) and lrs[19] == pytest.approx(1.0) and lrs[24] == 1.0
    assert np.allclose(np.diff(lrs[:20]), 1 / 20)  # a straight line
    assert s.per_batch


def test_step_schedule_drops_every_step_size_epochs() -> None:
    s = schedule(schedule="step", step_size=3, step_gamma=0.1)
    per_epoch = [s.lr_at(10 * e + 5) for e in range(10)]
    assert per_epoch == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001])
    assert not s.per_batch


def test_exponential_schedule() -> None:
    s = schedule(schedule="exponential", exp_gamma=0.5)
    assert [s.lr_at(10 * e) for e in range(4)] == pytest.approx([1, 0.5, 0.25, 0.125])


def test_cosine_endpoints_and_midpoint() -> None:
    s = schedule(schedule="cosine", lr=0.1, min_lr=0.001)
    assert s.lr_at(0) == pytest.approx(0.1)
    assert s.lr_at(50) == pytest.approx((0.1 + 0.001) / 2)
    assert s.lr_at(100) == pytest.approx(0.001)
    lrs = [s.lr_at(k) for k in range(101)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_warm_up_composes_with_cosine() -> None:
    s = schedule(schedule="cosine", warmup_epochs=2)
    assert s.lr_at(0) == pytest.approx(1 / 20)
    assert s.lr_at(20) == pytest.approx(1.0)  # the cosine starts after the warm-up…
    assert s.lr_at(60) == pytest.approx(0.5)  # …and spans the remaining 80 steps
    assert s.lr_at(100) == pytest.approx(0.0, abs=1e-12)


def test_one_cycle_rises_to_its_peak_and_falls() -> None:
    s = schedule(schedule="onecycle", onecycle_pct=0.3)
    lrs = [s.lr_at(k) for k in range(101)]
    assert int(np.argmax(lrs)) == 30 and lrs[30] == pytest.approx(1.0)
    assert lrs[0] == pytest.approx(1 / 25)
    assert lrs[100] == pytest.approx(1 / 25 / 1e4)


def test_plateau_reduces_after_patience_runs_out() -> None:
    s = schedule(schedule="plateau", plateau_patience=1, plateau_factor=0.1)
    lrs = []
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.5]:
        s.epoch_end(metric)
        lrs.append(s.lr_at(0))
    assert lrs == pytest.approx([1, 1, 1, 0.1, 0.1, 0.01, 0.01])


def test_plateau_honours_the_minimum() -> None:
    s = schedule(schedule="plateau", plateau_patience=0, plateau_factor=0.1, min_lr=0.05)
    for metric in [1.0, 2.0, 2.0, 2.0]:
        s.epoch_end(metric)
    assert s.lr_at(0) == pytest.approx(0.05)


def test_training_more_restarts_a_finished_cosine_and_continues_a_step_schedule() -> None:
    cosine = schedule(schedule="cosine")
    cosine.extend(15, done_steps=100)
    assert cosine.lr_at(100) == pytest.approx(1.0) and cosine.lr_at(150) == pytest.approx(
        0.0, abs=1e-12
    )
    step = schedule(schedule="step", step_size=5)
    step.extend(15, done_steps=100)
    assert step.lr_at(120) == pytest.approx(0.01)


def test_schedule_state_round_trips() -> None:
    a = schedule(schedule="plateau", plateau_patience=0)
    for metric in [1.0, 2.0, 3.0]:
        a.epoch_end(metric)
    b = schedule(schedule="plateau", plateau_patience=0)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict() and b.lr_at(0) == a.lr_at(0) < 1.0
    with pytest.raises(TrainError, match="schedule is 'plateau', not 'step'"):
        schedule(schedule="step").load_state_dict(a.state_dict())


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_schedule_drives_a_real_run(name: str) -> None:
    seed_everything(0)
    config = TrainConfig(
        epochs=4,
        batch_size=4,
        schedule=name,
        warmup_epochs=1,
        step_size=1,
        lr=0.1,
        device="cpu",
        plateau_patience=0,
    )
    trainer = Trainer(BoringModel(), make_prepared(), config)
    result = trainer.fit()
    lrs = [row["lr"] for row in result.history]
    assert trainer.schedule is not None
    assert lrs[0] == pytest.approx(
        0.1 * trainer.schedule.factor(2)
    )  # the first epoch's last step: end of warm-up
    if name in ("step", "exponential", "cosine", "onecycle"):
        assert lrs[-1] < lrs[1]


# --- losses --------------------------------------------------------------------------------


def test_the_loss_is_chosen_by_task_with_an_override() -> None:
    auto = TrainConfig()
    assert resolve_loss("classification", auto) == "cross_entropy"
    assert resolve_loss("classification", auto, multi_label=True) == "bce_with_logits"
    assert resolve_loss("regression", auto) == "mse"
    assert resolve_loss("regression", TrainConfig(loss="huber")) == "huber"
    with pytest.raises(TrainError, match="'mse' is for regression"):
        resolve_loss("classification", TrainConfig(loss="mse"))
    with pytest.raises(TrainError, match="'cross_entropy' is for classification"):
        resolve_loss("regression", TrainConfig(loss="cross_entropy"))
    with pytest.raises(TrainError, match="multi-label"):
        resolve_loss("classification", TrainConfig(loss="cross_entropy"), multi_label=True)


def test_classification_losses_match_torch() -> None:
    out = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    y = torch.tensor([0, 2])
    ce = make_loss("cross_entropy", TrainConfig(label_smoothing=0.1))
    assert torch.allclose(ce(out, y), F.cross_entropy(out, y, label_smoothing=0.1))
    bce = make_loss("bce_with_logits", TrainConfig())
    assert torch.allclose(
        bce(out, y), F.binary_cross_entropy_with_logits(out, F.one_hot(y, 3).float())
    )
    multi = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert torch.allclose(bce(out, multi), F.binary_cross_entropy_with_logits(out, multi))


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("mse", lambda o, t: F.mse_loss(o, t)),
        ("l1", lambda o, t: F.l1_loss(o, t)),
        ("huber", lambda o, t: F.huber_loss(o, t, delta=0.5)),
    ],
)
def test_regression_losses_match_torch_and_accept_flat_targets(name: str, reference: Any) -> None:
    out = torch.tensor([[1.0], [2.0], [4.0]])
    flat = torch.tensor([1.5, 2.0, 2.0])
    loss = make_loss(name, TrainConfig(huber_delta=0.5))
    assert torch.allclose(loss(out, flat), reference(out, flat.unsqueeze(1)))
    assert torch.allclose(loss(out, flat.unsqueeze(1)), reference(out, flat.unsqueeze(1)))


def test_a_multi_label_dataset_trains_with_bce() -> None:
    prepared = make_prepared(n_train=16, n_val=8, classes=3)
    for split in (prepared.train, prepared.val):
        split.y = F.one_hot(split.y, 3).float()  # type: ignore[attr-defined]
        split.y[:, 0] = 1.0  # type: ignore[attr-defined]
    seed_everything(0)
    trainer = Trainer(
        BoringModel(4, 3), prepared, TrainConfig(epochs=2, batch_size=4, device="cpu")
    )
    result = trainer.fit()
    assert trainer.loss_name == "bce_with_logits" and 0.0 <= result.final["val_accuracy"] <= 1.0


# --- metrics -------------------------------------------------------------------------------

# A known confusion matrix (rows: true class, columns: predicted class).
CONFUSION = np.array([[3, 1, 0], [0, 1, 1], [2, 0, 2]])
PRECISION = (3 / 5 + 1 / 2 + 2 / 3) / 3
RECALL = (3 / 4 + 1 / 2 + 2 / 4) / 3
F1S = [2 * p * r / (p + r) for p, r in ((3 / 5, 3 / 4), (1 / 2, 1 / 2), (2 / 3, 2 / 4))]


def confusion_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets whose argmax gives CONFUSION; the runner-up makes 8 of 10 right in the top 2."""
    rows = [  # (true, predicted, runner-up)
        (0, 0, 1),
        (0, 0, 2),
        (0, 0, 1),
        (0, 1, 0),
        (1, 1, 0),
        (1, 2, 0),
        (2, 0, 2),
        (2, 0, 1),
        (2, 2, 0),
        (2, 2, 1),
    ]
    logits = torch.zeros(len(rows), 3)
    for i, (_, pred, second) in enumerate(rows):
        logits[i, pred], logits[i, second] = 2.0, 1.0
    return logits, torch.tensor([r[0] for r in rows])


def test_scores_from_a_known_confusion_matrix() -> None:
    scores = classification_scores(CONFUSION)
    assert scores["accuracy"] == pytest.approx(0.6)
    assert scores["precision"] == pytest.approx(PRECISION)
    assert scores["recall"] == pytest.approx(RECALL)
    assert scores["f1"] == pytest.approx(sum(F1S) / 3)


def test_classification_metrics_accumulated_over_batches() -> None:
    logits, y = confusion_batch()
    acc = MetricAccumulator(
        "classification", ["accuracy", "top_k_accuracy", "precision", "recall", "f1"], 3, top_k=2
    )
    for part in (slice(0, 3), slice(3, 7), slice(7, 10)):
        acc.update(logits[part], y[part], torch.tensor(0.5))
    m = acc.compute("val_")
    assert m == pytest.approx(
        {
            "val_loss": 0.5,
            "val_accuracy": 0.6,
            "val_top2_accuracy": 0.8,
            "val_precision": PRECISION,
            "val_recall": RECALL,
            "val_f1": sum(F1S) / 3,
        }
    )


def test_macro_averages_skip_classes_that_never_occur() -> None:
    logits, y = confusion_batch()
    four = torch.cat(
        [logits, torch.full((10, 1), -5.0)], dim=1
    )  # a fourth class nobody has or predicts
    m = compute_metrics(four, y, "classification", ["precision", "recall"])
    assert m["precision"] == pytest.approx(PRECISION) and m["recall"] == pytest.approx(RECALL)


def test_regression_metrics_by_hand() -> None:
    out = torch.tensor([1.5, 2.0, 2.0, 5.0]).unsqueeze(1)
    y = torch.tensor([1.0, 2.0, 3.0, 4.0])
    m = compute_metrics(out, y, "regression", ["mae", "rmse", "r2"])
    assert m["mae"] == pytest.approx(2.5 / 4)
    assert m["rmse"] == pytest.approx(math.sqrt(2.25 / 4))
    assert m["r2"] == pytest.approx(1 - 2.25 / 5)


def test_regression_metrics_average_r2_over_targets_and_batches() -> None:
    g = torch.Generator().manual_seed(1)
    y = torch.randn(50, 2, generator=g) * torch.tensor([1.0, 10.0]) + 3
    out = y + 0.3 * torch.randn(50, 2, generator=g)
    acc = MetricAccumulator("regression", ["mae", "rmse", "r2"])
    for k in range(0, 50, 16):
        acc.update(out[k : k + 16], y[k : k + 16], torch.tensor(0.0))
    m = acc.compute("")
    yy, oo = y.double(), out.double()
    r2 = 1 - ((yy - oo) ** 2).sum(0) / ((yy - yy.mean(0)) ** 2).sum(0)
    assert m["mae"] == pytest.approx(float((yy - oo).abs().mean()))
    assert m["rmse"] == pytest.approx(float(((yy - oo) ** 2).mean().sqrt()))
    assert m["r2"] == pytest.approx(float(r2.mean()))


def test_r2_of_a_constant_target() -> None:
    ones = np.ones(1)
    assert regression_scores(4, np.zeros(1), np.zeros(1), 4 * ones, 4 * ones)["r2"] == 1.0
    assert regression_scores(4, ones, ones, 4 * ones, 4 * ones)["r2"] == 0.0


# --- the configuration -----------------------------------------------------------------------


def test_config_round_trips_through_a_dict() -> None:
    config = TrainConfig(
        epochs=3, optimizer="sgd", nesterov=True, metrics=["accuracy", "f1"], seed=None
    )
    again = TrainConfig.from_dict(config.to_dict())
    assert again == config
    assert TrainConfig.from_dict({"epochs": 5.0, "lr": 1}).epochs == 5  # JSON numbers are coerced
    assert TrainConfig.from_dict({}, epochs=7, lr=None).epochs == 7  # None overrides are ignored


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": 0}, "epochs must be a whole number"),
        ({"batch_size": -1}, "batch size must be"),
        ({"optimizer": "lion"}, "unknown optimizer 'lion'"),
        ({"lr": 0}, "learning rate must be a number above 0"),
        ({"momentum": 1.5}, "momentum must be"),
        (
            {"optimizer": "sgd", "momentum": 0.0, "nesterov": True},
            "Nesterov momentum needs a momentum above 0",
        ),
        ({"weight_decay": -1}, "weight decay must be"),
        ({"l1": -0.1}, "L1 penalty must be"),
        ({"schedule": "cyclic"}, "unknown schedule 'cyclic'"),
        ({"warmup_epochs": -1}, "warm-up epochs"),
        ({"step_gamma": 2.0}, "step gamma must be between 0 and 1"),
        (
            {"schedule": "cosine", "min_lr": 1.0, "lr": 0.1},
            "minimum learning rate (1) must be below",
        ),
        ({"loss": "hinge"}, "unknown loss 'hinge'"),
        ({"label_smoothing": 1.0}, "label smoothing"),
        ({"grad_clip": -1}, "gradient clipping"),
        ({"patience": 0}, "patience must be"),
        ({"monitor_mode": "up"}, "monitor mode"),
        ({"metrics": ["accuracy", "auc"]}, "unknown metric 'auc'"),
        ({"amp": "fp8"}, "mixed precision must be one of off, bf16, fp16"),
        ({"cpu_threads": -2}, "CPU threads"),
        ({"seed": -1}, "the seed must be"),
        ({"early_stop": "yes"}, "'early_stop' must be true or false"),
        ({"epochs": "ten"}, "'epochs' must be a whole number"),
        ({"colour": "red"}, "unknown training setting 'colour'"),
    ],
)
def test_each_bad_value_has_its_own_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(TrainError, match=f"^.*{__import__('re').escape(message)}"):
        TrainConfig.from_dict(values)


def test_problems_lists_every_bad_field() -> None:
    config = TrainConfig(epochs=0, lr=-1.0, amp="x")
    assert [name for name, _ in config.problems()] == ["epochs", "lr", "amp"]


def test_metric_defaults_and_monitor_direction() -> None:
    assert TrainConfig().metric_names("classification") == ["accuracy", "precision", "recall", "f1"]
    assert TrainConfig().metric_names("regression") == ["mae", "rmse", "r2"]
    assert TrainConfig(metrics=["accuracy", "mae"]).metric_names("regression") == ["mae"]
    assert TrainConfig(monitor="val_top5_accuracy").monitor_is_max()
    assert TrainConfig(monitor="val_r2").monitor_is_max()
    assert not TrainConfig(monitor="val_loss").monitor_is_max()
    assert not TrainConfig(monitor="val_accuracy", monitor_mode="min").monitor_is_max()


def test_form_sections_cover_the_settings_and_accept_the_defaults() -> None:
    from workbench.engine.config import form_sections

    params = [p for _, group in form_sections() for p in group]
    names = {p.name for p in params}
    assert names | {"device", "metrics"} == set(TrainConfig().to_dict())
    for p in params:
        assert p.coerce(getattr(TrainConfig(), p.name)) == getattr(TrainConfig(), p.name)
