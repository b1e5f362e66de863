import SpadeImaging
import XCTest
@testable import SpadePainter

final class ScreenLayoutTests: XCTestCase {
    func assertSane(_ l: ScreenLayout, file: StaticString = #filePath, line: UInt = #line) {
        let rects = [l.canvas, l.picture, l.palette]
        for r in rects {
            XCTAssertGreaterThanOrEqual(r.row, 1, "below the title", file: file, line: line)
            XCTAssertLessThanOrEqual(r.bottom, l.rows - 3, "never the message or status rows", file: file, line: line)
            XCTAssertLessThanOrEqual(r.column + r.columns, l.columns, file: file, line: line)
        }
        for i in 0..<rects.count {
            for j in (i + 1)..<rects.count {
                let a = rects[i], b = rects[j]
                let apart = a.column + a.columns <= b.column || b.column + b.columns <= a.column
                    || a.row + a.rows <= b.row || b.row + b.rows <= a.row
                XCTAssertTrue(apart, "\(a) overlaps \(b)", file: file, line: line)
            }
        }
    }

    func testSideBySideOnAWideTerminal() throws {
        let l = try XCTUnwrap(ScreenLayout.compute(columns: 120, rows: 40, canvasWidth: 64, canvasHeight: 64))
        XCTAssertEqual(l.arrangement, .side)
        XCTAssertEqual(l.canvas, CellRect(row: 1, column: 0, rows: 32, columns: 64))
        XCTAssertEqual(l.picture.column, 65)
        XCTAssertEqual(l.picture.columns, 120 - 65 - 1 - ScreenLayout.paletteWidth)
        XCTAssertEqual(l.picture.rows, l.picture.columns / 2, "square in pixels with half blocks")
        XCTAssertEqual(l.palette.column, 120 - ScreenLayout.paletteWidth)
        XCTAssertEqual(l.statusRow, 39)
        assertSane(l)
    }

    func testPictureBelowOnATallNarrowTerminal() throws {
        let l = try XCTUnwrap(ScreenLayout.compute(columns: 90, rows: 70, canvasWidth: 64, canvasHeight: 64))
        XCTAssertEqual(l.arrangement, .stacked)
        XCTAssertEqual(l.picture.row, 34)
        XCTAssertGreaterThan(l.picture.columns, 24)
        assertSane(l)
    }

    func testTooSmallGivesNoLayout() {
        XCTAssertNil(ScreenLayout.compute(columns: 80, rows: 24, canvasWidth: 64, canvasHeight: 64))
        let min = ScreenLayout.minimumSize(canvasWidth: 64, canvasHeight: 64)
        XCTAssertNotNil(ScreenLayout.compute(columns: min.columns, rows: min.rows, canvasWidth: 64, canvasHeight: 64))
        XCTAssertNil(ScreenLayout.compute(columns: min.columns - 1, rows: min.rows, canvasWidth: 64, canvasHeight: 64))
        XCTAssertNil(ScreenLayout.compute(columns: min.columns, rows: min.rows - 1, canvasWidth: 64, canvasHeight: 64))
    }

    func testSixelCellAspectKeepsPictureSquareInPixels() throws {
        // 8×16 cells: aspect 2; 10×20 likewise; 9×18 in xterm-like fonts; 7×15 gives 15/7.
        let l = try XCTUnwrap(ScreenLayout.compute(columns: 160, rows: 50, canvasWidth: 64, canvasHeight: 64,
                                                   cellAspect: 15.0 / 7.0))
        let wPx = l.picture.columns * 7, hPx = l.picture.rows * 15
        XCTAssertLessThanOrEqual(abs(wPx - hPx), 15, "within one cell of square")
        assertSane(l)
    }

    func testManySizesNeverOverlap() {
        for cols in stride(from: 100, through: 260, by: 7) {
            for rows in stride(from: 30, through: 90, by: 5) {
                if let l = ScreenLayout.compute(columns: cols, rows: rows, canvasWidth: 64, canvasHeight: 64) { assertSane(l) }
            }
        }
    }
}

final class TerminalOutputTests: XCTestCase {
    func testNearest256() {
        XCTAssertEqual(ANSIColour.nearest256(RGBColour(0, 0, 0)), 16)
        XCTAssertEqual(ANSIColour.nearest256(RGBColour(255, 255, 255)), 231)
        XCTAssertEqual(ANSIColour.nearest256(RGBColour(255, 0, 0)), 196)
        XCTAssertEqual(ANSIColour.nearest256(RGBColour(95, 135, 175)), 16 + 36 * 1 + 6 * 2 + 3)
        XCTAssertEqual(ANSIColour.nearest256(RGBColour(128, 128, 128)), 244, "mid grey uses the grey ramp")
        XCTAssertEqual(ANSIColour.foreground(RGBColour(1, 2, 3), .truecolor), "\u{1b}[38;2;1;2;3m")
        XCTAssertEqual(ANSIColour.background(RGBColour(255, 0, 0), .palette256), "\u{1b}[48;5;196m")
    }

    func testHalfBlocksPositionColoursAndRuns() {
        // 3×4 image: top row red, second blue, third green, fourth green.
        let colours = [RGBColour(255, 0, 0), RGBColour(0, 0, 255), RGBColour(0, 255, 0), RGBColour(0, 255, 0)]
        let s = HalfBlocks.render(rows: [0, 1], top: 5, left: 10, columns: 3, mode: .truecolor) { _, y in colours[y] }
        XCTAssertEqual(s, "\u{1b}[6;11H\u{1b}[38;2;255;0;0m\u{1b}[48;2;0;0;255m▀▀▀"
                        + "\u{1b}[7;11H\u{1b}[38;2;0;255;0m\u{1b}[48;2;0;255;0m▀▀▀\u{1b}[0m")
        let only = HalfBlocks.render(rows: [1], top: 0, left: 0, columns: 1, mode: .palette256) { _, y in colours[y] }
        XCTAssertEqual(only, "\u{1b}[2;1H\u{1b}[38;5;46m\u{1b}[48;5;46m▀\u{1b}[0m")
    }

    func testContrastingColour() {
        XCTAssertEqual(RGBColour(250, 250, 250).contrasting, RGBColour(0, 0, 0))
        XCTAssertEqual(RGBColour(20, 40, 90).contrasting, RGBColour(255, 255, 255))
    }

    func testSixelEncodingIsADCSSequence() throws {
        var rgb = [UInt8](repeating: 0, count: 20 * 12 * 3)
        for i in stride(from: 0, to: rgb.count, by: 3) { rgb[i] = 255 }
        let bytes = try SixelEncoder.encode(rgb: rgb, width: 20, height: 12)
        let s = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(s.hasPrefix("\u{1b}P"), "starts with DCS")
        XCTAssertTrue(s.contains("q\"1;1;20;12"), "raster attributes give the size")
        XCTAssertTrue(s.hasSuffix("\u{1b}\\"), "ends with ST")
    }
}

final class TerminalProbeTests: XCTestCase {
    func testDA1Sixel() {
        XCTAssertTrue(TerminalCapabilities.da1HasSixel("\u{1b}[?63;1;2;4;6;9;15;16;22;28c"))
        XCTAssertFalse(TerminalCapabilities.da1HasSixel("\u{1b}[?64;1;2;6;9;15;16;17;18;21;22;28c"))
        XCTAssertFalse(TerminalCapabilities.da1HasSixel("\u{1b}[?1;2c"), "tmux 3.3")
        XCTAssertFalse(TerminalCapabilities.da1HasSixel("\u{1b}[?4;2c"), "4 as the device class is not sixel")
        XCTAssertTrue(TerminalCapabilities.da1HasSixel("\u{1b}[?62;4;22c"), "foot")
    }

    func testFindDA1AfterOtherReplies() {
        let reply = Array("\u{1b}P>|XTerm(379)\u{1b}\\\u{1b}[?63;1;2;4c".utf8)
        let found = TerminalProbe.findDA1(reply)
        XCTAssertEqual(found?.1, "\u{1b}[?63;1;2;4c")
        XCTAssertEqual(found?.0, "\u{1b}P>|XTerm(379)\u{1b}\\")
        XCTAssertNil(TerminalProbe.findDA1(Array("\u{1b}[?63;1;2".utf8)), "incomplete")
    }

    func testCellSizeReport() {
        XCTAssertEqual(TerminalProbe.parseCellSizeReport("\u{1b}[6;20;10t").map { [$0.0, $0.1] }, [20, 10])
        XCTAssertNil(TerminalProbe.parseCellSizeReport("\u{1b}[8;40;120t"))
    }

    func testTruecolorHeuristics() {
        XCTAssertTrue(TerminalCapabilities.looksTruecolor(environment: ["COLORTERM": "truecolor"], version: ""))
        XCTAssertTrue(TerminalCapabilities.looksTruecolor(environment: [:], version: "XTerm(379)"))
        XCTAssertTrue(TerminalCapabilities.looksTruecolor(environment: ["TMUX": "/tmp/x,1,0"], version: ""))
        XCTAssertFalse(TerminalCapabilities.looksTruecolor(environment: ["TERM": "xterm-256color"], version: ""))
        XCTAssertFalse(TerminalCapabilities.looksTruecolor(environment: ["TERM": "linux"], version: ""))
    }
}
