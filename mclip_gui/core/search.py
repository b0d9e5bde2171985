"""Search the library by text (query) or by image (find similar).

A SearchService is built with a library and a loaded model; it opens that model's embeddings
and index, hides images that are missing, unreadable or duplicates, and answers queries. Query
encoding skips the padding to the full context length, which is most of the cost of a short
query on CPU; at load it checks once that this gives the same embedding as the padded path.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from mclip_gui.core.embed import ImageModel, missing_embeddings, open_index, searchable_images
from mclip_gui.core.errors import MclipError
from mclip_gui.core.index import SearchIndex
from mclip_gui.core.library import Library

log = logging.getLogger(__name__)

# Trimmed and padded query embeddings must agree this closely for the fast path to be used.
QUANTIZED_MIN_COSINE = 0.995  # int8 query embeddings this close to fp32 rank alike
TRIM_CHECK_MIN_COSINE = 0.9999
WARM_UP_QUERY = "ein rotes Kleid mit Blumenmuster"


class TextModel(ImageModel, Protocol):
    """What search needs of a loaded model (core.modelspec.LoadedModel has it)."""

    model: Any
    tokenizer: Callable[[list[str]], Any]
    context_length: int
    device: Any

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


@dataclass(frozen=True)
class Hit:
    """One result: an image, its path and the cosine similarity to the query."""

    image_id: int
    path: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits of one query. `truncated`: the query was longer than the model reads."""

    query: str
    hits: list[Hit] = field(default_factory=list)
    truncated: bool = False
    tokens: int = 0
    context_length: int = 0
    seconds: float = 0.0

    @property
    def truncation_notice(self) -> str:
        if not self.truncated:
            return ""
        return (
            f"The query has {self.tokens} tokens; the model reads only the first "
            f"{self.context_length}, the rest was ignored."
        )


class SearchService:
    """Text and image search over one model's embeddings of the library."""

    def __init__(
        self,
        library: Library,
        model: TextModel,
        index: SearchIndex | None = None,
        warm_up: bool = True,
    ):
        self.library = library
        self.model = model
        self._lock = threading.RLock()
        self.index = index or open_index(library, model)
        self._paths: dict[int, str] = {}
        self._pad_id = _pad_id(model)
        self._trim_ok = False
        self._int8_text: Any = None  # int8 copy of a Hugging Face text tower, CPU queries only
        self.refresh()
        if warm_up:
            self.warm_up()

    # -- keeping in step with the library ----------------------------------------------------
    def refresh(self) -> None:
        """Re-read which images are searchable (after imports, deletions, rescans)."""
        paths = searchable_images(self.library)
        with self._lock:
            self._paths = paths
            self.index.restrict_to(paths)

    def reload_index(self) -> None:
        """Re-open the embeddings and index from disk (after an embedding job)."""
        index = open_index(self.library, self.model)
        with self._lock:
            self.index = index
        self.refresh()

    def missing_count(self) -> int:
        """Searchable images that have no embedding for this model yet."""
        with self._lock:
            return len(missing_embeddings(self.library, self.index))

    @property
    def indexed_count(self) -> int:
        with self._lock:
            return len(self.index)

    # -- queries -----------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Run one query through the model so the first real query is not slower.

        Also decides whether padding can be trimmed for this model (see encode_query).
        """
        started = time.monotonic()
        padded = self.model.encode_texts([WARM_UP_QUERY])
        try:
            trimmed = self._encode_trimmed(WARM_UP_QUERY)
        except RuntimeError as e:
            # Text towers with a fixed-size positional embedding need the full padding.
            log.info("query padding not trimmed for %s: %s", self.model.spec, e)
            trimmed = np.zeros_like(padded)
        cosine = float(np.dot(padded[0], trimmed[0]))
        self._trim_ok = cosine >= TRIM_CHECK_MIN_COSINE
        if self._trim_ok:
            self._int8_text = self._quantized_text_tower(trimmed)
            self._encode_trimmed(WARM_UP_QUERY)
        else:
            log.info("query padding kept for %s (cosine %.6f)", self.model.spec, cosine)
            self.model.encode_texts([WARM_UP_QUERY])
        log.info("search warmed up in %.2f s", time.monotonic() - started)

    def encode_query(self, text: str) -> np.ndarray:
        """L2-normalised embedding [1, d] of a query (truncated to the context length)."""
        if self._trim_ok:
            return self._encode_trimmed(text)
        return np.asarray(self.model.encode_texts([text]), dtype=np.float32)

    def _encode_trimmed(self, text: str, int8: bool = True) -> np.ndarray:
        import torch

        tokens = self.model.tokenizer([text])
        tokens = tokens[:, : _real_length(tokens[0], self._pad_id)]
        with torch.inference_mode():
            if int8 and self._int8_text is not None:
                features = self._int8_text(tokens)
            else:
                features = self.model.model.encode_text(tokens.to(self.model.device))
            features = torch.nn.functional.normalize(features.float(), dim=-1)
        return features.cpu().numpy().astype(np.float32)

    def _quantized_text_tower(self, reference: np.ndarray) -> Any:
        """An int8 copy of the text tower for queries on the CPU, or None.

        Reading the weights dominates a CPU query; int8 linear layers read a quarter of the
        bytes. Used only when the query embedding stays within QUANTIZED_MIN_COSINE of fp32.
        """
        text = getattr(self.model.model, "text", None)
        if self.model.device.type != "cpu" or text is None:
            return None
        import copy

        import torch

        try:
            with warnings.catch_warnings():
                # Deprecated in torch but still shipped; when it goes, queries stay fp32.
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", UserWarning)
                from torch.ao.quantization import quantize_dynamic

                quantized = quantize_dynamic(
                    copy.deepcopy(text), {torch.nn.Linear}, dtype=torch.qint8
                )
            self._int8_text = quantized
            cosine = float(np.dot(reference[0], self._encode_trimmed(WARM_UP_QUERY)[0]))
        except (RuntimeError, ImportError, AttributeError, AssertionError) as e:  # no int8 here
            log.info("int8 queries not available: %s", e)
            return None
        finally:
            self._int8_text = None
        if cosine < QUANTIZED_MIN_COSINE:
            log.info("int8 queries off for %s: cosine %.5f to fp32", self.model.spec, cosine)
            return None
        log.info("int8 text tower for queries (cosine %.5f to fp32)", cosine)
        return quantized

    def search_text(
        self, query: str, top_k: int | None = None, exact: bool | None = None
    ) -> SearchResult:
        """Images best matching `query`, best first. Over-long queries are truncated, and say so.

        `exact`: True searches by numpy matmul, False through HNSW, None picks by library size.
        """
        started = time.monotonic()
        tokens = self.model.count_tokens(query)
        vector = self.encode_query(query)
        hits = self.search_vector(vector, top_k, exact=exact)
        return SearchResult(
            query=query,
            hits=hits,
            truncated=tokens > self.model.context_length,
            tokens=tokens,
            context_length=self.model.context_length,
            seconds=time.monotonic() - started,
        )

    def search_image(
        self, image_id: int, top_k: int | None = None, exact: bool | None = None
    ) -> SearchResult:
        """Images most similar to image `image_id` (itself excluded), best first."""
        started = time.monotonic()
        with self._lock:
            vector = self.index.embeddings.vector(image_id)
            path = self._paths.get(image_id, f"image {image_id}")
        if vector is None:
            raise MclipError(
                f"{path} has no embedding for this model yet; index the library first "
                "(Index now, or mclip index)"
            )
        hits = self.search_vector(vector[None, :], top_k, exclude=image_id, exact=exact)
        return SearchResult(query=path, hits=hits, seconds=time.monotonic() - started)

    def search_vector(
        self,
        vector: np.ndarray,
        top_k: int | None = None,
        exclude: int | None = None,
        exact: bool | None = None,
    ) -> list[Hit]:
        """Hits for an embedding [1, d]; images that are not searchable never appear."""
        top_k = top_k or self.library.settings.search_top_k
        extra = 1 if exclude is not None else 0
        with self._lock:
            ids, scores = self.index.search(vector, top_k + extra, exact=exact)
            paths = self._paths
        hits = [
            Hit(int(i), paths[int(i)], float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if int(i) != exclude and int(i) in paths
        ]
        return hits[:top_k]


def _pad_id(model: TextModel) -> int:
    """The tokenizer's padding token: what fills the end of a very short text."""
    return int(model.tokenizer([""])[0][-1])


def _real_length(tokens: Any, pad_id: int) -> int:
    """Length of a token row without its trailing padding (at least 1)."""
    values = tokens.tolist()
    length = len(values)
    while length > 1 and values[length - 1] == pad_id:
        length -= 1
    return length
