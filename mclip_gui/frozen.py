"""Entry point of the bundled app, and how any part of the app starts a Python child process.

The bundle (packaging/mclip-gui.spec) is one folder with two executables built from this one
entry point: ``mclip-gui`` opens the window, ``mclip`` is the headless command line; which one
runs is told by the executable's name. A frozen app has no ``python -m``: a child process is
started as ``<executable> --run-module <module> [args]`` instead, and multiprocessing's own
children (spawn) are recognised by ``multiprocessing.freeze_support``. `python_command` gives
the right command line in both worlds, so callers never look at ``sys.frozen`` themselves.
"""

from __future__ import annotations

import multiprocessing
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

RUN_MODULE_FLAG = "--run-module"
CLI_NAMES = ("mclip",)


def is_frozen() -> bool:
    """True inside the PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def python_command(module: str, *args: str) -> list[str]:
    """The command line that runs ``python -m module args`` here, in the bundle as elsewhere."""
    if is_frozen():
        return [sys.executable, RUN_MODULE_FLAG, module, *args]
    return [sys.executable, "-m", module, *args]


def run_module(module: str, args: Sequence[str]) -> int:
    """Run `module` as ``__main__`` with `args`, like ``python -m module args``."""
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return int(e.code or 0)
        print(e.code, file=sys.stderr)  # noqa: T201 - sys.exit("message") prints, as Python does
        return 1
    return 0


def main(argv: Sequence[str] | None = None, program: str | None = None) -> int:
    """Dispatch to the window, the command line or a child module, by name and arguments."""
    # A multiprocessing child of the frozen app arrives here first; this runs it and exits.
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [RUN_MODULE_FLAG]:
        if len(args) < 2:
            print(f"{RUN_MODULE_FLAG} needs a module name", file=sys.stderr)  # noqa: T201
            return 2
        return run_module(args[1], args[2:])
    name = Path(program or sys.argv[0]).stem.lower()
    if name in CLI_NAMES and "--self-test" not in args:
        from mclip_gui.cli import main as cli_main

        return cli_main(args)
    from mclip_gui.gui.app import main as gui_main

    return gui_main(args)
