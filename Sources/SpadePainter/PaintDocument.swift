/// The canvas together with its history: every change goes through a stroke so it can be undone
/// as a unit, and the document tracks which rows changed (for redrawing), a revision counter (for
/// synthesis), and whether the content differs from the last save.
public final class PaintDocument {
    public private(set) var canvas: LabelCanvas
    public private(set) var history: EditHistory
    /// Increases on every visible change, including the pixels of a stroke in progress.
    public private(set) var revision: UInt64 = 0
    private var savedStateID: UInt64 = 0
    private var nextEditID: UInt64 = 1

    // The stroke in progress: the first "before" value of each pixel it touched.
    private var strokeIndices: [Int] = []
    private var strokeBefore: [UInt8] = []
    private var strokeMark: [Bool]
    public private(set) var strokeInProgress = false

    private var changedRows: [Bool]

    public init(canvas: LabelCanvas, historyCapacity: Int = 1000) {
        self.canvas = canvas
        history = EditHistory(capacity: historyCapacity)
        strokeMark = [Bool](repeating: false, count: canvas.width * canvas.height)
        changedRows = [Bool](repeating: true, count: canvas.height)
    }

    public var width: Int { canvas.width }
    public var height: Int { canvas.height }

    /// True when the canvas differs from the last save (or from how it started).
    public var isModified: Bool { strokeInProgress || history.currentStateID != savedStateID }

    public func markSaved() { savedStateID = history.currentStateID }

    // MARK: strokes

    public func beginStroke() {
        if strokeInProgress { endStroke() }
        strokeInProgress = true
    }

    /// Paints one pixel inside the current stroke (pixels outside the canvas are ignored).
    public func set(_ x: Int, _ y: Int, _ label: UInt8) {
        precondition(strokeInProgress, "set(_:_:_:) outside a stroke")
        guard canvas.contains(x, y) else { return }
        let i = y * canvas.width + x
        let old = canvas.labels[i]
        if old == label { return }
        if !strokeMark[i] {
            strokeMark[i] = true
            strokeIndices.append(i)
            strokeBefore.append(old)
        }
        canvas.exchange(at: i, with: label)
        changedRows[y] = true
        revision &+= 1
    }

    /// Undoes the pixels of the stroke in progress but keeps it open (line and rectangle
    /// previews redraw from scratch on every mouse move).
    public func revertStroke() {
        precondition(strokeInProgress)
        var touched = false
        for (k, i) in strokeIndices.enumerated() {
            canvas.exchange(at: i, with: strokeBefore[k])
            changedRows[i / canvas.width] = true
            strokeMark[i] = false
            touched = true
        }
        strokeIndices.removeAll(keepingCapacity: true)
        strokeBefore.removeAll(keepingCapacity: true)
        if touched { revision &+= 1 }
    }

    /// Closes the stroke; it becomes one undo step if it changed anything.
    /// Returns whether it did.
    @discardableResult
    public func endStroke() -> Bool {
        guard strokeInProgress else { return false }
        strokeInProgress = false
        var indices: [Int32] = []
        var before: [UInt8] = []
        var after: [UInt8] = []
        for (k, i) in strokeIndices.enumerated() {
            strokeMark[i] = false
            let now = canvas.labels[i]
            if now != strokeBefore[k] {
                indices.append(Int32(i))
                before.append(strokeBefore[k])
                after.append(now)
            }
        }
        strokeIndices.removeAll(keepingCapacity: true)
        strokeBefore.removeAll(keepingCapacity: true)
        guard !indices.isEmpty else { return false }
        history.push(CanvasEdit(id: nextEditID, indices: indices, before: before, after: after))
        nextEditID += 1
        return true
    }

    /// Replaces the whole canvas as one undoable step (clear, open another label map).
    public func replaceAll(with labels: [UInt8]) {
        precondition(labels.count == canvas.labels.count)
        beginStroke()
        for i in 0..<labels.count { set(i % canvas.width, i / canvas.width, labels[i]) }
        endStroke()
    }

    // MARK: undo / redo

    @discardableResult
    public func undo() -> Bool {
        if strokeInProgress { endStroke() }
        guard let edit = history.popUndo() else { return false }
        apply(edit.indices, edit.before)
        return true
    }

    @discardableResult
    public func redo() -> Bool {
        if strokeInProgress { endStroke() }
        guard let edit = history.popRedo() else { return false }
        apply(edit.indices, edit.after)
        return true
    }

    private func apply(_ indices: [Int32], _ values: [UInt8]) {
        for (k, i) in indices.enumerated() {
            canvas.exchange(at: Int(i), with: values[k])
            changedRows[Int(i) / canvas.width] = true
        }
        revision &+= 1
    }

    // MARK: redraw bookkeeping

    /// The canvas rows changed since the last call (all rows the first time).
    public func takeChangedRows() -> [Int] {
        var rows: [Int] = []
        for (y, changed) in changedRows.enumerated() where changed {
            rows.append(y)
            changedRows[y] = false
        }
        return rows
    }

    public func markRowChanged(_ y: Int) {
        if y >= 0 && y < changedRows.count { changedRows[y] = true }
    }

    public func markAllRowsChanged() {
        for y in 0..<changedRows.count { changedRows[y] = true }
    }
}
