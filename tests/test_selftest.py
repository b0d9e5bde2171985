"""`mclip-gui --self-test`: every step runs for real here; failures exit non-zero with a reason."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

from mclip_gui import selftest
from mclip_gui.gui.app import main as gui_main


def _module_of(step_name: str) -> str | None:
    """The optional module a step needs (None: the step needs only what main always has)."""
    return {
        "import through a background job": "mclip_gui.core.scan",
        "thumbnails in worker processes": "mclip_gui.core.thumbnails",
        "embed the images": "mclip_gui.core.embed",
        "search": "mclip_gui.core.search",
        "German translation": "mclip_gui.gui.translations",
        "captions written and validated": "mclip_gui.core.captions.service",
        "fine-tune in the child process": "mclip_gui.core.training",
    }.get(step_name)


@pytest.mark.slow
def test_self_test_runs_every_step(qapp: object, capsys: pytest.CaptureFixture[str]) -> None:
    code = gui_main(["--self-test"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("mclip-gui 0.1.0 self-test (Python ")
    step_lines = lines[1:-1]
    assert [line[5:].split(":")[0] for line in step_lines] == [name for name, _ in selftest.STEPS]
    for (name, _), line in zip(selftest.STEPS, step_lines, strict=True):
        module = _module_of(name)
        if module is None or importlib.util.find_spec(module) is not None:
            assert line.startswith(f"ok   {name}: "), line
        else:  # a feature this branch does not have yet must say so, never pass
            assert line == f"FAIL {name}: not available: {module} is not part of this build"
    failed = sum(line.startswith("FAIL") for line in step_lines)
    assert code == (1 if failed else 0)
    summary = "self-test passed" if code == 0 else f"self-test FAILED: {failed} of"
    assert lines[-1].startswith(summary)


def test_failure_names_the_step_and_reason_and_skips_dependants(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(ctx: selftest.Context) -> str:
        raise OSError("disk full")

    def dependant(ctx: selftest.Context) -> str:
        ctx.need("broken step")
        return "ran"

    monkeypatch.setattr(
        selftest,
        "STEPS",
        [
            ("per-user folders", selftest.step_folders),
            ("broken step", broken),
            ("dependant step", dependant),
        ],
    )
    out = io.StringIO()
    assert selftest.run_self_test(out) == 1
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("ok   per-user folders: data ")
    assert lines[2] == "FAIL broken step: OSError: disk full"
    assert lines[3] == "FAIL dependant step: skipped: needs broken step"
    assert lines[4].startswith("self-test FAILED: 2 of 3 checks failed (")


def test_missing_feature_is_reported_not_available() -> None:
    with pytest.raises(selftest.NotAvailable, match=r"not available: mclip_gui\.nope is not part"):
        selftest.require("mclip_gui.nope")
    assert selftest.require("mclip_gui.frozen").__name__ == "mclip_gui.frozen"


def test_self_test_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(selftest.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(selftest, "STEPS", [("throwaway library", selftest.step_library)])
    out = io.StringIO()
    assert selftest.run_self_test(out) == 0
    assert "ok   throwaway library: database migrated to revision " in out.getvalue()
    assert list(tmp_path.iterdir()) == []
