from pathlib import Path

import pytest
from caption_fixtures import make_images

from mclip_gui.core.captions.overview import agreement_of, compute_overview
from mclip_gui.core.captions.service import CaptionService
from mclip_gui.core.library import Library

TEXTS = [
    "rote Lederjacke für Damen mit Reißverschluss, Winter",
    "blaues Sommerkleid aus Baumwolle mit kurzen Ärmeln",
    "schwarze Stiefel aus Leder für Herren, Winter, warm",
    "graue Wollmütze mit Bommel für Kinder, Winter",
]


def test_overview_counts_images_captions_and_annotators(library: Library, tmp_path: Path) -> None:
    make_images(library, tmp_path / "p", 6)
    library.update_settings(verdicts_per_caption=2)
    anna = CaptionService(library, "Anna")
    ids = []
    for text in TEXTS:
        item = anna.next_image()
        assert item is not None
        ids.append(anna.submit(item.image_id, text))
    ben, carl = CaptionService(library, "Ben"), CaptionService(library, "Carl")
    for caption_id, (b, c) in zip(
        ids[:3],
        [("appropriate", "appropriate"), ("inappropriate", "inappropriate"), ("image_failed",) * 2],
        strict=True,
    ):
        ben.give_verdict(caption_id, b)
        carl.give_verdict(caption_id, c)

    overview = compute_overview(library)

    assert overview.images == {
        "no_caption": 2,
        "awaiting_validation": 1,
        "accepted": 1,
        "rejected": 1,
        "image_problem": 1,
    }
    assert overview.captions == {"accepted": 1, "rejected": 1, "problem": 1, "pending": 1}
    anna_row, ben_row, _carl_row = overview.annotators
    assert (anna_row.name, anna_row.written, anna_row.accepted, anna_row.pending) == (
        "Anna",
        4,
        1,
        1,
    )
    assert (ben_row.name, ben_row.verdicts) == ("Ben", 3)
    assert overview.agreement_captions == 3
    assert overview.agreement_alpha == pytest.approx(1.0)
    assert overview.percent_agreement == pytest.approx(1.0)
    assert overview.splits == {"unassigned": 6}


def test_agreement_matches_a_hand_computed_krippendorff_alpha() -> None:
    # Two validators, four captions, they disagree on one: nominal alpha by hand:
    # values a,a | a,a | i,i | a,i -> pairable n=8; a=5, i=3; D_o = 2/8 * ... = 0.25 (observed
    # disagreeing pairs 2 of 8 ordered pairs), D_e = 2*5*3/(8*7) = 30/56; alpha = 1 - D_o/D_e.
    ratings = {
        1: {1: "appropriate", 2: "appropriate"},
        2: {1: "appropriate", 2: "appropriate"},
        3: {1: "inappropriate", 2: "inappropriate"},
        4: {1: "appropriate", 2: "inappropriate"},
    }

    alpha, agreement = agreement_of(ratings)

    assert alpha == pytest.approx(1 - 0.25 / (30 / 56))
    assert agreement == pytest.approx(0.75)


def test_no_agreement_without_double_verdicts(library: Library) -> None:
    overview = compute_overview(library)

    assert overview.agreement_alpha is None
    assert overview.agreement_captions == 0
    assert overview.images["no_caption"] == 0
