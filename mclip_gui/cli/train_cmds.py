"""Commands: finetune, evaluate, experiment learning-curve, versions list|activate."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mclip_gui.cli.progress import progress_bar
from mclip_gui.core.library import Library
from mclip_gui.core.training.config import MODES, TrainSettings


def register(commands: Any) -> None:
    finetune = commands.add_parser(
        "finetune", help="fine-tune the active model on the accepted captions (train split)"
    )
    finetune.add_argument("--model", help="model to train (default: the library's model)")
    add_train_options(finetune)
    finetune.add_argument(
        "--resume",
        nargs="?",
        const=-1,
        type=int,
        metavar="RUN",
        help="continue an interrupted run from its checkpoint (default: the newest one)",
    )
    finetune.add_argument(
        "--no-activate", action="store_true", help="keep the current model active afterwards"
    )
    finetune.add_argument(
        "--in-process", action="store_true", help="train in this process (debugging)"
    )
    finetune.add_argument("--json", action="store_true", help="print the result as JSON")
    finetune.set_defaults(func=cmd_finetune)

    evaluate = commands.add_parser(
        "evaluate", help="text-to-image retrieval metrics of models on the eval split"
    )
    evaluate.add_argument(
        "--model",
        action="append",
        default=[],
        help="a model (repeatable); a version is shown beside its zero-shot base model",
    )
    evaluate.add_argument("--k", type=int, default=20, help="top k (default 20)")
    evaluate.add_argument("--device", help="cpu, cuda, mps or auto (default: the setting)")
    form = evaluate.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON")
    form.add_argument("--markdown", action="store_true", help="print a Markdown table")
    form.add_argument("--csv", action="store_true", help="print CSV")
    evaluate.set_defaults(func=cmd_evaluate)

    experiment = commands.add_parser("experiment", help="experiments (learning curve)")
    kinds = experiment.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    curve = kinds.add_parser(
        "learning-curve", help="fine-tune on growing training subsets and plot each metric"
    )
    curve.add_argument("--sizes", required=True, help="training sizes, e.g. 500,1000,2000")
    curve.add_argument("--model", help="model to train (default: the library's model)")
    curve.add_argument("--out", type=Path, default=Path("learning-curve"), help="output folder")
    add_train_options(curve)
    curve.add_argument("--in-process", action="store_true", help="train in this process")
    curve.set_defaults(func=cmd_learning_curve)

    versions = commands.add_parser("versions", help="model versions made by fine-tuning")
    actions = versions.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list model versions and their metrics")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_versions_list)
    activate = actions.add_parser(
        "activate", help="use a version (or any model) for search; re-embeds when needed"
    )
    activate.add_argument("name", help="version name, version:NAME, or any model")
    activate.set_defaults(func=cmd_versions_activate)
    delete = actions.add_parser(
        "delete", help="delete versions: their weights, image embeddings and records"
    )
    delete.add_argument("names", nargs="+", metavar="NAME", help="version name or version:NAME")
    delete.set_defaults(func=cmd_versions_delete)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (0 would silently mean "automatic")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{value} is below 1 (leave the option out for the default)"
        )
    return value


def add_train_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, help="epochs (default 5)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default 1e-6)")
    parser.add_argument(
        "--batch-size", type=positive_int, help="captions per step (default: automatic)"
    )
    parser.add_argument("--mode", choices=MODES, help="which towers learn (default auto)")
    parser.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    parser.add_argument("--device", help="cpu, cuda, mps or auto")
    parser.add_argument(
        "--max-captions", type=positive_int, help="train on at most this many captions"
    )
    parser.add_argument("--seed", type=int, help="seed of data order and subsets")


def train_settings(args: argparse.Namespace) -> TrainSettings:
    changes = {
        "epochs": args.epochs,
        "learning_rate": args.lr,
        "batch_size": args.batch_size,
        "mode": args.mode,
        "patience": args.patience,
        "device": args.device,
        "max_train_captions": args.max_captions,
        "seed": args.seed,
    }
    return TrainSettings().updated(**{k: v for k, v in changes.items() if v is not None})


class EventPrinter:
    """Prints each evaluation; without a terminal (no progress bar: a log file, a pipe) also a
    progress line every `every_s` seconds, so a long run is never silent between epochs."""

    def __init__(self, every_s: float = 30.0, terminal: bool | None = None):
        self.every_s = every_s
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.last = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> None:
        if event["kind"] == "eval":
            label = "zero-shot" if event["epoch"] == 0 else f"epoch {event['epoch']}"
            metrics = ", ".join(f"{k} {v:.4f}" for k, v in event["metrics"].items())
            loss = "" if event.get("loss") is None else f" (train loss {event['loss']:.4f})"
            print(f"{label}: {metrics}{loss}", flush=True)
            self.last = time.monotonic()
        elif not self.terminal and time.monotonic() - self.last >= self.every_s:
            if event["kind"] == "step":
                eta = event.get("eta_s")
                left = f", about {eta / 60:.0f} min left" if eta else ""
                print(
                    f"epoch {event['epoch']}/{event['epochs']}, step {event['step']}/"
                    f"{event['steps']}, loss {event['loss']:.4f}, "
                    f"{event['samples_per_s']:.1f} samples/s{left}",
                    flush=True,
                )
            elif event["kind"] == "status":
                print(event["message"], flush=True)
            else:
                return
            self.last = time.monotonic()


def cmd_finetune(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.training.child import finetune

    settings = train_settings(args).updated(activate=not args.no_activate)
    resume = args.resume is not None
    with progress_bar("fine-tuning") as progress:
        result = finetune(
            library,
            args.model,
            settings,
            progress,
            on_event=EventPrinter(),
            resume=resume,
            resume_run=None if args.resume in (None, -1) else args.resume,
            in_process=args.in_process,
        )
    if args.json:
        print(json.dumps(result.__dict__, indent=2))
    else:
        print(result.summary())
        if result.activated:
            print(f"search now uses version:{result.version}")
    return 0


def cmd_evaluate(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.evaluation import comparison_columns, evaluate_models

    columns = comparison_columns(library, args.model)
    with progress_bar("evaluating") as progress:
        table = evaluate_models(library, columns, args.k, progress, device=args.device)
    for path, reason in table.skipped:
        print(f"skipping {path}: {reason}", file=sys.stderr)
    if args.json:
        print(table.to_json())
    elif args.csv:
        print(table.to_csv(), end="")
    else:
        print(table.to_markdown(), end="")
    return 0


def cmd_learning_curve(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.evaluation import learning_curve, parse_sizes

    sizes = parse_sizes(args.sizes)
    args.out.mkdir(parents=True, exist_ok=True)
    with progress_bar("learning curve") as progress:
        curve = learning_curve(
            library,
            sizes,
            args.model,
            train_settings(args),
            progress,
            in_process=args.in_process,
        )
    csv_path = args.out / "learning-curve.csv"
    csv_path.write_text(curve.to_csv(), encoding="utf-8")
    png_path = args.out / "learning-curve.png"
    from mclip_gui.gui.pages.compare_page import save_learning_curve_png

    save_learning_curve_png(curve, png_path)
    print(curve.to_csv(), end="")
    print(f"wrote {csv_path} and {png_path}")
    return 0


def cmd_versions_list(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.training.versions import list_versions

    versions = list_versions(library)
    active = library.settings.model
    if args.json:
        rows = [
            {
                "name": v.name,
                "base_model": v.base_model,
                "mode": v.mode,
                "created_at": v.created_at.isoformat(),
                "active": v.spec == active,
                "zero_shot": v.metrics.get("zero_shot", {}),
                "best": v.metrics.get("best", {}),
                "captions": v.data.get("captions"),
            }
            for v in versions
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not versions:
        print("no model versions yet: run `mclip finetune`")
        return 0
    for v in versions:
        mark = "*" if v.spec == active else " "
        if v.mrr_change is None:
            print(f"{mark} {v.name}  {v.mode}  not trained here (mclip evaluate measures it)")
            continue
        zs, best = v.mrr_change
        print(
            f"{mark} {v.name}  from {v.base_model}  {v.mode}  {v.data.get('captions', 0)} "
            f"captions  mRR {zs:.4f} -> {best:.4f}"
        )
    return 0


def cmd_versions_activate(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.training.versions import activate

    with progress_bar("activating") as progress:
        spec = activate(library, args.name, progress)
    print(f"search now uses {spec}")
    return 0


def cmd_versions_delete(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.training.versions import delete_version

    for name in args.names:
        freed = delete_version(library, name)
        print(f"deleted {name.removeprefix('version:')} ({freed / 2**20:,.0f} MiB freed)")
    return 0
