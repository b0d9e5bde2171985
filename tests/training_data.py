"""A small generated library for the training tests: coloured shapes with German captions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageDraw

from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption, Image

COLOURS = {
    "rot": (220, 30, 30),
    "grün": (30, 200, 40),
    "blau": (30, 40, 220),
    "gelb": (240, 220, 20),
    "schwarz": (10, 10, 10),
    "weiß": (245, 245, 245),
}
SHAPES = ("Kreis", "Quadrat", "Streifen")


def draw(colour: tuple[int, int, int], shape: str, variant: int) -> PILImage.Image:
    image = PILImage.new("RGB", (48, 48), (128, 128, 128 + variant * 8))
    pen = ImageDraw.Draw(image)
    if shape == "Kreis":
        pen.ellipse((6, 6, 42, 42), fill=colour)
    elif shape == "Quadrat":
        pen.rectangle((8, 8, 40, 40), fill=colour)
    else:
        for x in range(0, 48, 12):
            pen.rectangle((x, 0, x + 5, 47), fill=colour)
    return image


def build_library(library: Library, folder: Path, copies: int = 2, eval_every: int = 4) -> None:
    """Images of every colour and shape (`copies` variants each) with accepted captions.

    Every `eval_every`-th image goes to the eval split; the others to train.
    """
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with library.store.session() as s:
        for colour_name, colour in COLOURS.items():
            for shape in SHAPES:
                for variant in range(copies):
                    path = folder / f"{colour_name}-{shape}-{variant}.png"
                    draw(colour, shape, variant).save(path)
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    split = "eval" if n % eval_every == 0 else "train"
                    image = Image(path=str(path), content_hash=digest, split=split, state="ok")
                    s.add(image)
                    s.flush()
                    text = f"ein {shape} in der Farbe {colour_name} auf grauem Grund"
                    s.add(Caption(image_id=image.id, text=text, state="accepted"))
                    n += 1


def add_unreadable(library: Library, folder: Path, split: str = "train") -> Path:
    """A file named .png that is not an image, with an accepted caption."""
    path = folder / "kaputt.png"
    path.write_bytes(b"not an image")
    with library.store.session() as s:
        image = Image(path=str(path), content_hash="0" * 64, split=split, state="ok")
        s.add(image)
        s.flush()
        s.add(Caption(image_id=image.id, text="ein kaputtes Bild ohne Inhalt", state="accepted"))
    return path
