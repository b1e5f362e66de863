/// One undoable step: every canvas pixel a stroke changed, with its value before and after.
/// Storing only the changed pixels keeps hundreds of steps cheap on a 64×64 canvas.
public struct CanvasEdit: Equatable {
    public let id: UInt64
    public let indices: [Int32]
    public let before: [UInt8]
    public let after: [UInt8]
}

/// Undo/redo stacks of whole strokes. A new stroke drops the redo stack; beyond `capacity`
/// the oldest steps are forgotten.
public struct EditHistory {
    public let capacity: Int
    private(set) var undoStack: [CanvasEdit] = []
    private(set) var redoStack: [CanvasEdit] = []
    /// Identity of the state at the bottom of the undo stack (changes when old steps are dropped).
    private(set) var baseStateID: UInt64 = 0

    public init(capacity: Int = 1000) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    public var canUndo: Bool { !undoStack.isEmpty }
    public var canRedo: Bool { !redoStack.isEmpty }
    public var undoCount: Int { undoStack.count }
    public var redoCount: Int { redoStack.count }

    /// Identifies the canvas state the history is at: equal IDs mean equal content
    /// (used to know whether the canvas differs from what was last saved).
    public var currentStateID: UInt64 { undoStack.last?.id ?? baseStateID }

    mutating func push(_ edit: CanvasEdit) {
        undoStack.append(edit)
        redoStack.removeAll()
        if undoStack.count > capacity {
            baseStateID = undoStack.removeFirst().id
        }
    }

    mutating func popUndo() -> CanvasEdit? {
        guard let edit = undoStack.popLast() else { return nil }
        redoStack.append(edit)
        return edit
    }

    mutating func popRedo() -> CanvasEdit? {
        guard let edit = redoStack.popLast() else { return nil }
        undoStack.append(edit)
        return edit
    }
}
