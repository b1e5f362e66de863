import XCTest
@testable import SpadeModel

/// The colour match behind `--style`: per-class statistics, and the transfer that gives each class of a
/// picture the reference's mean and spread for that class.
final class ReferenceColourMatchTests: XCTestCase {
    func testClassStatisticsIgnoreDontCare() {
        let rgb: [UInt8] = [10, 20, 30, 30, 40, 50, 7, 7, 7, 200, 200, 200]
        let stats = ClassColourStatistics(rgb: rgb, labels: [0, 0, 1, 255], classes: 2)
        XCTAssertEqual(stats.counts, [2, 1])
        XCTAssertEqual(stats.pixelCount, 3)
        XCTAssertEqual(stats.means[0], [20, 30, 40])
        XCTAssertEqual(stats.deviations[0], [10, 10, 10])
        XCTAssertEqual(stats.means[1], [7, 7, 7])
        XCTAssertEqual(stats.deviations[1], [0, 0, 0])
    }

    /// A reference whose class 0 has mean 100 and spread 20 (per channel), class 2 a single pixel of 400.
    func makeMatch() -> ReferenceColourMatch {
        var rgb = [UInt8](), labels = [UInt8]()
        for i in 0..<400 {
            let v: UInt8 = i % 2 == 0 ? 80 : 120
            rgb += [v, v, v]
            labels.append(0)
        }
        rgb += [255, 0, 0]
        labels.append(2)
        return ReferenceColourMatch(reference: ClassColourStatistics(rgb: rgb, labels: labels, classes: 3))
    }

    func testEachClassTakesTheReferenceMeanAndSpread() {
        let match = makeMatch()
        XCTAssertTrue(match.takes(0))
        XCTAssertFalse(match.takes(1), "absent from the reference")
        XCTAssertFalse(match.takes(2), "one pixel in 401 is below the minimum share")
        // Class 0: mean (20, 30, 40), spread 10 → mean 100, spread 20 (×2). Class 1 and 2 get the cast
        // (the shift of class 0's means, the only class taken): (80, 70, 60).
        let rgb: [UInt8] = [10, 20, 30, 30, 40, 50, 100, 100, 100, 250, 0, 5]
        let out = match.apply(rgb: rgb, labels: [0, 0, 1, 2])
        XCTAssertEqual(Array(out[0..<6]), [80, 80, 80, 120, 120, 120])
        XCTAssertEqual(Array(out[6..<9]), [180, 170, 160])
        XCTAssertEqual(Array(out[9..<12]), [255, 70, 65], "clipped to 255")
        let after = ClassColourStatistics(rgb: out, labels: [0, 0, 1, 2], classes: 3)
        XCTAssertEqual(after.means[0], match.reference.means[0])
        XCTAssertEqual(after.deviations[0], match.reference.deviations[0])
    }

    func testAFlatClassMovesToTheReferenceMeanAndSpreadsAreBounded() {
        let match = makeMatch()
        // A flat region has no spread to scale: it takes the reference mean as it is.
        XCTAssertEqual(match.apply(rgb: [50, 60, 70, 50, 60, 70], labels: [0, 0]), [100, 100, 100, 100, 100, 100])
        // A region spread ±100 would be narrowed ×0.2; the bound keeps half of the generator's texture.
        XCTAssertEqual(match.apply(rgb: [0, 0, 0, 200, 200, 200], labels: [0, 0]), [50, 50, 50, 150, 150, 150])
        // One scale for all channels, from their mean spread (here 3.3 → 20, bounded to ×2): the flat red
        // channel stays flat.
        XCTAssertEqual(match.apply(rgb: [0, 10, 10, 0, 20, 0], labels: [0, 0]), [100, 90, 110, 100, 110, 90])
        // Nothing in common with the reference: no cast, the picture is kept.
        XCTAssertEqual(match.apply(rgb: [1, 2, 3], labels: [1]), [1, 2, 3])
    }

    func testLabelsFollowTheGeneratorsNearestResize() {
        let labels = ReferenceColourMatch.labels([0, 1, 2, 3], width: 2, height: 2, toWidth: 4, toHeight: 4)
        XCTAssertEqual(labels, [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3])
        XCTAssertEqual(ReferenceColourMatch.labels([5, 6], width: 2, height: 1, toWidth: 2, toHeight: 1), [5, 6])
    }

    /// A photo larger than the working side is labelled at the working size: every one of its pixels there
    /// is counted once, and what the segmenter calls each class is what the statistics describe.
    func testSegmentedReferenceCountsTheWorkingSizePicture() throws {
        var rng = RandomGenerator(seed: 3)
        let segmenter = try Segmenter(config: SegmenterConfig(classes: 3, widths: [4, 8], inputSize: 16), rng: &rng)
        let (w, h) = (300, 200)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) { rgb[i * 3] = UInt8(i % 251); rgb[i * 3 + 1] = UInt8((i / w) % 256); rgb[i * 3 + 2] = 90 }
        let match = ReferenceColourMatch(referenceRGB: rgb, width: w, height: h, segmenter: segmenter, workingSide: 150)
        XCTAssertEqual(match.reference.classes, 3)
        XCTAssertEqual(match.reference.pixelCount, 150 * 100)
        for c in 0..<3 where match.reference.counts[c] > 0 {
            XCTAssertEqual(match.reference.means[c][2], 90, accuracy: 1, "a constant channel keeps its value")
        }
    }

    /// `encode` saves the photo's class colours next to z; `render --z` reads them back exactly, a plain z file
    /// has none, and a partial or hostile set is refused naming the file.
    func testStatisticsSurviveAStyleFile() throws {
        let match = makeMatch()
        let path = NSTemporaryDirectory() + "colour-match-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = SafeTensorsWriter()
        try writer.add("z", floats: [0, 1], shape: [1, 2])
        try match.add(to: &writer)
        try writer.write(to: path)
        XCTAssertEqual(try ReferenceColourMatch.stored(in: SafeTensorsFile(path: path)), match)

        var plain = SafeTensorsWriter()
        try plain.add("z", floats: [0, 1], shape: [1, 2])
        try plain.write(to: path)
        XCTAssertNil(try ReferenceColourMatch.stored(in: SafeTensorsFile(path: path)))

        var partial = SafeTensorsWriter()
        try partial.add(ReferenceColourMatch.countName, int64s: [1, 2], shape: [2])
        try partial.write(to: path)
        XCTAssertThrowsError(try ReferenceColourMatch.stored(in: SafeTensorsFile(path: path))) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains(ReferenceColourMatch.meanName), "\(error)")
        }

        var hostile = SafeTensorsWriter()
        try hostile.add(ReferenceColourMatch.countName, int64s: [1, 2], shape: [2])
        try hostile.add(ReferenceColourMatch.meanName, floats: [1, 2, 3, 4, 5, .nan], shape: [2, 3])
        try hostile.add(ReferenceColourMatch.deviationName, floats: [1, 1, 1, 1, 1, 1], shape: [2, 3])
        try hostile.write(to: path)
        XCTAssertThrowsError(try ReferenceColourMatch.stored(in: SafeTensorsFile(path: path))) { error in
            XCTAssertTrue("\(error)".contains("non-finite"), "\(error)")
        }
    }
}
