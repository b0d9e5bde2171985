"""Naming and loading CLIP models. Every part of the app names a model with one string.

Forms of a model name:
- ``architecture::pretrained`` as open_clip names them (``ViT-B-32::openai``); the weights come
  from the Hugging Face cache, downloaded with progress when missing and allowed;
- ``hf-hub:org/name``;
- a local checkpoint file (``.safetensors``; ``.pt``/``.pth``/``.bin`` loaded with
  ``weights_only=True``) beside an ``open_clip_config.json``, or ``architecture::/path/file``;
- a model folder in open_clip's layout (``open_clip_config.json`` + weights); relative paths in
  its text config (a Hugging Face text tower shipped in a sub-folder) are resolved against it;
- a path to an open_clip model config JSON: randomly initialised (seeded, so reloading gives the
  same weights), for experiments and tests;
- ``version:<name>``: a model version made by fine-tuning in this library.

torch and open_clip are imported inside functions: the window must paint before they load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mclip_gui.core.errors import ModelError
from mclip_gui.core.jobs import Progress, ProgressCallback, no_progress

if TYPE_CHECKING:
    from mclip_gui.core.library import Library

log = logging.getLogger(__name__)

# Fail fast instead of hanging when the network is down (seconds, read by huggingface_hub).
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "15")

CONFIG_NAME = "open_clip_config.json"
WEIGHTS_NAME = "open_clip_model.safetensors"
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
RANDOM_INIT_SEED = 0
TOKENIZER_DIR_ENV = "MCLIP_TOKENIZER_DIR"
RESOURCE_MODELS = Path(__file__).resolve().parents[1] / "resources" / "models"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model name. `kind`: pretrained, hf-hub, folder, checkpoint, config, version."""

    text: str
    kind: str
    architecture: str = ""
    pretrained: str = ""
    path: Path | None = None


def parse_model_spec(text: str) -> ModelSpec:
    """Tell which form `text` is in; raises ModelError for what is none of them."""
    text = text.strip()
    if not text:
        raise ModelError(
            "no model named: give architecture::pretrained, hf-hub:org/name, "
            "a checkpoint file, a model folder or a config JSON"
        )
    if text.startswith("version:"):
        return ModelSpec(text, "version", pretrained=text.removeprefix("version:"))
    if text.startswith("hf-hub:"):
        return ModelSpec(text, "hf-hub", architecture=text)
    if "::" in text:
        arch, _, pretrained = text.partition("::")
        candidate = Path(pretrained).expanduser()
        if candidate.suffix in CHECKPOINT_SUFFIXES or candidate.is_file():
            return ModelSpec(text, "checkpoint", architecture=arch, path=candidate)
        return ModelSpec(text, "pretrained", architecture=arch, pretrained=pretrained)
    path = Path(text).expanduser()
    if not path.exists() and (RESOURCE_MODELS / text).exists():
        path = RESOURCE_MODELS / text  # bundled tiny configs by bare name
    if path.is_dir():
        return ModelSpec(text, "folder", path=path.resolve())
    if path.suffix == ".json":
        if not path.exists():
            raise ModelError(f"model config {path} does not exist")
        return ModelSpec(text, "config", path=path.resolve())
    if path.suffix in CHECKPOINT_SUFFIXES:
        if not path.exists():
            raise ModelError(f"checkpoint file {path} does not exist")
        return ModelSpec(text, "checkpoint", path=path.resolve())
    if path.exists():
        raise ModelError(f"{path} is neither a model folder, a checkpoint nor a config JSON")
    raise ModelError(
        f"unknown model {text!r}: expected architecture::pretrained (for example "
        "ViT-B-32::openai), hf-hub:org/name, version:NAME, or a path to a checkpoint file, "
        "model folder or config JSON"
    )


def resolve_device(setting: str = "auto") -> Any:
    """CUDA when present, then Apple MPS, else CPU; an explicit setting wins if available."""
    import torch

    if setting == "cuda" or (setting == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ModelError("device cuda was asked for, but no CUDA device is available")
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps and mps.is_available())
    if setting == "mps" or (setting == "auto" and mps_ok):
        if not mps_ok:
            raise ModelError("device mps was asked for, but Apple MPS is not available")
        return torch.device("mps")
    return torch.device("cpu")


class TokenizerInfo:
    """A tokenizer with the extras the app needs: pieces for the preview, counts, a prefix."""

    def __init__(self, tokenizer: Any, context_length: int, prefix: str = ""):
        self.tokenizer = tokenizer
        self.context_length = context_length
        self.prefix = prefix

    def __call__(self, texts: Sequence[str] | str, context_length: int | None = None) -> Any:
        if isinstance(texts, str):
            texts = [texts]
        texts = [self.prefix + t for t in texts]
        return self.tokenizer(texts, context_length=context_length or self.context_length)

    @property
    def is_hf(self) -> bool:
        return hasattr(self.tokenizer, "tokenizer") and hasattr(
            self.tokenizer.tokenizer, "tokenize"
        )

    def pieces(self, text: str) -> list[str]:
        """How the tokenizer splits `text` (without special tokens and without the prefix)."""
        if self.is_hf:
            return list(self.tokenizer.tokenizer.tokenize(text))
        ids = self.tokenizer.encode(text)
        byte_decoder = self.tokenizer.byte_decoder
        pieces = []
        for i in ids:
            piece = self.tokenizer.decoder[i].replace("</w>", "")
            raw = bytearray(byte_decoder.get(c, 63) for c in piece)
            pieces.append(raw.decode("utf-8", errors="replace"))
        return pieces

    def count(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens and prefix included."""
        if self.is_hf:
            # verbose=False: no transformers warning for long texts; the caller reports it.
            encoded = self.tokenizer.tokenizer(self.prefix + text, verbose=False)
            return len(encoded["input_ids"])
        return len(self.tokenizer.encode(self.prefix + text)) + 2

    def is_truncated(self, text: str) -> bool:
        return self.count(text) > self.context_length


@dataclass
class LoadedModel:
    """A model ready to embed: weights on a device in eval mode, its transform and tokenizer."""

    spec: str
    model: Any
    preprocess: Any
    tokenizer: TokenizerInfo
    device: Any
    fingerprint: str
    model_cfg: dict[str, Any]
    preprocess_cfg: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    # Training settings the model folder recommends (the starter: text tower locked, higher lr).
    train_defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def context_length(self) -> int:
        return self.tokenizer.context_length

    @property
    def embed_dim(self) -> int:
        return int(self.model_cfg["embed_dim"])

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 text embeddings, one row per text (truncated to the context)."""
        import torch

        tokens = self.tokenizer(list(texts)).to(self.device)
        with torch.inference_mode(), self._autocast():
            features = self.model.encode_text(tokens, normalize=True)
        return features.float().cpu().numpy()

    def encode_images(self, batch: Any) -> np.ndarray:
        """L2-normalised float32 image embeddings of a preprocessed batch tensor."""
        import torch

        with torch.inference_mode(), self._autocast():
            features = self.model.encode_image(batch.to(self.device), normalize=True)
        return features.float().cpu().numpy()

    def _autocast(self) -> Any:
        """Half precision on CUDA only; CPU and MPS stay in fp32."""
        import contextlib

        import torch

        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def token_pieces(self, text: str) -> list[str]:
        return self.tokenizer.pieces(text)

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)


# -- configs --------------------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read model config {path}: {e}") from e
    if not isinstance(data, dict):
        raise ModelError(f"model config {path} is not a JSON object")
    return data


def read_folder_config(folder: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(model_cfg, preprocess_cfg, whole file) of a model folder or config JSON file.

    Relative Hugging Face paths in the text config are made absolute against the file's folder.
    """
    path = folder / CONFIG_NAME if folder.is_dir() else folder
    if not path.exists():
        raise ModelError(f"{folder} has no {CONFIG_NAME}: not an open_clip model folder")
    whole = _read_json(path)
    model_cfg = dict(whole.get("model_cfg", whole))
    if "embed_dim" not in model_cfg or "vision_cfg" not in model_cfg:
        raise ModelError(f"{path} is not an open_clip model config (no embed_dim/vision_cfg)")
    text_cfg = dict(model_cfg.get("text_cfg", {}))
    for key in ("hf_model_name", "hf_tokenizer_name"):
        value = text_cfg.get(key)
        if value and (value.startswith(".") or (path.parent / value).exists()):
            text_cfg[key] = str((path.parent / value).resolve())
    model_cfg["text_cfg"] = text_cfg
    return model_cfg, dict(whole.get("preprocess_cfg", {})), whole


def _register_config(model_cfg: dict[str, Any]) -> str:
    """Make `model_cfg` known to open_clip under a name derived from its content."""
    import open_clip

    text = json.dumps(model_cfg, sort_keys=True)
    name = "mclip-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    if name not in open_clip.list_models():
        folder = Path(tempfile.gettempdir()) / "mclip-gui-configs"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.json").write_text(text, encoding="utf-8")
        open_clip.add_model_config(folder / f"{name}.json")
    return name


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def _file_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


# -- downloads ------------------------------------------------------------------------------
def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def _hub_file(repo: str, filenames: Sequence[str], spec: str, progress: ProgressCallback) -> Path:
    """A weights file from the Hugging Face cache, downloaded (with progress) when allowed."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    for name in filenames:
        cached = try_to_load_from_cache(repo, name)
        if isinstance(cached, str):
            log.info("model %s: weights from cache %s", spec, cached)
            return Path(cached)
    how = (
        "Download it on a machine with internet access, or give a local checkpoint instead "
        "(Model ▸ Choose model… in the window; --model ARCH::/path/to/weights.safetensors or a "
        "model folder on the command line), or build the offline starter model (Model ▸ Choose "
        f"model… ▸ Build starter model…, or mclip model starter). ({repo})"
    )
    if _offline():
        raise ModelError(f"model {spec} is not in the local cache and HF_HUB_OFFLINE is set. {how}")
    unreachable = _hub_unreachable()
    if unreachable:
        raise ModelError(f"model {spec} is not in the local cache and {unreachable}. {how}")
    tqdm_class = _progress_tqdm(progress, f"downloading {spec}")
    errors = []
    for name in filenames:
        try:
            return Path(hf_hub_download(repo, name, tqdm_class=tqdm_class))
        except Exception as e:  # any hub failure (offline, 404, timeout) is tried on the next name
            errors.append(f"{name}: {type(e).__name__}: {e}")
    raise ModelError(f"model {spec} could not be downloaded ({'; '.join(errors)[:400]}). {how}")


def _hub_unreachable(timeout_s: float = 3.0) -> str:
    """Why the model hub cannot be reached, or "" when it can (one quick TCP connect).

    huggingface_hub retries for about a minute when offline; this answers in seconds.
    """
    import socket
    from urllib.parse import urlparse

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout_s):
            return ""
    except Exception as e:  # DNS failure, refused, timeout, or a test's network block
        return f"{url.hostname} cannot be reached ({type(e).__name__}: {e})"


def _progress_tqdm(progress: ProgressCallback, message: str) -> Any:
    from tqdm.auto import tqdm

    class ProgressTqdm(tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            result = super().update(n)
            progress(Progress(int(self.n), int(self.total or 0), message))
            return result

    return ProgressTqdm


def _pretrained_weights(spec: ModelSpec, progress: ProgressCallback) -> tuple[Path, dict[str, Any]]:
    import open_clip

    if spec.architecture not in open_clip.list_models():
        raise ModelError(f"unknown architecture {spec.architecture!r} in model {spec.text}")
    cfg = open_clip.get_pretrained_cfg(spec.architecture, spec.pretrained)
    if not cfg:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(spec.architecture))
        raise ModelError(
            f"unknown pretrained tag {spec.pretrained!r} for {spec.architecture}; known: {tags}"
        )
    hub = cfg.get("hf_hub", "")
    if not hub:
        raise ModelError(f"model {spec.text} has no Hugging Face source; give a local checkpoint")
    parts = hub.split("/")
    repo = "/".join(parts[:2])
    filename = "/".join(parts[2:]) if len(parts) > 2 and parts[2] else ""
    names = (
        [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    )
    return _hub_file(repo, names, spec.text, progress), cfg


# -- loading --------------------------------------------------------------------------------
def load_model(
    spec: str,
    device: str = "auto",
    library: Library | None = None,
    progress: ProgressCallback = no_progress,
) -> LoadedModel:
    """Load any model form onto the device; raises ModelError with what to do instead."""
    parsed = parse_model_spec(spec)
    if parsed.kind == "version":
        return load_model(
            str(version_folder(parsed.pretrained, library)), device, library, progress
        )
    started = time.monotonic()
    target = resolve_device(device)
    try:
        loaded = _load(parsed, target, progress)
    except ModelError:
        raise
    except Exception as e:  # open_clip/transformers raise many kinds; the user needs one message
        raise ModelError(f"cannot load model {spec}: {type(e).__name__}: {e}") from e
    log.info(
        "loaded model %s from %s on %s in %.1f s",
        spec,
        loaded.source,
        target,
        time.monotonic() - started,
    )
    return loaded


def _load(spec: ModelSpec, device: Any, progress: ProgressCallback) -> LoadedModel:
    import open_clip
    import torch

    progress(Progress(0, 0, f"loading {spec.text}"))
    prefix = ""
    train_defaults: dict[str, Any] = {}
    preprocess_cfg: dict[str, Any] = {}
    random_init = False
    if spec.kind == "pretrained":
        weights, tag_cfg = _pretrained_weights(spec, progress)
        name, model_cfg = spec.architecture, open_clip.get_model_config(spec.architecture)
        checkpoint: str | None = str(weights)
        preprocess_cfg = {
            k: tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag_cfg
        }
        force_quick_gelu = bool(tag_cfg.get("quick_gelu", False))
        fingerprint = _fingerprint(spec.text)
        source = str(weights)
    elif spec.kind == "hf-hub":
        model = open_clip.create_model(spec.text, device=device)
        tokenizer = open_clip.get_tokenizer(spec.text)
        model_cfg = open_clip.get_model_config(spec.text) or {}
        return _finish(
            spec, model, tokenizer, model_cfg, device, _fingerprint(spec.text), spec.text, "", {}
        )
    elif spec.kind in ("folder", "config") or (spec.kind == "checkpoint" and not spec.architecture):
        assert spec.path is not None
        config_source = spec.path
        if spec.kind == "checkpoint":
            config_source = spec.path.parent / CONFIG_NAME
            if not config_source.exists():
                raise ModelError(
                    f"cannot tell the architecture of {spec.path}: put its {CONFIG_NAME} beside "
                    f"it, or name the model as ARCHITECTURE::{spec.path}"
                )
        model_cfg, preprocess_cfg, whole = read_folder_config(config_source)
        prefix = str(whole.get("text_prefix", ""))
        train_defaults = dict(whole.get("train_defaults", {}))
        name = _register_config(model_cfg)
        checkpoint = None
        if spec.kind == "checkpoint":
            checkpoint = str(spec.path)
        elif spec.kind == "folder":
            found = sorted(p for p in spec.path.iterdir() if p.suffix in CHECKPOINT_SUFFIXES)
            preferred = [p for p in found if p.name == WEIGHTS_NAME] or found
            if not preferred:
                raise ModelError(f"model folder {spec.path} has no weights file ({WEIGHTS_NAME})")
            checkpoint = str(preferred[0])
        random_init = checkpoint is None
        force_quick_gelu = False
        identity = _file_identity(Path(checkpoint)) if checkpoint else f"seed{RANDOM_INIT_SEED}"
        fingerprint = _fingerprint(json.dumps(model_cfg, sort_keys=True), identity, prefix)
        source = checkpoint or f"{spec.path} (random init, seed {RANDOM_INIT_SEED})"
    else:  # architecture::/path/to/checkpoint
        assert spec.path is not None
        if not spec.path.exists():
            raise ModelError(f"checkpoint file {spec.path} does not exist")
        name, model_cfg = spec.architecture, open_clip.get_model_config(spec.architecture)
        if model_cfg is None:
            raise ModelError(f"unknown architecture {spec.architecture!r} in model {spec.text}")
        checkpoint, force_quick_gelu = str(spec.path), False
        fingerprint = _fingerprint(spec.architecture, _file_identity(spec.path))
        source = str(spec.path)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model = open_clip.create_model(
            name,
            pretrained=checkpoint,
            device=device,
            precision="fp32",
            force_quick_gelu=force_quick_gelu,
            force_preprocess_cfg=preprocess_cfg or None,
            pretrained_text=not random_init,
            weights_only=True,
        )
    tokenizer = open_clip.get_tokenizer(name)
    loaded = _finish(
        spec, model, tokenizer, model_cfg or {}, device, fingerprint, source, prefix, preprocess_cfg
    )
    loaded.train_defaults = train_defaults
    return loaded


def _finish(
    spec: ModelSpec,
    model: Any,
    tokenizer: Any,
    model_cfg: dict[str, Any],
    device: Any,
    fingerprint: str,
    source: str,
    prefix: str,
    preprocess_cfg: dict[str, Any],
) -> LoadedModel:
    import open_clip

    model.eval()
    cfg = open_clip.get_model_preprocess_cfg(model)
    from open_clip.transform import PreprocessCfg, image_transform_v2

    preprocess = image_transform_v2(PreprocessCfg(**cfg), is_train=False)
    context = int(
        getattr(tokenizer, "context_length", 0)
        or model_cfg.get("text_cfg", {}).get("context_length", 77)
    )
    return LoadedModel(
        spec.text,
        model,
        preprocess,
        TokenizerInfo(tokenizer, context, prefix),
        device,
        fingerprint,
        model_cfg,
        cfg,
        source,
    )


# -- tokenizer only -------------------------------------------------------------------------
def load_tokenizer(spec: str, library: Library | None = None) -> TokenizerInfo:
    """The tokenizer of a model, without its weights (fast; for the caption token preview).

    For Hugging Face tokenizers not in the local cache, $MCLIP_TOKENIZER_DIR may name a folder
    holding the tokenizer files (or one sub-folder per tokenizer name).
    """
    import open_clip
    from open_clip.tokenizer import HFTokenizer

    parsed = parse_model_spec(spec)
    if parsed.kind == "version":
        return load_tokenizer(str(version_folder(parsed.pretrained, library)), library)
    prefix = ""
    if parsed.kind in ("folder", "config") or (
        parsed.kind == "checkpoint" and not parsed.architecture
    ):
        assert parsed.path is not None
        source = parsed.path if parsed.kind != "checkpoint" else parsed.path.parent / CONFIG_NAME
        model_cfg, _, whole = read_folder_config(source)
        prefix = str(whole.get("text_prefix", ""))
    elif parsed.kind == "hf-hub":
        model_cfg = open_clip.get_model_config(parsed.text) or {}
    else:
        model_cfg = open_clip.get_model_config(parsed.architecture) or {}
        if not model_cfg:
            raise ModelError(f"unknown architecture {parsed.architecture!r} in model {spec}")
    text_cfg = model_cfg.get("text_cfg", {})
    context = int(text_cfg.get("context_length", 77))
    hf_name = text_cfg.get("hf_tokenizer_name")
    if not hf_name:
        return TokenizerInfo(open_clip.SimpleTokenizer(context_length=context), context, prefix)
    local = _local_tokenizer_dir(hf_name)
    try:
        tokenizer = HFTokenizer(str(local or hf_name), context_length=context)
    except Exception as e:  # not cached and offline, or a broken folder
        raise ModelError(
            f"tokenizer {hf_name} of model {spec} is not available offline: put its files in a "
            f"folder and set {TOKENIZER_DIR_ENV} to it ({type(e).__name__}: {e})"
        ) from e
    return TokenizerInfo(tokenizer, context, prefix)


def _local_tokenizer_dir(name: str) -> Path | None:
    if Path(name).is_dir():
        return Path(name)
    root = os.environ.get(TOKENIZER_DIR_ENV)
    if not root:
        return None
    for candidate in (Path(root) / name.split("/")[-1], Path(root)):
        if (candidate / "tokenizer.json").exists():
            return candidate
    return None


# -- model versions and saving --------------------------------------------------------------
def version_folder(name: str, library: Library | None) -> Path:
    """The folder of model version `name` in `library`."""
    if library is None:
        raise ModelError(f"model version {name!r} needs a library (none is open)")
    from sqlalchemy import select

    from mclip_gui.core.schema import ModelVersion

    with library.store.session() as s:
        row = s.scalars(select(ModelVersion).where(ModelVersion.name == name)).first()
        names = list(s.scalars(select(ModelVersion.name).order_by(ModelVersion.id)))
    if row is None or not row.checkpoint_path:
        known = f"its versions: {', '.join(names)}" if names else "it has no model versions yet"
        raise ModelError(f"no model version named {name!r} in this library ({known})")
    folder = Path(row.checkpoint_path)
    if not folder.exists():
        raise ModelError(f"model version {name!r}: its folder {folder} is gone")
    return folder


def save_model_folder(
    model: Any,
    model_cfg: dict[str, Any],
    folder: Path,
    preprocess_cfg: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `model` in open_clip's folder layout (config JSON + safetensors), atomically.

    `extra` keys (for example ``text_prefix``) go into the config file's top level.
    """
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (WEIGHTS_NAME + ".tmp")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(tmp))
    os.replace(tmp, folder / WEIGHTS_NAME)
    config = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg or {}, **(extra or {})}
    tmp_cfg = folder / (CONFIG_NAME + ".tmp")
    tmp_cfg.write_text(json.dumps(config, indent=2), encoding="utf-8")
    os.replace(tmp_cfg, folder / CONFIG_NAME)
    return folder


def bundled_config(name: str) -> Path:
    """Path of a tiny model config shipped with the app (for the self-test and experiments)."""
    path = RESOURCE_MODELS / name
    if not path.exists():
        raise ModelError(f"no bundled model config {name!r} in {RESOURCE_MODELS}")
    return path


ModelLoader = Callable[[str], LoadedModel]
