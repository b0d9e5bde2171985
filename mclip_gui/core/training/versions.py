"""Model versions made by fine-tuning: create, list, activate.

A version is a folder in open_clip's layout under the library's `models/` folder plus a
ModelVersion row (parent model, data snapshot, settings, metrics). Activating one makes it the
library's model (`version:<name>`). When its image tower changed, the library is re-embedded
first, in the same background job, and only then is the setting switched, so search keeps
using the previous model until the new index is complete. When the image tower did not change
(image tower locked), the parent's image embeddings are reused as they are.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mclip_gui.core.errors import ModelError
from mclip_gui.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import EmbeddingSet, ModelVersion, TrainingRun

log = logging.getLogger(__name__)

ACTIVE_KEY = "model.active_version"


@dataclass(frozen=True)
class VersionInfo:
    """A model version as the app shows it."""

    name: str
    base_model: str
    mode: str
    image_tower_changed: bool
    created_at: datetime
    metrics: dict[str, Any]
    data: dict[str, Any]
    settings: dict[str, Any]
    folder: str

    @property
    def spec(self) -> str:
        return f"version:{self.name}"

    @property
    def mrr_change(self) -> tuple[float, float] | None:
        """(zero-shot, best) eval mRR of the run that made it; None when it was not trained
        here (a registered starter has no such run)."""
        zero_shot = self.metrics.get("zero_shot", {}).get("mRR")
        best = self.metrics.get("best", {}).get("mRR")
        return None if zero_shot is None or best is None else (float(zero_shot), float(best))


def _info(row: ModelVersion) -> VersionInfo:
    return VersionInfo(
        row.name,
        row.base_model,
        row.mode or "",
        bool(row.image_tower_changed),
        row.created_at,
        json.loads(row.metrics_json or "{}"),
        json.loads(row.data_json or "{}"),
        json.loads(row.settings_json or "{}"),
        row.checkpoint_path or "",
    )


def new_version_name(library: Library, base_model: str) -> str:
    """A unique name like `ft-20261203-1412`, numbered when taken."""
    stem = "ft-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name, n = stem, 2
    while find_version(library, name) is not None:
        name, n = f"{stem}-{n}", n + 1
    return name


def create_version(
    library: Library,
    name: str,
    source_folder: Path,
    base_model: str,
    *,
    mode: str,
    settings: dict[str, Any],
    data: dict[str, Any],
    metrics: dict[str, Any],
    image_fingerprint: str = "",
) -> VersionInfo:
    """Move a saved model folder into the library's models and record it as a version.

    `image_fingerprint` names the embeddings that stay valid for this version when its image
    tower did not change (those of the model it was trained from).
    """
    target = library.layout.model_versions / name
    if target.exists():
        raise ModelError(f"model version folder {target} exists already")
    shutil.move(str(source_folder), str(target))
    parent = find_version(library, base_model.removeprefix("version:"))
    data = {**data, "image_fingerprint": image_fingerprint}
    with library.store.session() as s:
        row = ModelVersion(
            name=name,
            base_model=base_model,
            parent_id=_row_id(s, parent.name) if parent else None,
            checkpoint_path=str(target),
            settings_json=json.dumps(settings),
            data_json=json.dumps(data),
            metrics_json=json.dumps(metrics),
            mode=mode,
            image_tower_changed=mode != "image_locked",
        )
        s.add(row)
        s.flush()
        info = _info(row)
    log.info("created model version %s in %s (trained from %s)", name, target, base_model)
    return info


def _row_id(session: Any, name: str) -> int | None:
    return session.scalar(select(ModelVersion.id).where(ModelVersion.name == name))


def find_version(library: Library, name: str) -> VersionInfo | None:
    with library.store.session() as s:
        row = s.scalars(select(ModelVersion).where(ModelVersion.name == name)).first()
        return _info(row) if row else None


def list_versions(library: Library) -> list[VersionInfo]:
    """All model versions, oldest first."""
    with library.store.session() as s:
        rows = s.scalars(select(ModelVersion).order_by(ModelVersion.created_at, ModelVersion.id))
        return [_info(row) for row in rows]


def newest_version_of(library: Library, base_model: str) -> VersionInfo | None:
    found = [v for v in list_versions(library) if v.base_model == base_model]
    return found[-1] if found else None


def delete_version(library: Library, name: str) -> int:
    """Delete model version `name`: its folder, its image embeddings and its record.

    Refused for the active model and for a version others were trained from (delete those
    first). Training runs that made it keep their logs. Returns the bytes freed.
    """
    name = name.removeprefix("version:")
    version = find_version(library, name)
    if version is None:
        raise ModelError(f"no model version named {name!r} in this library")
    if library.settings.model == version.spec:
        raise ModelError(f"{name} is the active model; activate another one before deleting it")
    children = [v.name for v in list_versions(library) if v.base_model == version.spec]
    if children:
        raise ModelError(f"{name} is the base of {', '.join(children)}; delete those first")
    folders: list[Path] = []
    with library.store.session() as s:
        row = s.scalars(select(ModelVersion).where(ModelVersion.name == name)).one()
        owned = Path(row.checkpoint_path or "")
        if row.checkpoint_path and owned.resolve().parent == library.layout.model_versions:
            folders.append(owned)  # a folder elsewhere (given by the user) is only forgotten
        spec_names = {version.spec, row.checkpoint_path or version.spec}
        for embeddings in s.scalars(select(EmbeddingSet).where(EmbeddingSet.model.in_(spec_names))):
            folders.append(Path(embeddings.path))
            s.delete(embeddings)
        for run in s.scalars(select(TrainingRun).where(TrainingRun.model_version_id == row.id)):
            run.model_version_id = None
        s.delete(row)
    freed = 0
    for folder in folders:
        freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        shutil.rmtree(folder, ignore_errors=True)
    log.info("deleted model version %s (%d bytes)", name, freed)
    return freed


def root_model(library: Library, spec: str) -> str:
    """The model a chain of versions started from (the spec itself when not a version)."""
    seen = set()
    while spec.startswith("version:") and spec not in seen:
        seen.add(spec)
        version = find_version(library, spec.removeprefix("version:"))
        if version is None:
            break
        spec = version.base_model
    return spec


def activate(
    library: Library,
    spec: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> str:
    """Make `spec` (a version name, `version:NAME` or any model) the library's model.

    Prepares its image embeddings first (reused or re-embedded), then switches the setting.
    A cancel leaves the previous model active. Returns the new model setting.
    """
    from mclip_gui.core.embed import embed_library, open_index
    from mclip_gui.core.modelspec import load_model

    cancel = cancel or CancelToken()
    if not spec.startswith("version:") and (
        find_version(library, spec) is not None or _bare_name(spec)
    ):
        spec = f"version:{spec}"
    version = find_version(library, spec.removeprefix("version:"))
    progress(Progress(0, 0, f"loading {spec}"))
    loaded: Any = load_model(spec, library.settings.device, library)
    index = open_index(library, loaded)
    if version is not None and not version.image_tower_changed and len(index.embeddings) == 0:
        _reuse_embeddings(library, version, loaded, index)
    cancel.check()
    embed_library(library, loaded, progress, cancel, index=index)
    library.update_settings(model=spec)
    library.store.set_meta(ACTIVE_KEY, spec)
    log.info("active model is now %s", spec)
    return spec


def _bare_name(spec: str) -> bool:
    """A word that is no other model form: meant as a version name."""
    return not any(c in spec for c in "/\\:.") and not Path(spec).expanduser().exists()


def _reuse_embeddings(library: Library, version: VersionInfo, loaded: Any, index: Any) -> None:
    """Copy the parent's image embeddings: the image tower is the parent's, unchanged."""
    from mclip_gui.core.embed import _record_set
    from mclip_gui.core.index import EmbeddingSet

    fingerprint = str(version.data.get("image_fingerprint", ""))
    folder = library.layout.embeddings / fingerprint
    if not fingerprint or not folder.exists():
        log.info("no image embeddings of %s's parent to reuse; embedding anew", version.name)
        return
    parent = EmbeddingSet.open(folder, fingerprint, loaded.embed_dim)
    if len(parent):
        index.add(parent.ids, parent.vectors)
        index.save()
        _record_set(library, loaded, index)
        log.info("reused %d image embeddings of %s for %s", len(parent), fingerprint, version.name)
