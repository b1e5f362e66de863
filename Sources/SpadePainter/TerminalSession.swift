import CNCurses
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// ncurses mouse masks (NCURSES_MOUSE_VERSION 2); the C macros are function-like and do not
// import into Swift.
enum MouseMask {
    static let button1Released: UInt64 = 0o1
    static let button1Pressed: UInt64 = 0o2
    static let button1Clicked: UInt64 = 0o4
    static let button1DoubleClicked: UInt64 = 0o10
    static let button1TripleClicked: UInt64 = 0o20
    static let button4Pressed: UInt64 = 0o2 << 15   // wheel up
    static let button5Pressed: UInt64 = 0o2 << 20   // wheel down
    static let reportPosition: UInt64 = 0o10 << 25
    static let all: UInt64 = reportPosition - 1
}

enum TextAttribute {
    static let reverse: Int32 = 1 << 18
    static let dim: Int32 = 1 << 20
    static let bold: Int32 = 1 << 21
}

// Signal state shared with the C signal handlers (which may only touch plain globals).
private var caughtSignal: sig_atomic_t = 0
private var wakeWriteFD: Int32 = -1

private func onTerminatingSignal(_ sig: Int32) {
    caughtSignal = sig
    var b: UInt8 = 1
    _ = write(wakeWriteFD, &b, 1)
}

/// The terminal while the painter runs: ncurses for text, keys and mouse; direct writes for
/// pictures (half blocks, sixel); a wake pipe so background results and signals interrupt the
/// wait for input; and restoration of the terminal on every way out.
final class TerminalSession {
    private(set) var active = false
    let wakeReadFD: Int32
    private var screen: OpaquePointer?

    init() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw PainterSetupError("the painter needs a terminal on standard input and output")
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw PainterSetupError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
    }

    /// Called from any thread: makes `waitForInput` return.
    static func wake() {
        var b: UInt8 = 0
        _ = write(wakeWriteFD, &b, 1)
    }

    func start() throws {
        setlocale(LC_ALL, "")
        // The screen is drawn with UTF-8 (half blocks, frames, dashes). Under a non-UTF-8 locale
        // (often plain "C" in scripts, CI, or over SSH) ncursesw would print those bytes as
        // escaped garbage and break the layout, so take C.UTF-8's character handling instead.
        if String(cString: nl_langinfo(nl_item(CODESET))) != "UTF-8" {
            setlocale(LC_CTYPE, "C.UTF-8")
        }
        guard let s = newterm(nil, stdout, stdin) else {
            let term = ProcessInfo.processInfo.environment["TERM"] ?? "(unset)"
            throw PainterSetupError("ncurses cannot drive this terminal (TERM=\(term))")
        }
        screen = s
        active = true
        cbreak()
        noecho()
        nonl()
        keypad(stdscr, true)
        nodelay(stdscr, true)
        // No insert/delete-line or -character optimisation: ncurses must never shift cells it
        // does not know about (the pictures we write directly).
        idlok(stdscr, false)
        idcok(stdscr, false)
        scrollok(stdscr, false)
        curs_set(0)
        set_escdelay(25)
        mousemask(mmask_t(truncatingIfNeeded: MouseMask.all | MouseMask.reportPosition), nil)
        mouseinterval(0)   // raw press/release, no click-merging delay
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, onTerminatingSignal) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// xterm's button-event tracking (motion while a button is held). Must follow ncurses' own
    /// mouse setup, which is sent with the first refresh (a later 1000 would switch it off).
    func enableDragReports() {
        writeRaw("\u{1b}[?1002h")
    }

    /// Leaves the terminal as it was: mouse reports off, attributes reset, ncurses ended.
    func restore() {
        guard active else { return }
        active = false
        writeRaw("\u{1b}[?1002l\u{1b}[?1006l\u{1b}[?1000l\u{1b}[0m")
        endwin()
        if let s = screen { delscreen(s); screen = nil }
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
    }

    /// The signal that asked us to stop, if any (SIGINT, SIGTERM, SIGHUP).
    var pendingSignal: Int32 { caughtSignal }

    /// Waits until a key, a wake-up, a signal or the timeout (milliseconds, -1 = none).
    func waitForInput(timeoutMs: Int32) {
        var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, timeoutMs)
        var sink = [UInt8](repeating: 0, count: 256)
        while read(wakeReadFD, &sink, sink.count) > 0 {}
    }

    /// Writes straight to the terminal, bypassing ncurses (which must have flushed first).
    func writeRaw(_ s: String) {
        var bytes = Array(s.utf8)
        writeRaw(&bytes)
    }

    func writeRaw(_ bytes: inout [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + off, $0.count - off) }
            if n > 0 { off += n; continue }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            return   // terminal gone (SIGHUP): nothing more to do
        }
    }
}
