"""The script PyInstaller freezes: both bundle executables start here (see mclip_gui.frozen)."""

from mclip_gui.frozen import main

if __name__ == "__main__":
    raise SystemExit(main())
