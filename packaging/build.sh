#!/usr/bin/env bash
# Build the one-folder bundle: dist/mclip-gui/ with the executables mclip-gui and mclip.
#
#   bash packaging/build.sh [PYTHON]
#
# PYTHON is the interpreter of the environment mclip-gui is installed in (default: .venv/bin/python,
# else python3); PyInstaller comes from the `bundle` extra: pip install -e '.[bundle]'.
# Afterwards it checks that the bundle starts and passes its self-test, offscreen.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${1:-}"
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
# The checkout's own package, even where another copy is installed in the environment.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
"$PYTHON" -c "import PyInstaller" 2>/dev/null || {
    echo "PyInstaller is missing: $PYTHON -m pip install -e '.[bundle]'" >&2
    exit 2
}
"$PYTHON" -m PyInstaller --noconfirm --clean \
    --distpath dist --workpath build/pyinstaller packaging/mclip-gui.spec

BUNDLE="dist/mclip-gui"
EXE="$BUNDLE/mclip-gui"
[ -x "$EXE" ] || EXE="$BUNDLE/mclip-gui.exe"
echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
# Run the bundle with no Python of ours on the path: a clean environment, its own folder only.
env -i HOME="$HOME" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen "$EXE" --version
if [ "${SKIP_SELF_TEST:-0}" != 1 ]; then
    env -i HOME="$HOME" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen "$EXE" --self-test
fi
