/// Painting tools and the gesture logic that turns press / drag / release into strokes.
/// Independent of the terminal, so every tool is unit-tested on a bare canvas.

public enum BrushShape: String, CaseIterable {
    case round, square
}

/// A brush tip: the set of pixel offsets one dab covers. Aliased on purpose: a dab writes whole
/// class indices, never a blend, so no off-palette label can appear.
public struct BrushTip: Equatable {
    public static let maxSize = 32
    public var shape: BrushShape
    public var size: Int { didSet { size = min(Self.maxSize, max(1, size)) } }

    public init(shape: BrushShape = .round, size: Int = 3) {
        self.shape = shape
        self.size = min(Self.maxSize, max(1, size))
    }

    /// Offsets (dx, dy) relative to the dab's position. An n-pixel tip spans offsets
    /// -(n-1)/2 … n/2. Round tips keep pixels whose centre lies within (n/2 − 1/4) of the tip's
    /// centre, which gives a plus for n = 3 and a disc beyond.
    public var offsets: [(dx: Int, dy: Int)] {
        let lo = -(size - 1) / 2
        var out: [(Int, Int)] = []
        let centre = Double(size - 1) / 2
        let r = Double(size) / 2 - 0.25
        for j in 0..<size {
            for i in 0..<size {
                if shape == .round {
                    let fx = Double(i) - centre, fy = Double(j) - centre
                    if fx * fx + fy * fy > r * r + 1e-9 { continue }
                }
                out.append((lo + i, lo + j))
            }
        }
        return out
    }
}

public enum PaintTool: String, CaseIterable {
    case brush, eraser, line, rectangle, fill, eyedropper
}

/// A position on the canvas. The keyboard cursor addresses single pixels (`height` 1); a mouse
/// reports character cells, and a half-block cell holds two pixels stacked, so mouse positions
/// cover both (`height` 2).
public struct CanvasPoint: Equatable {
    public var x: Int
    public var y: Int
    public var height: Int

    public init(x: Int, y: Int, height: Int = 1) {
        self.x = x
        self.y = y
        self.height = height
    }

    /// The point for terminal cell (column, row) relative to the canvas' top-left cell.
    public static func cell(column: Int, row: Int) -> CanvasPoint {
        CanvasPoint(x: column, y: 2 * row, height: 2)
    }
}

/// Applies tools to a document. One gesture (press … release) is one undo step.
public final class PaintController {
    public let document: PaintDocument
    public let classCount: Int
    public let backgroundClass: UInt8
    public var tool: PaintTool = .brush
    public var tip = BrushTip()
    public var currentClass: UInt8 {
        didSet { if Int(currentClass) >= classCount { currentClass = oldValue } }
    }

    private var anchor: CanvasPoint?
    private var last: CanvasPoint?

    public init(document: PaintDocument, classCount: Int, backgroundClass: UInt8, currentClass: UInt8) {
        precondition(classCount >= 1 && classCount <= 256)
        precondition(Int(backgroundClass) < classCount && Int(currentClass) < classCount)
        self.document = document
        self.classCount = classCount
        self.backgroundClass = backgroundClass
        self.currentClass = currentClass
    }

    public var gestureInProgress: Bool { anchor != nil }
    /// Where a line or rectangle started (for the status line).
    public var gestureAnchor: CanvasPoint? { anchor }

    private var paintLabel: UInt8 { tool == .eraser ? backgroundClass : currentClass }

    // MARK: gestures

    public func press(_ p: CanvasPoint) {
        if anchor != nil { cancelGesture() }
        switch tool {
        case .brush, .eraser:
            document.beginStroke()
            stamp(p)
        case .line, .rectangle:
            document.beginStroke()
            drawShape(from: p, to: p)
        case .fill:
            document.beginStroke()
            floodFill(at: p)
            document.endStroke()
            return
        case .eyedropper:
            pick(p)
            return
        }
        anchor = p
        last = p
    }

    public func drag(_ p: CanvasPoint) {
        switch tool {
        case .eyedropper:
            pick(p)
            return
        case .fill:
            return
        default:
            break
        }
        guard let a = anchor, let l = last else { return }
        switch tool {
        case .brush, .eraser:
            strokeLine(from: l, to: p)
        case .line, .rectangle:
            document.revertStroke()
            drawShape(from: a, to: p)
        default:
            break
        }
        last = p
    }

    public func release(_ p: CanvasPoint) {
        if tool == .eyedropper { pick(p); return }
        guard anchor != nil else { return }
        drag(p)
        document.endStroke()
        anchor = nil
        last = nil
    }

    /// Abandons a gesture in progress, restoring the canvas as it was before the press.
    public func cancelGesture() {
        guard anchor != nil else { return }
        document.revertStroke()
        document.endStroke()
        anchor = nil
        last = nil
    }

    /// Fills the whole canvas with the background class as one undo step.
    public func clear() {
        cancelGesture()
        document.replaceAll(with: [UInt8](repeating: backgroundClass, count: document.width * document.height))
    }

    // MARK: tools

    private func pick(_ p: CanvasPoint) {
        guard document.canvas.contains(p.x, p.y) else { return }
        currentClass = document.canvas[p.x, p.y]
    }

    /// One dab of the tip at p (both pixels of a cell for mouse positions).
    private func stamp(_ p: CanvasPoint) {
        let label = paintLabel
        let offsets = tip.offsets
        for row in 0..<max(1, p.height) {
            for o in offsets { document.set(p.x + o.dx, p.y + row + o.dy, label) }
        }
    }

    /// Dabs along the line from a to b (excluding a, already painted), so fast drags leave no gaps.
    private func strokeLine(from a: CanvasPoint, to b: CanvasPoint) {
        var first = true
        Self.linePoints(a.x, a.y, b.x, b.y) { x, y in
            if first { first = false; return }
            stamp(CanvasPoint(x: x, y: y, height: b.height))
        }
        if a == b { stamp(b) }
    }

    private func drawShape(from a: CanvasPoint, to b: CanvasPoint) {
        if tool == .line {
            Self.linePoints(a.x, a.y, b.x, b.y) { x, y in
                stamp(CanvasPoint(x: x, y: y, height: max(a.height, b.height)))
            }
        } else {
            // Filled rectangle spanning both corners; cell corners include their lower pixel.
            let x0 = min(a.x, b.x), x1 = max(a.x, b.x)
            let y0 = min(a.y, b.y), y1 = max(a.y + a.height - 1, b.y + b.height - 1)
            let label = paintLabel
            let ya = max(0, y0), yb = min(document.height - 1, y1)
            let xa = max(0, x0), xb = min(document.width - 1, x1)
            guard ya <= yb && xa <= xb else { return }
            for y in ya...yb {
                for x in xa...xb { document.set(x, y, label) }
            }
        }
    }

    /// 4-connected flood fill of the region sharing the label under p.
    private func floodFill(at p: CanvasPoint) {
        let canvas = document.canvas
        guard canvas.contains(p.x, p.y) else { return }
        let target = canvas[p.x, p.y]
        let label = paintLabel
        if target == label { return }
        let w = canvas.width, h = canvas.height
        var seen = [Bool](repeating: false, count: w * h)
        var stack = [p.y * w + p.x]
        seen[stack[0]] = true
        while let i = stack.popLast() {
            let x = i % w, y = i / w
            document.set(x, y, label)
            for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
            where nx >= 0 && ny >= 0 && nx < w && ny < h {
                let j = ny * w + nx
                if !seen[j] && canvas.labels[j] == target {
                    seen[j] = true
                    stack.append(j)
                }
            }
        }
    }

    /// Bresenham's line, both end points included.
    static func linePoints(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ body: (Int, Int) -> Void) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            body(x, y)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }
}
