/// One 8-bit RGB colour. Prints as `#RRGGBB`.
public struct RGBColour: Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// The colour packed as 0xRRGGBB, a cheap dictionary key.
    public var packed: UInt32 { UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b) }

    public var description: String {
        let hex = String(packed, radix: 16, uppercase: true)
        return "#" + String(repeating: "0", count: 6 - hex.count) + hex
    }
}

/// An 8-bit RGB picture: `pixels` holds R, G, B per pixel, rows top to bottom, no padding.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    /// `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A picture filled with one colour.
    public init(width: Int, height: Int, fill: RGBColour = RGBColour(0, 0, 0)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = fill.r
            pixels[i + 1] = fill.g
            pixels[i + 2] = fill.b
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    public subscript(x: Int, y: Int) -> RGBColour {
        get {
            let i = (y * width + x) * 3
            return RGBColour(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }
}

/// A label map: one class index per pixel, rows top to bottom.
public struct LabelMap: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var labels: [UInt8]

    /// `labels.count` must be `width * height`.
    public init(width: Int, height: Int, labels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && labels.count == width * height,
                     "LabelMap \(width)×\(height) needs \(width * height) labels, got \(labels.count)")
        self.width = width
        self.height = height
        self.labels = labels
    }

    /// A label map filled with one class.
    public init(width: Int, height: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, labels: [UInt8](repeating: fill, count: width * height))
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        get { labels[y * width + x] }
        set { labels[y * width + x] = newValue }
    }
}
