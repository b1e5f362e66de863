/// A half-open pixel rectangle [y0, y1) × [x0, x1) on one feature map: the unit of "what changed" in
/// incremental synthesis. A bounding rectangle per layer is enough for exactness (it only has to be a
/// superset of the pixels whose value can change), and keeps propagation cheap.
public struct PixelRect: Equatable, CustomStringConvertible, Sendable {
    public var y0, y1, x0, x1: Int

    public init(y0: Int, y1: Int, x0: Int, x1: Int) {
        self.y0 = y0
        self.y1 = y1
        self.x0 = x0
        self.x1 = x1
    }

    /// The rectangle at (x, y) of the given size.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.init(y0: y, y1: y + height, x0: x, x1: x + width)
    }

    public static let empty = PixelRect(y0: 0, y1: 0, x0: 0, x1: 0)

    public static func full(height: Int, width: Int) -> PixelRect {
        PixelRect(y0: 0, y1: height, x0: 0, x1: width)
    }

    public var isEmpty: Bool { y1 <= y0 || x1 <= x0 }
    public var height: Int { max(0, y1 - y0) }
    public var width: Int { max(0, x1 - x0) }
    public var area: Int { isEmpty ? 0 : height * width }

    /// The bounding rectangle of both (empty rectangles are ignored).
    public func union(_ other: PixelRect) -> PixelRect {
        if isEmpty { return other }
        if other.isEmpty { return self }
        return PixelRect(y0: min(y0, other.y0), y1: max(y1, other.y1), x0: min(x0, other.x0), x1: max(x1, other.x1))
    }

    public func intersection(_ other: PixelRect) -> PixelRect {
        let r = PixelRect(y0: max(y0, other.y0), y1: min(y1, other.y1), x0: max(x0, other.x0), x1: min(x1, other.x1))
        return r.isEmpty ? .empty : r
    }

    /// Grown by `d` pixels on every side (what a (2d+1)×(2d+1) conv's output sees of a changed input),
    /// clipped to a height × width map.
    public func dilated(by d: Int, height: Int, width: Int) -> PixelRect {
        if isEmpty { return .empty }
        return PixelRect(y0: max(0, y0 - d), y1: min(height, y1 + d), x0: max(0, x0 - d), x1: min(width, x1 + d))
    }

    /// Through a nearest ×2 upsampling: every source pixel becomes a 2×2 block.
    public var upsampled2x: PixelRect {
        isEmpty ? .empty : PixelRect(y0: 2 * y0, y1: 2 * y1, x0: 2 * x0, x1: 2 * x1)
    }

    public var description: String {
        isEmpty ? "∅" : "[y \(y0)..<\(y1), x \(x0)..<\(x1)]"
    }
}
