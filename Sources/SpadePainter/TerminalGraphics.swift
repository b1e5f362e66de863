import CSixel

import SpadeImaging

extension RGBColour {
    /// Black or white, whichever stands out on this colour (the keyboard cursor).
    public var contrasting: RGBColour {
        let luma = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
        return luma > 128_000 ? RGBColour(0, 0, 0) : RGBColour(255, 255, 255)
    }
}

public enum ColourMode: String {
    case truecolor, palette256 = "256"
}

/// SGR colour sequences: `38;2;r;g;b` in truecolor, else the nearest of xterm's 256 colours
/// (the 6×6×6 cube or the 24 greys).
public enum ANSIColour {
    static let cubeLevels = [0, 95, 135, 175, 215, 255]

    public static func nearest256(_ c: RGBColour) -> Int {
        func cubeIndex(_ v: UInt8) -> Int {
            var best = 0
            for (i, l) in cubeLevels.enumerated() where abs(l - Int(v)) < abs(cubeLevels[best] - Int(v)) { best = i }
            return best
        }
        let ri = cubeIndex(c.r), gi = cubeIndex(c.g), bi = cubeIndex(c.b)
        func dist(_ r: Int, _ g: Int, _ b: Int) -> Int {
            let dr = r - Int(c.r), dg = g - Int(c.g), db = b - Int(c.b)
            return dr * dr + dg * dg + db * db
        }
        let cubeDist = dist(cubeLevels[ri], cubeLevels[gi], cubeLevels[bi])
        let mean = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let greyIndex = min(23, max(0, (mean - 8 + 5) / 10))
        let grey = 8 + 10 * greyIndex
        if dist(grey, grey, grey) < cubeDist { return 232 + greyIndex }
        return 16 + 36 * ri + 6 * gi + bi
    }

    public static func foreground(_ c: RGBColour, _ mode: ColourMode) -> String {
        mode == .truecolor ? "\u{1b}[38;2;\(c.r);\(c.g);\(c.b)m" : "\u{1b}[38;5;\(nearest256(c))m"
    }

    public static func background(_ c: RGBColour, _ mode: ColourMode) -> String {
        mode == .truecolor ? "\u{1b}[48;2;\(c.r);\(c.g);\(c.b)m" : "\u{1b}[48;5;\(nearest256(c))m"
    }
}

/// Pictures as Unicode upper half blocks: each character cell shows two stacked pixels, the top
/// one as foreground colour of U+2580, the bottom one as background.
public enum HalfBlocks {
    /// Escape text drawing the given cell rows of an image at screen cell (top, left), 1 cell per
    /// column and 2 pixel rows per cell row. `pixel(x, y)` gives the image's colours;
    /// `rows` are cell rows relative to `top`.
    public static func render(rows: [Int], top: Int, left: Int, columns: Int, mode: ColourMode,
                              pixel: (Int, Int) -> RGBColour) -> String {
        var s = ""
        s.reserveCapacity(rows.count * columns * 24)
        for r in rows {
            s += "\u{1b}[\(top + r + 1);\(left + 1)H"
            var fg: RGBColour?
            var bg: RGBColour?
            for c in 0..<columns {
                let t = pixel(c, 2 * r), b = pixel(c, 2 * r + 1)
                if t != fg { s += ANSIColour.foreground(t, mode); fg = t }
                if b != bg { s += ANSIColour.background(b, mode); bg = b }
                s += "\u{2580}"
            }
        }
        s += "\u{1b}[0m"
        return s
    }
}

public struct SixelError: Error, CustomStringConvertible {
    public let description: String
}

/// Sixel encoding through libsixel (256-colour palette per image, built from the image).
public enum SixelEncoder {
    private final class Sink { var bytes: [UInt8] = [] }

    /// Encodes packed RGB pixels as one DCS sixel sequence.
    public static func encode(rgb: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        precondition(rgb.count == width * height * 3 && width > 0 && height > 0)
        let sink = Sink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        var output: OpaquePointer?
        let write: sixel_write_function = { data, size, priv in
            guard let data, let priv, size > 0 else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(priv).takeUnretainedValue()
            data.withMemoryRebound(to: UInt8.self, capacity: Int(size)) {
                sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(size)))
            }
            return size
        }
        guard sixel_output_new(&output, write, unmanaged.toOpaque(), nil) == SIXEL_OK, let output else {
            throw SixelError(description: "libsixel: cannot create an output")
        }
        defer { sixel_output_unref(output) }
        var dither: OpaquePointer?
        guard sixel_dither_new(&dither, 256, nil) == SIXEL_OK, let dither else {
            throw SixelError(description: "libsixel: cannot create a dither")
        }
        defer { sixel_dither_unref(dither) }
        var pixels = rgb
        let status = pixels.withUnsafeMutableBufferPointer { buf -> SIXELSTATUS in
            let p = buf.baseAddress!
            let s = sixel_dither_initialize(dither, p, Int32(width), Int32(height), SIXEL_PIXELFORMAT_RGB888,
                                            SIXEL_LARGE_AUTO, SIXEL_REP_AUTO, SIXEL_QUALITY_AUTO)
            if s != SIXEL_OK { return s }
            return sixel_encode(p, Int32(width), Int32(height), 3, dither, output)
        }
        guard status == SIXEL_OK else {
            throw SixelError(description: "libsixel: encoding failed (status \(status))")
        }
        return sink.bytes
    }
}
