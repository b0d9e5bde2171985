"""Draw the app icon with Pillow: a photo with a magnifying glass, on a blue rounded square.

Writes mclip_gui/resources/icons/mclip-gui.png (committed: the window reads it as package data)
and, when given a second path, a multi-size .ico for the Windows executable. PyInstaller turns
the PNG into .ico/.icns itself when Pillow is installed; the .ico here is for other tools.

    python packaging/make_icon.py [mclip_gui/resources/icons/mclip-gui.png [build/mclip-gui.ico]]
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PNG = ROOT / "mclip_gui" / "resources" / "icons" / "mclip-gui.png"
SIZE = 256
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def draw_icon(size: int = SIZE) -> Image.Image:
    """The icon at `size` pixels, drawn at 4x and scaled down for smooth edges."""
    s = size * 4
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=(32, 92, 170, 255))
    # The photo: a white card with a sun and two hills.
    card = (s * 0.14, s * 0.18, s * 0.72, s * 0.66)
    d.rounded_rectangle(card, radius=s // 40, fill=(250, 250, 250, 255))
    d.ellipse((s * 0.52, s * 0.24, s * 0.64, s * 0.36), fill=(245, 190, 40, 255))
    d.polygon(
        [(s * 0.17, s * 0.63), (s * 0.34, s * 0.38), (s * 0.50, s * 0.63)], fill=(70, 150, 80, 255)
    )
    d.polygon(
        [(s * 0.38, s * 0.63), (s * 0.52, s * 0.46), (s * 0.69, s * 0.63)], fill=(40, 110, 60, 255)
    )
    # The magnifying glass over the lower right corner.
    cx, cy, r = s * 0.62, s * 0.62, s * 0.17
    d.line((cx + r * 0.7, cy + r * 0.7, s * 0.90, s * 0.90), fill=(30, 30, 30, 255), width=s // 14)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255, 110))
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(30, 30, 30, 255), width=s // 28)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main(argv: list[str]) -> int:
    png = Path(argv[0]) if argv else DEFAULT_PNG
    icon = draw_icon()
    png.parent.mkdir(parents=True, exist_ok=True)
    icon.save(png, optimize=True)
    print(f"wrote {png}")  # noqa: T201 - a build script reports what it wrote
    if len(argv) > 1:
        ico = Path(argv[1])
        ico.parent.mkdir(parents=True, exist_ok=True)
        icon.save(ico, sizes=ICO_SIZES)
        print(f"wrote {ico}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
