#!/usr/bin/env bash
# sixel-xterm.sh - the painter in a real sixel terminal (xterm -ti vt340 under Xvfb, driven by
# xdotool; ../shared/tools/tui/run-in-xterm.sh): paints strokes with mouse drags, screenshots,
# and checks that the sixel picture sits in its pane (and nowhere else), that the canvas and the
# palette/status text are intact, and that the picture comes back after a full redraw.
# The picture comes from the hidden `--test-synthesizer palette` (flat class colours).
# Run by hand (not part of `make test`: it needs X packages):
#   Tests/e2e/sixel-xterm.sh [SPADEPAINT_BINARY] [ARTIFACT_DIR]
# Needs: xterm xvfb xdotool x11-utils xfonts-base imagemagick python3, and the tools in
# ../shared/tools/tui (override with TUI_TOOLS=DIR).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${TUI_TOOLS:-$repo/../shared/tools/tui}
[ -d "$tools" ] || tools=/work/shared/tools/tui
H=$tools/run-in-xterm.sh; P=$tools/pixstat.py
bin=${1:-$repo/.build/release/spadepaint}
[ -x "$bin" ] || { echo "FAIL: no spadepaint binary at $bin"; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
for t in Xvfb xterm xdotool import; do command -v $t >/dev/null || { echo "SKIP: $t missing (see $tools/README.md)"; exit 0; }; done
art=${2:-$(mktemp -d /tmp/painter-sixel.XXXXXX)}; mkdir -p "$art"; art=$(cd "$art" && pwd)
st=$art/xterm; log=$art/events.log; : >"$log"; rm -f "$art"/autosave.png*
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "  PASS: $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL: $*"; }
check() { local w=$1; shift; if "$@" >"$art/last.out" 2>&1; then ok "$w"; else bad "$w"; sed 's/^/        /' "$art/last.out" | head -12; fi; }
trap '"$H" stop "$st" >/dev/null 2>&1' EXIT
pictures() { grep -c '^PICTURE' "$log"; }
wait_picture_after() {  # wait until more than N pictures were drawn
  local i; for i in $(seq 100); do [ "$(pictures)" -gt "$1" ] && return 0; sleep 0.05; done; return 1; }

echo "artifacts: $art"
eval "$("$H" start "$st" -- "$bin" paint --test-synthesizer palette --autosave "$art/autosave.png" --event-log "$log")"
check "painter ready with sixel (DA1 has 4), 10x20 cells from TIOCGWINSZ" \
  "$H" wait-file "$st" "$log" "READY .*display=sixel .*cell=10x20 " 10
check "first picture" "$H" wait-file "$st" "$log" "^PICTURE" 10
read -r prow pcol prows pcols < <(sed -n 's/.*picture=\([0-9]*\),\([0-9]*\),\([0-9]*\)x\([0-9]*\).*/\1 \2 \3 \4/p' "$log" | head -1)
echo "  picture pane: row $prow col $pcol, $prows x $pcols cells"
px=$((pcol * CELL_W)); py=$((prow * CELL_H)); pw=$((pcols * CELL_W)); ph=$((prows * CELL_H))

# Strokes: water along screen row 5 (canvas pixels 8-9), mountain along row 12 (pixels 22-23).
n=$(pictures)
"$H" key "$st" w; "$H" drag "$st" 5 5 5 40
"$H" key "$st" m; "$H" drag "$st" 12 10 12 50
"$H" wait-file "$st" "$log" "MOUSE bstate=0x1 row=12 col=50" 10 >/dev/null
sleep 0.5; wait_picture_after "$n"; sleep 0.5
"$H" shot "$st" "$art/sixel-1.png"
# Picture pixels: the 64-pixel canvas scaled to pw (= 300) pixels: 4.69 px per canvas pixel.
s() { echo $(( $1 * pw / 64 )); }
check "picture: sky in its top-left corner" "$P" "$art/sixel-1.png" expect $((px + 4)) $((py + 4)) 30 20 87ceeb 0.95 8
check "picture: the water stroke" "$P" "$art/sixel-1.png" expect $((px + $(s 10))) $((py + $(s 8) + 1)) $(( $(s 35) - $(s 10) )) $(( $(s 10) - $(s 8) - 2 )) 2f7fbf 0.9 8
check "picture: the mountain stroke" "$P" "$art/sixel-1.png" expect $((px + $(s 15))) $((py + $(s 22) + 1)) $(( $(s 45) - $(s 15) )) $(( $(s 24) - $(s 22) - 2 )) 5b5f73 0.9 8
check "picture: grass at the bottom" "$P" "$art/sixel-1.png" expect $((px + 4)) $((py + ph - 24)) $((pw - 8)) 20 6cc24a 0.95 8
check "nothing drawn below the pane" "$P" "$art/sixel-1.png" expect $px $((py + ph)) $pw $CELL_H 000000 0.99 0
check "nothing drawn right of the pane" "$P" "$art/sixel-1.png" expect $((px + pw)) $py $CELL_W $ph 000000 0.99 0
check "canvas half blocks: water at cell (5,20)" "$P" "$art/sixel-1.png" expect $((20 * CELL_W)) $((5 * CELL_H)) $CELL_W $CELL_H 2f7fbf 0.99 0
check "canvas half blocks: mountain at cell (12,30)" "$P" "$art/sixel-1.png" expect $((30 * CELL_W)) $((12 * CELL_H)) $CELL_W $CELL_H 5b5f73 0.99 0
check "palette text intact: 'mountain'" "$P" "$art/sixel-1.png" text $CELL_W $CELL_H 3 102 "mountain"
check "palette text intact: 'water'" "$P" "$art/sixel-1.png" text $CELL_W $CELL_H 7 102 "water"
check "palette swatch of water" "$P" "$art/sixel-1.png" expect $((99 * CELL_W)) $((7 * CELL_H)) $((2 * CELL_W)) $CELL_H 2f7fbf 0.99 0
check "status line text (reverse video) on the last row" "$P" "$art/sixel-1.png" text $CELL_W $CELL_H $((ROWS - 1)) 0 "BRUSH round 3" ffffff

# A full redraw (Ctrl-L clears the screen, which erases sixel images) must bring the picture back.
"$H" key "$st" ctrl+l; sleep 0.8
"$H" shot "$st" "$art/sixel-2-redraw.png"
check "picture re-emitted after a clear" "$P" "$art/sixel-2-redraw.png" expect $((px + $(s 10))) $((py + $(s 8) + 1)) $(( $(s 35) - $(s 10) )) $(( $(s 10) - $(s 8) - 2 )) 2f7fbf 0.9 8
check "canvas redrawn after a clear" "$P" "$art/sixel-2-redraw.png" expect $((20 * CELL_W)) $((5 * CELL_H)) $CELL_W $CELL_H 2f7fbf 0.99 0
"$H" key "$st" question; sleep 0.5; "$H" shot "$st" "$art/sixel-3-help.png"
"$H" key "$st" x; sleep 0.8; "$H" shot "$st" "$art/sixel-4-after-help.png"
check "picture back after the help overlay" "$P" "$art/sixel-4-after-help.png" expect $((px + 4)) $((py + 4)) 30 20 87ceeb 0.95 8

"$H" key "$st" q; sleep 0.3; "$H" key "$st" d
check "quit (discarding) exits 0" "$H" wait-file "$st" "$st/exit" "^0$" 5
"$H" stop "$st" >/dev/null
echo "screenshots: $art/sixel-*.png"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
