import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from caption_fixtures import make_images
from sqlalchemy import select, update

from mclip_gui.core.captions.service import CaptionService, captions_for_image, decide
from mclip_gui.core.errors import CaptionError
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption, Claim, Image

GOOD = "rote Lederjacke für Damen mit Reißverschluss, Winter"
GOOD2 = "blaues Sommerkleid aus Baumwolle mit kurzen Ärmeln"


@pytest.fixture
def images(library: Library, tmp_path: Path) -> list[int]:
    return make_images(library, tmp_path / "photos", 5)


def test_queue_serves_images_in_stable_order_and_submit_stores_author(
    library: Library, images: list[int]
) -> None:
    anna = CaptionService(library, "Anna")

    first = anna.next_image()
    assert first is not None and first.image_id == images[0]
    caption_id = anna.submit(first.image_id, f"  {GOOD} ")
    second = anna.next_image()

    assert second is not None and second.image_id == images[1]
    with library.store.session() as s:
        caption = s.get(Caption, caption_id)
        assert caption is not None
        assert (caption.text, caption.state, caption.language) == (GOOD, "pending", "de")
        assert caption.created_at is not None
    [info] = captions_for_image(library, images[0])
    assert (info.author, info.state, info.source) == ("Anna", "pending", "written")


def test_submit_refuses_broken_rules_with_each_message(library: Library, images: list[int]) -> None:
    anna = CaptionService(library, "Anna")
    item = anna.next_image()
    assert item is not None

    with pytest.raises(CaptionError) as caught:
        anna.submit(item.image_id, "Das ist eine Jacke.")

    assert str(caught.value) == (
        "Write at least 6 words (now 4). "
        'Separate words only with a space or ", " (found ".").'
        ' Do not start with "Das ist": name the product right away.'
    )
    assert captions_for_image(library, item.image_id) == []


def test_two_instances_on_one_database_never_get_the_same_image(
    data_dir: Path, images: list[int]
) -> None:
    one, two = Library(data_dir), Library(data_dir)
    try:
        anna = CaptionService(one, "Anna")
        anna_again = CaptionService(two, "Anna")  # the same person in a second window

        a = anna.next_image()
        b = anna_again.next_image()

        assert a is not None and b is not None
        assert a.image_id != b.image_id
        with pytest.raises(CaptionError, match="Anna is captioning this image now"):
            anna_again.submit(a.image_id, GOOD)
    finally:
        one.close()
        two.close()


def test_expired_claim_can_be_taken_over(library: Library, images: list[int]) -> None:
    anna, ben = CaptionService(library, "Anna"), CaptionService(library, "Ben")
    a = anna.next_image()
    assert a is not None
    with library.store.session() as s:
        s.execute(update(Claim).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    b = ben.next_image()

    assert b is not None and b.image_id == a.image_id


def test_concurrent_claims_from_threads_hand_out_each_image_once(
    data_dir: Path, tmp_path: Path
) -> None:
    setup = Library(data_dir)
    make_images(setup, tmp_path / "many", 30)
    setup.close()
    served: list[list[int]] = [[], [], []]
    # One Library (engine) per worker, as in separate app instances; opened here because
    # Alembic's upgrade on open is not thread-safe.
    libraries = [Library(data_dir) for _ in served]

    def work(slot: int) -> None:
        service = CaptionService(libraries[slot], f"worker {slot}")
        while (item := service.next_image()) is not None:
            served[slot].append(item.image_id)
            service.submit(item.image_id, GOOD)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for lib in libraries:
        lib.close()

    everything = [i for ids in served for i in ids]
    assert len(everything) == 30
    assert len(set(everything)) == 30


def test_draft_is_restored_when_the_image_comes_back(library: Library, images: list[int]) -> None:
    anna = CaptionService(library, "Anna")
    item = anna.next_image()
    assert item is not None
    anna.save_draft(item.image_id, "rote Leder")
    anna.close()

    again = CaptionService(library, "Anna").next_image()

    assert again is not None and again.image_id == item.image_id
    assert again.draft == "rote Leder"


def test_skip_previous_and_undo(library: Library, images: list[int]) -> None:
    anna = CaptionService(library, "Anna")
    first = anna.next_image()
    assert first is not None
    second = anna.skip(first.image_id)
    assert second is not None and second.image_id == images[1]
    anna.submit(second.image_id, GOOD)
    third = anna.next_image()
    assert third is not None and third.image_id == images[2]

    back = anna.previous()
    assert back is not None and back.image_id == images[1]
    assert back.own_caption == GOOD

    undone = anna.undo_last()
    assert undone.image_id == images[1]
    assert undone.draft == GOOD
    assert undone.own_caption_id is None
    with pytest.raises(CaptionError, match="Nothing to undo"):
        anna.undo_last()


def test_skipped_images_come_back_when_the_queue_is_otherwise_empty(
    library: Library, tmp_path: Path
) -> None:
    ids = make_images(library, tmp_path / "two", 2)
    anna = CaptionService(library, "Anna")
    a = anna.next_image()
    assert a is not None
    b = anna.skip(a.image_id)
    assert b is not None and b.image_id == ids[1]

    anna.submit(b.image_id, GOOD)
    c = anna.next_image()

    assert c is not None and c.image_id == ids[0]
    anna.submit(c.image_id, GOOD2)
    assert anna.next_image() is None


def test_validation_never_serves_own_caption_unless_allowed(
    library: Library, images: list[int]
) -> None:
    anna, ben = CaptionService(library, "Anna"), CaptionService(library, "Ben")
    item = anna.next_image()
    assert item is not None
    caption_id = anna.submit(item.image_id, GOOD)

    assert anna.next_caption_to_validate() is None
    with pytest.raises(CaptionError, match="You cannot validate your own caption"):
        anna.give_verdict(caption_id, "appropriate")
    served = ben.next_caption_to_validate()
    assert served is not None and served.caption_id == caption_id and served.author == "Anna"

    library.update_settings(allow_self_review=True)
    assert anna.next_caption_to_validate() is None  # Ben holds the claim
    assert ben.give_verdict(caption_id, "appropriate") == "accepted"


def _captioned(library: Library, author: str = "Anna") -> tuple[int, int]:
    writer = CaptionService(library, author)
    item = writer.next_image()
    assert item is not None
    return item.image_id, writer.submit(item.image_id, GOOD)


def test_rejected_caption_sends_the_image_back_to_the_queue(
    library: Library, images: list[int]
) -> None:
    image_id, caption_id = _captioned(library)
    ben = CaptionService(library, "Ben")

    assert ben.give_verdict(caption_id, "inappropriate") == "rejected"

    again = CaptionService(library, "Carl").next_image()
    assert again is not None and again.image_id == image_id


def test_image_failed_by_majority_flags_the_image_and_leaves_the_queues(
    library: Library, images: list[int]
) -> None:
    library.update_settings(verdicts_per_caption=3)
    image_id, caption_id = _captioned(library)
    validators = [CaptionService(library, name) for name in ("Ben", "Carl", "Dora")]

    assert validators[0].give_verdict(caption_id, "image_failed") is None
    assert validators[1].give_verdict(caption_id, "appropriate") is None
    assert validators[2].give_verdict(caption_id, "image_failed") == "problem"

    with library.store.session() as s:
        image = s.get(Image, image_id)
        assert image is not None and image.problem
    served = []
    carl = CaptionService(library, "Eve")
    while (item := carl.next_image()) is not None:
        served.append(item.image_id)
        carl.submit(item.image_id, GOOD2)
    assert image_id not in served


def test_tie_waits_for_one_more_verdict(library: Library, images: list[int]) -> None:
    library.update_settings(verdicts_per_caption=2)
    _, caption_id = _captioned(library)
    ben, carl, dora = (CaptionService(library, n) for n in ("Ben", "Carl", "Dora"))

    assert ben.give_verdict(caption_id, "appropriate") is None
    assert carl.give_verdict(caption_id, "inappropriate") is None  # 1:1, a tie
    served = dora.next_caption_to_validate()
    assert served is not None and served.caption_id == caption_id
    assert dora.give_verdict(caption_id, "appropriate") == "accepted"
    with pytest.raises(CaptionError, match="already decided"):
        CaptionService(library, "Eve").give_verdict(caption_id, "inappropriate")


def test_a_validator_gives_one_verdict_per_caption(library: Library, images: list[int]) -> None:
    library.update_settings(verdicts_per_caption=3)
    _, caption_id = _captioned(library)
    ben = CaptionService(library, "Ben")
    ben.give_verdict(caption_id, "appropriate")

    with pytest.raises(CaptionError, match="You already gave a verdict on this caption"):
        ben.give_verdict(caption_id, "inappropriate")
    assert ben.next_caption_to_validate() is None


@pytest.mark.parametrize(
    ("verdicts", "needed", "outcome"),
    [
        (["appropriate"], 1, "appropriate"),
        (["appropriate"], 2, None),
        (["appropriate", "inappropriate"], 2, None),
        (["appropriate", "inappropriate", "inappropriate"], 2, "inappropriate"),
        (["appropriate", "inappropriate", "image_failed"], 3, None),
        (["image_failed", "image_failed", "appropriate"], 3, "image_failed"),
    ],
)
def test_majority_table(verdicts: list[str], needed: int, outcome: str | None) -> None:
    assert decide(verdicts, needed) == outcome


def test_accepted_caption_leaves_the_caption_queue(library: Library, images: list[int]) -> None:
    image_id, caption_id = _captioned(library)
    CaptionService(library, "Ben").give_verdict(caption_id, "appropriate")

    carl = CaptionService(library, "Carl")
    served = []
    while (item := carl.next_image()) is not None:
        served.append(item.image_id)
        carl.submit(item.image_id, GOOD2)

    assert image_id not in served
    with library.store.session() as s:
        states = set(s.scalars(select(Caption.state).where(Caption.image_id == image_id)))
    assert states == {"accepted"}
