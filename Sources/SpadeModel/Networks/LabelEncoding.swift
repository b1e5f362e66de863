/// A label value the configuration has no channel for.
public struct LabelValueError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let value: Int
    public let x: Int
    public let y: Int
    public let allowed: String

    public var description: String {
        "\(source): label value \(value) at pixel (x \(x), y \(y)) is out of range; this model takes \(allowed)"
    }
}

/// Label maps (one value per pixel, as in an index PNG) to the generator's one-hot input, as the
/// reference preprocesses them: 255 (don't care) becomes `label_nc`, values are scattered into
/// `label_nc (+1 with don't-care)` channels, and the instance-edge map is appended when the model uses it.
public enum LabelEncoding {
    /// One map [1, semantic_nc, height, width]. `labels` is row-major; `instances` (same size) feeds the
    /// edge channel when the configuration has one — without it the class map's own boundaries are used.
    /// `source` names the input in errors (e.g. the PNG's path).
    public static func oneHot(_ labels: [UInt8], height: Int, width: Int, config: SPADEConfig,
                              instances: [Int]? = nil, source: String = "label map") throws -> Tensor {
        try oneHot(batch: [labels], height: height, width: width, config: config,
                   instances: instances.map { [$0] }, source: source)
    }

    /// A batch of maps of one size: [N, semantic_nc, height, width].
    public static func oneHot(batch: [[UInt8]], height: Int, width: Int, config: SPADEConfig,
                              instances: [[Int]]? = nil, source: String = "label map") throws -> Tensor {
        let channels = config.semanticNC, hw = height * width
        var out = Tensor(shape: [batch.count, channels, height, width])
        let classes = config.labelChannels
        let allowed = config.containDontcareLabel
            ? "0…\(config.labelNC) and 255 (don't care, the same as \(config.labelNC))"
            : "0…\(config.labelNC - 1)"
        for (n, labels) in batch.enumerated() {
            precondition(labels.count == hw, "label map has \(labels.count) values for \(width)x\(height)")
            let name = batch.count > 1 ? "\(source) [\(n)]" : source
            let base = n * channels * hw
            for i in 0..<hw {
                var v = Int(labels[i])
                if v == 255 { v = config.labelNC }
                guard v < classes else {
                    throw LabelValueError(source: name, value: Int(labels[i]), x: i % width, y: i / width, allowed: allowed)
                }
                out.data[base + v * hw + i] = 1
            }
            if !config.noInstance {
                // Without an instance map, the class map's own boundaries (255 and label_nc are one class),
                // as the inference engine derives them.
                let ids: [Int] = instances?[n] ?? labels.map { (v: UInt8) -> Int in v == 255 ? config.labelNC : Int(v) }
                precondition(ids.count == hw, "instance map has \(ids.count) values for \(width)x\(height)")
                let edges = edgeMap(ids, height: height, width: width)
                let off = base + (channels - 1) * hw
                for i in 0..<hw { out.data[off + i] = edges[i] }
            }
        }
        return out
    }

    /// The reference's `get_edges`: 1 where a pixel's id differs from its left/right or upper/lower
    /// neighbour (both pixels of each differing pair are marked).
    public static func edgeMap(_ ids: [Int], height: Int, width: Int) -> [Float] {
        var e = [Float](repeating: 0, count: height * width)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                if x + 1 < width && ids[i] != ids[i + 1] { e[i] = 1; e[i + 1] = 1 }
                if y + 1 < height && ids[i] != ids[i + width] { e[i] = 1; e[i + width] = 1 }
            }
        }
        return e
    }
}
