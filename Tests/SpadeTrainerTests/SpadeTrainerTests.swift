import Foundation
import SpadeImaging
import SpadeModel
import XCTest
@testable import SpadeTrainer

/// Builds small dataset trees on disk in each supported layout.
final class DatasetLayoutTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "spadepaint-datasets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func path(_ relative: String) throws -> String {
        let p = (root as NSString).appendingPathComponent(relative)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return p
    }

    func photo(_ w: Int, _ h: Int, seed: UInt8 = 0) -> RGBImage {
        RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) })
    }

    func labels(_ w: Int, _ h: Int, values: [UInt8]) -> LabelMap {
        LabelMap(width: w, height: h, labels: (0..<(w * h)).map { values[$0 % values.count] })
    }

    let encoding = SPADEConfig(labelNC: 4, containDontcareLabel: true, noInstance: true)
    let geometry = Preprocessing(mode: .resizeAndCrop, loadSize: 20, cropSize: 16)

    func testPairsLayoutReportsEveryProblemWithFileNames() throws {
        try writePNG(photo(24, 24), to: try path("images/good.png"))
        try writeLabelPNG(labels(24, 24, values: [0, 1, 2, 3, 255]), to: try path("labels/good.png"), palette: nil)
        try writePNG(photo(24, 24), to: try path("images/orphan.png"))
        try writeLabelPNG(labels(24, 24, values: [0]), to: try path("labels/lonely.png"), palette: nil)
        try writePNG(photo(24, 24), to: try path("images/small.png"))
        try writeLabelPNG(labels(12, 24, values: [0]), to: try path("labels/small.png"), palette: nil)
        try writePNG(photo(24, 24), to: try path("images/range.png"))
        try writeLabelPNG(labels(24, 24, values: [0, 9]), to: try path("labels/range.png"), palette: nil)
        try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).write(to: URL(fileURLWithPath: try path("images/broken.png")))
        try writeLabelPNG(labels(24, 24, values: [0]), to: try path("labels/broken.png"), palette: nil)

        let data = try PairedDataset(root: root, config: encoding, preprocessing: geometry, palette: nil)
        XCTAssertEqual(data.format, .pairs)
        XCTAssertEqual(data.count, 6)
        let problems = data.validate()
        let text = problems.map(\.description).joined(separator: "\n")
        XCTAssertEqual(Set(problems.map(\.pair)), ["orphan", "lonely", "small", "range", "broken"], text)
        XCTAssertTrue(text.contains("images/orphan.png: photo has no label map"), text)
        XCTAssertTrue(text.contains("labels/lonely.png: label map has no photo"), text)
        XCTAssertTrue(text.contains("labels/small.png: label map is 12×24 but its photo is 24×24"), text)
        XCTAssertTrue(text.contains("labels/range.png: label value 9"), text)
        XCTAssertTrue(text.contains("images/broken.png: unreadable photo"), text)
        data.removePairs(with: problems)
        XCTAssertEqual(data.pairs.map(\.name), ["good"])
        XCTAssertTrue(data.validate().isEmpty)
    }

    func testADE20KLayoutKeepsRawValues() throws {
        try writeJPEG(photo(20, 20), to: try path("ADEChallengeData2016/images/training/ADE_train_1.jpg"))
        try writeLabelPNG(labels(20, 20, values: [0, 150, 7]), to: try path("ADEChallengeData2016/annotations/training/ADE_train_1.png"), palette: nil)
        try writeJPEG(photo(20, 20), to: try path("ADEChallengeData2016/images/validation/ADE_val_1.jpg"))
        try writeLabelPNG(labels(20, 20, values: [3]), to: try path("ADEChallengeData2016/annotations/validation/ADE_val_1.png"), palette: nil)
        let ade = SPADEConfig.ade20k
        let data = try PairedDataset(root: root, config: ade, preprocessing: geometry, palette: nil)
        XCTAssertEqual(data.format, .ade20k)
        XCTAssertEqual(data.pairs.map(\.name), ["ADE_train_1"])
        XCTAssertTrue(data.validate().isEmpty)
        let val = try PairedDataset(root: root, split: "val", config: ade, preprocessing: geometry, palette: nil)
        XCTAssertEqual(val.pairs.map(\.name), ["ADE_val_1"])
        // Raw value 150 is a valid channel (no shift), as the reference feeds ADE20K.
        XCTAssertTrue(ade.accepts(label: 150))
        XCTAssertFalse(ade.accepts(label: 151))
        XCTAssertEqual(ade.semanticNC, 151)
    }

    func testCityscapesLayoutWithInstanceEdges() throws {
        try writePNG(photo(16, 8), to: try path("leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png"))
        try writeLabelPNG(labels(16, 8, values: [7]), to: try path("gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png"), palette: nil)
        var ids = LabelMap(width: 16, height: 8, fill: 1)
        for y in 0..<8 { for x in 8..<16 { ids.labels[y * 16 + x] = 2 } }
        try writeLabelPNG(ids, to: try path("gtFine/train/aachen/aachen_000000_000019_gtFine_instanceIds.png"), palette: nil)
        let city = SPADEConfig.cityscapes
        let data = try PairedDataset(root: root, config: city, preprocessing: Preprocessing(mode: .fixed, loadSize: 16, cropSize: 16, aspectRatio: 2, flip: false), palette: nil)
        XCTAssertEqual(data.format, .cityscapes)
        XCTAssertNotNil(data.pairs.first?.instance)
        XCTAssertTrue(data.validate().isEmpty)
        let loader = BatchLoader(dataset: data, batchSize: 1, seed: 3, training: false)
        let batch = try loader.next()
        XCTAssertEqual(batch.semantics.shape, [1, 36, 8, 16])
        let plane = 8 * 16
        let edges = Array(batch.semantics.data[(35 * plane)..<(36 * plane)])
        for y in 0..<8 { for x in 0..<16 {
            XCTAssertEqual(edges[y * 16 + x], (x == 7 || x == 8) ? 1 : 0, "edge at \(x),\(y)")
        }}
        XCTAssertEqual(batch.semantics.data[7 * plane], 1, "label 7 is one-hot in channel 7")
    }

    func testCOCOStuffLayoutMapsUnlabelledToDontcare() throws {
        try writeJPEG(photo(16, 16), to: try path("train2017/000000000009.jpg"))
        try writeLabelPNG(labels(16, 16, values: [255, 181, 0]), to: try path("stuffthingmaps_trainval2017/train2017/000000000009.png"), palette: nil)
        let coco = SPADEConfig.cocoStuff
        let data = try PairedDataset(root: root, config: coco, preprocessing: Preprocessing(mode: .resizeAndCrop, loadSize: 16, cropSize: 16, flip: false), palette: nil)
        XCTAssertEqual(data.format, .cocostuff)
        XCTAssertTrue(data.validate().isEmpty)
        let batch = try BatchLoader(dataset: data, batchSize: 1, seed: 1, training: false).next()
        XCTAssertEqual(batch.semantics.shape, [1, 184, 16, 16])
        XCTAssertEqual(batch.semantics.data[182 * 256 + 0], 1, "255 goes to the dontcare channel 182")
        XCTAssertEqual(batch.semantics.data[181 * 256 + 1], 1)
    }

    func testUnknownLayoutAndMissingDirectoryAreClearErrors() throws {
        XCTAssertThrowsError(try DatasetLayout.discover(root + "/nope")) { XCTAssertTrue("\($0)".contains("no such dataset directory")) }
        XCTAssertThrowsError(try DatasetLayout.discover(root)) { XCTAssertTrue("\($0)".contains("unknown dataset layout")) }
    }

    func makePairs(_ n: Int) throws -> PairedDataset {
        for i in 0..<n {
            try writePNG(photo(20, 20, seed: UInt8(i)), to: try path("images/p\(i).png"))
            try writeLabelPNG(labels(20, 20, values: [UInt8(i % 4), 1]), to: try path("labels/p\(i).png"), palette: nil)
        }
        return try PairedDataset(root: root, config: encoding, preprocessing: geometry, palette: nil)
    }

    func testLoaderIsDeterministicAndResumable() throws {
        let data = try makePairs(6)
        let a = BatchLoader(dataset: data, batchSize: 2, seed: 42)
        var straight: [TrainingBatch] = []
        for _ in 0..<7 { straight.append(try a.next()) }
        XCTAssertEqual(a.iterationsPerEpoch, 3)
        XCTAssertEqual(straight.map { "\($0.epoch).\($0.iteration)" }, ["0.0", "0.1", "0.2", "1.0", "1.1", "1.2", "2.0"])
        XCTAssertNotEqual(straight[0].names + straight[1].names + straight[2].names,
                          straight[3].names + straight[4].names + straight[5].names, "epochs are reshuffled")
        let resumed = BatchLoader(dataset: data, batchSize: 2, seed: 42, start: LoaderPosition(epoch: 1, iteration: 1))
        for k in 4..<7 {
            let b = try resumed.next()
            XCTAssertEqual(b.names, straight[k].names)
            XCTAssertEqual(b.images, straight[k].images)
            XCTAssertEqual(b.semantics, straight[k].semantics)
        }
        // Images are in [-1, 1], labels one-hot.
        let batch = straight[0]
        XCTAssertLessThanOrEqual(batch.images.data.max()!, 1)
        XCTAssertGreaterThanOrEqual(batch.images.data.min()!, -1)
        let plane = 16 * 16
        for i in 0..<plane {
            let sum = (0..<encoding.semanticNC).reduce(Float(0)) { $0 + batch.semantics.data[$1 * plane + i] }
            XCTAssertEqual(sum, 1)
        }
    }

    func testCropAndFlipMoveLabelsAndPhotoTogether() {
        let g = Preprocessing(mode: .resizeAndCrop, loadSize: 4, cropSize: 2)
        let plane = Tensor(shape: [1, 4, 4], data: (0..<16).map(Float.init))
        let out = g.cropAndFlip(plane, choice: .init(cropX: 1, cropY: 2, flipped: true))
        XCTAssertEqual(out.data, [10, 9, 14, 13])
    }
}

final class RunArtifactsTests: XCTestCase {
    func testLossLogKeepsRowsUpToResumedStepAndPlots() throws {
        let dir = NSTemporaryDirectory() + "spadepaint-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var log = LossLog(runDirectory: dir)
        for step in 1...5 { try log.append(step: step * 10, losses: [("G_GAN", Float(step)), ("D_real", 0.5)]) }
        try log.plot()
        XCTAssertTrue(FileManager.default.fileExists(atPath: log.plotPath))
        var resumed = LossLog(runDirectory: dir)
        try resumed.load(upTo: 30)
        XCTAssertEqual(resumed.rows.map(\.step), [10, 20, 30])
        let text = try String(contentsOfFile: log.csvPath, encoding: .utf8)
        XCTAssertEqual(text, "step,G_GAN,D_real\n10,1.0,0.5\n20,2.0,0.5\n30,3.0,0.5\n")
        let plot = try readRGB(log.plotPath)
        XCTAssertGreaterThan(plot.width, 300)
    }

    func testSampleGridHasThreeColumnsPerExample() {
        let real = Tensor(shape: [2, 3, 4, 4], repeating: 1)
        let fake = Tensor(shape: [2, 3, 4, 4], repeating: -1)
        let grid = SampleGrid.make(labels: [[UInt8](repeating: 0, count: 16), [UInt8](repeating: 1, count: 16)],
                                   real: real, generated: fake, palette: nil)
        XCTAssertEqual(grid.width, 3 * 6 + 2)
        XCTAssertEqual(grid.height, 2 * 6 + 2)
        // Real (white) in column 2, generated (black) in column 3.
        let px = { (x: Int, y: Int) in Array(grid.pixels[(3 * (y * grid.width + x))..<(3 * (y * grid.width + x) + 3)]) }
        XCTAssertEqual(px(2 + 6 + 1, 3), [255, 255, 255])
        XCTAssertEqual(px(2 + 12 + 1, 3), [0, 0, 0])
    }
}
