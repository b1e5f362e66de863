import Foundation
import SpadeImaging
import SpadeModel
import XCTest
@testable import SpadeTrainer

/// train-seg and eval end to end on a tiny synthesized world: sky over ground of two kinds, with a red blob.
final class SegmentationEvaluationTests: XCTestCase {
    var root: String!
    var palette: Palette!
    static let colours: [[UInt8]] = [[90, 150, 230], [60, 170, 60], [150, 110, 60], [220, 40, 40]]

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "spadepaint-evaluation-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/data/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/data/labels", withIntermediateDirectories: true)
        let paletteText = """
            @name tiny
            0 #5A96E6 s sky
            1 #3CAA3C g grass
            2 #966E3C d dirt
            3 #DC2828 f flower
            """
        try paletteText.write(toFile: root + "/tiny.palette", atomically: true, encoding: .utf8)
        palette = try Palette.load(named: root + "/tiny.palette")
        // 12 pairs of 32×32: a horizon at a random height, grass or dirt below it, a flower blob, noise.
        var rng = RandomGenerator(seed: 77)
        for i in 0..<12 {
            let side = 32
            let horizon = 8 + Int(rng.next() % 14)
            let ground: UInt8 = rng.next() % 2 == 0 ? 1 : 2
            let (bx, by) = (4 + Int(rng.next() % 20), horizon + 2 + Int(rng.next() % UInt64(max(1, side - horizon - 8))))
            var labels = [UInt8](repeating: 0, count: side * side)
            var pixels = [UInt8](repeating: 0, count: side * side * 3)
            for y in 0..<side {
                for x in 0..<side {
                    var k: UInt8 = y < horizon ? 0 : ground
                    if y >= horizon && abs(x - bx) <= 3 && abs(y - by) <= 3 { k = 3 }
                    labels[y * side + x] = k
                    for c in 0..<3 {
                        let v = Float(Self.colours[Int(k)][c]) + 18 * rng.normal()
                        pixels[(y * side + x) * 3 + c] = UInt8(max(0, min(255, v)))
                    }
                }
            }
            let name = String(format: "%03d.png", i)
            try writePNG(RGBImage(width: side, height: side, pixels: pixels), to: root + "/data/images/" + name)
            try writeLabelPNG(LabelMap(width: side, height: side, labels: labels), to: root + "/data/labels/" + name, palette: nil)
        }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Trains a tiny segmenter at 16² on the set and saves it.
    func trainSegmenter() throws -> (SegmenterCheckpoint.Loaded, String, [Float]) {
        var options = SegmenterTrainingOptions()
        options.epochs = 12
        options.batchSize = 4
        options.size = 16
        options.widths = [8, 16]
        options.learningRate = 0.01
        var rng = RandomGenerator(seed: 3)
        let segmenter = try Segmenter(config: SegmenterConfig(classes: 4, widths: options.widths, inputSize: 16), rng: &rng)
        let dataset = try SegmentationData.dataset(root: root + "/data", palette: palette, size: 16, flip: true)
        let trainer = SegmenterTrainer(segmenter: segmenter, dataset: dataset, options: options)
        var losses: [Float] = []
        var epochsEnded = 0
        let finished = try trainer.run(progress: { losses.append($0.loss) }, endOfEpoch: { _ in epochsEnded += 1 })
        XCTAssertTrue(finished)
        XCTAssertEqual(epochsEnded, 12)
        XCTAssertEqual(losses.count, 12 * 3)
        let path = root + "/seg.safetensors"
        try SegmenterCheckpoint.save(segmenter, palette: palette.name, to: path)
        return (try SegmenterCheckpoint.load(path: path), path, losses)
    }

    func testTrainingLearnsAndBaselineAndGeneratorEvaluationsReportSaneNumbers() throws {
        let (segmenter, segPath, losses) = try trainSegmenter()
        XCTAssertLessThan(losses.suffix(3).reduce(0, +) / 3, losses.prefix(3).reduce(0, +) / 3 * 0.5,
                          "training loss must fall: \(losses)")

        // The mean-colour baseline: pictures of flat class colours.
        let baseline = try ModelEvaluation.run(data: root + "/data", method: .meanColourBaseline(size: 32), segmenter: segmenter,
                                               segmenterPath: segPath, palette: palette, count: nil)
        XCTAssertEqual(baseline.pairs, 12)
        XCTAssertGreaterThan(baseline.real.pixelAccuracy, 0.9, "the segmenter on its own training pictures")
        XCTAssertGreaterThan(baseline.real.meanIoU, 0.7)
        XCTAssertGreaterThan(baseline.generated.pixelAccuracy, 0.8, "flat class colours are easy to read")
        XCTAssertGreaterThan(baseline.segmenterFeatureFrechetDistance, 0, "noise-free pictures differ from the real ones")
        XCTAssertEqual(baseline.featureDimension, 24)
        XCTAssertNil(baseline.zSource)

        // A tiny random VAE generator: it paints nonsense, so it must score below the real pictures.
        var rng = RandomGenerator(seed: 5)
        let config = SPADEConfig(labelNC: 4, containDontcareLabel: false, noInstance: true, ngf: 2, zDim: 8, cropSize: 32,
                                 normG: "spectralspadesyncbatch3x3", useVAE: true, spadeHidden: 4)
        let generator = try SPADEGenerator(config: config, rng: &rng)
        let encoder = ConvEncoder(ndf: 2, zDim: 8, rng: &rng)
        Initialization.xavierNormal(encoder, rng: &rng)
        let modelPath = root + "/model.safetensors"
        try PaintingModel.save(generator: generator, encoder: encoder, palette: "tiny", to: modelPath)
        let model = try PaintingModel.load(path: modelPath)
        var progressCalls: [Int] = []
        let report = try ModelEvaluation.run(data: root + "/data", method: .generator(model, style: .encoderMean), segmenter: segmenter,
                                             segmenterPath: segPath, palette: palette, count: 10, batchSize: 4,
                                             progress: { done, _ in progressCalls.append(done) })
        XCTAssertEqual(report.pairs, 10)
        XCTAssertEqual(progressCalls, [4, 8, 10])
        XCTAssertEqual(report.checkpoint, modelPath)
        XCTAssertTrue(report.zSource?.contains("encoder") ?? false, "\(report.zSource ?? "nil")")
        for s in [report.real, report.generated] {
            XCTAssertTrue((0...1).contains(s.pixelAccuracy) && (0...1).contains(s.meanIoU), "\(s)")
        }
        XCTAssertLessThan(report.generated.meanIoU, report.real.meanIoU, "a random generator is below the upper bound")
        XCTAssertTrue(report.segmenterFeatureFrechetDistance.isFinite && report.segmenterFeatureFrechetDistance > 0)
        let text = report.text()
        XCTAssertTrue(text.contains("segmenter-feature Fréchet distance") && text.contains("not Inception FID"), text)
        XCTAssertTrue(text.contains("upper bound"), text)

        // The real pictures' scores do not depend on what paints the generated ones (first 10 pairs either way).
        let baseline10 = try ModelEvaluation.run(data: root + "/data", method: .meanColourBaseline(size: 32), segmenter: segmenter,
                                                 segmenterPath: segPath, palette: palette, count: 10)
        XCTAssertEqual(baseline10.real, report.real)

        // Random z is seeded: the same seed gives the same report.
        let r1 = try ModelEvaluation.run(data: root + "/data", method: .generator(model, style: .random(seed: 4)), segmenter: segmenter,
                                         segmenterPath: segPath, palette: palette, count: 4)
        let r2 = try ModelEvaluation.run(data: root + "/data", method: .generator(model, style: .random(seed: 4)), segmenter: segmenter,
                                         segmenterPath: segPath, palette: palette, count: 4)
        XCTAssertEqual(r1.generated, r2.generated)
        XCTAssertEqual(r1.segmenterFeatureFrechetDistance, r2.segmenterFeatureFrechetDistance)
        XCTAssertEqual(r1.zSource, "random N(0, I), seed 4")

        // Style-bank z: a bank of one code paints every map with that code, whatever the seed.
        let bank = StyleBank(codes: Tensor(shape: [1, 8], data: (0..<8).map { Float($0) / 8 - 0.4 }))
        let b1 = try ModelEvaluation.run(data: root + "/data", method: .generator(model, style: .bank(bank, seed: 1)), segmenter: segmenter,
                                         segmenterPath: segPath, palette: palette, count: 4)
        let b2 = try ModelEvaluation.run(data: root + "/data", method: .generator(model, style: .bank(bank, seed: 2)), segmenter: segmenter,
                                         segmenterPath: segPath, palette: palette, count: 4)
        XCTAssertEqual(b1.generated, b2.generated)
        XCTAssertEqual(b1.segmenterFeatureFrechetDistance, b2.segmenterFeatureFrechetDistance)
        XCTAssertEqual(b1.zSource, "random blends of 1 style-bank codes, seed 1")

        // The JSON report carries the named distance.
        let json = String(decoding: try ModelEvaluation.json(report), as: UTF8.self)
        XCTAssertTrue(json.contains("\"segmenter_feature_frechet_distance\""), json)
        XCTAssertTrue(json.contains("\"mean_iou\""), json)
    }

    func testMismatchesAreClearErrors() throws {
        var rng = RandomGenerator(seed: 1)
        let segmenter = try Segmenter(config: SegmenterConfig(classes: 4, widths: [4, 4], inputSize: 16), rng: &rng)
        let segPath = root + "/seg.safetensors"
        try SegmenterCheckpoint.save(segmenter, palette: "tiny", to: segPath)
        let loaded = try SegmenterCheckpoint.load(path: segPath)

        // A generator with 5 classes against a 4-class segmenter.
        let config = SPADEConfig(labelNC: 5, containDontcareLabel: false, noInstance: true, ngf: 2, cropSize: 32, spadeHidden: 4)
        let modelPath = root + "/model5.safetensors"
        try PaintingModel.save(generator: try SPADEGenerator(config: config, rng: &rng), encoder: nil, palette: "tiny", to: modelPath)
        XCTAssertThrowsError(try ModelEvaluation.run(data: root + "/data", method: .generator(try PaintingModel.load(path: modelPath), style: .encoderMean),
                                                     segmenter: loaded, segmenterPath: segPath, palette: palette, count: nil)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(modelPath) && text.contains("5 classes") && text.contains("has 4"), text)
        }

        // A segmenter whose class count differs from the palette's.
        let landscape = try Palette(parsing: "0 #000000 a one\n1 #FFFFFF b two\n2 #FF0000 c three", source: "three.palette")
        XCTAssertThrowsError(try ModelEvaluation.run(data: root + "/data", method: .meanColourBaseline(size: 32), segmenter: loaded,
                                                     segmenterPath: segPath, palette: landscape, count: nil)) { error in
            XCTAssertTrue("\(error)".contains("4 classes") && "\(error)".contains("has 3"), "\(error)")
        }

        // More pairs asked for than the folder has; a folder without pairs.
        XCTAssertThrowsError(try ModelEvaluation.run(data: root + "/data", method: .meanColourBaseline(size: 32), segmenter: loaded,
                                                     segmenterPath: segPath, palette: palette, count: 50)) { error in
            XCTAssertTrue("\(error)".contains("only 12 pairs"), "\(error)")
        }
        XCTAssertThrowsError(try ModelEvaluation.run(data: root + "/nowhere", method: .meanColourBaseline(size: 32), segmenter: loaded,
                                                     segmenterPath: segPath, palette: palette, count: nil)) { error in
            XCTAssertTrue("\(error)".contains("nowhere"), "\(error)")
        }

        // A label value outside the classes names the file.
        try writeLabelPNG(LabelMap(width: 32, height: 32, fill: 9), to: root + "/data/labels/000.png", palette: nil)
        XCTAssertThrowsError(try ModelEvaluation.run(data: root + "/data", method: .meanColourBaseline(size: 32), segmenter: loaded,
                                                     segmenterPath: segPath, palette: palette, count: nil)) { error in
            XCTAssertTrue("\(error)".contains("000.png") && "\(error)".contains("9"), "\(error)")
        }
    }

    func testLearningRateFollowsAHalfCosine() {
        let options = SegmenterTrainingOptions()
        XCTAssertEqual(options.rate(step: 0, totalSteps: 101), options.learningRate, accuracy: 1e-12)
        XCTAssertEqual(options.rate(step: 50, totalSteps: 101), options.learningRate * 0.51, accuracy: 1e-9)
        XCTAssertEqual(options.rate(step: 100, totalSteps: 101), options.learningRate * 0.02, accuracy: 1e-12)
    }
}
