"""Image embeddings of one model and their HNSW index, stored per model fingerprint.

Layout of `<data>/embeddings/<fingerprint>/`:
- `embeddings.npz`: `ids` (int64 image ids) and `vectors` (float32, L2-normalised rows);
- `part-<n>.npz`: chunks written while an embedding job runs, merged into the main file on the
  next save, so a cancelled or crashed job keeps what it finished;
- `tag.json`: fingerprint, model, dim, count of the embeddings;
- `index.hnsw` + `index.json`: the hnswlib graph (labels are image ids) and its tag.

Every file is written to a temporary name and renamed into place. A folder whose tag names
another fingerprint raises IndexMismatchError: vectors of one model are never compared with
another model's queries.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mclip_gui.core.errors import IndexMismatchError

log = logging.getLogger(__name__)

EMBEDDINGS_FILE = "embeddings.npz"
TAG_FILE = "tag.json"
HNSW_FILE = "index.hnsw"
HNSW_TAG_FILE = "index.json"
PART_GLOB = "part-*.npz"
# Room made when the HNSW index is full: grow by half, at least this many slots.
MIN_GROWTH = 1024


@dataclass(frozen=True)
class IndexParams:
    """HNSW parameters (see Settings: hnsw_m, hnsw_ef_construction, hnsw_ef_search)."""

    m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    # At most this many live vectors are searched exactly (numpy) instead of through HNSW.
    exact_below: int = 5_000


def atomic_write(path: Path, write: Any, suffix: str) -> None:
    """Call `write(tmp_path)` on a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(
        path, lambda p: p.write_text(json.dumps(data, indent=2), encoding="utf-8"), ".json"
    )


def _write_npz(path: Path, ids: np.ndarray, vectors: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, ids=ids, vectors=vectors)

    atomic_write(path, write, ".npz")


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        return data["ids"].astype(np.int64), data["vectors"].astype(np.float32)


def check_tag(path: Path, fingerprint: str) -> dict[str, Any]:
    """Read a JSON tag and raise IndexMismatchError when it names another fingerprint."""
    try:
        tag = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexMismatchError(f"{path} is unreadable ({e}); re-index the library") from e
    found = tag.get("fingerprint") if isinstance(tag, dict) else None
    if found != fingerprint:
        raise IndexMismatchError(
            f"{path.parent} holds embeddings of model {found!r}, not of the model in use "
            f"({fingerprint}); they are not used. Run 'Index now' (mclip index) for this model."
        )
    return tag


class EmbeddingSet:
    """Image embeddings of one model: ids and L2-normalised float32 vectors, in memory.

    Adding an id that is already present replaces its vector. `flush_part` persists recent
    additions cheaply while a job runs; `save` writes everything into one file.
    """

    def __init__(self, folder: Path, fingerprint: str, dim: int, model: str = ""):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.dim = dim
        self.model = model
        # Buffers grow by doubling so adding batch after batch stays linear in time.
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._count = 0
        self._row: dict[int, int] = {}
        self._unsaved_ids: list[np.ndarray] = []
        self._unsaved_vectors: list[np.ndarray] = []

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path, fingerprint: str, dim: int, model: str = "") -> EmbeddingSet:
        """Load the set in `folder` (empty when absent); IndexMismatchError on another model."""
        emb = cls(folder, fingerprint, dim, model)
        tag_path = emb.folder / TAG_FILE
        if tag_path.exists():
            tag = check_tag(tag_path, fingerprint)
            if int(tag.get("dim", dim)) != dim:
                raise IndexMismatchError(
                    f"{folder} holds {tag.get('dim')}-dimensional embeddings, the model "
                    f"makes {dim}; re-index the library"
                )
        main = emb.folder / EMBEDDINGS_FILE
        if main.exists():
            emb._append(*_read_npz(main))
        for part in sorted(emb.folder.glob(PART_GLOB)):
            try:
                emb._append(*_read_npz(part))
            except (OSError, ValueError, KeyError) as e:
                # A part is renamed into place whole, so this is outside damage: skip it.
                log.warning("skipping unreadable embedding part %s: %s", part, e)
        return emb

    def _append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self.dim):
            raise IndexMismatchError(
                f"embeddings of shape {vectors.shape} do not fit {len(ids)} ids of dim {self.dim}"
            )
        known = np.array([int(i) in self._row for i in ids], dtype=bool)
        for image_id, vector in zip(ids[known], vectors[known], strict=True):
            self.vectors[self._row[int(image_id)]] = vector
        new_ids, new_vectors = ids[~known], vectors[~known]
        start = self._count
        self._reserve(start + len(new_ids))
        self._ids[start : start + len(new_ids)] = new_ids
        self._vectors[start : start + len(new_ids)] = new_vectors
        self._count = start + len(new_ids)
        for offset, image_id in enumerate(new_ids):
            self._row[int(image_id)] = start + offset

    def _reserve(self, needed: int) -> None:
        capacity = len(self._ids)
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 2, 1024)
        ids = np.zeros(capacity, dtype=np.int64)
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        ids[: self._count] = self.ids
        vectors[: self._count] = self.vectors
        self._ids, self._vectors = ids, vectors

    @property
    def ids(self) -> np.ndarray:
        """Image ids, one per row of `vectors` (a view; do not keep it across changes)."""
        return self._ids[: self._count]

    @property
    def vectors(self) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per id (a view)."""
        return self._vectors[: self._count]

    # -- changing ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._row

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add (or replace) embeddings; they are kept for the next `flush_part` or `save`."""
        id_array = np.asarray(list(ids), dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(id_array), self.dim)
        self._append(id_array, vectors)
        self._unsaved_ids.append(id_array)
        self._unsaved_vectors.append(vectors)

    def remove(self, ids: Iterable[int]) -> int:
        """Drop embeddings of these images (e.g. deleted files); returns how many were held."""
        drop = {int(i) for i in ids} & self._row.keys()
        if not drop:
            return 0
        keep = ~np.isin(self.ids, np.fromiter(drop, dtype=np.int64))
        kept_ids, kept_vectors = self.ids[keep], self.vectors[keep]
        self._ids, self._vectors, self._count = kept_ids, kept_vectors, len(kept_ids)
        self._row = {int(image_id): row for row, image_id in enumerate(self.ids)}
        return len(drop)

    def vector(self, image_id: int) -> np.ndarray | None:
        row = self._row.get(int(image_id))
        return None if row is None else self.vectors[row]

    # -- saving ------------------------------------------------------------------------------
    def flush_part(self) -> None:
        """Persist what was added since the last flush as a small part file (cheap, atomic)."""
        if not self._unsaved_ids:
            return
        ids = np.concatenate(self._unsaved_ids)
        vectors = np.concatenate(self._unsaved_vectors)
        self._write_tag()
        name = f"part-{time.time_ns():020d}.npz"
        _write_npz(self.folder / name, ids, vectors)
        self._unsaved_ids.clear()
        self._unsaved_vectors.clear()

    def save(self) -> None:
        """Write all embeddings into one file and remove the part files it replaces."""
        parts = sorted(self.folder.glob(PART_GLOB))
        self._write_tag()
        _write_npz(self.folder / EMBEDDINGS_FILE, self.ids, self.vectors)
        for part in parts:
            part.unlink(missing_ok=True)
        self._unsaved_ids.clear()
        self._unsaved_vectors.clear()

    def _write_tag(self) -> None:
        tag = {
            "fingerprint": self.fingerprint,
            "model": self.model,
            "dim": self.dim,
            "count": len(self.ids),
        }
        _write_json(self.folder / TAG_FILE, tag)


class HnswIndex:
    """An hnswlib graph over L2-normalised vectors (inner product = cosine); labels = image ids.

    Removal marks elements deleted so they never come back from a query; capacity grows by
    itself when full.
    """

    def __init__(self, dim: int, fingerprint: str, params: IndexParams, capacity: int = 1024):
        import hnswlib  # imported here: keeps it off the GUI's start-up path

        self.dim = dim
        self.fingerprint = fingerprint
        self.params = params
        self.index = hnswlib.Index(space="ip", dim=dim)
        self.index.init_index(
            max_elements=max(capacity, 1),
            ef_construction=params.ef_construction,
            M=params.m,
        )
        self.index.set_ef(params.ef_search)
        self.live: set[int] = set()

    @classmethod
    def load(cls, folder: Path, fingerprint: str, dim: int, params: IndexParams) -> HnswIndex:
        """Load `index.hnsw`; IndexMismatchError when its tag names another model or dim."""
        import hnswlib

        tag = check_tag(folder / HNSW_TAG_FILE, fingerprint)
        if int(tag.get("dim", -1)) != dim:
            raise IndexMismatchError(f"{folder / HNSW_FILE} has dim {tag.get('dim')}, not {dim}")
        self = cls.__new__(cls)
        self.dim, self.fingerprint, self.params = dim, fingerprint, params
        self.index = hnswlib.Index(space="ip", dim=dim)
        try:
            self.index.load_index(str(folder / HNSW_FILE))
        except RuntimeError as e:
            raise IndexMismatchError(f"{folder / HNSW_FILE} is unreadable ({e})") from e
        self.index.set_ef(params.ef_search)
        labels = self.index.get_ids_list()
        deleted = set(tag.get("deleted", []))
        self.live = {int(label) for label in labels} - deleted
        return self

    def __len__(self) -> int:
        return len(self.live)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors, growing capacity when needed."""
        if len(ids) == 0:
            return
        needed = self.index.get_current_count() + len(ids)
        capacity = self.index.get_max_elements()
        if needed > capacity:
            new_capacity = max(needed, capacity + max(capacity // 2, MIN_GROWTH))
            log.debug("growing HNSW index from %d to %d slots", capacity, new_capacity)
            self.index.resize_index(new_capacity)
        # Adding a label that exists (even marked deleted) replaces its vector and revives it.
        self.index.add_items(vectors, ids.astype(np.uint64), num_threads=-1)
        self.live.update(int(i) for i in ids)

    def remove(self, ids: Iterable[int]) -> None:
        for image_id in {int(i) for i in ids} & self.live:
            self.index.mark_deleted(image_id)
            self.live.discard(image_id)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k ids and cosine scores per query row; k is clamped to the live count."""
        k = min(k, len(self.live))
        if k <= 0:
            return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
        self.index.set_ef(max(self.params.ef_search, k))
        labels, distances = self.index.knn_query(queries, k=k)
        return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

    def save(self, folder: Path) -> None:
        """Write the graph and its tag atomically."""
        atomic_write(folder / HNSW_FILE, lambda p: self.index.save_index(str(p)), ".hnsw")
        all_labels = {int(label) for label in self.index.get_ids_list()}
        tag = {
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "count": len(self.live),
            "deleted": sorted(all_labels - self.live),
            "m": self.params.m,
            "ef_construction": self.params.ef_construction,
        }
        _write_json(folder / HNSW_TAG_FILE, tag)


SMALL_BATCH = 8  # queries at most this many are scored without BLAS


def exact_search(
    vectors: np.ndarray,
    ids: np.ndarray,
    queries: np.ndarray,
    k: int,
    hidden: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k by inner product (numpy matmul); rows sorted best first.

    `hidden`: a boolean mask of rows that must not be returned.
    """
    live = len(ids) - (int(hidden.sum()) if hidden is not None else 0)
    k = min(k, live)
    if k <= 0:
        return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
    if len(queries) <= SMALL_BATCH:
        # Live queries: numpy's own loop, not BLAS. OpenBLAS threads keep spinning after a call
        # and slowed the next query's text encoding in torch threefold (bench_query_latency).
        scores = np.einsum("qd,nd->qn", queries, vectors)
    else:
        scores = queries @ vectors.T
    if hidden is not None:
        scores[:, hidden] = -np.inf
    if k < len(ids):
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        top = np.tile(np.arange(len(ids)), (len(queries), 1))
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return ids[top], np.take_along_axis(top_scores, order, axis=1).astype(np.float32)


class SearchIndex:
    """The embeddings of one model plus their HNSW index, kept in step with each other.

    Searches only `live` images (embedded and not removed). Small sets, or `exact=True`, are
    searched by numpy matmul; larger ones through HNSW, built lazily and saved beside them.
    """

    def __init__(self, embeddings: EmbeddingSet, params: IndexParams):
        self.embeddings = embeddings
        self.params = params
        self.folder = embeddings.folder
        self.fingerprint = embeddings.fingerprint
        self.hnsw: HnswIndex | None = None
        self._hnsw_dirty = False
        self._excluded: set[int] = set()

    @classmethod
    def open(
        cls, folder: Path, fingerprint: str, dim: int, params: IndexParams, model: str = ""
    ) -> SearchIndex:
        """Open (or start) the embeddings and index of `fingerprint` in `folder`."""
        embeddings = EmbeddingSet.open(folder, fingerprint, dim, model)
        index = cls(embeddings, params)
        if (folder / HNSW_FILE).exists():
            index.hnsw = HnswIndex.load(folder, fingerprint, dim, params)
            index._sync_hnsw()
        return index

    @property
    def dim(self) -> int:
        return self.embeddings.dim

    def __len__(self) -> int:
        return len(self.embeddings) - len(self._excluded)

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add embeddings (incrementally; the HNSW index follows when it exists)."""
        id_array = np.asarray(list(ids), dtype=np.int64)
        self.embeddings.add(id_array, vectors)
        self._excluded.difference_update(int(i) for i in id_array)
        if self.hnsw is not None and len(id_array):
            self.hnsw.add(id_array, self.embeddings.vectors[[self._row(i) for i in id_array]])
            self._hnsw_dirty = True

    def _row(self, image_id: int) -> int:
        return self.embeddings._row[int(image_id)]

    def remove(self, ids: Iterable[int]) -> None:
        """Remove images for good (their embeddings too); HNSW marks them deleted."""
        ids = [int(i) for i in ids]
        self.embeddings.remove(ids)
        self._excluded.difference_update(ids)
        if self.hnsw is not None:
            self.hnsw.remove(ids)
            self._hnsw_dirty = True

    def restrict_to(self, valid_ids: Iterable[int]) -> None:
        """Hide every image not in `valid_ids` (missing, unreadable, duplicates) from searches.

        The embeddings stay, so an image that comes back needs no re-embedding.
        """
        valid = {int(i) for i in valid_ids}
        hidden = {int(i) for i in self.embeddings.ids} - valid
        back = self._excluded - hidden
        self._excluded = hidden
        if self.hnsw is not None:
            self.hnsw.remove(hidden)
            if back:
                back_ids = np.array(sorted(back), dtype=np.int64)
                self.hnsw.add(back_ids, self.embeddings.vectors[[self._row(i) for i in back_ids]])
            self._hnsw_dirty = True

    def live_ids(self) -> np.ndarray:
        if not self._excluded:
            return self.embeddings.ids
        return np.array([i for i in self.embeddings.ids if int(i) not in self._excluded])

    def search(
        self, queries: np.ndarray, k: int, exact: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k image ids and cosine scores for each query row (k clamped to the set size).

        `exact=None` chooses: numpy for at most `exact_below` live images, HNSW above.
        """
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if exact is None:
            exact = len(self) <= self.params.exact_below
        if exact:
            return self._exact(queries, k)
        try:
            return self.ensure_hnsw().search(queries, k)
        except RuntimeError as e:
            # hnswlib gives up when deletions leave too few reachable neighbours for k.
            log.warning("HNSW search failed (%s); searching exactly instead", e)
            return self._exact(queries, k)

    def _exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = self.embeddings.ids, self.embeddings.vectors
        hidden = None
        if self._excluded:
            hidden = np.isin(ids, np.fromiter(self._excluded, dtype=np.int64))
        return exact_search(vectors, ids, queries, k, hidden)

    def ensure_hnsw(self) -> HnswIndex:
        """The HNSW index, built from the embeddings when there is none yet."""
        if self.hnsw is None:
            started = time.monotonic()
            self.hnsw = HnswIndex(
                self.dim, self.fingerprint, self.params, capacity=len(self.embeddings)
            )
            self._sync_hnsw()
            log.info(
                "built HNSW index of %d images in %.1f s",
                len(self.hnsw),
                time.monotonic() - started,
            )
        return self.hnsw

    def _sync_hnsw(self) -> None:
        """Add embeddings the graph lacks and delete labels that have no embedding."""
        assert self.hnsw is not None
        wanted = {int(i) for i in self.embeddings.ids} - self._excluded
        missing = np.array(sorted(wanted - self.hnsw.live), dtype=np.int64)
        stale = self.hnsw.live - wanted
        if len(missing):
            self.hnsw.add(missing, self.embeddings.vectors[[self._row(i) for i in missing]])
        self.hnsw.remove(stale)
        self._hnsw_dirty = self._hnsw_dirty or bool(len(missing) or stale)

    def save(self, with_hnsw: bool | None = None) -> None:
        """Save the embeddings, and the HNSW index when it exists or the set is large."""
        self.embeddings.save()
        if with_hnsw is None:
            with_hnsw = self.hnsw is not None or len(self) > self.params.exact_below
        if self.hnsw is not None:
            self._sync_hnsw()  # embeddings added straight to the set (embedding job)
        if with_hnsw:
            hnsw = self.ensure_hnsw()
            if self._hnsw_dirty or not (self.folder / HNSW_FILE).exists():
                hnsw.save(self.folder)
                self._hnsw_dirty = False
