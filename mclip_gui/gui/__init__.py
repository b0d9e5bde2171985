"""The PySide6 window. Heavy work runs through gui.jobs on worker threads, never here."""
