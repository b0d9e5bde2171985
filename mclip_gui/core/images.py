"""Opening image files the one way the app uses them: upright, RGB, size-guarded.

Every reader of pixels (import, thumbnails, embedding, training) goes through `open_image`, so
EXIF orientation, CMYK, palette, 16-bit and alpha are handled in one place.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from mclip_gui.core.errors import ImageError

log = logging.getLogger(__name__)

# Background of transparent images: white, as product photos on a page would show.
ALPHA_BACKGROUND = (255, 255, 255)
DEFAULT_MAX_PIXELS = 100_000_000

try:  # HEIC/AVIF only when the optional pillow-heif is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # the extra is optional; such files are then reported as unreadable
    HEIF_SUPPORTED = False

# Truncated files must fail, not decode into grey blocks.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# The pixel limit is ours (a setting, checked in check_size before decoding), not Pillow's global.
Image.MAX_IMAGE_PIXELS = None


def check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageError(
            f"{width}x{height} pixels is above the limit of {max_pixels:,} "
            "(setting max_image_pixels; guards against decompression bombs)"
        )


def open_image(
    path: Path, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: int | None = None
) -> Image.Image:
    """Decode `path` fully and return an upright RGB image; ImageError names why it can't.

    `draft_size` lets a JPEG decode at a reduced scale whose sides stay at least that large
    (much faster for thumbnails); other formats ignore it.
    """
    try:
        if path.stat().st_size == 0:
            raise ImageError("empty file (0 bytes)")
        with Image.open(path) as img:
            check_size(img.width, img.height, max_pixels)
            img.seek(0)  # first frame of animations
            if draft_size is not None and img.format == "JPEG":
                img.draft(img.mode, (draft_size, draft_size))
            img.load()
            return to_upright_rgb(img)
    except ImageError:
        raise
    except FileNotFoundError as e:
        raise ImageError("file not found (deleted or moved)") from e
    except IsADirectoryError as e:
        raise ImageError("is a folder, not a file") from e
    except UnidentifiedImageError as e:
        raise ImageError("not an image file (unknown format)") from e
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"cannot decode: {e}") from e


def to_upright_rgb(img: Image.Image) -> Image.Image:
    """Apply EXIF orientation and convert any mode (CMYK, P, I;16, LA, RGBA…) to RGB."""
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit and 32-bit integer greyscale: scale to 8 bit instead of clipping to white.
        img = img.point(lambda v: v * (1 / 256)).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, ALPHA_BACKGROUND)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img
