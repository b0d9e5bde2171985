import time
from pathlib import Path

import numpy as np
import pytest
from tiny_models import tiny_clip_config, tiny_xlmr_config

from mclip_gui.core.errors import ModelError
from mclip_gui.core.modelspec import (
    load_model,
    load_tokenizer,
    parse_model_spec,
    save_model_folder,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("xlm-roberta-base-ViT-B-32::laion5b_s13b_b90k", "pretrained"),
        ("ViT-B-32::openai", "pretrained"),
        ("hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "hf-hub"),
        ("version:run-3", "version"),
        ("ViT-B-32::/some/where/weights.safetensors", "checkpoint"),
        ("tiny-clip.json", "config"),
    ],
)
def test_model_forms_are_recognised(text: str, kind: str) -> None:
    assert parse_model_spec(text).kind == kind


def test_unknown_form_names_the_accepted_forms() -> None:
    with pytest.raises(ModelError, match="expected architecture::pretrained"):
        parse_model_spec("no-such-thing")


@pytest.mark.parametrize("make_config", [tiny_clip_config, tiny_xlmr_config])
def test_config_json_loads_reproducibly_and_round_trips_as_folder(
    tmp_path: Path, make_config
) -> None:
    config = make_config(tmp_path)

    first = load_model(str(config), "cpu")
    second = load_model(str(config), "cpu")
    saved = save_model_folder(
        first.model, first.model_cfg, tmp_path / "saved", first.preprocess_cfg
    )
    reloaded = load_model(str(saved), "cpu")
    texts = ["Leichte Damenjacke Frühling Herbst braun", "ß 😀 שלום", ""]

    vectors = first.encode_texts(texts)
    assert vectors.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert first.fingerprint == second.fingerprint
    assert np.allclose(second.encode_texts(texts), vectors, atol=1e-6)
    assert np.allclose(reloaded.encode_texts(texts), vectors, atol=1e-6)
    assert reloaded.fingerprint != first.fingerprint  # other weights file, other identity
    checkpoint = saved / "open_clip_model.safetensors"
    assert np.allclose(load_model(str(checkpoint), "cpu").encode_texts(texts), vectors, atol=1e-6)


def test_token_preview_multilingual_against_english(tmp_path: Path) -> None:
    caption = "Leichte Damenjacke Frühling Herbst braun"

    multilingual = load_tokenizer(str(tiny_xlmr_config(tmp_path))).pieces(caption)
    english = load_tokenizer(str(tiny_clip_config(tmp_path))).pieces(caption)

    assert multilingual == [
        "▁Lei",
        "chte",
        "▁Damen",
        "jack",
        "e",
        "▁Frühling",
        "▁Herbst",
        "▁bra",
        "un",
    ]
    assert len(english) == 14
    assert "ü" in english


def test_overlong_text_is_counted_beyond_the_context(tmp_path: Path) -> None:
    tokenizer = load_tokenizer(str(tiny_clip_config(tmp_path)))

    assert tokenizer.context_length == 77
    assert tokenizer.is_truncated("Jacke " * 100)
    assert not tokenizer.is_truncated("Jacke braun")


def test_missing_weights_offline_fail_fast_with_instructions(monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    started = time.monotonic()

    with pytest.raises(ModelError) as raised:
        load_model("ViT-B-32::openai", "cpu")

    assert time.monotonic() - started < 30
    message = str(raised.value)
    assert "model ViT-B-32::openai is not in the local cache" in message
    assert "give a local checkpoint instead" in message


def test_hf_offline_is_respected(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    with pytest.raises(ModelError, match="HF_HUB_OFFLINE is set"):
        load_model("xlm-roberta-base-ViT-B-32::laion5b_s13b_b90k", "cpu")


def test_checkpoint_without_config_asks_for_the_architecture(tmp_path: Path) -> None:
    weights = tmp_path / "lonely.safetensors"
    weights.write_bytes(b"")

    with pytest.raises(ModelError, match="name the model as ARCHITECTURE::"):
        load_model(str(weights), "cpu")


def test_cpu_device_never_half_precision(tmp_path: Path) -> None:
    model = load_model(str(tiny_clip_config(tmp_path)), "auto")

    assert model.device.type == "cpu"
    assert next(model.model.parameters()).dtype.is_floating_point
    assert str(next(model.model.parameters()).dtype) == "torch.float32"
