import Foundation
import SpadeImaging
import XCTest
@testable import SpadeWorld

final class DatasetWriterTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spadeworld-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func landscape() throws -> Palette { try Palette.load(named: "landscape") }

    func testWritesPairedFolderLayoutWithStyles() throws {
        let out = scratch.appendingPathComponent("set")
        try DatasetWriter(count: 3, seed: 5, width: 48, height: 32, threads: 2, palette: landscape()).write(to: out)
        let palette = try landscape()
        for i in 0..<3 {
            let name = String(format: "%06d.png", i)
            let picture = try readRGB(out.appendingPathComponent("images/\(name)").path)
            let labels = try readLabelMap(out.appendingPathComponent("labels/\(name)").path, palette: palette)
            XCTAssertEqual([picture.width, picture.height, labels.width, labels.height], [48, 32, 48, 32])
            let (expectedPicture, expectedLabels, _) = LandscapeSynth.render(index: i, seed: 5, width: 48, height: 32)
            XCTAssertEqual(picture, expectedPicture, "written picture \(name) differs from the render")
            XCTAssertEqual(labels, expectedLabels, "written labels \(name) differ from the render")
        }
        let csv = try String(contentsOf: out.appendingPathComponent("styles.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, StyleInfo.csvHeader)
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[1].hasPrefix("000000.png,"))
        XCTAssertEqual(lines[2], LandscapeSynth.style(index: 1, seed: 5).csvRow(file: "000001.png"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("images").path).filter { !$0.hasSuffix(".png") }
        XCTAssertEqual(leftovers, [], "no temporary files may remain")
    }

    func testOutputDoesNotDependOnThreadCount() throws {
        let one = scratch.appendingPathComponent("one"), three = scratch.appendingPathComponent("three")
        try DatasetWriter(count: 5, seed: 77, width: 40, height: 40, threads: 1, palette: landscape()).write(to: one)
        try DatasetWriter(count: 5, seed: 77, width: 40, height: 40, threads: 3, palette: landscape()).write(to: three)
        for sub in ["images", "labels"] {
            for i in 0..<5 {
                let name = "\(sub)/" + String(format: "%06d.png", i)
                let a = try Data(contentsOf: one.appendingPathComponent(name)), b = try Data(contentsOf: three.appendingPathComponent(name))
                XCTAssertEqual(a, b, "\(name) differs between 1 and 3 threads")
            }
        }
        XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent("styles.csv")), try Data(contentsOf: three.appendingPathComponent("styles.csv")))
    }

    func testForcedStyleIsRecorded() throws {
        let out = scratch.appendingPathComponent("fog")
        try DatasetWriter(count: 2, seed: 1, width: 32, height: 32, threads: 1, palette: landscape(), style: StyleOverride(weather: .fog)).write(to: out)
        let rows = try String(contentsOf: out.appendingPathComponent("styles.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.count, 2)
        for row in rows { XCTAssertEqual(row.split(separator: ",")[4], "fog") }
    }

    func testRejectsAPaletteWithOtherClasses() throws {
        let wrong = try Palette(parsing: "0 #000000 a sky\n1 #FFFFFF b water\n", source: "odd.palette")
        XCTAssertThrowsError(try DatasetWriter(count: 1, seed: 1, width: 16, height: 16, threads: 1, palette: wrong)) { error in
            XCTAssertTrue("\(error)".contains("odd.palette"), "the error should name the palette file: \(error)")
        }
    }

    func testUnwritableOutputNamesThePath() throws {
        let blocker = scratch.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        XCTAssertThrowsError(try DatasetWriter(count: 1, seed: 1, width: 16, height: 16, threads: 1, palette: landscape()).write(to: blocker.appendingPathComponent("out"))) { error in
            XCTAssertTrue("\(error)".contains(blocker.path), "the error should name the folder: \(error)")
        }
    }
}
