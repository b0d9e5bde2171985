"""Search commands: `mclip index` embeds and indexes the library, `mclip search` queries it."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mclip_gui.cli.progress import progress_bar
from mclip_gui.core.library import Library


def register(commands: Any) -> None:
    index = commands.add_parser(
        "index", help="embed images that have no embedding for the model yet, and index them"
    )
    add_model_option(index)
    index.add_argument("--batch-size", type=int, default=None, help="images per batch")
    index.add_argument("--workers", type=int, default=None, help="image decoding threads")
    index.set_defaults(func=cmd_index)

    search = commands.add_parser("search", help="search images by text, or similar to an image")
    search.add_argument("query", nargs="?", default=None, help="the search text (any language)")
    search.add_argument(
        "--similar-to", type=Path, default=None, metavar="IMAGE", help="find images like this one"
    )
    add_model_option(search)
    search.add_argument("--top-k", type=int, default=None, help="how many results (default: 60)")
    search.add_argument("--exact", action="store_true", help="search exactly, without HNSW")
    search.add_argument("--json", action="store_true", help="print a JSON list of {path, score}")
    search.set_defaults(func=cmd_search)


def add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="model to use (architecture::pretrained, hf-hub:…, a file or folder, version:NAME; "
        "default: the library's model setting)",
    )


def load(args: argparse.Namespace, library: Library) -> Any:
    """Load the chosen model; ModelError (shown by main) when it cannot be loaded."""
    from mclip_gui.core.modelspec import load_model

    return load_model(args.model or library.settings.model, library.settings.device, library)


def cmd_index(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.embed import embed_library

    model = load(args, library)
    with progress_bar("embedding") as progress:
        report = embed_library(
            library, model, progress, batch_size=args.batch_size, workers=args.workers
        )
    for path, reason in report.skipped:
        print(f"skipping {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0


def cmd_search(args: argparse.Namespace, library: Library) -> int:
    from mclip_gui.core.search import SearchResult, SearchService

    if (args.query is None) == (args.similar_to is None):
        print("mclip search: give either a QUERY or --similar-to IMAGE", file=sys.stderr)
        return 2
    if args.query is not None and not args.query.strip():
        print("mclip search: the query is empty; type what you are looking for", file=sys.stderr)
        return 2
    if args.top_k is not None and args.top_k < 1:
        print("mclip search: --top-k must be at least 1", file=sys.stderr)
        return 2
    model = load(args, library)
    service = SearchService(library, model, warm_up=False)
    index_command = "mclip index"
    name = library.settings.model
    if args.model and args.model != library.settings.model:
        name = args.model
        index_command += f" --model {shlex.quote(args.model)}"
    if service.indexed_count == 0:
        print(
            f"mclip search: no images are indexed for model {name}; run '{index_command}' first",
            file=sys.stderr,
        )
        return 1
    missing = service.missing_count()
    if missing:
        print(
            f"note: {missing} images have no embedding yet (run '{index_command}')",
            file=sys.stderr,
        )
    result: SearchResult
    exact = True if args.exact else None
    if args.query is not None:
        result = service.search_text(args.query, args.top_k, exact)
    else:
        result = service.search_image(image_id(library, args.similar_to), args.top_k, exact)
    print_result(result, args.json)
    return 0


def image_id(library: Library, path: Path) -> int:
    """The id of the library image at `path`; ValueError (shown by main) when it is not one."""
    from mclip_gui.core.schema import Image

    with library.store.session() as s:
        found = s.scalar(select(Image.id).where(Image.path == str(path.expanduser().resolve())))
    if found is None:
        raise ValueError(f"{path} is not an image of this library (import its folder first)")
    return int(found)


def print_result(result: Any, as_json: bool) -> None:
    if result.truncated:
        print(f"note: {result.truncation_notice}", file=sys.stderr)
    if as_json:
        hits = [{"path": hit.path, "score": round(hit.score, 6)} for hit in result.hits]
        print(json.dumps(hits, indent=2, ensure_ascii=False))
        return
    for hit in result.hits:
        print(f"{hit.score:.4f}  {hit.path}")
