import csv
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from caption_fixtures import drop_new_log_handlers, insert_rows, make_images
from conftest import shared_data
from sqlalchemy import func, select

from mclip_gui.cli import main as mclip
from mclip_gui.core.captions.io import (
    ImportOptions,
    export_captions,
    file_name,
    import_captions,
)
from mclip_gui.core.captions.service import CaptionService
from mclip_gui.core.captions.split import ensure_splits
from mclip_gui.core.errors import CaptionError
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption, Image


@pytest.fixture(autouse=True)
def log_handlers() -> Iterator[None]:
    before = list(logging.getLogger().handlers)
    yield
    drop_new_log_handlers(before)


TOLOKA = ("toloka-fashion12k-de", "queries_full_dataset.tsv")


def caption_rows(library: Library, states: tuple[str, ...] = ()) -> set[tuple[str, str, str]]:
    query = select(Image.path, Caption.text, Caption.language).join(
        Image, Image.id == Caption.image_id
    )
    if states:
        query = query.where(Caption.state.in_(states))
    with library.store.session() as s:
        return {(p, t, lang) for p, t, lang in s.execute(query)}


def count_captions(library: Library) -> int:
    with library.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Caption)) or 0)


def test_all_real_toloka_rows_import_once_with_rule_figures(
    library: Library, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_data(*TOLOKA)
    with source.open(encoding="utf-8", errors="replace", newline="") as handle:
        names = sorted({file_name(r["image"]) for r in csv.DictReader(handle, delimiter="\t")})
    missing = names[:10]  # ten products whose photos the user does not have
    insert_rows(library, [{"path": f"/photos/fashion200k/{n}"} for n in names[10:]])

    report = import_captions(library, source)
    again = import_captions(library, source)

    assert report.format == "toloka"
    assert report.rows == 12_001
    assert report.unmatched_names == missing
    assert report.unmatched_rows == 10
    assert report.undecodable_lines == 75
    assert report.checked["de"] == report.checked["en"] == 11_991
    assert report.imported + report.duplicates == 2 * 11_991
    assert count_captions(library) == report.imported
    assert again.imported == 0 and again.duplicates == 2 * 11_991
    with capsys.disabled():
        print("\nToloka Fashion12K import, caption rules (min 6 words):")
        for line in report.summary_lines(max_names=10):
            print("  " + line)


def test_fashion_products_captions_en_import_through_the_command_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_data("fashion-products", "images")
    table = shared_data("fashion-products", "captions_en.tsv")
    library = Library(data_dir)
    insert_rows(library, [{"path": str(folder / name)} for name in sorted(os.listdir(folder))])
    library.close()

    code = mclip(
        [
            "--data-dir", str(data_dir), "captions", "import", str(table),
            "--image-column", "image", "--text-column", "caption_en", "--language", "en",
            "--accepted",
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(
        "captions_en.tsv (tsv): 3221 rows, 3221 captions imported, 0 already present, "
        "0 empty cells skipped\n"
    )
    library = Library(data_dir)
    assert len(caption_rows(library, ("accepted",))) == 3221
    library.close()


def test_rule_breaking_captions_are_imported_and_flagged(library: Library, tmp_path: Path) -> None:
    make_images(library, tmp_path / "p", 2)
    table = tmp_path / "c.csv"
    table.write_text(
        "image,caption\n"
        "product_0000.png,Das ist ein Kleid.\n"
        'product_0001.png,"rotes Kleid aus Seide, knielang, Sommer"\n'
        "product_0001.png,\n"
        "unknown.png,blaue Jeans für Herren mit geradem Bein\n",
        encoding="utf-8",
    )

    report = import_captions(library, table)

    assert (report.imported, report.empty_cells, report.unmatched_rows) == (2, 1, 1)
    assert report.unmatched_names == ["unknown.png"]
    with library.store.session() as s:
        flags = dict(s.execute(select(Caption.text, Caption.rule_flags)).all())
    assert json.loads(flags["Das ist ein Kleid."]) == ["too_few_words", "separators", "opening"]
    assert flags["rotes Kleid aus Seide, knielang, Sommer"] is None


def test_importing_a_file_again_in_another_language_moves_its_captions(
    library: Library, tmp_path: Path
) -> None:
    make_images(library, tmp_path / "p", 2)
    table = tmp_path / "c.csv"
    table.write_text(
        "image,caption\n"
        "product_0000.png,red silk dress for summer knee length\n"
        "product_0001.png,blue denim jeans for men straight leg\n",
        encoding="utf-8",
    )
    written = tmp_path / "other.csv"  # the same text from another file stays where it is
    written.write_text("image,caption\nproduct_0001.png,Das ist ein Kleid.\n", encoding="utf-8")
    import_captions(library, written, ImportOptions(language="de"))

    import_captions(library, table, ImportOptions(language="de"))  # wrong language
    report = import_captions(library, table, ImportOptions(language="en"))

    assert (report.imported, report.relabelled, report.duplicates) == (0, 2, 0)
    assert "2 captions imported earlier under another language were moved" in (
        "\n".join(report.summary_lines())
    )
    assert {(t, lang) for _, t, lang in caption_rows(library)} == {
        ("red silk dress for summer knee length", "en"),
        ("blue denim jeans for men straight leg", "en"),
        ("Das ist ein Kleid.", "de"),
    }
    again = import_captions(library, table, ImportOptions(language="en"))
    assert (again.imported, again.relabelled, again.duplicates) == (0, 0, 2)
    assert count_captions(library) == 3


def test_rows_in_another_language_are_skipped_and_named(library: Library, tmp_path: Path) -> None:
    make_images(library, tmp_path / "p", 2)
    table = tmp_path / "c.csv"
    table.write_text(
        "image,caption,language\n"
        "product_0000.png,robe rouge en soie pour l'été,fr\n"
        "product_0001.png,red silk dress for summer knee length,en\n",
        encoding="utf-8",
    )

    report = import_captions(library, table)

    assert report.imported == 1
    assert report.bad_rows == ["line 2: language 'fr' is not one of de, en"]
    assert {(t, lang) for _, t, lang in caption_rows(library)} == {
        ("red silk dress for summer knee length", "en")
    }


def test_an_image_given_as_caption_file_is_named_not_read(library: Library, tmp_path: Path) -> None:
    picture = tmp_path / "photo.jpg"
    from PIL import Image as PILImage

    PILImage.new("RGB", (8, 8), (200, 10, 10)).save(picture)

    with pytest.raises(CaptionError, match=r"photo\.jpg is not a text file"):
        import_captions(library, picture)


def test_missing_columns_are_named(library: Library, tmp_path: Path) -> None:
    table = tmp_path / "c.csv"
    table.write_text("file,query\na.png,rot\n", encoding="utf-8")

    with pytest.raises(CaptionError) as caught:
        import_captions(library, table)

    assert str(caught.value) == (
        "The file has no column image, caption (columns: file, query); "
        "name the right ones with --image-column, --text-column and --language-column."
    )


def test_bad_jsonl_lines_are_skipped_and_named(library: Library, tmp_path: Path) -> None:
    make_images(library, tmp_path / "p", 1)
    table = tmp_path / "c.jsonl"
    table.write_text(
        '{"image": "product_0000.png", "caption": "rote Jacke aus Leder für Damen, Winter"}\n'
        "{broken\n",
        encoding="utf-8",
    )

    report = import_captions(library, table)

    assert report.imported == 1
    assert report.bad_rows[0].startswith("line 2: not a JSON object")


@pytest.fixture
def captioned(library: Library, tmp_path: Path) -> Library:
    """Six images with accepted, rejected and pending captions in two languages."""
    ids = make_images(library, tmp_path / "photos", 6)
    table = tmp_path / "seed.jsonl"
    texts = [
        ("de", 'Kleid "Sommer", rot mit Knöpfen, knielang aus Leinen'),
        ("en", "red summer dress with buttons, knee length linen"),
        ("de", "schwarze Lederjacke für Herren mit Reißverschluss, Winter"),
        ("de", "weiße Turnschuhe aus Stoff für Damen, Freizeit"),
        ("en", "white canvas sneakers for women, casual wear"),
        ("de", "blaue Jeans mit geradem Bein für Herren, Baumwolle"),
    ]
    with table.open("w", encoding="utf-8") as handle:
        for image_id, (language, text) in zip([*ids[:2], ids[1], *ids[2:5]], texts, strict=True):
            record = {
                "image": f"product_{image_id - ids[0]:04d}.png",
                "text": text,
                "lang": language,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    options = ImportOptions(text_column="text", language_column="lang", accepted=True)
    import_captions(library, table, options)
    anna = CaptionService(library, "Anna")
    item = anna.next_image()
    assert item is not None
    caption_id = anna.submit(item.image_id, "grüner Wollpullover mit Rollkragen für Damen")
    CaptionService(library, "Ben").give_verdict(caption_id, "inappropriate")
    ensure_splits(library)
    return library


@pytest.mark.parametrize(
    ("fmt", "suffix", "options"),
    [
        # The app's own exports read back without naming columns: `text` and `language`.
        ("csv", ".csv", ImportOptions()),
        ("jsonl", ".jsonl", ImportOptions()),
        ("toloka", ".tsv", ImportOptions()),
    ],
)
def test_exports_read_back_to_the_same_captions(
    captioned: Library,
    data_dir: Path,
    tmp_path: Path,
    fmt: str,
    suffix: str,
    options: ImportOptions,
) -> None:
    out = tmp_path / f"export{suffix}"
    written = export_captions(captioned, out, fmt, states=("accepted",))
    fresh = Library(tmp_path / "fresh")
    with captioned.store.session() as s:
        paths = [{"path": p} for p in s.scalars(select(Image.path).order_by(Image.id))]
    insert_rows(fresh, paths)

    options.accepted = True
    report = import_captions(fresh, out, options)

    assert written == 6
    assert report.imported == 6
    assert caption_rows(fresh, ("accepted",)) == caption_rows(captioned, ("accepted",))
    fresh.close()


def test_openclip_export_has_accepted_train_captions_tab_separated(
    captioned: Library, tmp_path: Path
) -> None:
    out = tmp_path / "train.csv"

    written = export_captions(captioned, out, "openclip")

    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    with captioned.store.session() as s:
        expected = set(
            s.execute(
                select(Image.path, Caption.text)
                .join(Image, Image.id == Caption.image_id)
                .where(Caption.state == "accepted", Image.split == "train")
            ).all()
        )
    assert out.read_text(encoding="utf-8").startswith("filepath\ttitle\n")
    assert {(r["filepath"], r["title"]) for r in rows} == {tuple(e) for e in expected}
    assert written == len(rows) > 0


def test_csv_export_records_author_state_and_verdicts(captioned: Library, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"

    export_captions(captioned, out, "csv")

    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    written = [r for r in rows if r["author"] == "Anna"]
    assert len(rows) == 7
    assert written[0]["state"] == "rejected"
    assert json.loads(written[0]["verdicts"]) == {"inappropriate": 1}
