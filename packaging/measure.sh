#!/usr/bin/env bash
# Size of the built bundle and its start time to the first painted window (offscreen).
#
#   bash packaging/measure.sh [RUNS [PYTHON]]
#
# With PYTHON (the interpreter of a pip install), each run also starts `PYTHON -m mclip_gui` the
# same way, as the baseline of the same moment (the machine's load changes the absolute times).
# Start time: from just before the executable starts until the window's first paint event has
# been handled (`--quit-after-first-paint` prints that moment), each run on a fresh data folder,
# in an empty environment (env -i). The first run may include reading the files from disk.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=dist/mclip-gui
RUNS="${1:-3}"
PYTHON="${2:-}"
[ -x "$BUNDLE/mclip-gui" ] || { echo "no bundle at $BUNDLE: run packaging/build.sh" >&2; exit 2; }
echo "bundle size: $(du -sh "$BUNDLE" | cut -f1) in $(find "$BUNDLE" -type f | wc -l) files"
echo "largest parts:"
du -sh "$BUNDLE"/_internal/* | sort -h | tail -8 | sed 's/^/  /'
first_paint() {  # label, command...: seconds from start to the first painted window
    local label="$1" data start out end painted torch
    shift
    data="$(mktemp -d)"
    start="$(date +%s.%N)"
    out="$(env -i HOME="$HOME" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen MCLIP_DATA_DIR="$data" \
        PYTHONPATH="${PYTHONPATH:-}" "$@" --quit-after-first-paint 2>/dev/null)"
    end="$(date +%s.%N)"
    rm -rf "$data"
    painted="$(echo "$out" | awk '/^first-paint-at/ {print $2}')"
    torch="$(echo "$out" | awk '/^first-paint-at/ {print $4}')"
    awk -v l="$label" -v s="$start" -v p="$painted" -v e="$end" -v t="$torch" 'BEGIN {
        printf "%s: first window after %.2f s (process exit after %.2f s; torch imported: %s)\n",
            l, p - s, e - s, t }'
}
for run in $(seq "$RUNS"); do
    first_paint "run $run bundle" "$BUNDLE/mclip-gui"
    if [ -n "$PYTHON" ]; then
        PYTHONPATH="$PWD" first_paint "run $run python" "$PYTHON" -m mclip_gui
    fi
done
start="$(date +%s.%N)"
env -i HOME="$HOME" PATH=/usr/bin:/bin "$BUNDLE/mclip" --version
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "mclip --version took %.2f s\n", e - s }'
