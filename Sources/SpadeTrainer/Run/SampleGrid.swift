import SpadeImaging
import SpadeModel

/// The sample grid written during training: one row per example, columns label colours | real | generated.
public enum SampleGrid {
    /// Colours for label values: the palette's, or a fixed, well-spread colour per value without one.
    public static func colour(of value: UInt8, palette: Palette?) -> RGBColour {
        if let palette, Int(value) < palette.count { return palette.colours[Int(value)] }
        // Golden-ratio hue walk: neighbouring indices get distinct colours.
        let h = (Double(value) * 0.618_033_988_75).truncatingRemainder(dividingBy: 1)
        let (r, g, b) = hsvToRGB(h: h, s: 0.65, v: 0.95)
        return RGBColour(UInt8(r * 255), UInt8(g * 255), UInt8(b * 255))
    }

    static func hsvToRGB(h: Double, s: Double, v: Double) -> (Double, Double, Double) {
        let i = Int(h * 6) % 6, f = h * 6 - Double(Int(h * 6))
        let p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s)
        switch i {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }

    public static func rgb(_ batch: Tensor, index: Int) -> RGBImage {
        let (_, _, h, w) = batch.nchw("sample image")
        return RGBImage(width: w, height: h, pixels: GeneratorOutput.rgbBytes(batch, sample: index))
    }

    public static func labelImage(_ labels: [UInt8], width: Int, height: Int, palette: Palette?) -> RGBImage {
        let map = LabelMap(width: width, height: height, labels: labels)
        if let palette { return palette.colourImage(map) }
        var image = RGBImage(width: width, height: height)
        for i in 0..<(width * height) {
            let c = colour(of: labels[i], palette: nil)
            image.pixels[3 * i] = c.r; image.pixels[3 * i + 1] = c.g; image.pixels[3 * i + 2] = c.b
        }
        return image
    }

    /// Lays out rows of equally sized images with a 2-pixel white gutter.
    public static func compose(_ rows: [[RGBImage]]) -> RGBImage {
        guard let first = rows.first?.first else { return RGBImage(width: 1, height: 1) }
        let w = first.width, h = first.height, gutter = 2
        let columns = rows.map { $0.count }.max() ?? 1
        var grid = RGBImage(width: columns * (w + gutter) + gutter, height: rows.count * (h + gutter) + gutter,
                            fill: RGBColour(255, 255, 255))
        for (r, row) in rows.enumerated() {
            for (c, tile) in row.enumerated() {
                let ox = gutter + c * (w + gutter), oy = gutter + r * (h + gutter)
                for y in 0..<min(h, tile.height) {
                    let src = y * tile.width * 3, dst = ((oy + y) * grid.width + ox) * 3
                    for x in 0..<(min(w, tile.width) * 3) { grid.pixels[dst + x] = tile.pixels[src + x] }
                }
            }
        }
        return grid
    }

    /// The grid for a batch: label colours | real | generated per example.
    public static func make(labels: [[UInt8]], real: Tensor, generated: Tensor, palette: Palette?) -> RGBImage {
        let (_, _, h, w) = real.nchw("sample grid")
        let rows = labels.indices.map { k in
            [labelImage(labels[k], width: w, height: h, palette: palette), rgb(real, index: k), rgb(generated, index: k)]
        }
        return compose(rows)
    }
}
