import Dispatch
import Foundation
import SpadeImaging
import XCTest
@testable import SpadePainter

let testPaletteText = """
    @name test
    @background 0
    @dontcare 255
    0 #87CEEB s sky
    1 #5B5F73 m mountain
    2 #6CC24A g grass
    3 #2F7FBF w water
    """

func testPalette() throws -> Palette { try Palette(parsing: testPaletteText, source: "test.palette") }

func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "spadepainter-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

final class LabelFileTests: XCTestCase {
    func testSaveWritesIndexAndColourFilesAtModelResolution() throws {
        let palette = try testPalette()
        let dir = try scratchDirectory()
        let c = canvas(["0123", "3210"])
        let path = dir + "/map.png"
        let colourPath = try LabelFiles.saveLabelMap(c, factor: 4, palette: palette, to: path)
        XCTAssertEqual(colourPath, dir + "/map.colour.png")

        let index = try readLabelMap(path, palette: palette)
        XCTAssertEqual(index.width, 16)
        XCTAssertEqual(index.height, 8)
        XCTAssertEqual(index.labels, c.upsampled(by: 4))
        let info = try readImageInfo(path)
        XCTAssertEqual(info.layout, .indexed, "index PNG is palette-type: viewers show class colours")

        let colours = try readRGB(colourPath)
        XCTAssertEqual(colours[5, 0], palette.colours[1])
        XCTAssertEqual(colours[15, 7], palette.colours[0])
        // The colour file reads back to the same classes.
        XCTAssertEqual(try readLabelMap(colourPath, palette: palette).labels, index.labels)
    }

    func testLoadAnySizeNearestAndRoundTrip() throws {
        let palette = try testPalette()
        let dir = try scratchDirectory()
        let original = canvas(["00112233", "00112233", "33221100", "33221100"])
        let path = dir + "/big.png"
        try LabelFiles.saveLabelMap(original, factor: 3, palette: palette, to: path)   // 24×12 file
        // Back onto the same canvas size: exact.
        XCTAssertEqual(try LabelFiles.loadCanvas(path: path, palette: palette, width: 8, height: 4), original)
        // Onto half the size: every second pixel (pixel centres), never a blend.
        let half = try LabelFiles.loadCanvas(path: path, palette: palette, width: 4, height: 2)
        XCTAssertEqual(picture(half), "0123\n3210")
        // From the colour file too.
        let viaColour = try LabelFiles.loadCanvas(path: LabelFiles.colourPath(for: path), palette: palette, width: 8, height: 4)
        XCTAssertEqual(viaColour, original)
    }

    func testGrayIndexFileWithDontCareBecomesBackground() throws {
        let palette = try testPalette()
        let dir = try scratchDirectory()
        let path = dir + "/gray.png"
        try writeLabelPNG(LabelMap(width: 2, height: 1, labels: [2, 255]), to: path, palette: nil)
        let c = try LabelFiles.loadCanvas(path: path, palette: palette, width: 2, height: 1)
        XCTAssertEqual(c.labels, [2, 0])
    }

    func testBadFilesGiveErrorsNamingTheFile() throws {
        let palette = try testPalette()
        let dir = try scratchDirectory()
        let missing = dir + "/nope.png"
        XCTAssertThrowsError(try LabelFiles.loadCanvas(path: missing, palette: palette, width: 4, height: 4)) {
            XCTAssertTrue("\($0)".contains(missing), "\($0)")
        }
        let corrupt = dir + "/corrupt.png"
        try Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]).write(to: URL(fileURLWithPath: corrupt))
        XCTAssertThrowsError(try LabelFiles.loadCanvas(path: corrupt, palette: palette, width: 4, height: 4)) {
            XCTAssertTrue("\($0)".contains(corrupt), "\($0)")
        }
        let outOfPalette = dir + "/nine.png"
        try writeLabelPNG(LabelMap(width: 1, height: 1, labels: [9]), to: outOfPalette, palette: nil)
        XCTAssertThrowsError(try LabelFiles.loadCanvas(path: outOfPalette, palette: palette, width: 4, height: 4)) {
            XCTAssertTrue("\($0)".contains(outOfPalette), "\($0)")
        }
    }

    func testAutosaveRoundTripAndRemoval() throws {
        let palette = try testPalette()
        let dir = try scratchDirectory()
        let a = Autosave(path: dir + "/state/autosave.png")
        XCTAssertFalse(a.exists)
        let c = canvas(["0123", "3333"])
        try a.write(c, palette: palette, source: "/some/labels.png")
        XCTAssertTrue(a.exists)
        XCTAssertEqual(a.recordedSource(), "/some/labels.png")
        XCTAssertEqual(try a.load(palette: palette, width: 4, height: 2), c)
        a.remove()
        XCTAssertFalse(a.exists)
        XCTAssertNil(a.recordedSource())
        XCTAssertEqual(Autosave.defaultPath(environment: ["XDG_STATE_HOME": "/x"]), "/x/spadepaint/autosave.png")
        XCTAssertEqual(Autosave.defaultPath(environment: ["HOME": "/h"]), "/h/.local/state/spadepaint/autosave.png")
    }
}

/// Test double of the generator: each class in its palette colour, then a 3×3 box blur, after an
/// artificial delay (polling the cancel flag) so tests can edit while it runs.
final class BlurringSynthesizer: PictureSynthesizer {
    let labelWidth = 16, labelHeight = 16
    let palette: Palette
    var classCount: Int { palette.count }
    var styleDescription = "blur double"
    let delay: TimeInterval
    let calls = Recorder()
    let started = DispatchSemaphore(value: 0)

    init(palette: Palette, delay: TimeInterval) {
        self.palette = palette
        self.delay = delay
    }

    func synthesize(_ labels: LabelMap, shouldCancel: () -> Bool) throws -> RGBImage? {
        calls.add(Int(labels.labels[0]))
        started.signal()
        let end = Date(timeIntervalSinceNow: delay)
        while Date() < end {
            if shouldCancel() { return nil }
            usleep(1000)
        }
        let flat = palette.colourImage(labels)
        var out = flat
        for y in 0..<flat.height {
            for x in 0..<flat.width {
                var sum = [0, 0, 0], n = 0
                for dy in -1...1 { for dx in -1...1 {
                    let xx = x + dx, yy = y + dy
                    guard xx >= 0, yy >= 0, xx < flat.width, yy < flat.height else { continue }
                    let c = flat[xx, yy]
                    sum[0] += Int(c.r); sum[1] += Int(c.g); sum[2] += Int(c.b); n += 1
                } }
                out[x, y] = RGBColour(UInt8(sum[0] / n), UInt8(sum[1] / n), UInt8(sum[2] / n))
            }
        }
        return out
    }

    func newRandomStyle(seed: UInt64) { styleDescription = "blur double, seed \(seed)" }
    func setStyle(reference: RGBImage, name: String) throws { styleDescription = "blur double, style \(name)" }
}

final class SynthesizerIntegrationTests: XCTestCase {
    func testPaletteMustMatchTheModel() throws {
        let palette = try testPalette()
        let wrong = FlatColourTestSynthesizer(palette: try Palette(parsing: "0 #000000 - a\n1 #FFFFFF - b", source: "two.palette"))
        XCTAssertThrowsError(try checkPalette(palette, fits: wrong, canvasFactor: 4)) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("test.palette") && text.contains("4 classes") && text.contains("2 label channels"), text)
        }
        let odd = FlatColourTestSynthesizer(palette: palette, labelWidth: 250, labelHeight: 256)
        XCTAssertThrowsError(try checkPalette(palette, fits: odd, canvasFactor: 4))
        XCTAssertNoThrow(try checkPalette(palette, fits: FlatColourTestSynthesizer(palette: palette), canvasFactor: 4))
    }

    func testPaintingWhileSynthesizingShowsNewestLabelsOnly() throws {
        let palette = try testPalette()
        let synth = BlurringSynthesizer(palette: palette, delay: 0.15)
        let s = SynthesisScheduler<LabelMap, RGBImage>(run: { labels, cancel in
            try synth.synthesize(labels, shouldCancel: cancel)
        })
        // Label maps whose class (everywhere) encodes the edit number.
        func map(_ cls: UInt8) -> LabelMap { LabelMap(width: 16, height: 16, fill: cls) }
        s.submit(map(0))
        synth.started.wait()
        var shown: [RGBColour] = []
        for cls in [1, 2, 3, 1, 2] as [UInt8] {   // five edits during the first synthesis
            s.submit(map(cls))
            if let r = s.takeResult() { shown.append(r.output[8, 8]) }
        }
        XCTAssertTrue(s.waitUntilIdle())
        if let r = s.takeResult() { shown.append(r.output[8, 8]) }
        XCTAssertEqual(synth.calls.all, [0, 2], "the five edits coalesced into the last one")
        XCTAssertEqual(shown.last, palette.colours[2], "the newest edit is what stays on screen")
    }

    func testStyleChangeSupersedesAndCancels() throws {
        let palette = try testPalette()
        let synth = BlurringSynthesizer(palette: palette, delay: 5)
        let s = SynthesisScheduler<LabelMap, RGBImage>(run: { labels, cancel in
            try synth.synthesize(labels, shouldCancel: cancel)
        })
        s.submit(LabelMap(width: 16, height: 16, fill: 1))
        synth.started.wait()
        let t0 = Date()
        s.perform { synth.newRandomStyle(seed: 9) }
        s.submit(LabelMap(width: 16, height: 16, fill: 1), supersede: true)
        // The 5 s job was abandoned: only the new one's delay is left.
        synth.started.wait()
        XCTAssertEqual(synth.styleDescription, "blur double, seed 9", "the style changed between the two jobs")
        s.stop()
        XCTAssertTrue(s.waitUntilIdle(timeout: 10))
        XCTAssertLessThan(Date().timeIntervalSince(t0), 4)
        XCTAssertNil(s.takeResult(), "the cancelled job shows nothing")
    }

    func testFlatTestSynthesizerPaintsPaletteColours() throws {
        let palette = try testPalette()
        let t = FlatColourTestSynthesizer(palette: palette, labelWidth: 8, labelHeight: 8)
        XCTAssertTrue(t.styleDescription.contains("test synthesizer"))
        let out = try XCTUnwrap(t.synthesize(LabelMap(width: 8, height: 8, fill: 3), shouldCancel: { false }))
        XCTAssertEqual(out[4, 4], palette.colours[3])
        let busy = FlatColourTestSynthesizer(palette: palette, labelWidth: 8, labelHeight: 8, busyMilliseconds: 5000)
        let t0 = Date()
        XCTAssertNil(try busy.synthesize(LabelMap(width: 8, height: 8), shouldCancel: { Date().timeIntervalSince(t0) > 0.05 }))
        XCTAssertLessThan(Date().timeIntervalSince(t0), 1)
    }

    func testPainterRefusesBadStartFilesBeforeTouchingTheTerminal() throws {
        let palette = try testPalette()
        let dir = try scratchDirectory()
        var options = PainterOptions(palette: palette)
        options.autosavePath = dir + "/autosave.png"
        options.labelsPath = dir + "/missing.png"
        XCTAssertThrowsError(try PainterApp(options: options, synthesizer: FlatColourTestSynthesizer(palette: palette))) {
            XCTAssertTrue("\($0)".contains("missing.png"), "\($0)")
        }
        options.labelsPath = nil
        options.stylePath = dir + "/nostyle.jpg"
        XCTAssertThrowsError(try PainterApp(options: options, synthesizer: FlatColourTestSynthesizer(palette: palette))) {
            XCTAssertTrue("\($0)".contains("nostyle.jpg"), "\($0)")
        }
    }

    func testAutosaveIsRestoredForTheSameFileAsAnUndoableStep() throws {
        let palette = try testPalette()
        let dir = try scratchDirectory()
        var options = PainterOptions(palette: palette)
        options.autosavePath = dir + "/autosave.png"
        let painted = LabelCanvas(width: 64, height: 64, fill: 3)
        try Autosave(path: options.autosavePath).write(painted, palette: palette, source: nil)
        let app = try PainterApp(options: options, synthesizer: FlatColourTestSynthesizer(palette: palette))
        XCTAssertEqual(app.document.canvas, painted)
        XCTAssertTrue(app.document.isModified)
        app.document.undo()
        XCTAssertEqual(app.document.canvas[0, 0], 0, "undo returns to the starting sky")

        // An autosave of another file is left alone.
        options.labelsPath = dir + "/other.png"
        try LabelFiles.saveLabelMap(LabelCanvas(width: 64, height: 64, fill: 2), factor: 4, palette: palette, to: options.labelsPath!)
        let other = try PainterApp(options: options, synthesizer: FlatColourTestSynthesizer(palette: palette))
        XCTAssertEqual(other.document.canvas[0, 0], 2)
        XCTAssertFalse(other.document.isModified)
        XCTAssertTrue(Autosave(path: options.autosavePath).exists)
    }
}
