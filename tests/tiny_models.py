"""Tiny randomly initialised open_clip models for tests: built from configs, never downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mclip_gui.core.modelspec import RESOURCE_MODELS

TOKENIZER_DIR = Path(__file__).resolve().parents[2] / "shared" / "models" / "xlm-roberta-tokenizer"


def tiny_clip_config(tmp_path: Path) -> Path:
    """open_clip's own text tower and BPE tokenizer; 32 px ViT, embeddings of 32."""
    target = tmp_path / "tiny-clip.json"
    target.write_text((RESOURCE_MODELS / "tiny-clip.json").read_text())
    return target


def tiny_xlmr_config(tmp_path: Path) -> Path:
    """A Hugging Face XLM-RoBERTa text tower from a local tiny config, the real tokenizer."""
    if not (TOKENIZER_DIR / "tokenizer.json").exists():
        pytest.skip(
            f"{TOKENIZER_DIR} is absent (the shared models folder is not beside the project)"
        )
    from transformers import XLMRobertaConfig

    folder = tmp_path / "tiny-xlmr"
    hf_folder = folder / "text"
    XLMRobertaConfig(
        vocab_size=250_002,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=1,
    ).save_pretrained(hf_folder)
    config = {
        "embed_dim": 32,
        "vision_cfg": {
            "image_size": 32,
            "layers": 2,
            "width": 64,
            "head_width": 32,
            "patch_size": 8,
        },
        "text_cfg": {
            "hf_model_name": "./text",
            "hf_tokenizer_name": str(TOKENIZER_DIR),
            "hf_pooler_type": "mean_pooler",
            "hf_proj_type": "linear",
            "context_length": 77,
        },
    }
    path = folder / "tiny-xlmr-clip.json"
    path.write_text(json.dumps(config))
    return path
