"""Typed errors raised by the core. The GUI and the command line turn them into messages."""


class MclipError(Exception):
    """Base class of every error the core raises on purpose; its text is shown to the user."""


class ConfigError(MclipError):
    """A setting, path or argument given by the user is not usable."""


class ImageError(MclipError):
    """An image file cannot be read; the message names the reason."""


class ModelError(MclipError):
    """A model cannot be named, found or loaded."""


class IndexMismatchError(MclipError):
    """A stored index or embedding set was made by another model than the one asked for."""


class CaptionError(MclipError):
    """A caption or verdict cannot be stored (rule broken, claim lost, not allowed)."""


class TrainingError(MclipError):
    """A training run failed (diverged, crashed, no data)."""


class JobCancelled(MclipError):
    """A long job was stopped by the user. Not a failure: callers treat it quietly."""
