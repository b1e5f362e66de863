import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the terminal can show, asked before ncurses starts (see ../shared/docs/terminal-notes.md):
/// sixel ⇔ the DA1 reply lists parameter 4; the cell size in pixels comes from TIOCGWINSZ, else
/// from `CSI 16 t`, else an assumed 10×20. Every query is followed by DA1 as a sentinel, so a
/// terminal that ignores a query costs no timeout.
public struct TerminalCapabilities: Equatable {
    public var da1: String = ""
    public var version: String = ""
    public var sixel = false
    public var truecolor = false
    public var cellWidth = 10
    public var cellHeight = 20
    public var cellSizeSource = "assumed"

    public init() {}

    /// sixel ⇔ the DA1 parameter list (after the device class) contains 4.
    public static func da1HasSixel(_ reply: String) -> Bool {
        guard let q = reply.firstIndex(of: "?"), reply.last == "c" else { return false }
        let body = reply[reply.index(after: q)..<reply.index(before: reply.endIndex)]
        return body.split(separator: ";").dropFirst().contains("4")
    }

    /// Truecolor unless nothing says so: COLORTERM, a terminfo RGB/Tc flag (checked by the caller
    /// after setupterm), or a terminal version string naming one known to take `38;2` SGR.
    public static func looksTruecolor(environment: [String: String], version: String) -> Bool {
        let colorterm = (environment["COLORTERM"] ?? "").lowercased()
        if colorterm == "truecolor" || colorterm == "24bit" { return true }
        let term = (environment["TERM"] ?? "").lowercased()
        if term.contains("direct") || term.contains("truecolor") { return true }
        if environment["TMUX"] != nil { return true }   // tmux passes 38;2 through (measured, 3.3a)
        let known = ["xterm", "tmux", "foot", "kitty", "wezterm", "mlterm", "iterm", "contour", "konsole", "alacritty"]
        let v = version.lowercased()
        return known.contains { v.contains($0) }
    }
}

public enum TerminalProbe {
    /// Asks the terminal on `fd` (a tty) what it supports. Leaves the tty's mode as it found it.
    public static func probe(fd: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) -> TerminalCapabilities {
        var caps = TerminalCapabilities()
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return caps }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(fd, TCSANOW, &raw)
        defer { tcsetattr(fd, TCSANOW, &saved) }

        // XTVERSION (CSI > 0 q) then DA1: replies `DCS > | name ST` and `CSI ? … c`.
        if let (before, da1) = query(fd, "\u{1b}[>0q") {
            caps.da1 = da1
            caps.sixel = TerminalCapabilities.da1HasSixel(da1)
            if let start = before.range(of: "\u{1b}P>|") {
                let rest = before[start.upperBound...]
                caps.version = String(rest.prefix { $0 != "\u{1b}" })
            }
        }
        var ws = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_xpixel > 0, ws.ws_ypixel > 0, ws.ws_col > 0, ws.ws_row > 0 {
            caps.cellWidth = Int(ws.ws_xpixel) / Int(ws.ws_col)
            caps.cellHeight = Int(ws.ws_ypixel) / Int(ws.ws_row)
            caps.cellSizeSource = "TIOCGWINSZ"
        } else if !caps.da1.isEmpty, let (answer, _) = query(fd, "\u{1b}[16t"),
                  let size = parseCellSizeReport(answer) {
            (caps.cellHeight, caps.cellWidth) = size
            caps.cellSizeSource = "CSI 16 t"
        }
        if caps.cellWidth < 1 || caps.cellHeight < 1 {
            caps.cellWidth = 10
            caps.cellHeight = 20
            caps.cellSizeSource = "assumed"
        }
        caps.truecolor = TerminalCapabilities.looksTruecolor(environment: environment, version: caps.version)
        return caps
    }

    /// `CSI 6 ; height ; width t` → (height, width).
    static func parseCellSizeReport(_ s: String) -> (Int, Int)? {
        guard let r = s.range(of: "\u{1b}[6;") else { return nil }
        let body = s[r.upperBound...].prefix { $0 != "t" }
        let parts = body.split(separator: ";").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return nil }
        return (parts[0], parts[1])
    }

    /// Sends `q` followed by DA1 and reads until the DA1 reply (at most one second).
    /// Returns (everything before the DA1 reply, the DA1 reply).
    static func query(_ fd: Int32, _ q: String) -> (String, String)? {
        let out = Array((q + "\u{1b}[c").utf8)
        guard out.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == out.count else { return nil }
        var buf: [UInt8] = []
        let deadline = Date(timeIntervalSinceNow: 1.0)
        var chunk = [UInt8](repeating: 0, count: 256)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            if poll(&p, 1, ms) <= 0 { break }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            buf.append(contentsOf: chunk[0..<n])
            if let (before, da1) = findDA1(buf) { return (before, da1) }
        }
        return nil
    }

    /// Finds `ESC [ ? digits/semicolons c` in buf.
    static func findDA1(_ buf: [UInt8]) -> (String, String)? {
        var i = 0
        while i + 3 < buf.count {
            if buf[i] == 0x1b && buf[i + 1] == UInt8(ascii: "[") && buf[i + 2] == UInt8(ascii: "?") {
                var j = i + 3
                while j < buf.count, (buf[j] >= 0x30 && buf[j] <= 0x39) || buf[j] == UInt8(ascii: ";") { j += 1 }
                if j < buf.count, buf[j] == UInt8(ascii: "c") {
                    return (String(decoding: buf[0..<i], as: UTF8.self),
                            String(decoding: buf[i...j], as: UTF8.self))
                }
            }
            i += 1
        }
        return nil
    }
}
