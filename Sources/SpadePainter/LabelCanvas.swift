/// The painter's label grid: one class index per canvas pixel, at the model's label resolution
/// divided by a fixed factor (256 / 4 = 64×64). Every value is a class index: tools only ever
/// write whole palette entries, so the canvas can never hold an off-palette label.
public struct LabelCanvas: Equatable {
    public let width: Int
    public let height: Int
    public private(set) var labels: [UInt8]

    public init(width: Int, height: Int, fill: UInt8 = 0) {
        precondition(width > 0 && height > 0, "canvas must not be empty")
        self.width = width
        self.height = height
        labels = [UInt8](repeating: fill, count: width * height)
    }

    public init(width: Int, height: Int, labels: [UInt8]) {
        precondition(width > 0 && height > 0 && labels.count == width * height, "label count must be width × height")
        self.width = width
        self.height = height
        self.labels = labels
    }

    /// The starting picture: sky over grass, the horizon a little above the middle.
    public static func skyOverGrass(width: Int, height: Int, sky: UInt8, grass: UInt8) -> LabelCanvas {
        var canvas = LabelCanvas(width: width, height: height, fill: grass)
        let horizon = height * 11 / 20
        for i in 0..<(horizon * width) { canvas.labels[i] = sky }
        return canvas
    }

    @inlinable public func contains(_ x: Int, _ y: Int) -> Bool {
        x >= 0 && y >= 0 && x < width && y < height
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        get { labels[y * width + x] }
        set { labels[y * width + x] = newValue }
    }

    /// Sets one label by flat index; returns the previous value.
    @discardableResult
    mutating func exchange(at index: Int, with label: UInt8) -> UInt8 {
        let old = labels[index]
        labels[index] = label
        return old
    }

    /// The label grid upsampled by `factor` in both directions (each canvas pixel becomes a
    /// factor×factor block), i.e. what the generator sees.
    public func upsampled(by factor: Int) -> [UInt8] {
        precondition(factor >= 1)
        if factor == 1 { return labels }
        let outW = width * factor
        var out = [UInt8](repeating: 0, count: outW * height * factor)
        for y in 0..<height {
            let rowStart = y * factor * outW
            for x in 0..<width {
                let v = labels[y * width + x]
                for dx in 0..<factor { out[rowStart + x * factor + dx] = v }
            }
            for r in 1..<factor {
                let dst = rowStart + r * outW
                for i in 0..<outW { out[dst + i] = out[rowStart + i] }
            }
        }
        return out
    }
}
