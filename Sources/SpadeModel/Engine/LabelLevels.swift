/// The label map as the generator's one-hot input sees it, kept as small integer grids instead of a
/// [semantic_nc, H, W] float tensor: per pixel the one-hot channel ("token": the label, with 255 mapped
/// to the don't-care channel) and, when the model has an instance-edge channel, the edge bit (the
/// reference's `get_edges` on the label map itself). Each feature resolution reads the map through
/// PyTorch's legacy nearest sampling; `LabelLevels` keeps those sampled grids and maps a changed
/// full-resolution rectangle to the level pixels that actually read it.
final class LabelLevels {
    struct Level {
        let height: Int
        let width: Int
        /// Full-resolution row/column each level row/column samples.
        let rowSource: [Int]
        let colSource: [Int]
        var tokens: [UInt8]
        var edges: [UInt8]
    }

    let config: SPADEConfig
    let hasEdges: Bool
    private(set) var width = 0
    private(set) var height = 0
    private(set) var tokens: [UInt8] = []
    private(set) var edges: [UInt8] = []
    private(set) var levels: [Level] = []
    private var levelIndex: [Int: Int] = [:]

    init(config: SPADEConfig) {
        self.config = config
        hasEdges = !config.noInstance
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// The one-hot channel of each pixel; throws for values the model has no channel for.
    func encode(_ labels: [UInt8], width: Int, height: Int, source: String) throws -> [UInt8] {
        precondition(labels.count == width * height, "label map has \(labels.count) values for \(width)x\(height)")
        let classes = config.labelChannels
        let dontcare = config.containDontcareLabel
        var out = [UInt8](repeating: 0, count: labels.count)
        for i in 0..<labels.count {
            var v = Int(labels[i])
            if v == 255 && dontcare { v = config.labelNC }
            guard v < classes else {
                let allowed = dontcare ? "0…\(config.labelNC) and 255 (don't care, the same as \(config.labelNC))"
                                       : "0…\(config.labelNC - 1)"
                throw LabelValueError(source: source, value: Int(labels[i]), x: i % width, y: i / width, allowed: allowed)
            }
            out[i] = UInt8(v)
        }
        return out
    }

    /// Replaces the whole map (a new size starts over). Returns the full-resolution rectangle whose
    /// one-hot input (tokens and edges) changed — everything for a new size or the first map.
    func replace(tokens new: [UInt8], width w: Int, height h: Int) -> PixelRect {
        if w != width || h != height || tokens.isEmpty {
            width = w
            height = h
            tokens = new
            levels = []
            levelIndex = [:]
            if hasEdges {
                edges = [UInt8](repeating: 0, count: w * h)
                recomputeEdges(in: .full(height: h, width: w))
            }
            return .full(height: h, width: w)
        }
        // Bounding box of the differences.
        var changed = PixelRect.empty
        for y in 0..<h {
            let row = y * w
            var first = -1, last = -1
            for x in 0..<w where tokens[row + x] != new[row + x] {
                if first < 0 { first = x }
                last = x
            }
            if first >= 0 { changed = changed.union(PixelRect(y0: y, y1: y + 1, x0: first, x1: last + 1)) }
        }
        if changed.isEmpty { return .empty }
        tokens = new
        if hasEdges {
            // An edge bit depends on the pixel and its four neighbours.
            changed = changed.dilated(by: 1, height: h, width: w)
            recomputeEdges(in: changed)
        }
        for k in levels.indices { resample(&levels[k], in: levelRect(levels[k], changed)) }
        return changed
    }

    private func recomputeEdges(in r: PixelRect) {
        let w = width, h = height
        for y in r.y0..<r.y1 {
            for x in r.x0..<r.x1 {
                let i = y * w + x, t = tokens[i]
                var e = false
                if x > 0 && tokens[i - 1] != t { e = true }
                if x + 1 < w && tokens[i + 1] != t { e = true }
                if y > 0 && tokens[i - w] != t { e = true }
                if y + 1 < h && tokens[i + w] != t { e = true }
                edges[i] = e ? 1 : 0
            }
        }
    }

    /// The grids at a feature resolution (made on first use, then kept up to date by `replace`).
    func level(height lh: Int, width lw: Int) -> Level {
        levels[levelNumber(height: lh, width: lw)]
    }

    func levelNumber(height lh: Int, width lw: Int) -> Int {
        let key = lh << 32 | lw
        if let k = levelIndex[key] { return k }
        let rows = (0..<lh).map { Resample.nearestSourceIndex($0, inSize: height, outSize: lh) }
        let cols = (0..<lw).map { Resample.nearestSourceIndex($0, inSize: width, outSize: lw) }
        var level = Level(height: lh, width: lw, rowSource: rows, colSource: cols,
                          tokens: [UInt8](repeating: 0, count: lh * lw),
                          edges: hasEdges ? [UInt8](repeating: 0, count: lh * lw) : [])
        resample(&level, in: .full(height: lh, width: lw))
        levels.append(level)
        levelIndex[key] = levels.count - 1
        return levels.count - 1
    }

    /// The level pixels whose nearest sample lies in the full-resolution rectangle `r` (a label change
    /// elsewhere is invisible at this level).
    func levelRect(height lh: Int, width lw: Int, _ r: PixelRect) -> PixelRect {
        levelRect(level(height: lh, width: lw), r)
    }

    private func levelRect(_ level: Level, _ r: PixelRect) -> PixelRect {
        if r.isEmpty { return .empty }
        func span(_ source: [Int], _ lo: Int, _ hi: Int) -> (Int, Int)? {
            var first = -1, last = -1
            for (i, s) in source.enumerated() where s >= lo && s < hi {
                if first < 0 { first = i }
                last = i
            }
            return first < 0 ? nil : (first, last + 1)
        }
        guard let (y0, y1) = span(level.rowSource, r.y0, r.y1), let (x0, x1) = span(level.colSource, r.x0, r.x1) else {
            return .empty
        }
        return PixelRect(y0: y0, y1: y1, x0: x0, x1: x1)
    }

    private func resample(_ level: inout Level, in r: PixelRect) {
        if r.isEmpty { return }
        for y in r.y0..<r.y1 {
            let src = level.rowSource[y] * width
            for x in r.x0..<r.x1 {
                let i = src + level.colSource[x]
                level.tokens[y * level.width + x] = tokens[i]
                if hasEdges { level.edges[y * level.width + x] = edges[i] }
            }
        }
    }
}
