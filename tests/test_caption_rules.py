import pytest

from mclip_gui.core.captions.rules import bad_opening, check_caption, count_words


def rules(text: str, language: str = "de", min_words: int = 6) -> list[str]:
    return [v.rule for v in check_caption(text, language, min_words)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Leichte Damenjacke aus Baumwolle für Frühling und Herbst, braun", []),
        ("rot, Leder, Jacke, Damen, Winter, warm", []),
        ("  T-Shirt aus 100% Baumwolle, H&M weiß, Sommer  ", []),
        ("", ["empty"]),
        ("   \n ", ["empty"]),
        ("... !!! ,", ["punctuation_only"]),
        ("Leichte Damenjacke Frühling Herbst braun", ["too_few_words"]),
        ("rote Jacke; Leder für Damen im Winter", ["separators"]),
        ("rote Jacke aus Leder für Damen im Winter.", ["separators"]),
        ("rote  Jacke aus Leder für Damen im Winter", ["separators"]),
        ("rote Jacke/Leder für Damen im Winter", ["separators"]),
        ("rote Jacke\naus Leder für Damen im Winter", ["separators"]),
        ("Das ist eine rote Jacke aus Leder", ["opening"]),
        ("dies sind rote Schuhe aus Leder für Herren", ["opening"]),
        ("Hier ist ein blaues Kleid für den Sommer", ["opening"]),
        ("Es handelt sich um ein blaues Kleid für den Sommer", ["opening"]),
        ("Das Kleid ist blau und hat lange Ärmel", []),
        ("Das ist. Jacke", ["too_few_words", "separators", "opening"]),
        ("Jacke waschbar bei 30° rot für Damen", []),
        ("rote Jacke 🧥 aus Leder für Damen", ["symbols"]),
        ("rote Jacke 👍🏽, Leder für Damen im Winter", ["symbols"]),
        ("👨\u200d👩\u200d👧 Familie Pullover rot warm Winter", ["too_few_words", "symbols"]),
        ("Nike® Laufschuhe schwarz für Herren Sport", ["symbols"]),
        ("rote Jacke;🧥 Leder für Damen im Winter", ["separators", "symbols"]),
    ],
)
def test_german_rules(text: str, expected: list[str]) -> None:
    assert rules(text) == expected


def test_english_rule_set_has_its_own_openings() -> None:
    assert rules("this is a red leather jacket for women", "en") == ["opening"]
    assert rules("These are blue running shoes for men", "en") == ["opening"]
    assert rules("Das ist eine rote Jacke aus Leder", "en") == []
    assert rules("this is a red leather jacket for women", "de") == []


def test_messages_name_what_is_wrong() -> None:
    messages = [v.message for v in check_caption("Das ist  Jacke; rot.", "de", 6)]

    assert messages == [
        "Write at least 6 words (now 4).",
        'Separate words only with a space or ", " (found 2 spaces, "; ", ".").',
        'Do not start with "Das ist": name the product right away.',
    ]
    assert [v.message for v in check_caption("", "de", 6)] == ["The caption is empty."]
    assert [v.message for v in check_caption("Jacke 🧥 rot ❤️ Leder warm weich Damen", "de", 6)] == [
        "Write words, not emoji or symbols (found 🧥 ❤️)."
    ]
    assert [v.message for v in check_caption("?!", "de", 6)] == [
        "The caption has no words, only punctuation or symbols."
    ]


def test_min_words_is_a_parameter() -> None:
    assert rules("rote Lederjacke", min_words=2) == []
    assert rules("rote Lederjacke", min_words=3) == ["too_few_words"]


def test_word_count_and_opening_helpers() -> None:
    assert count_words("T-Shirt, 100% Baumwolle;rot") == 4
    assert bad_opening("Dasist ein Test", "de") is None
    assert bad_opening("DAS  IST ein Test", "de") == "Das ist"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown caption language 'fr'"):
        check_caption("une veste rouge", "fr")
