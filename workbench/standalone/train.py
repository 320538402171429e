"""Train the exported model with plain PyTorch, as Model Workbench trained it.

    python train.py                                    # the exported training configuration
    python train.py --epochs 5 --data PATH             # other epochs, the dataset elsewhere
    torchrun --standalone --nproc_per_node=4 train.py  # 4 processes, DistributedDataParallel

config.json beside this file holds the training settings, where the dataset is, how it is
split, and the preprocessing that the workbench fitted on the training split: the image size
and colour mode and the mean and std of each channel, a table's columns, their
means, stds and categories, or the arrays' layout, mean, std and sequence length.
Edit it to change them. model.py holds the network. The trained weights are saved (by rank
0) to --out, ready for ``Model().load_state_dict(torch.load(path, weights_only=True))``.

The split is the workbench's: the same ratios and seed give the same samples. Under
torchrun every process reads the dataset and trains on its share of each epoch
(DistributedSampler), DistributedDataParallel averages the gradients, and validation is
shared out with its sums all-reduced. --batch-size is the global batch, split evenly
across the processes, so the optimizer steps on batches of the size the workbench used.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset

if __package__:  # imported from the workbench
    from . import train_arrays, train_images, train_optim, train_tables
else:  # run from an exported folder, beside its modules
    import train_arrays  # type: ignore[no-redef]
    import train_images  # type: ignore[no-redef]
    import train_optim  # type: ignore[no-redef]
    import train_tables  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
#: The reader of each kind of dataset (``preprocessing["kind"]``).
READERS = {"image": train_images, "table": train_tables, "arrays": train_arrays}


def load_datasets(config: dict[str, Any], path: Path) -> tuple[dict[str, Any], list[str]]:
    """The train, val and test datasets of config.json's dataset (read from ``path``), and notes."""
    return READERS[config["preprocessing"]["kind"]].load_datasets(config, path)


def make_input_transform(
    config: dict[str, Any], device: torch.device, seed: int
) -> Callable[[torch.Tensor, bool], torch.Tensor]:
    """What turns a batch of the datasets' samples into the model's input, on the device."""
    return READERS[config["preprocessing"]["kind"]].make_input_transform(config, device, seed)


# --- optimizer, learning-rate schedule, loss: train_optim.py, the workbench's own ------------


def make_optimizer(params: list[nn.Parameter], config: dict[str, Any]) -> torch.optim.Optimizer:
    """The optimizer that config.json's ``training`` names, from its table ``optimizers``."""
    cfg, table = config["training"], config["optimizers"]
    if cfg["optimizer"] not in table:
        raise SystemExit(f"unknown optimizer {cfg['optimizer']!r} (choose {', '.join(table)})")
    try:
        return train_optim.make_optimizer(params, cfg, table[cfg["optimizer"]])
    except ValueError as e:
        raise SystemExit(str(e)) from None


def make_loss(name: str, cfg: dict[str, Any]) -> train_optim.LossFn:
    """``loss(output, target)``, the batch mean."""
    try:
        return train_optim.make_loss(name, cfg)
    except ValueError as e:
        raise SystemExit(str(e)) from None


def target_scale(
    config: dict[str, Any], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(mean, std) of the regression targets over the training split, or None.

    As in the workbench, the network learns targets in standard units, (y - mean) / std,
    so targets of any size train alike; metrics are in the targets' own units, and
    predictions are out * std + mean (model.py's TARGET_MEAN and TARGET_STD).
    """
    scale = config["preprocessing"].get("target_scale") if config["task"] == "regression" else None
    if not scale:
        return None
    mean = torch.tensor(scale["mean"], dtype=torch.float32, device=device)
    return mean, torch.tensor(scale["std"], dtype=torch.float32, device=device)


def standardized(
    loss: train_optim.LossFn, scale: tuple[torch.Tensor, torch.Tensor] | None
) -> train_optim.LossFn:
    """``loss`` on standardized targets (unchanged without a scale)."""
    return loss if scale is None else train_optim.standardized_loss(loss, *scale)


# --- processes and metrics ------------------------------------------------------------------


def setup_processes(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device). Started by torchrun with more than one process, this
    joins the process group: NCCL on GPUs, Gloo on the CPU; each process takes one GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_name)
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def all_reduce(t: torch.Tensor) -> torch.Tensor:
    """``t`` summed over every process (as it is, in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
    return t


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    to_input: Callable[[torch.Tensor, bool], torch.Tensor],
    config: dict[str, Any],
    device: torch.device,
    prefix: str = "val_",
) -> dict[str, float]:
    """Loss and accuracy (or MAE, RMSE and R²) over a loader, summed over every process."""
    classification = config["task"] == "classification"
    width = 3 if classification else 2 + 4 * int(config["num_targets"])
    sums = torch.zeros(width, dtype=torch.float64, device=device)
    scale = target_scale(config, device)
    model.eval()
    for x, y in loader:
        x, y = to_input(x.to(device), False), y.to(device)
        out = model(x)
        n = len(y)
        head = [
            loss_fn(out, y).double().reshape(1) * n,
            torch.full((1,), n, dtype=torch.float64, device=device),
        ]
        if classification:
            sums += torch.cat([*head, (out.argmax(1) == y).sum().double().reshape(1)])
        else:
            pred = out if scale is None else out * scale[1] + scale[0]  # the targets' units
            err = pred.double().reshape(n, -1) - y.double().reshape(n, -1)
            target = y.double().reshape(n, -1)
            per_target = [
                err.abs().sum(0),
                err.square().sum(0),
                target.sum(0),
                target.square().sum(0),
            ]
            sums += torch.cat([*head, *per_target])
    s = all_reduce(sums).cpu().numpy()
    n = s[1]
    if n == 0:
        return {}
    metrics = {f"{prefix}loss": s[0] / n}
    if classification:
        metrics[f"{prefix}accuracy"] = s[2] / n
    else:
        abs_err, sq_err, sum_y, sum_y2 = np.split(s[2:], 4)
        count = n * len(abs_err)
        sst = np.maximum(sum_y2 - sum_y * sum_y / n, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1.0 - sq_err / sst, np.where(sq_err == 0, 1.0, 0.0))
        metrics[f"{prefix}mae"] = abs_err.sum() / count
        metrics[f"{prefix}rmse"] = math.sqrt(sq_err.sum() / count)
        metrics[f"{prefix}r2"] = float(r2.mean())
    return {k: float(v) for k, v in metrics.items()}


def pick_monitor(cfg: dict[str, Any], has_val: bool) -> tuple[str, bool]:
    """The metric that picks the best epoch (and drives early stopping and the plateau
    schedule), and whether larger is better."""
    monitor = cfg["monitor"]
    if monitor.startswith("val_") and not has_val:
        return "train_loss", False
    known = ("train_loss", "val_loss", "val_accuracy", "val_mae", "val_rmse", "val_r2")
    if monitor not in known:
        return "val_loss", False
    if cfg["monitor_mode"] != "auto":
        return monitor, cfg["monitor_mode"] == "max"
    return monitor, monitor.endswith(("accuracy", "r2"))


def fmt(row: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in row.items())


# --- training --------------------------------------------------------------------------------


def load_config() -> dict[str, Any]:
    with open(HERE / "config.json", encoding="utf-8") as f:
        return json.load(f)


def parse_args(config: dict[str, Any], argv: list[str] | None = None) -> argparse.Namespace:
    cfg = config["training"]
    p = argparse.ArgumentParser(
        description=f"Train {config['project']} with PyTorch (exported from Model Workbench)."
    )
    p.add_argument(
        "--epochs", type=int, default=cfg["epochs"], help="epochs to train (default: %(default)s)"
    )
    p.add_argument(
        "--data",
        type=Path,
        default=Path(config["data"]["path"]),
        help="the dataset (default: %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=cfg["batch_size"],
        help="global batch size, split across the processes (default: %(default)s)",
    )
    p.add_argument(
        "--lr", type=float, default=cfg["lr"], help="learning rate (default: %(default)s)"
    )
    p.add_argument(
        "--seed", type=int, default=cfg["seed"], help="random seed (default: %(default)s)"
    )
    p.add_argument(
        "--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:N"
    )
    p.add_argument(
        "--init",
        type=Path,
        help="start from these weights (e.g. weights.pt) instead of random ones",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("trained_weights.pt"),
        help="where to save the trained weights (default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2 if config["preprocessing"]["kind"] == "image" else 0,
        help="DataLoader worker processes (default: %(default)s)",
    )
    return p.parse_args(argv)


def make_loaders(
    datasets: dict[str, Any],
    args: argparse.Namespace,
    rank: int,
    world: int,
    model: nn.Module,
    cuda: bool,
) -> tuple[DataLoader, DistributedSampler | None, DataLoader, DataLoader]:
    """The training loader (and its sampler under torchrun) and the val and test loaders.

    Each process gets batches of --batch-size / processes samples: the training samples
    are shared out by a DistributedSampler, validation and test samples by a stride.
    """
    per_process = max(1, args.batch_size // world)
    train_set = datasets["train"]
    if len(train_set) == 0:
        raise SystemExit("the training split is empty: lower the val and test ratios or add data")
    sampler: DistributedSampler | None = None
    if world > 1:
        sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=args.seed)
    samples = len(sampler) if sampler is not None else len(train_set)
    # A batch of one sample cannot train batch norm: drop such a last batch.
    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    drop_last = has_batch_norm and samples > per_process and samples % per_process == 1
    workers = {"num_workers": args.workers, "persistent_workers": args.workers > 0}
    train_loader = DataLoader(
        train_set,
        per_process,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(args.seed) if sampler is None else None,
        pin_memory=cuda,
        **workers,
    )

    def eval_loader(name: str) -> DataLoader:
        data = datasets[name]
        if world > 1:  # every process evaluates its own share, without repeats
            data = Subset(data, range(rank, len(data), world))
        return DataLoader(data, per_process * 2, pin_memory=cuda, **workers)

    return train_loader, sampler, eval_loader("val"), eval_loader("test")


def train(
    config: dict[str, Any], args: argparse.Namespace, rank: int, world: int, device: torch.device
) -> None:
    """Train as config.json says (with the command line's overrides) and save the weights."""
    cfg = {**config["training"], "lr": args.lr}
    say = print if rank == 0 else (lambda *a, **k: None)
    seed_everything(args.seed)
    if cfg["deterministic"]:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if device.type == "cpu" and cfg["cpu_threads"] > 0:
        torch.set_num_threads(cfg["cpu_threads"])
    if not args.data.exists():
        raise SystemExit(f"{args.data}: no such dataset; pass its location with --data PATH")
    datasets, notes = load_datasets(config, args.data)
    for note in notes:
        say(f"note: {note}")

    from model import Model  # model.py beside this file: the exported network

    model = Model().to(device)
    if args.init is not None:
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
    ddp = model
    if world > 1:  # gradients are averaged over the processes in backward()
        ddp = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    cuda = device.type == "cuda"
    train_loader, sampler, val_loader, test_loader = make_loaders(
        datasets, args, rank, world, model, cuda
    )
    to_input = make_input_transform(config, device, args.seed + rank)
    loss_fn = standardized(make_loss(cfg["loss"], cfg), target_scale(config, device))
    params = [p for p in ddp.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, {**config, "training": cfg})
    monitor, maximize = pick_monitor(cfg, has_val=len(datasets["val"]) > 0)
    if monitor != cfg["monitor"]:
        say(f"note: {monitor} picks the best epoch ({cfg['monitor']} is not computed here)")
    schedule = train_optim.LRSchedule(optimizer, cfg, args.epochs, len(train_loader), maximize)
    l1_weights = train_optim.l1_weights(params) if cfg["l1"] > 0 else []
    amp = cfg["amp"] if cuda else "off"
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")

    def autocast() -> Any:
        return torch.autocast("cuda", dtype=half) if half is not None else contextlib.nullcontext()

    processes = f" x {world} processes" if world > 1 else ""
    samples, batch = len(datasets["train"]), (train_loader.batch_size or 1) * world
    epochs = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    say(
        f"training on {device}{processes} for {epochs}: {samples:,} samples, "
        f"batches of {batch}, {len(train_loader)} steps per epoch"
    )
    best_value: float | None = None
    best_epoch = 0
    best_state: dict[str, torch.Tensor] | None = None
    step = 0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        if sampler is not None:
            sampler.set_epoch(epoch)  # a different shuffle every epoch
        ddp.train()
        loss_sum = torch.zeros(2, dtype=torch.float64, device=device)
        for x, y in train_loader:
            x = to_input(x.to(device, non_blocking=True), True)
            y = y.to(device, non_blocking=True)
            schedule.apply(step)
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = loss_fn(ddp(x), y)
            total = loss + cfg["l1"] * train_optim.l1_penalty(l1_weights) if l1_weights else loss
            scaler.scale(total).backward()
            if cfg["grad_clip"] > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(params, cfg["grad_clip"])
            scaler.step(optimizer)
            scaler.update()
            loss_sum += torch.stack(
                [
                    loss.detach().double() * len(y),
                    torch.tensor(len(y), dtype=torch.float64, device=device),
                ]
            )
            step += 1
        total_loss, seen = all_reduce(loss_sum).tolist()
        row = {"train_loss": total_loss / max(seen, 1)}
        if not math.isfinite(row["train_loss"]):
            raise SystemExit(
                f"the loss became {row['train_loss']} at epoch {epoch}: lower the learning rate "
                "or turn on gradient clipping (grad_clip in config.json)"
            )
        row.update(evaluate(model, val_loader, loss_fn, to_input, config, device))
        row["lr"] = optimizer.param_groups[0]["lr"]
        say(
            f"epoch {epoch}/{args.epochs}  {fmt(row)}  {time.perf_counter() - start:.1f}s",
            flush=True,
        )

        value = row.get(monitor)
        schedule.epoch_end(value)
        if value is not None and math.isfinite(value):
            delta = cfg["min_delta"]
            if best_value is None or (
                value > best_value + delta if maximize else value < best_value - delta
            ):
                best_value, best_epoch = value, epoch
                if cfg["restore_best"]:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if cfg["early_stop"] and best_epoch and epoch - best_epoch >= cfg["patience"]:
            say(f"stopping early: {monitor} has not improved for {cfg['patience']} epoch(s)")
            break

    if best_state is not None and best_epoch != epoch:
        model.load_state_dict(best_state)
        say(f"keeping the weights of epoch {best_epoch} (best {monitor} {best_value:.4g})")
    test = evaluate(model, test_loader, loss_fn, to_input, config, device, prefix="test_")
    if test:
        say(fmt(test))
    if rank == 0:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, args.out)
        say(f"saved the trained weights to {args.out}")


def main(argv: list[str] | None = None) -> None:
    config = load_config()
    args = parse_args(config, argv)
    if args.epochs < 1 or args.batch_size < 1:
        raise SystemExit("--epochs and --batch-size must be at least 1")
    rank, world, device = setup_processes(args.device)
    try:
        train(config, args, rank, world, device)
        if world > 1:
            dist.barrier()  # every process is done before any of them takes the group down
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
