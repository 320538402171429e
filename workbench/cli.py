"""The command line: ``workbench`` opens the GUI; sub-commands script everything else.

Errors caused by input print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2
#: An unexpected error: one line naming the crash log (see workbench.core.crashlog).
EXIT_CRASH = 1


class CliError(Exception):
    """A problem with the user's input; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's default prints the whole usage; one line is the contract.
        self.exit(EXIT_USAGE, f"workbench: {message} (see 'workbench --help')\n")


def human(n: float, unit: str = "") -> str:
    """Format a count with K/M/G suffixes, e.g. 1.23 M."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {suffix}{unit}"
    return f"{n:g} {unit}".rstrip()


def _load(path: str) -> Any:
    from workbench.core.project import ProjectError, load_project

    try:
        return load_project(path)
    except ProjectError as e:
        raise CliError(str(e)) from None


# --- sub-commands ------------------------------------------------------------------------


def _has_display() -> bool:
    """False on a Linux machine with no screen, where Qt would abort instead of opening."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def cmd_gui(args: argparse.Namespace) -> int:
    if args.first_paint_probe:
        from workbench.ui.app import run_gui

        return run_gui(first_paint_probe=True)
    if not args.screenshot and not _has_display():
        raise CliError(
            "no display found (DISPLAY is not set): run it on a desktop, under xvfb-run, "
            "or render the window to a file with 'workbench gui --screenshot window.png'"
        )
    from workbench.ui.app import run_gui

    if args.project and not Path(args.project).exists():
        from workbench.core.templates import TEMPLATES

        if args.project in TEMPLATES:  # `workbench gui lenet` opens a template
            return run_gui(template=args.project, screenshot=args.screenshot, tab=args.tab)
        raise CliError(f"{args.project}: no such file")
    return run_gui(project=args.project, screenshot=args.screenshot, tab=args.tab)


def cmd_templates(args: argparse.Namespace) -> int:
    from workbench.core.templates import TEMPLATES

    for t in TEMPLATES.values():
        print(f"{t.name}\t{t.title}: {t.summary}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from workbench.core.project import ProjectError, save_project
    from workbench.core.templates import make_project

    out = Path(args.out)
    if out.suffix != ".wbproj":
        raise CliError(f"{out}: a project file must end in .wbproj")
    if out.exists() and not args.force:
        raise CliError(f"{out}: already exists (use --force to replace it)")
    if not out.parent.is_dir():
        raise CliError(f"{out.parent}: no such folder")
    try:
        project = make_project(args.template)
    except KeyError as e:
        raise CliError(str(e.args[0])) from None
    project.name = out.stem
    try:
        save_project(project, out)
    except ProjectError as e:
        raise CliError(str(e)) from None
    print(f"created {out} from template '{args.template}'")
    return 0


def info_dict(project: Any) -> dict[str, Any]:
    """The ``workbench info --json`` document for a project."""
    from workbench.core.shapes import analyze

    graph = project.graph
    a = analyze(graph)
    nodes = []
    for nid in a.order:
        info = a.nodes[nid]
        nodes.append(
            {
                "id": nid,
                "type": graph.nodes[nid].type,
                "output_shape": ["N", *info.output.shape] if info.output else None,
                "params": info.params,
                "flops": info.flops,
            }
        )
    return {
        "name": project.name,
        "nodes": nodes,
        "total_params": a.total_params,
        "total_flops": a.total_flops,
        "activation_bytes_per_sample": a.activation_bytes(1),
        "errors": [{"node": i.node, "message": i.message} for i in a.errors],
        "warnings": [
            {"node": i.node, "message": i.message} for i in a.issues if i.severity == "warning"
        ],
    }


def cmd_info(args: argparse.Namespace) -> int:
    from workbench.core.catalog import format_shape

    project = _load(args.project)
    d = info_dict(project)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    rows = [("id", "type", "output shape", "params", "FLOPs")]
    for n in d["nodes"]:
        shape = format_shape(n["output_shape"][1:]) if n["output_shape"] else "?"
        rows.append((n["id"], n["type"], shape, f"{n['params']:,}", human(n["flops"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for k, r in enumerate(rows):
        print(
            "  ".join(
                c.ljust(w) if i < 3 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(
        f"\n{project.name}: {d['total_params']:,} parameters, {human(d['total_flops'], 'FLOPs')} per sample, "
        f"activations {human(d['activation_bytes_per_sample'] * 32, 'B')} for a batch of 32"
    )
    for e in d["errors"]:
        print(f"error: {e['node'] or 'model'}: {e['message']}")
    for w in d["warnings"]:
        print(f"warning: {w['node'] or 'model'}: {w['message']}")
    return 0


def _open_data(path: str, target: str | None) -> Any:
    from workbench.data import DataError, open_dataset

    try:
        return open_dataset(path, target)
    except DataError as e:
        raise CliError(str(e)) from None


def cmd_data_inspect(args: argparse.Namespace) -> int:
    from workbench.core.catalog import format_shape
    from workbench.core.text import plural

    info = _open_data(args.path, args.target).info()
    if args.json:
        print(json.dumps(info.to_json(), indent=2, default=str))
        return 0
    what = (
        plural(info.num_classes or 0, "class")
        if info.classes is not None
        else f"regression, {info.num_targets} target(s)"
    )
    print(
        f"{info.path}: {info.kind}, {info.num_samples:,} samples, {what}; "
        f"each sample {format_shape(info.sample_shape)} {info.dtype}"
    )
    if info.classes is not None:
        width = max((len(c) for c in info.class_counts), default=0)
        for name, count in info.class_counts.items():
            print(f"  {name.ljust(width)}  {count:>8,}")
    if info.splits_given:
        print("splits: given by the folder layout (train/val/test)")
    for p in info.problems:
        print(f"{p.severity}: {p.item}: {p.reason}")
    if not info.problems:
        print("no problems found")
    return 0


def cmd_data_attach(args: argparse.Namespace) -> int:
    from workbench.core.graph import GraphError
    from workbench.core.project import ProjectError, save_project
    from workbench.data import DataError
    from workbench.data.link import default_settings, fit_model_to_data, store_settings

    project = _load(args.project)
    source = _open_data(args.path, args.target)
    try:
        settings = default_settings(source, args.target)
        notes = fit_model_to_data(project.graph, source, settings)
    except (DataError, GraphError) as e:
        raise CliError(str(e)) from None
    store_settings(project, settings, args.project)
    try:
        save_project(project, args.project)
    except ProjectError as e:
        raise CliError(str(e)) from None
    for note in notes:
        print(note)
    print(f"{args.project}: now uses {args.path}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from workbench.engine.config import TrainError
    from workbench.engine.runs import ResumeRefused, train_project

    try:
        result = train_project(
            args.project,
            data=args.data,
            target=args.target,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            optimizer=args.optimizer,
            device=args.device,
            seed=args.seed,
            cuda_graphs=args.cuda_graphs,
            metrics_path=args.metrics,
            resume=args.resume,
            from_run=args.from_run,
            progress=True,
        )
    except ResumeRefused as e:
        hint = (
            f"; to start a new run from its weights: workbench train {args.project} --from-run {e.run_id}"
            if e.weights
            else ""
        )
        raise CliError(f"{e}{hint}") from None
    except TrainError as e:
        raise CliError(str(e)) from None
    for note in result.notes:
        print(note)
    shown = [k for k in (result.final or {}) if k.startswith("val_")]
    final = ", ".join(
        f"{k} {result.final[k]:.4g}" for k in shown if isinstance(result.final[k], int | float)
    )
    print(
        f"run {result.run_id}: {result.status} after {result.epochs_done} epoch(s)"
        + (f"; {final}" if final else "")
    )
    test = result.test
    if test and test.get("note"):
        print(f"test: {test['note']}")
    elif test:
        keys = (
            *("accuracy", "top_k_accuracy", "macro_f1", "weighted_f1", "log_loss", "roc_auc"),
            *("mae", "rmse", "r2"),
        )
        shown_test = ", ".join(
            f"{k} {test[k]:.4g}" for k in keys if isinstance(test.get(k), int | float)
        )
        print(f"test ({test.get('num_samples')} samples, {test.get('checkpoint')}): {shown_test}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from workbench.engine.evaluation.result import EvaluationError

    _load(args.project)  # a broken project file gets the loader's message
    if args.batch_size is not None and args.batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, not {args.batch_size}")
    from workbench.engine.evaluation.report import prepare_folder
    from workbench.engine.evaluation.run import evaluate_run

    try:
        if args.report:
            prepare_folder(args.report)  # a bad folder is said before a long evaluation
        evaluation = evaluate_run(
            args.project,
            args.run,
            split=args.split,
            device=args.device,
            batch_size=args.batch_size,
            log=lambda line: print(line, file=sys.stderr),
        )
        if args.predictions:
            evaluation.write_predictions_csv(args.predictions)
        report = _write_report(args.project, evaluation, args.report) if args.report else None
    except EvaluationError as e:
        raise CliError(str(e)) from None
    if args.json:
        print(json.dumps(evaluation.to_json_dict(), indent=2))
    else:
        print("\n".join(evaluation.summary_lines()))
    if args.predictions:
        print(f"wrote {evaluation.num_samples} predictions to {args.predictions}", file=sys.stderr)
    if report is not None:
        print(f"wrote the report to {report}", file=sys.stderr)
    return 0


def _write_report(project: str, evaluation: Any, folder: str) -> Path:
    """``--report DIR``: the Evaluate tab's figures drawn offscreen, then the report's files.

    Qt is imported here only, so ``workbench evaluate`` without ``--report`` never loads it.
    When Qt cannot start at all (a server without its libraries), the report is written
    without its figures and says why.
    """
    from workbench.engine.evaluation.report import FIGURE_SIZE, write_run_report

    try:
        figures = _report_figures(evaluation, *FIGURE_SIZE)
    except _QtMissing as e:
        reason = f"the figures could not be drawn: Qt cannot be loaded ({e})"
        print(f"workbench: {reason}", file=sys.stderr)
        evaluation.notes.append(reason)
        figures = []
    return write_run_report(evaluation, folder, project, figures)


def _report_figures(evaluation: Any, width: int, height: int) -> list[tuple[str, bytes]]:
    """The Evaluate tab's figures as PNG, drawn by the ui layer (offscreen without a display)."""
    if not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        from workbench.ui.evaluate.figures import render_figures_headless
    except ImportError as e:  # a system library Qt needs is missing (libEGL, libxkbcommon…)
        raise _QtMissing(str(e)) from None
    return render_figures_headless(evaluation, width=width, height=height)


class _QtMissing(Exception):
    """Qt cannot be loaded here, so no figure can be drawn."""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _metric(pair: tuple[str, float] | None) -> str:
    return f"{pair[0]} {pair[1]:.4g}" if pair is not None else "-"


def cmd_runs(args: argparse.Namespace) -> int:
    from workbench.engine.history import HistoryError, load_history

    _load(args.project)  # a broken project file gets the loader's message
    try:
        runs = load_history(args.project)
    except HistoryError as e:
        raise CliError(str(e)) from None
    if args.json:
        print(json.dumps([r.to_json() for r in runs], indent=2))
        return 0
    if not runs:
        print(f"{Path(args.project).name} has no runs yet (train with 'workbench train')")
        return 0
    rows = [("name", "id", "start", "duration", "device", "status", "epochs", "best val", "test")]
    for r in runs:
        epochs = f"{r.epochs}/{r.epochs_planned}" if r.epochs_planned else str(r.epochs)
        rows.append(
            (
                r.name,
                r.id,
                (r.started or "-").replace("T", " ")[:16],
                _duration(r.duration),
                r.device or "-",
                r.label,
                epochs,
                _metric(r.best_metric),
                _metric(r.test_metric),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    for r in runs:
        if r.status in ("failed", "interrupted") and r.message:
            print(f"{r.name} ({r.id}): {r.message}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from workbench.export.report import ExportError
    from workbench.export.service import export_trained, load_trained
    from workbench.export.staging import watch_interrupts

    _load(args.project)  # a broken project file gets the loader's message
    with watch_interrupts() as interrupted:
        try:
            if args.untrained and args.run:
                raise CliError("--untrained and --run exclude each other")
            trained = load_trained(args.project, args.run, untrained=args.untrained)
            result = export_trained(
                trained,
                args.format,
                args.output,
                opset=args.opset,
                progress=lambda msg: print(f"{msg}…", file=sys.stderr),
                cancelled=interrupted,
            )
        except ExportError as e:
            if interrupted():  # a Ctrl+C that a library turned into its own error, or swallowed
                raise KeyboardInterrupt from None
            raise CliError(str(e)) from None
    for line in result.lines:
        print(line)
    for note in result.notes:
        print(f"note: {note}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    # onnxruntime, numpy and Pillow only: this process never imports torch
    from workbench.deploy.predict import PredictError, Predictor, format_predictions

    if args.top_k < 1:
        raise CliError(f"--top-k must be at least 1, not {args.top_k}")
    skipped: list[str] = []  # image files that cannot be decoded are left out, as training does
    try:
        predictor = Predictor(args.model)
        predictions = predictor.predict_paths(args.inputs, top_k=args.top_k, skipped=skipped)
    except PredictError as e:
        raise CliError(str(e)) from None
    if not predictions and skipped:
        if len(skipped) == 1:
            raise CliError(skipped[0])
        raise CliError(f"none of the {len(skipped)} images could be decoded: " + "; ".join(skipped))
    for message in skipped:
        print(f"workbench: skipped {message}", file=sys.stderr)
    print(
        json.dumps(predictions, indent=2)
        if args.json
        else format_predictions(predictor, predictions)
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from workbench.deploy.predict import PredictError
    from workbench.deploy.server import ModelServer, ServeError

    if args.max_bytes < 1:
        raise CliError(f"--max-bytes must be at least 1, not {args.max_bytes}")
    try:
        server = ModelServer(
            args.model, host=args.host, port=args.port, max_bytes=args.max_bytes, quiet=args.quiet
        )
    except (PredictError, ServeError) as e:
        raise CliError(str(e)) from None
    log = logging.getLogger("workbench.serve")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    # From here on Ctrl+C and SIGTERM, whenever they land, stop the server cleanly (exit 0).
    with server.stop_on_signals():
        try:
            server.start()
        except ServeError as e:
            raise CliError(str(e)) from None
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            p, url = server.predictor, server.url
            print(f"Serving {Path(args.model).name}: {p.describe()}")
            print(f'  POST {url}/predict   {{"instances": [{p.example_instance()}]}}')
            print(f"  GET  {url}/metadata")
            print(
                f"  GET  {url}/health   (and the Open Inference Protocol, KServe v2, under {url}/v2/models/{server.name})"
            )
            local = args.host in ("127.0.0.1", "localhost", "::1")
            where = (
                "this machine only"
                if local
                else f"{args.host}: other machines that can reach it may use the model"
            )
            print(f"Listening on {where}. Press Ctrl+C to stop.", flush=True)
            server.serve_forever()
        finally:
            server.stop()
            log.removeHandler(handler)
    print("stopped")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from workbench import bench

    if args.builder:
        results = bench.run_builder_benchmarks(nodes=args.nodes)
        text = bench.format_builder_results(results)
    elif args.ui:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from workbench.ui.bench_ui import format_ui_benchmark, run_ui_benchmark

        results = run_ui_benchmark()
        text = format_ui_benchmark(results)
    elif args.parity:
        from workbench.engine.bench_parity import format_parity, run_parity

        rows = run_parity()
        results = {"cases": rows}
        text = format_parity(rows)
    elif args.serve:
        from workbench.deploy import bench_serve

        results = bench_serve.run(
            old=args.old,
            slow=args.sockets,
            log=None if args.json else lambda line: print(line, file=sys.stderr),
        )
        text = bench_serve.format_report(results)
    elif args.images:
        from workbench.data import bench_images

        results = bench_images.run(
            count=args.count, log=None if args.json else lambda line: print(line, file=sys.stderr)
        )
        text = bench_images.format_report(results)
    elif args.evaluate:
        if args.count < 40:
            raise CliError(f"--count must be at least 40 for --evaluate, not {args.count}")
        from workbench.engine import bench_eval
        from workbench.engine.config import TrainError

        try:
            results = bench_eval.run(
                count=args.count,
                device=args.device or "cpu",
                log=None if args.json else lambda line: print(line, file=sys.stderr),
            )
        except (TrainError, RuntimeError, OSError) as e:
            raise CliError(f"the evaluation benchmark failed: {e}") from None
        text = bench_eval.format_report(results)
    elif args.gpu:
        from workbench.engine import bench_gpu
        from workbench.engine.config import TrainError

        try:
            results = bench_gpu.run(
                device=args.device or "cuda",
                # a long run: each row is printed as it is measured, also with --json
                log=lambda line: print(line, file=sys.stderr, flush=True),
                samples=bench_gpu.QUICK["samples"] if args.quick else bench_gpu.SAMPLES,
                epochs=bench_gpu.QUICK["epochs"] if args.quick else bench_gpu.EPOCHS,
            )
        except bench_gpu.GpuBenchError as e:
            raise CliError(f"bench --gpu {e}") from None
        except TrainError as e:
            raise CliError(f"the GPU benchmark failed: {e}") from None
        text = bench_gpu.format_report(results)
    else:
        from workbench.engine.bench_train import format_train_results, run_train_benchmark

        results = run_train_benchmark(
            rounds=args.rounds,
            progress=None if args.json else lambda line: print(line, file=sys.stderr),
        )
        text = format_train_results(results)
    print(json.dumps(results, indent=2) if args.json else text)
    return 0


# --- entry point -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    from workbench.core.export_formats import EXPORT_FORMATS
    from workbench.core.export_formats import cli_help as export_formats_help
    from workbench.engine.config import CUDA_GRAPH_MODES, OPTIMIZERS, choice_list

    p = _Parser(
        prog="workbench", description="Model Workbench: build, train and export neural networks."
    )
    from workbench import __version__

    p.add_argument("--version", action="version", version=f"workbench {__version__}")
    p.add_argument(
        "--self-test",
        action="store_true",
        help="generate a dataset, train, export and predict in a temporary folder; "
        "print versions, device and each step's time (exit 1 names the step that failed)",
    )
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    g = sub.add_parser("gui", help="open the window (the default)")
    g.add_argument("project", nargs="?", help="a .wbproj file (or a template name) to open")
    g.add_argument(
        "--screenshot",
        metavar="PNG",
        help="render the window at 1280x800 offscreen to PNG and exit (once the tab has "
        "finished its background work)",
    )
    from workbench.ui.app import TABS  # no Qt: the app module imports it when the GUI starts

    g.add_argument(
        "--tab",
        choices=TABS,
        help="the page to open on (default: model)",
    )
    # For `workbench bench --builder` in a frozen app, which has no `python -c` to run.
    g.add_argument("--first-paint-probe", action="store_true", help=argparse.SUPPRESS)
    g.set_defaults(func=cmd_gui)

    t = sub.add_parser("templates", help="list the starting templates")
    t.set_defaults(func=cmd_templates)

    n = sub.add_parser("new", help="create a project from a template")
    n.add_argument("--template", default="empty", help="template name (see 'workbench templates')")
    n.add_argument("--force", action="store_true", help="replace an existing file")
    n.add_argument("out", metavar="OUT.wbproj")
    n.set_defaults(func=cmd_new)

    i = sub.add_parser("info", help="print a project's layers, shapes, params and errors")
    i.add_argument("project", metavar="PROJECT")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=cmd_info)

    d = sub.add_parser("data", help="inspect datasets and attach them to projects")
    dsub = d.add_subparsers(dest="data_command", parser_class=_Parser, required=True)
    di = dsub.add_parser("inspect", help="scan a dataset and list its classes and problems")
    di.add_argument(
        "path",
        metavar="PATH",
        help="a folder of images, or a .csv, .tsv, .parquet, .npz or .npy file",
    )
    di.add_argument("--target", metavar="COLUMN", help="the target column of a table")
    di.add_argument("--json", action="store_true", help="machine-readable output")
    di.set_defaults(func=cmd_data_inspect)
    da = dsub.add_parser(
        "attach", help="use a dataset in a project and fit the model's Input and Output to it"
    )
    da.add_argument("project", metavar="PROJECT")
    da.add_argument("path", metavar="PATH")
    da.add_argument("--target", metavar="COLUMN", help="the target column of a table")
    da.set_defaults(func=cmd_data_attach)

    tr = sub.add_parser("train", help="train a project's model on its dataset")
    tr.add_argument("project", metavar="PROJECT")
    tr.add_argument("--data", metavar="PATH", help="use this dataset (stored in the project)")
    tr.add_argument("--target", metavar="COLUMN", help="the target column of a table")
    tr.add_argument("--epochs", type=int, metavar="N")
    tr.add_argument("--batch-size", type=int, metavar="N")
    tr.add_argument("--lr", type=float, metavar="X", help="learning rate")
    tr.add_argument("--optimizer", metavar="NAME", help=choice_list(OPTIMIZERS))
    tr.add_argument(
        "--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps (default: the project's)"
    )
    tr.add_argument("--seed", type=int, metavar="N")
    tr.add_argument(
        "--cuda-graphs",
        choices=CUDA_GRAPH_MODES,
        help="on CUDA: capture each training step in a CUDA graph (auto: where the model and "
        "settings allow it, else eager, saying why; on: fail instead; off: never)",
    )
    tr.add_argument(
        "--metrics",
        metavar="FILE.jsonl",
        help="also write one JSON line per epoch here (and a last one for the test split)",
    )
    start = tr.add_mutually_exclusive_group()
    start.add_argument(
        "--resume", action="store_true", help="continue the project's last unfinished run"
    )
    start.add_argument(
        "--from-run",
        metavar="ID",
        help="start a new run from the weights of run ID (its last intact checkpoint)",
    )
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser(
        "evaluate",
        help="evaluate a run's best weights on a split: metrics, per-class table, predictions",
    )
    ev.add_argument("project", metavar="PROJECT")
    ev.add_argument("--run", metavar="ID", help="the run to evaluate (default: the latest)")
    ev.add_argument(
        "--split",
        choices=("test", "val", "train"),
        default="test",
        help="the split of the run's dataset (default test)",
    )
    ev.add_argument(
        "--json", action="store_true", help="print the metrics as JSON instead of a summary"
    )
    ev.add_argument(
        "--predictions",
        metavar="FILE.csv",
        help="write one row per sample: sample, true, predicted, p_<class>… (or the value)",
    )
    ev.add_argument(
        "--report",
        metavar="DIR",
        help="also write DIR/report.html (one page with the figures, tables, settings and "
        "curves), DIR/metrics.json and DIR/predictions.csv",
    )
    ev.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="auto (default), cpu, cuda, cuda:N or mps",
    )
    ev.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="samples per forward pass (default: twice the run's batch size)",
    )
    ev.set_defaults(func=cmd_evaluate)
    ru = sub.add_parser(
        "runs", help="list a project's runs: status, epochs, best validation and test metrics"
    )
    ru.add_argument("project", metavar="PROJECT")
    ru.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output (with each run's hyperparameters)",
    )
    ru.set_defaults(func=cmd_runs)

    ex = sub.add_parser(
        "export", help="export a trained model: verified ONNX, PyTorch weights, or PyTorch code"
    )
    ex.add_argument("project", metavar="PROJECT")
    ex.add_argument("--format", choices=EXPORT_FORMATS, default="onnx", help=export_formats_help())
    folders = choice_list([f.name for f in EXPORT_FORMATS.values() if f.folder])
    ex.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help=f"the file (or, for {folders}, the folder) to write",
    )
    ex.add_argument(
        "--opset", type=int, default=18, metavar="N", help="ONNX opset, 18 to 25 (default 18)"
    )
    ex.add_argument("--run", metavar="ID", help="the run to export (default: the latest)")
    ex.add_argument(
        "--untrained",
        action="store_true",
        help="export the model with freshly initialised weights (no run needed)",
    )
    ex.set_defaults(func=cmd_export)

    pr = sub.add_parser(
        "predict", help="predict with an exported .onnx model (onnxruntime only, no PyTorch)"
    )
    pr.add_argument("model", metavar="MODEL.onnx", help="a model written by 'workbench export'")
    pr.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files or folders, .csv/.tsv files of rows, or .npy/.npz arrays (as the model was trained on)",
    )
    pr.add_argument(
        "--top-k",
        type=int,
        default=5,
        metavar="K",
        help="classes listed per prediction (default 5)",
    )
    pr.add_argument("--json", action="store_true", help="machine-readable output")
    pr.set_defaults(func=cmd_predict)

    sv = sub.add_parser("serve", help="serve an exported .onnx model over HTTP (POST /predict)")
    sv.add_argument("model", metavar="MODEL.onnx", help="a model written by 'workbench export'")
    sv.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    sv.add_argument(
        "--port",
        type=int,
        default=8000,
        metavar="N",
        help="port (default 8000; 0 picks a free one)",
    )
    sv.add_argument(
        "--max-bytes",
        type=int,
        default=16 * 2**20,
        metavar="N",
        help="largest request body (default 16 MiB)",
    )
    sv.add_argument("--quiet", action="store_true", help="do not log each request")
    sv.set_defaults(func=cmd_serve)

    b = sub.add_parser(
        "bench",
        help="benchmarks: training speed (default), builder, image streaming, evaluation, GPU "
        "training, serving",
    )
    mode = b.add_mutually_exclusive_group()
    mode.add_argument(
        "--builder",
        action="store_true",
        help="shape inference on a large graph and launch to first paint",
    )
    mode.add_argument(
        "--images", action="store_true", help="index and stream a generated folder of small PNGs"
    )
    mode.add_argument(
        "--evaluate",
        action="store_true",
        help="train LeNet on that folder for one epoch, then evaluate it on every image: "
        "samples/s against training's, and the evaluation's memory",
    )
    mode.add_argument(
        "--gpu",
        action="store_true",
        help="the templates at two batch sizes each on a CUDA GPU: a plain PyTorch loop against "
        "the trainer without and with CUDA graphs (samples/s and ratios)",
    )
    mode.add_argument(
        "--ui",
        action="store_true",
        help="event-loop gaps of the window while it trains (p50, p99, max)",
    )
    mode.add_argument(
        "--parity",
        action="store_true",
        help="templates against hand-written PyTorch on the sample datasets",
    )
    mode.add_argument(
        "--serve",
        action="store_true",
        help="the prediction server against onnxruntime: keep-alive, 32 clients, huge images, slow sockets",
    )
    b.add_argument("--nodes", type=int, default=300, help="--builder: graph size (default 300)")
    b.add_argument(
        "--count",
        type=int,
        default=100_000,
        help="--images, --evaluate: number of images (default 100000)",
    )
    b.add_argument(
        "--device",
        help="--evaluate: where to train and evaluate (default cpu; auto, cuda, cuda:N, mps); "
        "--gpu: where to train (default cuda; cpu for a smoke run)",
    )
    b.add_argument(
        "--quick",
        action="store_true",
        help="--gpu: a smoke run (1,024 samples, one timed epoch per row)",
    )
    b.add_argument("--rounds", type=int, default=3, help="training: interleaved rounds (default 3)")
    b.add_argument(
        "--old",
        metavar="REV",
        help="--serve: also measure the server of this git revision (or folder)",
    )
    b.add_argument(
        "--sockets", type=int, default=2000, help="--serve: slow sockets to open (default 2000)"
    )
    b.add_argument("--json", action="store_true", help="machine-readable output")
    b.set_defaults(func=cmd_bench)
    return p


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in _commands(parser):
        # `workbench net.wbproj` (how a desktop opens a project file) means `workbench gui net.wbproj`
        argv.insert(0, "gui")
    args = parser.parse_args(argv)
    if args.self_test:
        if args.command is not None:
            print("workbench: --self-test takes no command", file=sys.stderr)
            return EXIT_USAGE
        from workbench.selftest import main as self_test

        return self_test()
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or [])])
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"workbench: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - a bug: the traceback goes to a log file, not the terminal
        from workbench.core.crashlog import crash_message

        print(f"workbench: {crash_message(e)}", file=sys.stderr)
        return EXIT_CRASH


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
