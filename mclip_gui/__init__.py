"""mclip-gui: search your own images with German (or any language) text through CLIP."""

__version__ = "0.1.0"
