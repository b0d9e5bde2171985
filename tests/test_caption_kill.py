"""A caption session killed with SIGKILL in the middle of writing loses nothing it confirmed."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from caption_fixtures import make_images
from sqlalchemy import select, update

from mclip_gui.core.captions.service import CaptionService
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption, Claim

PROJECT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import sys
    from mclip_gui.core.captions.service import CaptionService
    from mclip_gui.core.library import Library

    service = CaptionService(Library(sys.argv[1]), "Anna")
    n = 0
    while (item := service.next_image()) is not None:
        n += 1
        service.save_draft(item.image_id, f"halb getippt {n}")
        print("draft", item.image_id, flush=True)
        text = f"rote Lederjacke Nummer {n} für Damen, Winter"
        caption_id = service.submit(item.image_id, text)
        print("submitted", caption_id, text, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_writes_loses_no_submitted_caption(data_dir: Path, tmp_path: Path) -> None:
    library = Library(data_dir)
    make_images(library, tmp_path / "photos", 40)
    library.close()
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    submitted: dict[int, str] = {}
    last_draft: int | None = None
    assert child.stdout is not None
    while len(submitted) < 6:
        line = child.stdout.readline()
        assert line, "the child stopped before it was killed"
        kind, number, *text = line.split(" ", 2)
        if kind == "draft":
            last_draft = int(number)
        else:
            submitted[int(number)] = text[0].rstrip("\n")
    line = child.stdout.readline()  # the child is now inside the next write
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    if line.startswith("draft"):
        last_draft = int(line.split()[1])
    elif line.startswith("submitted"):
        submitted[int(line.split()[1])] = line.split(" ", 2)[2].rstrip("\n")

    restarted = Library(data_dir)
    with restarted.store.session() as s:
        for caption_id, text in submitted.items():
            caption = s.get(Caption, caption_id)
            assert caption is not None and caption.text == text
        typed_image_captioned = s.scalar(select(Caption.id).where(Caption.image_id == last_draft))
        # The dead session's claim would hold the image for claim_seconds; let it run out.
        s.execute(update(Claim).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    item = CaptionService(restarted, "Anna").next_image()
    restarted.close()

    assert child.returncode == -signal.SIGKILL
    assert item is not None
    if typed_image_captioned is None:
        # Killed before that submit committed: the image comes back with its draft.
        assert item.image_id == last_draft
        assert item.draft.startswith("halb getippt")
    else:
        assert item.image_id != last_draft
