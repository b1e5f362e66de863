#!/usr/bin/env bash
# painter-tmux.sh - end-to-end test of the real `spadepaint paint` in a detached tmux (no X needed):
# paints with mouse escape sequences and keys (brush, keyboard rectangle, fill, line, eraser,
# undo/redo), saves, compares the saved label map pixel for pixel with the expected one, checks
# the half-block picture's colours in `capture-pane -e`, the too-small message on resize, the
# unsaved-changes question, SIGTERM with autosave and its restore, and that the terminal is
# restored on exit.
# The picture comes from the hidden `--test-synthesizer palette` (flat class colours): this tests
# the painter, not a model. Two sections start the shipped model: one checks that random styles come from
# its style bank, the other that the status line says whether a style photo's colours are matched.
# Usage: Tests/e2e/painter-tmux.sh [SPADEPAINT_BINARY] [ARTIFACT_DIR]     needs: tmux python3
set -uo pipefail
export LC_ALL=C.UTF-8   # grep and tmux must see the UTF-8 screen as characters
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:-$repo/.build/release/spadepaint}
if ! command -v tmux >/dev/null; then
  echo "SKIP painter-tmux.sh: tmux is not installed (apt-get install tmux; 'make deps' does)"
  exit 0
fi
[ -x "$bin" ] || { echo "FAIL: no spadepaint binary at $bin (build first)"; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
art=${2:-$(mktemp -d /tmp/painter-tmux.XXXXXX)}; mkdir -p "$art"; art=$(cd "$art" && pwd)
checks=$here/painter_checks.py
sock=painter-e2e-$$; T="tmux -L $sock -f /dev/null"
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "  PASS: $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL: $*"; }
check() { local w=$1; shift; if "$@" >"$art/last.out" 2>&1; then ok "$w"; else bad "$w"; sed 's/^/        /' "$art/last.out" | head -20; fi; }
trap '$T kill-server 2>/dev/null' EXIT

pane() { $T capture-pane -p -t e2e; }
wait_pane() { local i; for i in $(seq 200); do pane | grep -Eq -- "$1" && return 0; sleep 0.05; done; echo "screen did not show /$1/:"; pane; return 1; }
wait_log() { local i; for i in $(seq 200); do grep -Eq -- "$1" "$log" 2>/dev/null && return 0; sleep 0.05; done; echo "log did not show /$1/:"; cat "$log"; return 1; }
key() { $T send-keys -t e2e "$@"; sleep 0.05; }
# X10 mouse bytes (tmux-256color kmous=\E[M): ESC [ M (32+button) (33+col) (33+row).
# button 0 = press 1, 3 = release, 32 = motion with button 1 held. Canvas cell (c, r) is
# screen column c, row 1 + r (the layout line in the log is checked below).
mouse() { $T send-keys -t e2e -H 1b 5b 4d "$(printf '%x' $((32 + $1)))" "$(printf '%x' $((33 + $2)))" "$(printf '%x' $((34 + $3)))"; sleep 0.03; }
press() { mouse 0 "$1" "$2"; }
motion() { mouse 32 "$1" "$2"; }
release() { mouse 3 "$1" "$2"; }
click() { press "$1" "$2"; release "$1" "$2"; }
repeat() { local n=$1; shift; local i; for i in $(seq "$n"); do $T send-keys -t e2e "$@"; done; sleep 0.1; }
# Ends the private tmux server and waits until its socket is gone (a new server started while
# the old one is still exiting dies with "server exited unexpectedly").
stop_server() {
  local i sockpath="${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$sock"
  $T kill-server 2>/dev/null
  for i in $(seq 100); do [ -e "$sockpath" ] || break; sleep 0.02; done
  sleep 0.1
}
start() {  # start ARGS...: the painter in a 120x40 pane; its exit status lands in $art/rc
  rm -f "$art/rc"
  $T new-session -d -s e2e -x 120 -y 40 -c "$art" \
    "env COLORTERM=truecolor '$bin' paint --test-synthesizer palette --autosave '$art/autosave.png' --event-log '$log' $*; echo \$? >'$art/rc'; sleep 60"
}
wait_rc() { local i; for i in $(seq 100); do [ -s "$art/rc" ] && return 0; sleep 0.05; done; echo "painter did not exit"; return 1; }

echo "artifacts: $art"
log=$art/events-1.log; : >"$log"
rm -f "$art"/autosave.png "$art"/autosave.png.source   # a reused artifact dir must not restore old work
echo "== painting, saving, comparing"
start
check "painter ready (half blocks, truecolor, side layout)" wait_log "READY .*display=blocks colours=truecolor .*layout=side canvas=1,0 "
check "status line says test synthesizer" wait_pane "test synthesizer"
check "first picture arrives" wait_log "PICTURE id="
check "palette lists key, swatch, name" wait_pane "m ▀▀ mountain"

# 1. mountain brush (round, size 3): drag along cell row 3 from column 5 to 12.
key m
press 5 3; for c in 6 7 8 9 10 11 12; do motion "$c" 3; done; release 12 3
# 2. water rectangle by keyboard: cursor to (20,40), space, to (30,46), space.
key w; key R
repeat 20 Right; repeat 40 Down; key Space
repeat 10 Right; repeat 6 Down; key Space
# 3. tree fill on the grass.
key t; key F; click 50 25
# 4. river line, size 1: drag from cell (40,2) via (50,10) to (55,12).
key r; key L; key '['; key '['
press 40 2; motion 45 6; motion 50 10; release 55 12
# 5. eraser click (sky) on cell (8,3).
key E; click 8 3
# 6. grass dab, undone, redone, undone.
key B; key g; click 60 30; key u; key U; key u
check "status shows the brush and grass" wait_pane "^BRUSH round 1 . grass \(g\)"
click 102 14      # the palette's "flower" row (screen row 15; the palette starts at column 96)
check "clicking the palette picks its class" wait_pane "^BRUSH round 1 . flower \(f\)"

key S; key C-u; $T send-keys -t e2e -l "$art/painted.png"; key Enter
check "saved message" wait_pane "Saved .*painted.png"
check "saved label map equals the expected one pixel for pixel" python3 "$checks" labels "$art/painted.png"
check "palette-colour PNG saved too" test -s "$art/painted.colour.png"

# The picture (test synthesizer: flat class colours) as half blocks in the picture pane.
sleep 0.5
$T capture-pane -p -e -t e2e >"$art/screen-e.txt"; pane >"$art/screen.txt"
read -r prow pcol prows pcols < <(sed -n 's/.*picture=\([0-9]*\),\([0-9]*\),\([0-9]*\)x\([0-9]*\).*/\1 \2 \3 \4/p' "$log" | head -1)
cell() { python3 "$checks" cell "$art/screen-e.txt" "$1" "$2"; }
check "picture pane top-left is sky (half block, 24-bit)" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-e.txt' $prow $pcol)\" = '135,206,235 135,206,235 ▀' ]"
check "picture pane bottom-left is tree" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-e.txt' $((prow + prows - 1)) $pcol)\" = '30,94,43 30,94,43 ▀' ]"
check "picture shows the water rectangle" grep -q $'\e\\[38;2;47;127;191m' "$art/screen-e.txt"
check "canvas cell (10,3) is mountain" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-e.txt' 4 10)\" = '91,95,115 91,95,115 ▀' ]"
check "canvas cell (8,3) erased to sky" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-e.txt' 4 8)\" = '135,206,235 135,206,235 ▀' ]"
check "palette swatch of water" bash -c "python3 '$checks' cell '$art/screen-e.txt' 7 99 | grep -q '^47,127,191 47,127,191 ▀'"

echo "== save picture, new style, clear, open"
key P; key C-u; $T send-keys -t e2e -l "$art/picture.png"; key Enter
check "picture saved" wait_pane "Saved picture .*picture.png"
check "saved picture is the test synthesizer's flat colours" python3 -c "
import sys; sys.path.insert(0, '$here'); import painter_checks as p, zlib, struct
d = open('$art/picture.png', 'rb').read(); assert d[:8] == b'\x89PNG\r\n\x1a\n'
w, h = struct.unpack('>II', d[16:24]); assert (w, h) == (256, 256), (w, h)"
key N; check "new random style shown on the status line" wait_pane "seed 2 ignored"
key C; check "clear" wait_pane "Cleared"
sleep 0.3; $T capture-pane -p -e -t e2e >"$art/screen-cleared.txt"
check "cleared canvas is all sky" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-cleared.txt' 30 10)\" = '135,206,235 135,206,235 ▀' ]"
key O; key C-u; $T send-keys -t e2e -l "$art/painted.png"; key Enter
check "open" wait_pane "Opened .*painted.png"
sleep 0.3; $T capture-pane -p -e -t e2e >"$art/screen-opened.txt"
check "opened map shows the water rectangle again" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-opened.txt' 22 25)\" = '47,127,191 47,127,191 ▀' ]"

echo "== help, resize, too small"
key '?'; check "help overlay" wait_pane "Tools +B brush"
key x; check "help closes" bash -c "! $T capture-pane -p -t e2e | grep -q 'Tools  *B brush'"
$T resize-window -t e2e -x 80 -y 24
check "too-small message at 80x24" wait_pane "Terminal too small: 80×24"
$T resize-window -t e2e -x 120 -y 40
check "layout back at 120x40" wait_pane "^BRUSH"
sleep 0.3; $T capture-pane -p -e -t e2e >"$art/screen-e2.txt"
check "canvas redrawn after resize" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-e2.txt' 4 10)\" = '91,95,115 91,95,115 ▀' ]"

echo "== quitting"
key q
check "quit without unsaved changes exits 0" bash -c "$(declare -f wait_rc); art='$art'; wait_rc && grep -qx 0 '$art/rc'"
check "terminal restored: normal screen, mouse reporting off" \
  bash -c "[ \"\$($T display -p -t e2e '#{alternate_on}#{mouse_any_flag}#{mouse_button_flag}#{mouse_sgr_flag}')\" = 0000 ]"
check "no autosave left after a clean exit" test ! -e "$art/autosave.png"
stop_server

echo "== unsaved changes, SIGTERM, autosave restore"
log=$art/events-2.log; : >"$log"; start "'$art/painted.png'"
check "opens the saved map" wait_log "READY"
key s; click 3 20
check "autosave written after the stroke" bash -c "for i in \$(seq 100); do [ -s '$art/autosave.png' ] && exit 0; sleep 0.05; done; exit 1"
key q; check "quit asks about unsaved changes" wait_pane "Unsaved changes"
key x; check "any other key cancels" wait_pane "Quit cancelled"
pid=$(sed -n 's/^READY pid=\([0-9]*\) .*/\1/p' "$log")
kill -TERM "$pid"
check "SIGTERM exits with 143" bash -c "$(declare -f wait_rc); art='$art'; wait_rc && grep -qx 143 '$art/rc'"
check "terminal restored after SIGTERM" \
  bash -c "[ \"\$($T display -p -t e2e '#{alternate_on}#{mouse_any_flag}#{mouse_button_flag}')\" = 000 ]"
check "autosave kept" test -s "$art/autosave.png"
stop_server
log=$art/events-3.log; : >"$log"; start "'$art/painted.png'"
check "autosave restored on restart" wait_pane "Restored unsaved work"
sleep 0.3; $T capture-pane -p -e -t e2e >"$art/screen-e3.txt"
check "restored canvas has the sky dab" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-e3.txt' 21 3)\" = '135,206,235 135,206,235 ▀' ]"
key q; key d
check "discard and quit exits 0" bash -c "$(declare -f wait_rc); art='$art'; wait_rc && grep -qx 0 '$art/rc'"
check "autosave removed after discarding" test ! -e "$art/autosave.png"
stop_server

echo "== 256 colours"
log=$art/events-4.log; : >"$log"; start --colors 256
check "256-colour mode" wait_log "READY .* colours=256 "
sleep 0.3; $T capture-pane -p -e -t e2e >"$art/screen-256.txt"
check "canvas and picture in 256 colours (sky = 116)" bash -c "[ \"\$(python3 '$checks' cell '$art/screen-256.txt' 1 0)\" = '256,116 256,116 ▀' ] && [ \"\$(python3 '$checks' cell '$art/screen-256.txt' $prow $pcol)\" = '256,116 256,116 ▀' ]"
check "no 24-bit colour sequences" bash -c "! grep -q $'\e\\[38;2;' '$art/screen-256.txt'"
key q
stop_server

echo "== the shipped model's random styles"
# Without a photo the first style and N's styles are blends of the shipped style bank's codes.
$T new-session -d -s e2e -x 120 -y 40 -c "$art" \
  "env COLORTERM=truecolor '$bin' paint --display blocks --autosave '$art/autosave-bank.png'; sleep 60"
check "status line: random style from the shipped style bank" wait_pane "random style, seed 1, from 64 codes"
key N; check "N: the next style from the bank" wait_pane "random style, seed 2, from 64 codes"
key q; key y
stop_server

echo "== the shipped model with a style photo"
# The real generator (not the test synthesizer): a sunset photo from the landscape world sets z and, through the
# shipped segmenter, the class colours; --no-colour-match keeps z only.
if "$bin" synth --count 1 --size 256x256 --seed 5 --time sunset --out "$art/ref" >/dev/null 2>&1; then
  for variant in "style and colours of 000000.png|" "style of 000000.png|--no-colour-match"; do
    want=${variant%%|*}; extra=${variant#*|}
    $T new-session -d -s e2e -x 120 -y 40 -c "$art" \
      "env COLORTERM=truecolor '$bin' paint --display blocks --autosave '$art/autosave-style.png' --style '$art/ref/images/000000.png' $extra; sleep 60"
    check "status line: $want" wait_pane "$want"
    key q; key y
    stop_server
  done
else
  bad "synth could not make a style photo"
fi

echo "== bad input"
"$bin" paint --test-synthesizer palette "$art/missing.png" >"$art/missing.out" 2>&1 </dev/null
check "missing LABELS.png: error names the file" grep -q "missing.png" "$art/missing.out"
printf 'not a png' >"$art/corrupt.png"
"$bin" paint --test-synthesizer palette "$art/corrupt.png" >"$art/corrupt.out" 2>&1 </dev/null
check "corrupt LABELS.png: error names the file" grep -q "corrupt.png" "$art/corrupt.out"
"$bin" paint --test-synthesizer palette >"$art/notty.out" 2>&1 </dev/null
check "without a terminal: clear error" grep -q "needs a terminal" "$art/notty.out"
"$bin" paint --test-synthesizer palette --style "$art/missing-style.jpg" >"$art/style.out" 2>&1 </dev/null
check "missing style image: error names the file" grep -q "missing-style.jpg" "$art/style.out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
