#!/usr/bin/env python3
"""Keystroke-to-canvas-update latency of the painter while synthesis runs continuously.

Runs `spadepaint paint` on a pseudo-terminal (answering its DA1 query as a terminal without
sixel would), with the test synthesizer made expensive (--test-synthesizer-busy-ms: every
synthesis keeps all cores busy that long, like a real generator), and types N keys: cursor
moves and space (a brush dab), each an edit that starts or queues a synthesis. For each key it
measures the time from writing the key to the pty until the painter's output contains the
redrawn canvas row (the cursor position is drawn on the canvas, so every key redraws the row).

Usage: latency.py [SPADEPAINT] [--keys N] [--busy-ms MS] [--model]    prints median / p95 / max
(--model: the real generator instead of the busy test synthesizer)
"""
import argparse, fcntl, os, pty, random, re, select, statistics, struct, sys, tempfile, termios, time


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?", default=os.path.join(here, "..", "..", ".build", "release", "spadepaint"))
    ap.add_argument("--keys", type=int, default=300)
    ap.add_argument("--busy-ms", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", action="store_true",
                    help="use the real generator (default model, or random weights without one) instead of the busy test synthesizer")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="painter-latency.")
    log = os.path.join(tmp, "events.log")
    argv = [a.binary, "paint", "--autosave", os.path.join(tmp, "autosave.png"), "--event-log", log]
    if not a.model:
        argv += ["--test-synthesizer", "palette", "--test-synthesizer-busy-ms", str(a.busy_ms)]
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = bytearray()

    def pump(timeout):
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        out.extend(data)
        if b"\x1b[c" in data:                      # DA1 query: answer like tmux (no sixel)
            os.write(fd, b"\x1b[?1;2c")
        return True

    deadline = time.time() + 15
    while time.time() < deadline and not (os.path.exists(log) and "READY" in open(log).read()):
        pump(0.05)
    time.sleep(0.5)
    while pump(0.05):
        pass

    rng = random.Random(a.seed)
    # Application cursor keys (ncurses turns keypad transmit mode on): ESC O C / ESC O D.
    keys = {"right": b"\x1bOC", "left": b"\x1bOD", "space": b" "}
    x, direction, lat, by_key = 0, "right", [], {}
    for i in range(a.keys):
        if i % 2 == 0:
            turn = (x >= 60 and direction == "right") or (x <= 0 and direction == "left")
            if turn:
                # Switch class on each pass so every dab changes pixels (and redraws the row).
                direction = "left" if direction == "right" else "right"
                os.write(fd, b"w" if direction == "left" else b"m")
                time.sleep(0.05)
            key = direction; x += 1 if direction == "right" else -1
        else:
            key = "space"
        out.clear()
        t0 = time.perf_counter()
        os.write(fd, keys[key])
        # The cursor stays on canvas pixel row 0: its cell row is screen row 2 (1-based).
        give_up = t0 + 2.0
        while b"\x1b[2;1H" not in out:
            if time.perf_counter() > give_up or not pump(0.5):
                print("no canvas update within 2 s after key %d (%s)" % (i, key)); break
        lat.append((time.perf_counter() - t0) * 1000)
        by_key.setdefault("space" if key == "space" else "arrow", []).append(lat[-1])
        time.sleep(rng.uniform(0.02, 0.08))        # a fast typist: 12-50 keys per second
    os.write(fd, b"q")
    time.sleep(0.2)
    os.write(fd, b"d")
    time.sleep(0.3)
    try: os.kill(pid, 15)
    except ProcessLookupError: pass
    os.waitpid(pid, 0)
    pictures = [float(m.group(1)) for m in re.finditer(r"PICTURE id=\d+ ms=([\d.]+)", open(log).read())]
    lat.sort()
    what = "the generator" if a.model else "test synthesis busy %d ms/frame on all cores" % a.busy_ms
    print("keys: %d, %s, %d pictures drawn meanwhile (median synthesis %.0f ms)"
          % (len(lat), what, len(pictures), statistics.median(pictures) if pictures else 0))
    print("keystroke -> canvas update latency: median %.2f ms, p95 %.2f ms, max %.2f ms"
          % (statistics.median(lat), lat[int(0.95 * (len(lat) - 1))], lat[-1]))
    for k, v in sorted(by_key.items()):
        print("  %s: median %.2f ms, max %.2f ms (%d keys)" % (k, statistics.median(v), max(v), len(v)))
    print("load average while measuring: %s" % open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
