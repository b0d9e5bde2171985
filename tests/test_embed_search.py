"""Embedding job and search service with a tiny real CLIP model on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select
from tiny_models import tiny_clip_config, tiny_xlmr_config

from mclip_gui.core.embed import embed_library, open_index
from mclip_gui.core.errors import JobCancelled, MclipError
from mclip_gui.core.jobs import CancelToken, Progress
from mclip_gui.core.library import Library
from mclip_gui.core.modelspec import LoadedModel, load_model
from mclip_gui.core.schema import EmbeddingSet, Image
from mclip_gui.core.search import SearchService

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40), (20, 20, 20)]


def add_images(library: Library, folder: Path, count: int) -> list[Path]:
    """Write `count` small distinct images and register them as library images."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = np.full((40, 48, 3), COLOURS[i % len(COLOURS)], dtype=np.uint8)
        pixels[: 8 + i % 30] = rng.integers(0, 255, (8 + i % 30, 48, 3), dtype=np.uint8)
        path = folder / f"img-{i:03d}.png"
        PILImage.fromarray(pixels).save(path)
        paths.append(path)
    register(library, paths)
    return paths


def register(library: Library, paths: list[Path]) -> None:
    with library.store.session() as s:
        for path in paths:
            s.add(Image(path=str(path), size=path.stat().st_size, state="ok"))


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(str(tiny_clip_config(tmp_path_factory.mktemp("model"))), "cpu")


def test_embedding_covers_every_image_and_records_the_set(
    library: Library, model: LoadedModel, tmp_path: Path
) -> None:
    add_images(library, tmp_path / "photos", 12)
    reports: list[Progress] = []

    report = embed_library(library, model, reports.append, batch_size=5, workers=2)

    assert (report.total, report.embedded, report.already, report.skipped) == (12, 12, 0, [])
    assert reports[-1].message == "saving the index"
    assert any(p.done == 12 and p.total == 12 for p in reports)
    index = open_index(library, model)
    assert sorted(index.embeddings.ids.tolist()) == list(range(1, 13))
    norms = np.linalg.norm(index.embeddings.vectors, axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    with library.store.session() as s:
        row = s.get(EmbeddingSet, model.fingerprint)
        assert row is not None and (row.count, row.dim, row.model) == (12, 32, model.spec)


def test_cancelled_embedding_keeps_its_work_and_resumes(
    library: Library, model: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_images(library, tmp_path / "photos", 20)
    cancel = CancelToken()
    real_encode = model.encode_images
    calls: list[int] = []

    def encode_then_cancel(batch: object) -> np.ndarray:
        calls.append(1)
        if len(calls) == 2:
            cancel.cancel()  # the user presses Cancel while the second batch runs
        return real_encode(batch)

    monkeypatch.setattr(model, "encode_images", encode_then_cancel)
    with pytest.raises(JobCancelled):
        embed_library(library, model, cancel=cancel, batch_size=4, workers=1)
    monkeypatch.undo()
    kept = len(open_index(library, model).embeddings)
    report = embed_library(library, model, batch_size=4, workers=2)

    assert kept == 8
    assert (report.already, report.embedded) == (kept, 20 - kept)
    assert len(open_index(library, model).embeddings) == 20


def test_unreadable_images_are_skipped_named_and_marked(
    library: Library, model: LoadedModel, tmp_path: Path
) -> None:
    add_images(library, tmp_path / "photos", 3)
    broken = tmp_path / "photos" / "not-an-image.jpg"
    broken.write_text("hello", encoding="utf-8")
    empty = tmp_path / "photos" / "empty.jpg"
    empty.write_bytes(b"")
    register(library, [broken, empty])

    report = embed_library(library, model, batch_size=2, workers=2)

    assert report.embedded == 3
    assert sorted(report.skipped) == [
        (str(empty), "empty file (0 bytes)"),
        (str(broken), "not an image file (unknown format)"),
    ]
    assert report.summary().endswith("; 2 unreadable skipped")
    with library.store.session() as s:
        states = dict(s.execute(select(Image.path, Image.reason)).all())
    assert states[str(broken)] == "not an image file (unknown format)"
    assert embed_library(library, model).total == 0  # marked unreadable: not retried


def test_real_bad_inputs_never_stop_the_job(library: Library, model: LoadedModel) -> None:
    from conftest import shared_data

    folder = shared_data("bad-inputs")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    register(library, files)
    library.update_settings(max_image_pixels=50_000_000)

    report = embed_library(library, model, batch_size=4, workers=2)

    skipped = {Path(p).name for p, _ in report.skipped}
    assert {"truncated.jpg", "empty.jpg", "not-an-image.jpg", "huge-20000x20000.png"} <= skipped
    assert report.embedded + len(report.skipped) == len(files)
    assert report.embedded >= 7


@pytest.fixture
def service(library: Library, model: LoadedModel, tmp_path: Path) -> SearchService:
    add_images(library, tmp_path / "photos", 30)
    embed_library(library, model, batch_size=8, workers=2)
    return SearchService(library, model)


def test_text_search_ranks_by_cosine(service: SearchService, model: LoadedModel) -> None:
    result = service.search_text("ein rotes Kleid", top_k=10)

    scores = [hit.score for hit in result.hits]
    assert len(result.hits) == 10 and not result.truncated
    assert scores == sorted(scores, reverse=True)
    expected = model.encode_texts(["ein rotes Kleid"])[0] @ service.index.embeddings.vectors.T
    assert scores[0] == pytest.approx(float(expected.max()), abs=1e-5)
    assert all(Path(hit.path).exists() for hit in result.hits)


def test_fast_query_encoding_matches_padded(service: SearchService, model: LoadedModel) -> None:
    query = "Schwarze Lederjacke für Herren"

    fast = service.encode_query(query)

    assert float(fast[0] @ model.encode_texts([query])[0]) > 0.9999


@pytest.mark.parametrize(
    "query",
    ["Größe für Straßenschuhe, weiß", "👗🌸 Sommerkleid", "فستان أحمر", "שמלה אדומה", "  "],
)
def test_any_unicode_query_works(service: SearchService, query: str) -> None:
    result = service.search_text(query, top_k=5)

    assert len(result.hits) == 5
    assert all(np.isfinite(hit.score) for hit in result.hits)


def test_over_long_query_is_truncated_and_says_so(service: SearchService) -> None:
    query = "ein sehr langes blaues Kleid mit vielen Details " * 20

    result = service.search_text(query, top_k=3)

    assert result.truncated and len(result.hits) == 3
    assert result.truncation_notice == (
        f"The query has {result.tokens} tokens; the model reads only the first 77, "
        "the rest was ignored."
    )


def test_k_larger_than_library_returns_all(service: SearchService) -> None:
    assert len(service.search_text("Schuhe", top_k=500).hits) == 30


def test_find_similar_excludes_the_image_itself(
    service: SearchService, library: Library, tmp_path: Path
) -> None:
    copy = tmp_path / "photos" / "copy-of-3.png"
    copy.write_bytes((tmp_path / "photos" / "img-003.png").read_bytes())
    register(library, [copy])
    embed_library(library, service.model)
    service.reload_index()

    result = service.search_image(4, top_k=5)

    assert 4 not in [hit.image_id for hit in result.hits]
    assert result.hits[0].path == str(copy)
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_missing_images_are_excluded(service: SearchService, library: Library) -> None:
    with library.store.session() as s:
        for image in s.scalars(select(Image).where(Image.id.in_([1, 2, 3]))):
            image.state = "missing"
    service.refresh()

    hits = service.search_text("Kleid", top_k=100).hits
    similar = service.search_image(5, top_k=100).hits

    assert len(hits) == 27 and len(similar) == 26
    assert not {1, 2, 3} & {hit.image_id for hit in hits + similar}


def test_find_similar_without_embedding_says_what_to_do(
    service: SearchService, library: Library, tmp_path: Path
) -> None:
    extra = add_images(library, tmp_path / "more", 1)
    service.refresh()

    with pytest.raises(MclipError) as caught:
        service.search_image(31)

    assert str(caught.value) == (
        f"{extra[0]} has no embedding for this model yet; index the library first "
        "(Index now, or mclip index)"
    )
    assert service.missing_count() == 1


def test_hnsw_and_exact_give_the_same_top_hits(service: SearchService, library: Library) -> None:
    vector = service.encode_query("rote Schuhe")

    exact = service.index.search(vector, 10, exact=True)
    approx = service.index.search(vector, 10, exact=False)

    assert exact[0].tolist() == approx[0].tolist()


def test_padding_is_trimmed_for_a_hugging_face_text_tower(library: Library, tmp_path: Path) -> None:
    xlmr = load_model(str(tiny_xlmr_config(tmp_path)), "cpu")
    service = SearchService(library, xlmr)
    query = "Größe für Straßenschuhe 👟 فستان"

    fast = service.encode_query(query)
    exact = service._encode_trimmed(query, int8=False)

    assert service._trim_ok
    assert float(exact[0] @ xlmr.encode_texts([query])[0]) > 0.9999
    assert service._int8_text is not None  # CPU queries run through the int8 text tower
    assert float(fast[0] @ exact[0]) > 0.99


def test_over_long_query_is_told_once_without_a_transformers_warning(
    library: Library, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog
) -> None:
    xlmr = load_model(str(tiny_xlmr_config(tmp_path)), "cpu")
    service = SearchService(library, xlmr)
    capfd.readouterr()

    result = service.search_text("langes Kleid mit Knöpfen " * 200, top_k=3)

    assert result.truncated and result.tokens > 512
    assert "Token indices sequence length" not in capfd.readouterr().err + caplog.text


def test_cli_index_then_search_prints_json(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.cli import main

    library = Library(data_dir)
    paths = add_images(library, tmp_path / "photos", 6)
    (tmp_path / "photos" / "img-005.png").write_bytes(b"")
    library.close()
    config = str(tiny_clip_config(tmp_path))
    common = ["--data-dir", str(data_dir)]

    assert main([*common, "index", "--model", config, "--workers", "2"]) == 0
    indexed = capsys.readouterr()
    assert (
        main([*common, "search", "Weiße Größe 👕", "--model", config, "--json", "--top-k", "3"])
        == 0
    )
    hits = json.loads(capsys.readouterr().out)

    assert f"skipping {paths[5]}: empty file (0 bytes)" in indexed.err
    assert indexed.out.startswith("embedded 5 images in ")
    assert indexed.out.rstrip().endswith("; 0 already done; 1 unreadable skipped")
    assert [sorted(hit) for hit in hits] == [["path", "score"]] * 3
    assert {hit["path"] for hit in hits} <= {str(p) for p in paths[:5]}
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_cli_search_before_indexing_says_what_to_do(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.cli import main

    config = str(tiny_clip_config(tmp_path))

    code = main(["--data-dir", str(data_dir), "search", "Kleid", "--model", config])

    assert code == 1
    # The last line: open_clip itself warns on stderr that the model is randomly initialised.
    # The model is not the active one, so the advice names it: plain `mclip index` would not help.
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"mclip search: no images are indexed for model {config}; "
        f"run 'mclip index --model {config}' first"
    )


def test_cli_reports_a_missing_model_clearly(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.cli import main

    missing = tmp_path / "nowhere" / "model.safetensors"

    code = main(["--data-dir", str(data_dir), "index", "--model", str(missing)])

    assert code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"mclip: error: checkpoint file {missing} does not exist"
