import CNCurses
#if canImport(Glibc)
import Glibc
#endif

/// Keys and mouse. Command keys are fixed (lower-case q u and punctuation, upper-case letters);
/// the palette's own keys choose classes. A palette key that collides with a command key is
/// ignored (the help overlay says so); those classes stay reachable with Tab and the mouse.
extension PainterApp {
    static let commandKeys: Set<Character> = ["q", "u", "?", "[", "]", " ", "B", "E", "L", "R", "F", "I", "T", "C",
                                               "S", "P", "O", "N", "Y", "U"]

    static let helpLines = [
        "spadepaint — paint classes, watch the picture",
        "",
        "Mouse     press / drag / release on the canvas paints; click the palette picks a class;",
        "          the wheel scrolls the palette",
        "Keys      palette keys choose the class · Tab / Shift-Tab next / previous class",
        "Tools     B brush  E eraser (background class)  L line  R rectangle  F fill  I eyedropper",
        "Brush     [ ] size   T round/square tip",
        "Keyboard  arrows move the cursor (Shift: 4 pixels) · space applies the tool (line and",
        "          rectangle: first space anchors, second commits) · Enter pen down/up · Esc cancels",
        "Edit      u undo  U redo  C clear (undoable)",
        "Files     S save label map (index PNG + .colour.png)  P save picture  O open label map",
        "Style     N new random style  Y style from a photo",
        "          q quit (asks when there are unsaved changes) · Ctrl-L redraw · ? this help",
    ]

    func drainInput() {
        while true {
            var wch: wint_t = 0
            let r = wget_wch(stdscr, &wch)
            if r == ERR { return }
            if r == KEY_CODE_YES {
                handleKeyCode(Int32(wch))
            } else if let scalar = Unicode.Scalar(UInt32(wch)) {
                handleCharacter(Character(scalar))
            }
            if quitRequested != nil { return }
        }
    }

    func handleKeyCode(_ code: Int32) {
        if code == KEY_RESIZE { relayout(); return }
        if code == KEY_MOUSE { handleMouse(); return }
        switch mode {
        case .prompt(let kind, var text):
            if code == KEY_BACKSPACE { if !text.isEmpty { text.removeLast() }; mode = .prompt(kind, text) }
            if code == KEY_ENTER { finishPrompt(kind, text) }
            return
        case .help:
            mode = .normal
            fullRedraw = true
            return
        case .confirmQuit:
            return
        case .normal:
            break
        }
        switch code {
        case KEY_UP: moveCursor(0, -1)
        case KEY_DOWN: moveCursor(0, 1)
        case KEY_LEFT: moveCursor(-1, 0)
        case KEY_RIGHT: moveCursor(1, 0)
        case KEY_SR: moveCursor(0, -4)          // shift-up
        case KEY_SF: moveCursor(0, 4)           // shift-down
        case KEY_SLEFT: moveCursor(-4, 0)
        case KEY_SRIGHT: moveCursor(4, 0)
        case KEY_BTAB: selectClass(Int(controller.currentClass) - 1)
        case KEY_NPAGE: scrollPalette(by: max(1, (layout?.palette.rows ?? 10) - 1))
        case KEY_PPAGE: scrollPalette(by: -max(1, (layout?.palette.rows ?? 10) - 1))
        case KEY_ENTER: togglePen()
        default: break
        }
    }

    func handleCharacter(_ ch: Character) {
        switch mode {
        case .help:
            mode = .normal
            fullRedraw = true
            return
        case .confirmQuit:
            switch ch {
            case "s", "S":
                mode = .normal
                if saveLabels(to: defaultLabelsPath) { quitRequested = 0 }
            case "d", "D":
                removeAutosave()
                quitRequested = 0
            default:
                mode = .normal
                message = "Quit cancelled"
            }
            return
        case .prompt(let kind, var text):
            switch ch {
            case "\r", "\n": finishPrompt(kind, text)
            case "\u{1b}": mode = .normal; message = "Cancelled"
            case "\u{7f}", "\u{8}": if !text.isEmpty { text.removeLast() }; mode = .prompt(kind, text)
            case "\u{15}": mode = .prompt(kind, "")       // Ctrl-U clears the line
            default:
                if ch.unicodeScalars.allSatisfy({ $0.value >= 32 }) { text.append(ch); mode = .prompt(kind, text) }
            }
            return
        case .normal:
            break
        }
        switch ch {
        case "?": mode = .help
        case "q": requestQuit()
        case "u": message = controller.document.undo() ? "Undone" : "Nothing to undo"; controller.cancelGesture()
        case "U": message = controller.document.redo() ? "Redone" : "Nothing to redo"
        case "[": controller.tip.size -= 1
        case "]": controller.tip.size += 1
        case "T": controller.tip.shape = controller.tip.shape == .round ? .square : .round
        case "B": setTool(.brush)
        case "E": setTool(.eraser)
        case "L": setTool(.line)
        case "R": setTool(.rectangle)
        case "F": setTool(.fill)
        case "I": setTool(.eyedropper)
        case "C": controller.clear(); message = "Cleared (u undoes)"
        case "S": mode = .prompt(.saveLabels, defaultLabelsPath)
        case "P": mode = .prompt(.savePicture, defaultPicturePath)
        case "O": mode = .prompt(.open, labelsPath ?? "")
        case "Y": mode = .prompt(.style, "")
        case "N": newStyle()
        case " ": applyAtCursor()
        case "\r", "\n": togglePen()
        case "\t": selectClass(Int(controller.currentClass) + 1)
        case "\u{1b}":
            controller.cancelGesture()
            penDown = false
            message = ""
        case "\u{0c}": fullRedraw = true                 // Ctrl-L
        default:
            if !Self.commandKeys.contains(ch), let index = palette.index(forKey: ch) {
                selectClass(index)
            }
        }
    }

    func finishPrompt(_ kind: PromptKind, _ text: String) {
        mode = .normal
        let path = text.trimmingCharacters(in: .whitespaces)
        guard !path.isEmpty else { message = "Cancelled: no path"; return }
        switch kind {
        case .saveLabels: saveLabels(to: path)
        case .savePicture: savePicture(to: path)
        case .open: open(path)
        case .style: styleFromPhoto(path)
        }
    }

    func requestQuit() {
        controller.cancelGesture()
        if document.isModified {
            mode = .confirmQuit
        } else {
            removeAutosave()
            quitRequested = 0
        }
    }

    func setTool(_ tool: PaintTool) {
        controller.cancelGesture()
        penDown = false
        controller.tool = tool
        message = ""
    }

    func selectClass(_ index: Int) {
        let n = palette.count
        controller.currentClass = UInt8(((index % n) + n) % n)
        revealCurrentClass()
    }

    // MARK: keyboard painting

    var cursorPoint: CanvasPoint { CanvasPoint(x: cursorX, y: cursorY) }

    func moveCursor(_ dx: Int, _ dy: Int) {
        markCursorRows()
        cursorX = min(document.width - 1, max(0, cursorX + dx))
        cursorY = min(document.height - 1, max(0, cursorY + dy))
        cursorVisible = true
        if controller.gestureInProgress { controller.drag(cursorPoint) }
        markCursorRows()
    }

    func markCursorRows() { document.markRowChanged(cursorY) }

    func applyAtCursor() {
        cursorVisible = true
        switch controller.tool {
        case .line, .rectangle:
            if controller.gestureInProgress {
                controller.release(cursorPoint)
                message = ""
            } else {
                controller.press(cursorPoint)
                message = "Anchor set: move, then space to finish (Esc cancels)"
            }
        default:
            if penDown { return }
            controller.press(cursorPoint)
            controller.release(cursorPoint)
        }
    }

    func togglePen() {
        guard controller.tool == .brush || controller.tool == .eraser else { applyAtCursor(); return }
        cursorVisible = true
        if penDown {
            controller.release(cursorPoint)
            penDown = false
            message = ""
        } else {
            controller.press(cursorPoint)
            penDown = true
            message = "Pen down: arrows paint, Enter lifts"
        }
    }

    // MARK: mouse

    func handleMouse() {
        var ev = MEVENT()
        guard getmouse(&ev) == OK else { return }
        guard let layout, mode == .normal else { log("MOUSE ignored in mode \(mode)"); return }
        let b = UInt64(ev.bstate)
        let row = Int(ev.y), col = Int(ev.x)
        log("MOUSE bstate=0x\(String(b, radix: 16)) row=\(row) col=\(col)")
        let canvas = layout.canvas
        let point = CanvasPoint.cell(column: col - canvas.column, row: row - canvas.row)
        if b & MouseMask.button1Pressed != 0 {
            if canvas.contains(row: row, column: col) {
                if penDown { togglePen() }
                cursorVisible = false
                markCursorRows()
                controller.press(point)
                mouseDown = controller.gestureInProgress || controller.tool == .eyedropper
            } else if let entry = paletteEntry(atScreenRow: row), layout.palette.contains(row: row, column: col) {
                selectClass(entry)
            }
        } else if b & MouseMask.button1Released != 0 {
            if mouseDown {
                controller.release(point)
                mouseDown = false
            } else if canvas.contains(row: row, column: col) {
                // ncurses sometimes folds a quick press into the release it reads with it.
                click(point)
            }
        } else if b & (MouseMask.button1Clicked | MouseMask.button1DoubleClicked | MouseMask.button1TripleClicked) != 0 {
            // A press and release read together arrive merged as a click (even with
            // mouseinterval(0)): paint it as both.
            if canvas.contains(row: row, column: col) {
                click(point)
            } else if let entry = paletteEntry(atScreenRow: row), layout.palette.contains(row: row, column: col) {
                selectClass(entry)
            }
        } else if b & MouseMask.reportPosition != 0 {
            if mouseDown { controller.drag(point) }
        } else if b & MouseMask.button4Pressed != 0 {
            if layout.palette.contains(row: row, column: col) { scrollPalette(by: -3) }
        } else if b & MouseMask.button5Pressed != 0 {
            if layout.palette.contains(row: row, column: col) { scrollPalette(by: 3) }
        }
    }

    private func click(_ point: CanvasPoint) {
        if penDown { togglePen() }
        cursorVisible = false
        markCursorRows()
        controller.press(point)
        controller.release(point)
        mouseDown = false
    }
}
