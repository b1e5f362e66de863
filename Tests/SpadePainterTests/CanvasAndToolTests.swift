import XCTest
@testable import SpadePainter

/// Renders a canvas as one character per pixel (class index in base 36) so expected shapes can
/// be written as pictures.
func picture(_ c: LabelCanvas) -> String {
    let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")
    var rows: [String] = []
    for y in 0..<c.height {
        rows.append(String((0..<c.width).map { digits[Int(c[$0, y])] }))
    }
    return rows.joined(separator: "\n")
}

func canvas(_ rows: [String]) -> LabelCanvas {
    let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")
    let h = rows.count, w = rows[0].count
    var labels: [UInt8] = []
    for r in rows { for ch in r { labels.append(UInt8(digits.firstIndex(of: ch)!)) } }
    return LabelCanvas(width: w, height: h, labels: labels)
}

final class CanvasTests: XCTestCase {
    func testSkyOverGrassStartsWithHorizon() {
        let c = LabelCanvas.skyOverGrass(width: 4, height: 20, sky: 1, grass: 2)
        XCTAssertEqual(c[0, 0], 1)
        XCTAssertEqual(c[3, 10], 1)
        XCTAssertEqual(c[3, 11], 2)
        XCTAssertEqual(c[0, 19], 2)
    }

    func testUpsampleRepeatsEachPixelAsBlock() {
        let c = canvas(["12", "34"])
        XCTAssertEqual(c.upsampled(by: 2), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        XCTAssertEqual(c.upsampled(by: 1), [1, 2, 3, 4])
    }
}

final class BrushTipTests: XCTestCase {
    func shape(_ tip: BrushTip) -> String {
        let n = tip.size
        let lo = -(n - 1) / 2
        var grid = Array(repeating: Array(repeating: Character("."), count: n), count: n)
        for o in tip.offsets { grid[o.dy - lo][o.dx - lo] = "#" }
        return grid.map { String($0) }.joined(separator: "\n")
    }

    func testRoundTips() {
        XCTAssertEqual(shape(BrushTip(shape: .round, size: 1)), "#")
        XCTAssertEqual(shape(BrushTip(shape: .round, size: 2)), "##\n##")
        XCTAssertEqual(shape(BrushTip(shape: .round, size: 3)), ".#.\n###\n.#.")
        XCTAssertEqual(shape(BrushTip(shape: .round, size: 5)), ".###.\n#####\n#####\n#####\n.###.")
    }

    func testSquareTipsAndSizeClamp() {
        XCTAssertEqual(shape(BrushTip(shape: .square, size: 3)), "###\n###\n###")
        XCTAssertEqual(BrushTip(shape: .square, size: 4).offsets.count, 16)
        var t = BrushTip(size: 0)
        XCTAssertEqual(t.size, 1)
        t.size = 1000
        XCTAssertEqual(t.size, BrushTip.maxSize)
        // Even sizes extend one pixel further right/down than left/up.
        let xs = BrushTip(shape: .square, size: 4).offsets.map(\.dx)
        XCTAssertEqual(xs.min(), -1)
        XCTAssertEqual(xs.max(), 2)
    }
}

final class ToolTests: XCTestCase {
    func make(_ rows: [String], current: UInt8 = 1, background: UInt8 = 0) -> PaintController {
        PaintController(document: PaintDocument(canvas: canvas(rows)), classCount: 10,
                        backgroundClass: background, currentClass: current)
    }

    let blank = Array(repeating: "00000000", count: 6)

    func testBrushDabAndDragLeavesNoGaps() {
        let c = make(blank)
        c.tip = BrushTip(shape: .square, size: 1)
        c.press(CanvasPoint(x: 0, y: 0))
        c.drag(CanvasPoint(x: 7, y: 3))   // one event far away: the line between is painted
        c.release(CanvasPoint(x: 7, y: 3))
        XCTAssertEqual(picture(c.document.canvas), """
            11000000
            00110000
            00001100
            00000011
            00000000
            00000000
            """)
        XCTAssertEqual(c.document.history.undoCount, 1, "a drag is one undo step")
    }

    func testRoundBrushClipsAtEdges() {
        let c = make(blank, current: 2)
        c.tip = BrushTip(shape: .round, size: 3)
        c.press(CanvasPoint(x: 0, y: 0))
        c.release(CanvasPoint(x: 0, y: 0))
        XCTAssertEqual(picture(c.document.canvas), """
            22000000
            20000000
            00000000
            00000000
            00000000
            00000000
            """)
    }

    func testMousePointsCoverBothPixelsOfACell() {
        let c = make(blank)
        c.tip = BrushTip(shape: .square, size: 1)
        c.press(.cell(column: 2, row: 1))
        c.drag(.cell(column: 4, row: 1))
        c.release(.cell(column: 4, row: 1))
        XCTAssertEqual(picture(c.document.canvas), """
            00000000
            00000000
            00111000
            00111000
            00000000
            00000000
            """)
    }

    func testEraserPaintsBackgroundClass() {
        let c = make(Array(repeating: "55555555", count: 6), current: 1, background: 3)
        c.tool = .eraser
        c.tip = BrushTip(shape: .square, size: 2)
        c.press(CanvasPoint(x: 3, y: 2))
        c.release(CanvasPoint(x: 3, y: 2))
        XCTAssertEqual(picture(c.document.canvas), """
            55555555
            55555555
            55533555
            55533555
            55555555
            55555555
            """)
    }

    func testLinePreviewIsReplacedNotAccumulated() {
        let c = make(blank, current: 4)
        c.tool = .line
        c.tip = BrushTip(shape: .square, size: 1)
        c.press(CanvasPoint(x: 0, y: 5))
        c.drag(CanvasPoint(x: 7, y: 0))     // preview 1
        c.drag(CanvasPoint(x: 7, y: 5))     // preview 2 replaces it
        c.release(CanvasPoint(x: 7, y: 5))
        XCTAssertEqual(picture(c.document.canvas), """
            00000000
            00000000
            00000000
            00000000
            00000000
            44444444
            """)
        XCTAssertEqual(c.document.history.undoCount, 1)
        c.document.undo()
        XCTAssertEqual(c.document.canvas, canvas(blank))
    }

    func testFilledRectangleFromAnyCorner() {
        let c = make(blank, current: 7)
        c.tool = .rectangle
        c.press(CanvasPoint(x: 5, y: 4))
        c.drag(CanvasPoint(x: 1, y: 0))
        c.release(CanvasPoint(x: 2, y: 1))
        XCTAssertEqual(picture(c.document.canvas), """
            00000000
            00777700
            00777700
            00777700
            00777700
            00000000
            """)
    }

    func testRectangleWithMouseCellsCoversWholeCells() {
        let c = make(blank, current: 7)
        c.tool = .rectangle
        c.press(.cell(column: 1, row: 0))
        c.release(.cell(column: 2, row: 1))
        XCTAssertEqual(picture(c.document.canvas), """
            07700000
            07700000
            07700000
            07700000
            00000000
            00000000
            """)
    }

    func testFloodFillIsFourConnected() {
        let c = make(["11100000",
                      "10100000",
                      "11100000",
                      "00010000",
                      "00001000",
                      "00000000"], current: 9)
        c.tool = .fill
        c.press(CanvasPoint(x: 7, y: 0))
        c.release(CanvasPoint(x: 7, y: 0))
        XCTAssertEqual(picture(c.document.canvas), """
            11199999
            10199999
            11199999
            99919999
            99991999
            99999999
            """, "the enclosed 0 inside the ring stays, diagonal gaps do not leak")
        c.press(CanvasPoint(x: 1, y: 1))  // a 1-pixel region
        XCTAssertEqual(c.document.canvas[1, 1], 9)
        XCTAssertEqual(c.document.history.undoCount, 2)
    }

    func testFillOnSameClassChangesNothing() {
        let c = make(blank, current: 0)
        c.tool = .fill
        c.press(CanvasPoint(x: 1, y: 1))
        XCTAssertEqual(c.document.history.undoCount, 0)
        XCTAssertFalse(c.document.isModified)
    }

    func testEyedropperPicksClassWithoutEditing() {
        let c = make(["00000000", "00030000", "00000000", "00000000", "00000000", "00000000"])
        c.tool = .eyedropper
        c.press(CanvasPoint(x: 3, y: 1))
        XCTAssertEqual(c.currentClass, 3)
        c.drag(CanvasPoint(x: 0, y: 0))
        c.release(CanvasPoint(x: 0, y: 0))
        XCTAssertEqual(c.currentClass, 0)
        XCTAssertFalse(c.document.isModified)
    }

    func testOutOfRangeClassIsRefused() {
        let c = make(blank, current: 1)
        c.currentClass = 200
        XCTAssertEqual(c.currentClass, 1)
    }

    func testCancelGestureRestoresCanvas() {
        let c = make(blank)
        c.tool = .rectangle
        c.press(CanvasPoint(x: 0, y: 0))
        c.drag(CanvasPoint(x: 4, y: 4))
        XCTAssertNotEqual(c.document.canvas, canvas(blank))
        c.cancelGesture()
        XCTAssertEqual(c.document.canvas, canvas(blank))
        XCTAssertEqual(c.document.history.undoCount, 0)
    }

    func testClearIsUndoable() {
        let c = make(Array(repeating: "12345678", count: 6), background: 0)
        c.clear()
        XCTAssertEqual(c.document.canvas, canvas(blank))
        c.document.undo()
        XCTAssertEqual(picture(c.document.canvas).prefix(8), "12345678")
    }
}

final class HistoryTests: XCTestCase {
    func dab(_ c: PaintController, _ x: Int, _ y: Int) {
        c.press(CanvasPoint(x: x, y: y))
        c.release(CanvasPoint(x: x, y: y))
    }

    func testUndoRedoByStrokeBeyond200Steps() {
        let doc = PaintDocument(canvas: LabelCanvas(width: 64, height: 64))
        let c = PaintController(document: doc, classCount: 20, backgroundClass: 0, currentClass: 1)
        c.tip = BrushTip(shape: .square, size: 1)
        var states = [doc.canvas]
        for i in 0..<250 {
            c.currentClass = UInt8(1 + i % 19)
            dab(c, (i * 7) % 64, (i * 13) % 64)
            states.append(doc.canvas)
        }
        XCTAssertEqual(doc.history.undoCount, 250)
        for k in stride(from: 249, through: 0, by: -1) {
            XCTAssertTrue(doc.undo())
            XCTAssertEqual(doc.canvas, states[k], "after undoing to step \(k)")
        }
        XCTAssertFalse(doc.undo())
        for k in 1...250 {
            XCTAssertTrue(doc.redo())
            XCTAssertEqual(doc.canvas, states[k])
        }
        XCTAssertFalse(doc.redo())
    }

    func testNewStrokeDropsRedoAndCapacityDropsOldest() {
        let doc = PaintDocument(canvas: LabelCanvas(width: 8, height: 8), historyCapacity: 3)
        let c = PaintController(document: doc, classCount: 5, backgroundClass: 0, currentClass: 1)
        c.tip = BrushTip(shape: .square, size: 1)
        for x in 0..<5 { dab(c, x, 0) }
        XCTAssertEqual(doc.history.undoCount, 3)
        doc.undo()
        XCTAssertTrue(doc.history.canRedo)
        dab(c, 7, 7)
        XCTAssertFalse(doc.history.canRedo)
        while doc.undo() {}
        // The two oldest dabs are beyond the capacity and stay.
        XCTAssertEqual(doc.canvas[0, 0], 1)
        XCTAssertEqual(doc.canvas[1, 0], 1)
        XCTAssertEqual(doc.canvas[2, 0], 0)
    }

    func testModifiedFlagFollowsSavedState() {
        let doc = PaintDocument(canvas: LabelCanvas(width: 8, height: 8))
        let c = PaintController(document: doc, classCount: 5, backgroundClass: 0, currentClass: 1)
        XCTAssertFalse(doc.isModified)
        dab(c, 1, 1)
        XCTAssertTrue(doc.isModified)
        doc.markSaved()
        XCTAssertFalse(doc.isModified)
        dab(c, 2, 2)
        XCTAssertTrue(doc.isModified)
        doc.undo()
        XCTAssertFalse(doc.isModified, "undo back to the saved state is unmodified")
        doc.undo()
        XCTAssertTrue(doc.isModified)
    }

    func testChangedRowsAndRevision() {
        let doc = PaintDocument(canvas: LabelCanvas(width: 8, height: 8))
        XCTAssertEqual(doc.takeChangedRows(), Array(0..<8))
        XCTAssertEqual(doc.takeChangedRows(), [])
        let r0 = doc.revision
        doc.beginStroke()
        doc.set(3, 5, 2)
        doc.set(3, 5, 2)        // no change: no new revision
        let r1 = doc.revision
        doc.set(-1, 5, 2)       // outside: ignored
        doc.endStroke()
        XCTAssertEqual(r1, r0 + 1)
        XCTAssertEqual(doc.revision, r1)
        XCTAssertEqual(doc.takeChangedRows(), [5])
        doc.undo()
        XCTAssertGreaterThan(doc.revision, r1)
        XCTAssertEqual(doc.takeChangedRows(), [5])
    }

    func testStrokeThatEndsUnchangedIsNoStep() {
        let doc = PaintDocument(canvas: LabelCanvas(width: 4, height: 4))
        doc.beginStroke()
        doc.set(1, 1, 3)
        doc.set(1, 1, 0)
        XCTAssertFalse(doc.endStroke())
        XCTAssertEqual(doc.history.undoCount, 0)
    }
}
