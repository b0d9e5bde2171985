import hashlib
import re
from pathlib import Path

import pytest
from caption_fixtures import insert_rows, make_images
from sqlalchemy import select

from mclip_gui.core.captions import split
from mclip_gui.core.errors import ConfigError
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Image, TrainingRun


def splits(library: Library) -> dict[str, str | None]:
    with library.store.session() as s:
        return {path: sp for path, sp in s.execute(select(Image.path, Image.split))}


def fake_hashes(n: int, salt: str = "") -> list[str]:
    return [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in range(n)]


def test_split_for_hash_is_stable_and_holds_out_about_one_in_six() -> None:
    hashes = fake_hashes(12_000)

    first = [split.split_for_hash(h, 6) for h in hashes]
    again = [split.split_for_hash(h, 6) for h in hashes]

    assert first == again
    held_out = first.count("eval") / len(first)
    assert 1 / 6 - 0.015 < held_out < 1 / 6 + 0.015


def test_split_stays_put_when_images_are_added(library: Library, tmp_path: Path) -> None:
    make_images(library, tmp_path / "a", 40)
    split.ensure_splits(library)
    before = splits(library)

    make_images(library, tmp_path / "b", 40, start=40)
    assigned = split.ensure_splits(library)
    after = splits(library)

    assert assigned == 40
    assert {p: after[p] for p in before} == before
    assert None not in after.values()
    assert {"train", "eval"} <= set(after.values())


def test_byte_identical_images_share_their_split(library: Library, tmp_path: Path) -> None:
    rows = [{"path": str(tmp_path / f"copy{i}.jpg"), "content_hash": "ab" * 32} for i in range(3)]
    insert_rows(library, rows)

    split.ensure_splits(library)

    assert len(set(splits(library).values())) == 1


def test_one_in_can_change_before_the_first_training(library: Library, tmp_path: Path) -> None:
    make_images(library, tmp_path / "a", 60)
    split.ensure_splits(library)

    split.set_eval_one_in(library, 3)

    assert library.settings.eval_one_in == 3
    with library.store.session() as s:
        for content_hash, sp in s.execute(select(Image.content_hash, Image.split)):
            assert sp == split.split_for_hash(str(content_hash), 3)


def test_one_in_is_frozen_once_a_training_run_exists(library: Library, tmp_path: Path) -> None:
    make_images(library, tmp_path / "a", 10)
    with library.store.session() as s:
        s.add(TrainingRun(model="tiny", run_dir=str(tmp_path / "run")))
    split.ensure_splits(library)

    message = (
        "The evaluation split is fixed at one image in 6 since the first training run; "
        "changing it to one in 4 would move images between train and eval."
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        split.set_eval_one_in(library, 4)
    assert library.store.get_meta(split.FROZEN_KEY) == "6"
    assert split.set_eval_one_in(library, 6) == 0


def test_freeze_keeps_the_value_even_if_settings_change_later(library: Library) -> None:
    assert split.freeze(library) == 6
    library.update_settings(eval_one_in=10)

    assert split.eval_one_in(library) == 6
    with pytest.raises(ConfigError, match="fixed at one image in 6"):
        split.set_eval_one_in(library, 10)
