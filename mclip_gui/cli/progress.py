"""Progress bars for the command line (tqdm on stderr, silent when not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from mclip_gui.core.jobs import Progress, ProgressCallback


@contextmanager
def progress_bar(description: str, enabled: bool | None = None) -> Iterator[ProgressCallback]:
    """Yield a progress callback drawing a tqdm bar; disabled when stderr is not a terminal."""
    disable = not (sys.stderr.isatty() if enabled is None else enabled)
    bar = tqdm(desc=description, total=0, disable=disable, unit="it", dynamic_ncols=True)

    def update(p: Progress) -> None:
        if p.total and bar.total != p.total:
            bar.total = p.total
        bar.n = p.done
        if p.message:
            bar.set_postfix_str(p.message[:40], refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
