/// A rectangle of character cells (0-based row and column).
public struct CellRect: Equatable {
    public var row: Int, column: Int, rows: Int, columns: Int
    public init(row: Int, column: Int, rows: Int, columns: Int) {
        self.row = row; self.column = column; self.rows = rows; self.columns = columns
    }
    public func contains(row r: Int, column c: Int) -> Bool {
        r >= row && r < row + rows && c >= column && c < column + columns
    }
    public var bottom: Int { row + rows - 1 }
}

/// Where everything goes on screen. Row 0 is the title; the last row the status line; the row
/// above it is kept for messages, so no picture ever reaches the last two rows (a sixel touching
/// the last row scrolls the whole screen in xterm).
///
/// Two arrangements: the picture beside the canvas (palette list at the right edge), or on tall,
/// narrow terminals below the canvas (palette list beside the canvas). The one giving the larger
/// picture wins.
public struct ScreenLayout: Equatable {
    public enum Arrangement: String { case side, stacked }

    public static let paletteWidth = 24
    public static let minimumPictureColumns = 24

    public let columns: Int
    public let rows: Int
    public let arrangement: Arrangement
    public let canvas: CellRect
    public let picture: CellRect
    public let palette: CellRect
    public var titleRow: Int { 0 }
    public var messageRow: Int { rows - 2 }
    public var statusRow: Int { rows - 1 }

    /// The smallest terminal that shows the canvas, a picture and the palette.
    public static func minimumSize(canvasWidth: Int, canvasHeight: Int) -> (columns: Int, rows: Int) {
        let canvasRows = (canvasHeight + 1) / 2
        // Side arrangement with the smallest picture.
        return (canvasWidth + 1 + minimumPictureColumns + 1 + paletteWidth, canvasRows + 3)
    }

    /// `cellAspect` = cell height / cell width in pixels (2 for half blocks, and for most fonts);
    /// pictures are square in pixels. Returns nil when the terminal is too small.
    public static func compute(columns: Int, rows: Int, canvasWidth: Int, canvasHeight: Int,
                               cellAspect: Double = 2) -> ScreenLayout? {
        let canvasRows = (canvasHeight + 1) / 2
        let canvas = CellRect(row: 1, column: 0, rows: canvasRows, columns: canvasWidth)
        let lastContentRow = rows - 3
        guard canvas.bottom <= lastContentRow, columns >= canvasWidth + 1 + paletteWidth else { return nil }
        let aspect = max(0.25, cellAspect)

        // A square picture fitting `maxColumns` × `maxRows` cells.
        func fit(_ maxColumns: Int, _ maxRows: Int) -> (Int, Int)? {
            guard maxColumns > 0, maxRows > 0 else { return nil }
            var cols = maxColumns
            var prows = Int((Double(cols) / aspect).rounded(.down))
            if prows > maxRows {
                prows = maxRows
                cols = Int((Double(prows) * aspect).rounded(.down))
            }
            guard cols >= minimumPictureColumns, prows >= 1 else { return nil }
            return (cols, prows)
        }

        var candidates: [ScreenLayout] = []
        // Side: canvas | picture | palette.
        let sideLeft = canvasWidth + 1
        let sideMaxCols = columns - sideLeft - 1 - paletteWidth
        if let (pc, pr) = fit(sideMaxCols, lastContentRow) {
            candidates.append(ScreenLayout(
                columns: columns, rows: rows, arrangement: .side, canvas: canvas,
                picture: CellRect(row: 1, column: sideLeft, rows: pr, columns: pc),
                palette: CellRect(row: 1, column: columns - paletteWidth, rows: lastContentRow, columns: paletteWidth)))
        }
        // Stacked: canvas over picture, palette beside the canvas.
        let stackTop = canvas.bottom + 2
        if let (pc, pr) = fit(columns, lastContentRow - stackTop + 1) {
            candidates.append(ScreenLayout(
                columns: columns, rows: rows, arrangement: .stacked, canvas: canvas,
                picture: CellRect(row: stackTop, column: 0, rows: pr, columns: pc),
                palette: CellRect(row: 1, column: canvasWidth + 1, rows: canvasRows,
                                  columns: min(paletteWidth * 2, columns - canvasWidth - 1))))
        }
        // The larger picture wins; on a tie the side arrangement (listed first) stays.
        var best: ScreenLayout?
        for c in candidates where best == nil || c.picture.rows * c.picture.columns > best!.picture.rows * best!.picture.columns {
            best = c
        }
        return best
    }
}
