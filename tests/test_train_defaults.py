import json
from pathlib import Path

from tiny_models import tiny_clip_config

from mclip_gui.core.modelspec import RESOURCE_MODELS, load_model
from mclip_gui.core.training.config import TrainSettings


def test_model_recommendations_fill_only_settings_left_at_default() -> None:
    recommended = {"mode": "text_locked", "learning_rate": 5e-4, "epochs": 10}

    plain = TrainSettings().with_model_defaults(recommended)
    chosen = TrainSettings(mode="both", epochs=2).with_model_defaults(recommended)

    assert (plain.mode, plain.learning_rate, plain.epochs) == ("text_locked", 5e-4, 10)
    assert (chosen.mode, chosen.learning_rate, chosen.epochs) == ("both", 5e-4, 2)


def test_starter_config_recommends_training_its_image_tower() -> None:
    starter = json.loads((RESOURCE_MODELS / "starter.json").read_text())

    assert starter["train_defaults"]["mode"] == "text_locked"


def test_loaded_model_carries_the_folder_recommendations(tmp_path: Path) -> None:
    config = tiny_clip_config(tmp_path)
    raw = json.loads(config.read_text())
    config.write_text(json.dumps({"model_cfg": raw, "train_defaults": {"mode": "text_locked"}}))

    loaded = load_model(str(config), "cpu")

    assert loaded.train_defaults == {"mode": "text_locked"}
