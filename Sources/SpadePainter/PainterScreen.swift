import CNCurses
import Foundation
import SpadeImaging

/// Drawing. ncurses owns the text (title, palette names, status, prompts, help); the canvas, the
/// palette swatches and the picture are written directly to the terminal after each ncurses
/// refresh, into cells ncurses never writes (it keeps them blank in its own screen model).
/// Whenever ncurses may have repainted those cells (clear, resize, help overlay), everything
/// direct is written again.
extension PainterApp {
    func render() {
        guard let tty = session else { return }
        if fullRedraw {
            clearok(curscr, true)
            document.markAllRowsChanged()
            pictureDirty = true
        }
        werase(stdscr)
        guard let layout else {
            drawTooSmall()
            wrefresh(stdscr)
            fullRedraw = false
            return
        }
        drawTitle(layout)
        drawPaletteText(layout)
        reserveCells(layout.canvas)
        if picture == nil { drawPicturePlaceholder(layout) } else { reserveCells(layout.picture) }
        drawMessage(layout)
        drawStatus(layout)
        if mode == .help { drawHelp() }
        wrefresh(stdscr)

        // Direct output, wrapped in DECSC … DECRC so ncurses' idea of the cursor stays true.
        if mode == .help { fullRedraw = false; return }
        var out = "\u{1b}7"
        let rows = document.takeChangedRows()
        let canvasRows = Set(rows.map { $0 / 2 })
        if !canvasRows.isEmpty {
            out += HalfBlocks.render(rows: canvasRows.sorted(), top: layout.canvas.row, left: layout.canvas.column,
                                     columns: document.width, mode: colourMode, pixel: canvasPixel)
        }
        out += paletteSwatches(layout)
        var bytes = Array(out.utf8)
        if pictureDirty, let picture {
            bytes += pictureBytes(picture, layout)
            pictureDirty = false
        }
        // xterm shows the text cursor again after a sixel image; keep it hidden.
        bytes += Array("\u{1b}[0m\u{1b}8\u{1b}[?25l".utf8)
        tty.writeRaw(&bytes)
        if !canvasRows.isEmpty { log("CANVAS rev=\(document.revision)") }
        fullRedraw = false
    }

    // MARK: canvas and picture

    /// Fills ncurses' model of the cells we draw directly with plain half blocks. ncurses then
    /// never sees them as blank, so it never clears them as part of a line update (it uses
    /// "clear to beginning of line" when a line's leading cells are blank in its model), and it
    /// only ever rewrites them after a clear, which is followed by our own redraw.
    func reserveCells(_ r: CellRect) {
        let row = String(repeating: "\u{2580}", count: r.columns)
        for y in r.row..<(r.row + r.rows) { put(y, r.column, row) }
    }

    func canvasPixel(_ x: Int, _ y: Int) -> RGBColour {
        guard y < document.height else { return RGBColour(0, 0, 0) }
        let c = palette.colours[Int(document.canvas[x, y])]
        if cursorVisible && x == cursorX && y == cursorY { return c.contrasting }
        return c
    }

    func pictureBytes(_ picture: RGBImage, _ layout: ScreenLayout) -> [UInt8] {
        let pane = layout.picture
        if useSixel {
            let w = pane.columns * caps.cellWidth, h = pane.rows * caps.cellHeight
            let filter: PhotoFilter = (w < picture.width || h < picture.height) ? .area : .bilinear
            let scaled = resize(picture, width: w, height: h, filter: filter)
            do {
                let sixel = try SixelEncoder.encode(rgb: scaled.pixels, width: w, height: h)
                return Array("\u{1b}[\(pane.row + 1);\(pane.column + 1)H".utf8) + sixel
            } catch {
                message = "\(error); showing half blocks"
                useSixel = false
                relayout()
            }
        }
        let scaled = resize(picture, width: pane.columns, height: pane.rows * 2, filter: .area)
        let text = HalfBlocks.render(rows: Array(0..<pane.rows), top: pane.row, left: pane.column,
                                     columns: pane.columns, mode: colourMode) { x, y in scaled[x, y] }
        return Array(text.utf8)
    }

    func drawPicturePlaceholder(_ layout: ScreenLayout) {
        let p = layout.picture
        let text = String("synthesizing the first picture…".prefix(p.columns))
        put(p.row + p.rows / 2, p.column + max(0, (p.columns - text.count) / 2), text, TextAttribute.dim)
    }

    // MARK: palette

    /// (screen row, class index) of the palette entries shown, after scrolling.
    func visiblePaletteEntries() -> [(row: Int, index: Int)] {
        guard let layout else { return [] }
        let p = layout.palette
        var rows = p.rows
        var first = paletteScroll
        var top = p.row
        if palette.count > rows {
            if first > 0 { top += 1; rows -= 1 }                 // "▲ more" line
            if first + rows < palette.count { rows -= 1 }        // "▼ more" line
        } else {
            first = 0
        }
        let n = max(0, min(rows, palette.count - first))
        return (0..<n).map { (top + $0, first + $0) }
    }

    func paletteEntry(atScreenRow row: Int) -> Int? {
        visiblePaletteEntries().first { $0.row == row }?.index
    }

    func clampPaletteScroll() {
        guard let layout else { return }
        let maxScroll = max(0, palette.count - max(1, layout.palette.rows - 2))
        paletteScroll = min(max(0, paletteScroll), palette.count > layout.palette.rows ? maxScroll : 0)
    }

    func scrollPalette(by delta: Int) {
        paletteScroll += delta
        clampPaletteScroll()
    }

    /// Scrolls the palette so the current class is visible.
    func revealCurrentClass() {
        let current = Int(controller.currentClass)
        for _ in 0..<palette.count {
            let shown = visiblePaletteEntries()
            guard let first = shown.first?.index, let last = shown.last?.index else { return }
            if current < first { scrollPalette(by: -1) } else if current > last { scrollPalette(by: 1) } else { return }
        }
    }

    func drawPaletteText(_ layout: ScreenLayout) {
        let p = layout.palette
        let shown = visiblePaletteEntries()
        for (row, index) in shown {
            let current = index == Int(controller.currentClass)
            let key = palette.keys[index].map { Self.commandKeys.contains($0) ? " " : String($0) } ?? " "
            put(row, p.column, current ? ">" : " ", TextAttribute.bold)
            put(row, p.column + 1, key)
            let name = String(palette.names[index].prefix(max(0, p.columns - 6)))
            put(row, p.column + 6, name, current ? TextAttribute.reverse : 0)
        }
        if let first = shown.first, first.row > p.row { put(p.row, p.column + 1, "▲ more (wheel/PgUp)", TextAttribute.dim) }
        if let last = shown.last, last.index < palette.count - 1, last.row < p.row + p.rows - 1 {
            put(last.row + 1, p.column + 1, "▼ more (wheel/PgDn)", TextAttribute.dim)
        }
    }

    func paletteSwatches(_ layout: ScreenLayout) -> String {
        var s = ""
        for (row, index) in visiblePaletteEntries() {
            let rgb = palette.colours[index]
            s += "\u{1b}[\(row + 1);\(layout.palette.column + 3 + 1)H" + ANSIColour.foreground(rgb, colourMode)
                + ANSIColour.background(rgb, colourMode) + "\u{2580}\u{2580}"
        }
        return s + "\u{1b}[0m"
    }

    // MARK: text

    func put(_ row: Int, _ col: Int, _ text: String, _ attr: Int32 = 0) {
        guard row >= 0, row < Int(LINES), col >= 0, col < Int(COLS) else { return }
        let room = Int(COLS) - col
        let clipped = String(text.prefix(room))
        if attr != 0 { wattron(stdscr, attr) }
        wmove(stdscr, Int32(row), Int32(col))
        waddstr(stdscr, clipped)
        if attr != 0 { wattroff(stdscr, attr) }
    }

    func drawTitle(_ layout: ScreenLayout) {
        let name = labelsPath.map { ($0 as NSString).lastPathComponent } ?? "untitled"
        let title = "spadepaint — \(name)\(document.isModified ? " *" : "") — palette \(palette.name) — ? help"
        put(0, 0, title, TextAttribute.bold)
    }

    func drawMessage(_ layout: ScreenLayout) {
        switch mode {
        case .prompt(let kind, let text):
            put(layout.messageRow, 0, "\(kind.rawValue): \(text)█   (Enter accepts, Esc cancels)", TextAttribute.bold)
        case .confirmQuit:
            put(layout.messageRow, 0, "Unsaved changes. s: save to \(defaultLabelsPath) and quit · d: discard and quit · other key: cancel",
                TextAttribute.bold)
        default:
            put(layout.messageRow, 0, message)
        }
    }

    func drawStatus(_ layout: ScreenLayout) {
        let c = Int(controller.currentClass)
        let key = palette.keys[c].map { " (\($0))" } ?? ""
        let tool = controller.tool.rawValue.uppercased()
        let tip = "\(controller.tip.shape.rawValue) \(controller.tip.size)"
        let ms = lastSynthesisMs.map { String(format: "%.0f ms", $0) } ?? "– ms"
        let spin = ["◐", "◓", "◑", "◒"]
        let busy = scheduler.isBusy ? "\(spin[spinner % 4]) busy" : "  idle"
        let pen = penDown ? " PEN" : ""
        let pos = cursorVisible ? " @\(cursorX),\(cursorY)" : ""
        let status = "\(tool)\(pen) \(tip) │ \(palette.names[c])\(key) │ \(styleName) │ \(ms) \(busy)\(pos)"
        put(layout.statusRow, 0, status, TextAttribute.reverse)
        let pad = Int(COLS) - status.count
        if pad > 0 { put(layout.statusRow, status.count, String(repeating: " ", count: pad - 1), TextAttribute.reverse) }
    }

    func drawTooSmall() {
        let need = ScreenLayout.minimumSize(canvasWidth: document.width, canvasHeight: document.height)
        let lines = ["Terminal too small: \(COLS)×\(LINES).",
                     "The painter needs at least \(need.columns)×\(need.rows) characters.",
                     "Enlarge the window (or press q to quit)."]
        for (i, l) in lines.enumerated() {
            put(max(0, Int(LINES) / 2 - 1 + i), max(0, (Int(COLS) - l.count) / 2), l, i == 0 ? TextAttribute.bold : 0)
        }
    }

    func drawHelp() {
        var lines = Self.helpLines
        let ignored = palette.keys.enumerated().compactMap { i, k in
            k.flatMap { Self.commandKeys.contains($0) ? "'\($0)' (\(palette.names[i]))" : nil }
        }
        if !ignored.isEmpty { lines.append("Palette keys taken by commands: " + ignored.joined(separator: ", ")) }
        lines.append("")
        lines.append("Any key closes this help.")
        let width = min(Int(COLS) - 2, (lines.map(\.count).max() ?? 40) + 4)
        let height = min(Int(LINES) - 2, lines.count + 2)
        let top = max(0, (Int(LINES) - height) / 2), left = max(0, (Int(COLS) - width) / 2)
        for r in 0..<height {
            put(top + r, left, String(repeating: " ", count: width), 0)
        }
        for (i, l) in lines.prefix(height - 2).enumerated() {
            put(top + 1 + i, left + 2, String(l.prefix(width - 4)), i == 0 ? TextAttribute.bold : 0)
        }
        // Frame.
        put(top, left, "┌" + String(repeating: "─", count: width - 2) + "┐")
        put(top + height - 1, left, "└" + String(repeating: "─", count: width - 2) + "┘")
        for r in 1..<(height - 1) {
            put(top + r, left, "│")
            put(top + r, left + width - 1, "│")
        }
    }
}
