import SpadeImaging

/// A 3×5 pixel font for the labels of plots and sample grids (digits, lower-case letters, a few signs),
/// so the trainer's PNGs explain themselves without a font library.
enum TinyFont {
    static let glyphs: [Character: [String]] = {
        let rows: [(Character, String)] = [
            ("0", "111101101101111"), ("1", "010110010010111"), ("2", "111001111100111"), ("3", "111001111001111"),
            ("4", "101101111001001"), ("5", "111100111001111"), ("6", "111100111101111"), ("7", "111001010010010"),
            ("8", "111101111101111"), ("9", "111101111001111"), ("a", "010101111101101"), ("b", "110101110101110"),
            ("c", "011100100100011"), ("d", "110101101101110"), ("e", "111100110100111"), ("f", "111100110100100"),
            ("g", "011100101101011"), ("h", "101101111101101"), ("i", "111010010010111"), ("j", "001001001101010"),
            ("k", "101101110101101"), ("l", "100100100100111"), ("m", "101111111101101"), ("n", "110101101101101"),
            ("o", "010101101101010"), ("p", "110101110100100"), ("q", "010101101110011"), ("r", "110101110101101"),
            ("s", "011100010001110"), ("t", "111010010010010"), ("u", "101101101101111"), ("v", "101101101101010"),
            ("w", "101101111111101"), ("x", "101101010101101"), ("y", "101101010010010"), ("z", "111001010100111"),
            (".", "000000000000010"), ("-", "000000111000000"), ("_", "000000000000111"), (":", "000010000010000"),
            ("/", "001001010100100"), ("+", "000010111010000"), ("|", "010010010010010"),
            (" ", "000000000000000"), ("%", "101001010100101"), ("(", "010100100100010"), (")", "010001001001010"),
        ]
        var table: [Character: [String]] = [:]
        for (ch, bits) in rows {
            table[ch] = stride(from: 0, to: 15, by: 3).map { String(Array(bits)[$0..<$0 + 3]) }
        }
        return table
    }()

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale`×`scale` image pixels.
    static func draw(_ text: String, x: Int, y: Int, scale: Int = 2, colour: RGBColour, into image: inout RGBImage) {
        var cx = x
        for ch in text.lowercased() {
            if let glyph = glyphs[ch] {
                for (r, row) in glyph.enumerated() {
                    for (c, bit) in row.enumerated() where bit == "1" {
                        fill(x: cx + c * scale, y: y + r * scale, w: scale, h: scale, colour: colour, into: &image)
                    }
                }
            }
            cx += 4 * scale
        }
    }

    static func fill(x: Int, y: Int, w: Int, h: Int, colour: RGBColour, into image: inout RGBImage) {
        for yy in max(0, y)..<min(image.height, y + h) {
            for xx in max(0, x)..<min(image.width, x + w) {
                let i = 3 * (yy * image.width + xx)
                image.pixels[i] = colour.r
                image.pixels[i + 1] = colour.g
                image.pixels[i + 2] = colour.b
            }
        }
    }
}
