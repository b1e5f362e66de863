import SpadeImaging
import SpadeModel
import XCTest
@testable import SpadePainter

/// The painter's adapter to the inference engine: it must give the generator's picture for the painted
/// map (not some stand-in), follow edits, honour cancellation, and describe its style honestly.
final class GeneratorSynthesizerTests: XCTestCase {
    func makeGenerator(vae: Bool) throws -> SPADEGenerator {
        let config = SPADEConfig(labelNC: 4, containDontcareLabel: false, noInstance: true, ngf: 4, zDim: 8, cropSize: 64,
                                 useVAE: vae, spadeHidden: 8)
        var rng = RandomGenerator(seed: 9)
        let g = try SPADEGenerator(config: config, rng: &rng)
        RandomEvalWeights.apply(to: g, rng: &rng)
        return g
    }

    func testPictureIsTheGeneratorsOutputAndFollowsEdits() throws {
        let g = try makeGenerator(vae: false)
        let synth = GeneratorSynthesizer(generator: g, modelNote: "random weights — no model")
        XCTAssertEqual(synth.labelWidth, 64)
        XCTAssertEqual(synth.classCount, 4)
        XCTAssertTrue(synth.styleDescription.contains("random weights — no model"))
        try checkPalette(try testPalette(), fits: synth, canvasFactor: 4)

        var map = LabelMap(width: 64, height: 64, fill: 0)
        for y in 30..<64 { for x in 0..<64 { map[x, y] = 2 } }
        for edit in 0..<3 {
            if edit > 0 { for y in 10..<14 { for x in (8 * edit)..<(8 * edit + 4) { map[x, y] = 3 } } }
            let picture = try XCTUnwrap(synth.synthesize(map, shouldCancel: { false }))
            let oneHot = try LabelEncoding.oneHot(map.labels, height: 64, width: 64, config: g.config)
            let expected = GeneratorSynthesizer.image(from: g.forward(labels: oneHot, training: false))
            XCTAssertEqual(picture.width, 64)
            var worst = 0
            for i in 0..<picture.pixels.count { worst = max(worst, abs(Int(picture.pixels[i]) - Int(expected.pixels[i]))) }
            XCTAssertLessThanOrEqual(worst, 1, "edit \(edit)")
        }
        XCTAssertNil(try synth.synthesize(map, shouldCancel: { true }))
    }

    func testStylesOfAVAEModel() throws {
        let synth = GeneratorSynthesizer(generator: try makeGenerator(vae: true))
        let map = LabelMap(width: 64, height: 64, fill: 1)
        synth.newRandomStyle(seed: 3)
        XCTAssertEqual(synth.styleDescription, "random style, seed 3")
        let first = try XCTUnwrap(synth.synthesize(map, shouldCancel: { false }))
        synth.newRandomStyle(seed: 4)
        let second = try XCTUnwrap(synth.synthesize(map, shouldCancel: { false }))
        XCTAssertNotEqual(first, second, "a new seed must change the picture")
        // No encoder loaded: a photo style is refused with a message, not a crash.
        XCTAssertThrowsError(try synth.setStyle(reference: RGBImage(width: 8, height: 8), name: "beach.jpg")) { error in
            XCTAssertTrue("\(error)".contains("beach.jpg"))
        }
    }

    func testRandomStylesComeFromTheStyleBank() throws {
        let g = try makeGenerator(vae: true)
        let code = Tensor(shape: [1, 8], data: [0.3, -0.2, 0.1, 0, 0.5, -0.4, 0.2, 0.1])
        let synth = GeneratorSynthesizer(generator: g, styleBank: StyleBank(codes: code))
        let map = LabelMap(width: 64, height: 64, fill: 2)
        synth.newRandomStyle(seed: 3)
        XCTAssertEqual(synth.styleDescription, "random style, seed 3, from 1 codes")
        let picture = try XCTUnwrap(synth.synthesize(map, shouldCancel: { false }))
        let oneHot = try LabelEncoding.oneHot(map.labels, height: 64, width: 64, config: g.config)
        let expected = GeneratorSynthesizer.image(from: g.forward(labels: oneHot, z: code, training: false))
        var worst = 0
        for i in 0..<picture.pixels.count { worst = max(worst, abs(Int(picture.pixels[i]) - Int(expected.pixels[i]))) }
        XCTAssertLessThanOrEqual(worst, 1, "a bank of one code gives that code's picture")
    }

    func testImageConversionMatchesTheReferenceSaving() {
        let t = Tensor(shape: [1, 3, 1, 2], data: [-1, 1, 0, 0.999, 2, -3])
        let image = GeneratorSynthesizer.image(from: t)
        XCTAssertEqual(image.pixels, [0, 127, 255, 255, 254, 0])
    }
}

/// A style photo with a style segmenter: the painter's picture takes the photo's class colours, and a random
/// style drops them again.
final class GeneratorSynthesizerColourMatchTests: XCTestCase {
    func testPhotoColoursAreLaidOverThePictureUntilARandomStyle() throws {
        let config = SPADEConfig(labelNC: 4, containDontcareLabel: false, noInstance: true, ngf: 4, zDim: 8, cropSize: 64,
                                 useVAE: true, spadeHidden: 8)
        var rng = RandomGenerator(seed: 9)
        let g = try SPADEGenerator(config: config, rng: &rng)
        RandomEvalWeights.apply(to: g, rng: &rng)
        let segmenter = try Segmenter(config: SegmenterConfig(classes: 4, widths: [4, 8], inputSize: 16), rng: &rng)
        let synth = GeneratorSynthesizer(generator: g, encoder: ConvEncoder(ndf: 4, zDim: 8, rng: &rng), styleSegmenter: segmenter)
        var photo = RGBImage(width: 64, height: 64)
        for i in 0..<(64 * 64) { photo.pixels[i * 3] = UInt8(150 + i % 50); photo.pixels[i * 3 + 1] = 40; photo.pixels[i * 3 + 2] = 20 }
        try synth.setStyle(reference: photo, name: "red.png")
        XCTAssertEqual(synth.styleDescription, "style and colours of red.png")
        let expected = ReferenceColourMatch(referenceRGB: photo.pixels, width: 64, height: 64, segmenter: segmenter)

        let map = LabelMap(width: 32, height: 32, fill: 1)   // painted at half the model's size
        let picture = try XCTUnwrap(synth.synthesize(map, shouldCancel: { false }))
        let plain = GeneratorSynthesizer.image(from: synth.engine.render()!)
        XCTAssertEqual(picture.pixels, expected.apply(rgb: plain.pixels, labels: [UInt8](repeating: 1, count: 64 * 64)))
        let stats = ClassColourStatistics(rgb: picture.pixels, labels: [UInt8](repeating: 0, count: 64 * 64), classes: 1)
        XCTAssertGreaterThan(stats.means[0][0], 140, "the photo's red comes through")
        XCTAssertLessThan(stats.means[0][2], 40)

        synth.newRandomStyle(seed: 2)
        XCTAssertEqual(synth.styleDescription, "random style, seed 2")
        let random = try XCTUnwrap(synth.synthesize(map, shouldCancel: { false }))
        XCTAssertEqual(random, GeneratorSynthesizer.image(from: synth.engine.render()!))
    }
}
