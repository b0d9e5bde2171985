"""Library commands: info (and import, added by the library module)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy import func, select

from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption, Image


def register(commands: Any) -> None:
    info = commands.add_parser("info", help="show the data folder, database and counts")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace, library: Library) -> int:
    with library.store.session() as s:
        by_state = dict(
            s.execute(select(Image.state, func.count()).group_by(Image.state)).tuples().all()
        )
        captions = dict(
            s.execute(select(Caption.state, func.count()).group_by(Caption.state)).tuples().all()
        )
    facts = {
        "data_dir": str(library.data_dir),
        "database": library.store.engine.url.render_as_string(hide_password=True),
        "model": library.settings.model,
        "images": by_state,
        "captions": captions,
    }
    if args.json:
        print(json.dumps(facts, indent=2, ensure_ascii=False))
    else:
        for key, value in facts.items():
            print(f"{key}: {value}")
    return 0
