"""A tiny real open_clip model with the LoadedModel interface, for the search tests.

Stands in for core.modelspec.load_model(tiny config) so these tests do not depend on it; it is a
real (randomly initialised) CLIP, not a mock.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TINY_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@dataclass
class TinyModel:
    """A randomly initialised tiny CLIP; `slow_queries` slows chosen queries."""

    seed: int = 0
    spec: str = "tiny-clip"
    slow_queries: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import open_clip
        import torch

        torch.manual_seed(self.seed)
        self.model = open_clip.model.CLIP(**TINY_CFG).eval()
        self.preprocess = open_clip.transform.image_transform(32, is_train=False)
        self._bpe = open_clip.get_tokenizer("ViT-B-32")
        self.context_length = 77
        self.device = torch.device("cpu")
        self.embed_dim = 32
        digest = hashlib.sha256()
        for name, tensor in self.model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.numpy().tobytes())
        self.fingerprint = digest.hexdigest()[:16]
        self.text_calls: list[str] = []

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model.encode_text(self.tokenizer(texts), normalize=True)
        return out.numpy().astype(np.float32)

    def tokenizer(self, texts: list[str]) -> Any:
        """Tokenize like open_clip; sleeps first for queries listed in `slow_queries`."""
        self.text_calls.extend(texts)
        for text in texts:
            time.sleep(self.slow_queries.get(text, 0.0))
        return self._bpe(texts)

    def encode_images(self, batch: Any) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model.encode_image(batch, normalize=True).numpy().astype(np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self._bpe.encode(text)) + 2
