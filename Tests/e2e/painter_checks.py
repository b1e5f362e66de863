#!/usr/bin/env python3
"""Checks for the painter's end-to-end tests, with the Python standard library only.

  painter_checks.py labels SAVED.png            compare a saved index PNG with the label map
                                                the tmux test's painting must produce (see
                                                expected_canvas); prints differences, exit 1 if any
  painter_checks.py cell CAPTURE.txt ROW COL    colours of one cell in `tmux capture-pane -p -e`
                                                output: "FG BG CHAR" (FG/BG as r,g,b or -)
"""
import struct
import sys
import zlib

# Landscape palette indices used by the test (Palettes/landscape.palette).
SKY, MOUNTAIN, WATER, RIVER, GRASS, TREE = 0, 2, 6, 8, 11, 12
W = H = 64          # canvas pixels
FACTOR = 4          # canvas pixel -> 4x4 label pixels in the saved file


def read_index_png(path):
    """Decodes an 8-bit gray or palette PNG into (width, height, [indices])."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("%s: not a PNG" % path)
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (0, 3) or interlace:
        raise SystemExit("%s: expected an 8-bit gray or palette PNG, got depth %d type %d" % (path, depth, ctype))
    raw = zlib.decompress(idat)
    out, prev, i = [], [0] * w, 0
    for _ in range(h):
        f = raw[i]; row = list(raw[i + 1:i + 1 + w]); i += 1 + w
        for x in range(w):
            a = row[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if f == 1: row[x] = (row[x] + a) & 255
            elif f == 2: row[x] = (row[x] + b) & 255
            elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += row; prev = row
    return w, h, out


def line(x0, y0, x1, y1):
    """Bresenham's line, both ends included."""
    pts, dx, dy = [], abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err, x, y = dx + dy, x0, y0
    while True:
        pts.append((x, y))
        if x == x1 and y == y1: return pts
        e2 = 2 * err
        if e2 >= dy: err += dy; x += sx
        if e2 <= dx: err += dx; y += sy


def expected_canvas():
    """The 64x64 canvas after the painting Tests/e2e/painter-tmux.sh does, derived from what the
    help text promises: a mouse cell covers two stacked canvas pixels; a round 3-pixel tip is a
    plus; rectangles are filled; fill is 4-connected; the eraser paints sky."""
    c = [[SKY if y < 35 else GRASS for x in range(W)] for y in range(H)]

    def put(x, y, v):
        if 0 <= x < W and 0 <= y < H: c[y][x] = v

    # 1. mountain, round tip size 3, mouse drag along cell row 3 from column 5 to 12.
    for x in range(5, 13):
        for y in (6, 7):
            for dx, dy in ((0, -1), (-1, 0), (0, 0), (1, 0), (0, 1)):
                put(x + dx, y + dy, MOUNTAIN)
    # 2. water rectangle with the keyboard: anchor (20,40), corner (30,46).
    for y in range(40, 47):
        for x in range(20, 31): put(x, y, WATER)
    # 3. tree fill clicked on the grass: every grass pixel connected to it.
    stack, seen = [(50, 50)], {(50, 50)}
    while stack:
        x, y = stack.pop(); c[y][x] = TREE
        for nx, ny in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)):
            if 0 <= nx < W and 0 <= ny < H and (nx, ny) not in seen and c[ny][nx] == GRASS:
                seen.add((nx, ny)); stack.append((nx, ny))
    # 4. river line, tip size 1, mouse from cell (40,2) to cell (55,12): pixels (40,4)-(55,24),
    #    each point two pixels tall.
    for x, y in line(40, 4, 55, 24):
        put(x, y, RIVER); put(x, y + 1, RIVER)
    # 5. eraser (size 1) click on cell (8,3): pixels (8,6) and (8,7) back to sky.
    put(8, 6, SKY); put(8, 7, SKY)
    # 6. a grass dab undone, redone and undone again: no change.
    return c


def cmd_labels(path):
    w, h, got = read_index_png(path)
    if (w, h) != (W * FACTOR, H * FACTOR):
        print("FAIL: %s is %dx%d, expected %dx%d" % (path, w, h, W * FACTOR, H * FACTOR)); return 1
    want = expected_canvas()
    bad = [(x, y, got[y * w + x], want[y // FACTOR][x // FACTOR])
           for y in range(h) for x in range(w) if got[y * w + x] != want[y // FACTOR][x // FACTOR]]
    if bad:
        print("FAIL: %d of %d label pixels differ; first: %s" % (len(bad), w * h,
              ", ".join("(%d,%d) got %d want %d" % b for b in bad[:8])))
        return 1
    print("OK: all %d label pixels match" % (w * h))
    return 0


def parse_cells(text):
    """Rows of (fg, bg, char) from capture-pane -e output (SGR 0, 39, 49, 38;2, 48;2, 38;5, 48;5)."""
    rows = []
    fg = bg = None      # tmux only writes changes, also across line ends: the state carries over
    for line_ in text.split("\n"):
        cells = []; i = 0
        while i < len(line_):
            ch = line_[i]
            if ch == "\x1b" and i + 1 < len(line_) and line_[i + 1] == "[":
                j = i + 2
                while j < len(line_) and not line_[j].isalpha(): j += 1
                if line_[j] == "m":
                    ps = [int(p) if p else 0 for p in line_[i + 2:j].split(";")]
                    k = 0
                    while k < len(ps):
                        p = ps[k]
                        if p == 0: fg = bg = None
                        elif p == 39: fg = None
                        elif p == 49: bg = None
                        elif p in (38, 48) and k + 1 < len(ps) and ps[k + 1] == 2:
                            v = tuple(ps[k + 2:k + 5]); k += 4
                            if p == 38: fg = v
                            else: bg = v
                        elif p in (38, 48) and k + 1 < len(ps) and ps[k + 1] == 5:
                            v = ("256", ps[k + 2]); k += 2
                            if p == 38: fg = v
                            else: bg = v
                        k += 1
                i = j + 1
                continue
            cells.append((fg, bg, ch)); i += 1
        rows.append(cells)
    return rows


def fmt(c):
    return "-" if c is None else ",".join(str(v) for v in c)


def cmd_cell(path, row, col):
    rows = parse_cells(open(path, encoding="utf-8").read())
    row, col = int(row), int(col)
    if row >= len(rows) or col >= len(rows[row]):
        print("- - ?"); return 1
    fg, bg, ch = rows[row][col]
    print("%s %s %s" % (fmt(fg), fmt(bg), ch))
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "labels" and len(a) == 2: sys.exit(cmd_labels(a[1]))
    if a and a[0] == "cell" and len(a) == 4: sys.exit(cmd_cell(*a[1:]))
    print(__doc__); sys.exit(2)
