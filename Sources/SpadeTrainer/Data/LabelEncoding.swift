import SpadeModel

/// How raw label values become generator input channels (reference §12): channel k for value k,
/// the dontcare value (255) to channel `labelNC` when the model has a dontcare channel, and the
/// instance-edge map as the last channel when instances are used.
public struct LabelEncoding: Equatable, Sendable {
    public var labelNC: Int
    public var containDontcare: Bool
    public var useInstance: Bool
    public var dontcareValue: Int = 255

    public init(labelNC: Int, containDontcare: Bool, useInstance: Bool) {
        self.labelNC = labelNC
        self.containDontcare = containDontcare
        self.useInstance = useInstance
    }

    /// Channels fed to the generator (`semantic_nc`).
    public var channels: Int { labelNC + (containDontcare ? 1 : 0) + (useInstance ? 1 : 0) }

    /// Label values with a channel of their own (ADE20K's raw 0…150 fill all 151 semantic channels).
    public var semanticChannels: Int { labelNC + (containDontcare ? 1 : 0) }

    /// The channel of a raw value, or nil when the value is out of range.
    @inline(__always)
    public func channel(of value: Int) -> Int? {
        if value < semanticChannels { return value }
        if containDontcare && value == dontcareValue { return labelNC }
        return nil
    }

    /// Writes the one-hot encoding of `labels` (and instance edges) into sample `index` of `batch`
    /// ([N, channels, H, W]). Values must have been validated: an unknown value is a programming error.
    public func encode(labels: [UInt8], instances: [Int32]?, width: Int, height: Int,
                       into batch: inout Tensor, index: Int) {
        let plane = width * height
        let c = channels
        precondition(batch.shape == [batch.shape[0], c, height, width], "label encoding: batch \(batch.shape) vs \(c)×\(height)×\(width)")
        batch.withMutablePointer { p in
            let base = p + index * c * plane
            for i in 0..<(c * plane) { base[i] = 0 }
            for i in 0..<plane {
                guard let ch = channel(of: Int(labels[i])) else {
                    preconditionFailure("label encoding: value \(labels[i]) has no channel")
                }
                base[ch * plane + i] = 1
            }
            if useInstance, let instances {
                let edges = LabelEncoding.instanceEdges(instances, width: width, height: height)
                let e = base + (c - 1) * plane
                for i in 0..<plane { e[i] = edges[i] ? 1 : 0 }
            }
        }
    }

    /// A pixel is an edge when its instance id differs from a horizontal or vertical neighbour's
    /// (both pixels of each differing pair are marked), as the reference's `get_edges`.
    public static func instanceEdges(_ ids: [Int32], width: Int, height: Int) -> [Bool] {
        var edges = [Bool](repeating: false, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                if x + 1 < width && ids[i] != ids[i + 1] { edges[i] = true; edges[i + 1] = true }
                if y + 1 < height && ids[i] != ids[i + width] { edges[i] = true; edges[i + width] = true }
            }
        }
        return edges
    }
}
