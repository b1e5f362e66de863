import Foundation
import SpadeImaging
import SpadeModel
import XCTest
@testable import SpadeTrainer

/// Trains tiny models for a few steps on a generated dataset: the run writes what it promises and a
/// resumed run ends bit-identical to an uninterrupted one.
final class TrainingRunTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "spadepaint-train-\(UUID().uuidString)"
        let data = (root as NSString).appendingPathComponent("data")
        for sub in ["images", "labels"] {
            try FileManager.default.createDirectory(atPath: "\(data)/\(sub)", withIntermediateDirectories: true)
        }
        // Six 40×40 pairs: three classes in bands whose position varies, photo colour per class plus noise.
        var rng = RandomGenerator(seed: 9)
        let colours: [[Float]] = [[90, 150, 230], [120, 110, 100], [60, 160, 60]]
        for k in 0..<6 {
            var labels = LabelMap(width: 40, height: 40)
            var photo = RGBImage(width: 40, height: 40)
            for y in 0..<40 { for x in 0..<40 {
                let c: UInt8 = y < 12 + 2 * k ? 0 : (x < 20 + k ? 1 : 2)
                labels.labels[y * 40 + x] = c
                for ch in 0..<3 {
                    photo.pixels[3 * (y * 40 + x) + ch] = UInt8(max(0, min(255, colours[Int(c)][ch] + 20 * rng.normal())))
                }
            }}
            try writePNG(photo, to: "\(data)/images/p\(k).png")
            try writeLabelPNG(labels, to: "\(data)/labels/p\(k).png", palette: nil)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func settings(vae: Bool) -> TrainingSettings {
        var model = SPADEConfig(labelNC: 3, containDontcareLabel: false, noInstance: true, ngf: 4, zDim: 8, cropSize: 32)
        model.useVAE = vae
        model.spadeHidden = 8
        var s = TrainingSettings(dataDirectory: (root as NSString).appendingPathComponent("data"), model: model, loadSize: 36)
        s.batchSize = 2
        s.ndf = 4
        s.discriminatorLayers = 2
        s.vggLoss = false
        s.logEvery = 1
        s.sampleEvery = 2
        s.checkpointEvery = 2
        s.seed = 5
        return s
    }

    func quiet(_ line: String) {}

    /// A run started in `root/name` and trained to its `maxSteps`.
    func finishedRun(_ s: TrainingSettings, named name: String) throws -> TrainingRun {
        let run = try TrainingRun.start(s, in: (root as NSString).appendingPathComponent(name), report: quiet)
        try run.run(quiet: true, report: quiet)
        return run
    }

    func testTinyModelTrainsAndWritesCheckpointSamplesAndLosses() throws {
        var s = settings(vae: false)
        s.maxSteps = 4
        let dir = (root as NSString).appendingPathComponent("run")
        let run = try TrainingRun.start(s, in: dir, report: quiet)
        XCTAssertEqual(try run.run(quiet: true, report: quiet), .finished)
        XCTAssertEqual(run.step, 4)
        for file in ["settings.json", "checkpoint.safetensors", "model.safetensors", "losses.csv", "losses.png",
                     "samples/latest.png", "samples/step_0000002.png", "samples/step_0000004.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/\(file)"), "missing \(file)")
        }
        let csv = try String(contentsOfFile: "\(dir)/losses.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "step,GAN,GAN_Feat,D_Fake,D_real")
        XCTAssertEqual(csv.count, 5)
        for row in csv.dropFirst() { for v in row.split(separator: ",").dropFirst() { XCTAssertTrue(Float(v)!.isFinite) } }
        let grid = try readRGB("\(dir)/samples/latest.png")
        XCTAssertEqual(grid.width, 3 * 34 + 2)
        // The painting model loads on its own and reproduces the trained generator.
        let model = try PaintingModel.load(path: run.modelPath)
        XCTAssertEqual(model.generator.config, s.model)
        XCTAssertNil(model.encoder)
        for (a, b) in zip(model.generator.parameters, run.training.generator.parameters) { XCTAssertEqual(a.value, b.value) }
        // A second start in the same directory is refused: nothing gets overwritten.
        XCTAssertThrowsError(try TrainingRun.start(s, in: dir, report: quiet)) { XCTAssertTrue("\($0)".contains("already holds a run")) }
    }

    func testResumedRunIsBitIdenticalToUninterruptedRun() throws {
        var s = settings(vae: true)
        s.maxSteps = 6
        let straight = try finishedRun(s, named: "straight")

        s.maxSteps = 3
        let splitDir = (root as NSString).appendingPathComponent("split")
        try TrainingRun.start(s, in: splitDir, report: quiet).run(quiet: true, report: quiet)
        let resumed = try TrainingRun.resume(splitDir, report: quiet, maxSteps: 6)
        XCTAssertEqual(resumed.step, 3)
        try resumed.run(quiet: true, report: quiet)
        XCTAssertEqual(resumed.step, 6)

        let a = straight.training.checkpointParts.flatMap { part in part.module.stateEntries().map { (part.prefix + $0.0, $0.1.tensor) } }
        let b = resumed.training.checkpointParts.flatMap { part in part.module.stateEntries().map { (part.prefix + $0.0, $0.1.tensor) } }
        XCTAssertEqual(a.map(\.0), b.map(\.0))
        XCTAssertGreaterThan(a.count, 50)
        for (x, y) in zip(a, b) { XCTAssertEqual(x.1, y.1, "\(x.0) differs after resume") }
        XCTAssertNotNil(try PaintingModel.load(path: resumed.modelPath).encoder)
        let straightLosses = try String(contentsOfFile: "\(straight.directory)/losses.csv", encoding: .utf8)
        let resumedLosses = try String(contentsOfFile: "\(splitDir)/losses.csv", encoding: .utf8)
        XCTAssertEqual(straightLosses, resumedLosses)
    }

    /// --lambda-seg: the judge is named in the settings and reloaded on resume, so a resumed run still ends
    /// bit-identical; its loss is logged as Seg; a judge that cannot label the model's classes is refused
    /// with its file named.
    func testSemanticTermLogsResumesExactlyAndRefusesAJudgeThatDoesNotFit() throws {
        func saveJudge(classes: Int, named name: String) throws -> String {
            var rng = RandomGenerator(seed: 8)
            let judge = try Segmenter(config: SegmenterConfig(classes: classes, widths: [4, 8], inputSize: 16), rng: &rng)
            let path = (root as NSString).appendingPathComponent(name)
            try SegmenterCheckpoint.save(judge, palette: nil, to: path)
            return path
        }
        var s = settings(vae: true)
        s.segmentationJudge = try saveJudge(classes: 3, named: "judge.safetensors")
        s.lambdaSegmentation = 2
        s.maxSteps = 4
        let straight = try finishedRun(s, named: "straight")
        let csv = try String(contentsOfFile: "\(straight.directory)/losses.csv", encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("step,GAN,GAN_Feat,KLD,Seg,D_Fake,D_real\n"), csv)
        s.maxSteps = 2
        let splitDir = (root as NSString).appendingPathComponent("split")
        try TrainingRun.start(s, in: splitDir, report: quiet).run(quiet: true, report: quiet)
        let resumed = try TrainingRun.resume(splitDir, report: quiet, maxSteps: 4)
        try resumed.run(quiet: true, report: quiet)
        for (x, y) in zip(straight.training.generator.parameters, resumed.training.generator.parameters) { XCTAssertEqual(x.value, y.value) }
        XCTAssertEqual(csv, try String(contentsOfFile: "\(splitDir)/losses.csv", encoding: .utf8))

        s.segmentationJudge = try saveJudge(classes: 5, named: "judge5.safetensors")
        XCTAssertThrowsError(try TrainingRun.start(s, in: (root as NSString).appendingPathComponent("bad"), report: quiet)) {
            XCTAssertTrue("\($0)".contains("judge5.safetensors") && "\($0)".contains("5 classes"), "\($0)")
        }
    }

    /// With --ema-decay the painting model is the averaged weights; the average survives a resume exactly,
    /// and a run can start averaging when it is resumed.
    func testWeightAverageIsThePaintingModelAndResumesExactly() throws {
        var s = settings(vae: true)
        s.weightAverageDecay = 0.8
        s.maxSteps = 4
        let straight = try finishedRun(s, named: "straight")
        let model = try PaintingModel.load(path: straight.modelPath)
        let averaged = straight.training.withAveragedWeights { straight.training.generator.parameters.map(\.value) }
        XCTAssertEqual(model.generator.parameters.map(\.value), averaged)
        XCTAssertNotEqual(model.generator.parameters.map(\.value), straight.training.generator.parameters.map(\.value))
        let averagedEncoder = straight.training.withAveragedWeights { straight.training.encoder!.parameters.map(\.value) }
        XCTAssertEqual(model.encoder!.parameters.map(\.value), averagedEncoder)

        s.maxSteps = 2
        let splitDir = (root as NSString).appendingPathComponent("split")
        try TrainingRun.start(s, in: splitDir, report: quiet).run(quiet: true, report: quiet)
        let resumed = try TrainingRun.resume(splitDir, report: quiet, maxSteps: 4)
        try resumed.run(quiet: true, report: quiet)
        let a = straight.training.checkpointParts.flatMap { part in part.module.stateEntries().map { (part.prefix + $0.0, $0.1.tensor) } }
        let b = resumed.training.checkpointParts.flatMap { part in part.module.stateEntries().map { (part.prefix + $0.0, $0.1.tensor) } }
        XCTAssertEqual(a.map(\.0), b.map(\.0))
        XCTAssertTrue(a.contains { $0.0.hasPrefix("ema_netE.") })
        for (x, y) in zip(a, b) { XCTAssertEqual(x.1, y.1, "\(x.0) differs after resume") }

        // A run without an average gets one on resume, starting at the weights it resumes with.
        var plain = settings(vae: true)
        plain.maxSteps = 2
        let plainDir = (root as NSString).appendingPathComponent("plain")
        try TrainingRun.start(plain, in: plainDir, report: quiet).run(quiet: true, report: quiet)
        var lines: [String] = []
        let averaging = try TrainingRun.resume(plainDir, report: { lines.append($0) }, maxSteps: 3, weightAverageDecay: 0.5)
        XCTAssertTrue(lines.contains { $0.contains("weight average (decay 0.5) starts here") }, "\(lines)")
        let live = averaging.training.generator.parameters.map(\.value)
        XCTAssertEqual(averaging.training.withAveragedWeights { averaging.training.generator.parameters.map(\.value) }, live)
        try averaging.run(quiet: true, report: quiet)
        XCTAssertEqual(try TrainingSettings.load(from: "\(plainDir)/settings.json").weightAverageDecay, 0.5)
        XCTAssertNotEqual(try PaintingModel.load(path: averaging.modelPath).generator.parameters.map(\.value),
                          averaging.training.generator.parameters.map(\.value))
    }

    /// `--resume RUN --niter N --niter-decay M` changes the schedule from the resumed epoch on and keeps it
    /// in settings.json, so later resumes follow it too.
    func testResumeCanChangeTheLearningRateSchedule() throws {
        var s = settings(vae: false)
        s.maxSteps = 3   // one epoch: six pairs at batch 2
        let dir = (root as NSString).appendingPathComponent("decay")
        try TrainingRun.start(s, in: dir, report: quiet).run(quiet: true, report: quiet)
        var lines: [String] = []
        let resumed = try TrainingRun.resume(dir, report: { lines.append($0) }, maxSteps: 5, niter: 0, niterDecay: 2)
        XCTAssertTrue(lines.contains { $0.contains("schedule: 0 epoch(s) at the base rate, then 2 of linear decay (was 50 and 0)") }, "\(lines)")
        try resumed.run(quiet: true, report: quiet)
        // Epoch 2 (1-based) of a 0 + 2 schedule runs at half the base rate; TTUR gives G half of that, D twice.
        XCTAssertEqual(resumed.training.optimizerG.learningRate, s.learningRate / 4, accuracy: 1e-12)
        XCTAssertEqual(resumed.training.optimizerD.learningRate, s.learningRate, accuracy: 1e-12)
        let saved = try TrainingSettings.load(from: "\(dir)/settings.json")
        XCTAssertEqual([saved.niter, saved.niterDecay, saved.maxSteps], [0, 2, 5])
    }

    /// `--init-discriminator`: a fine-tuning run starts D from another run's checkpoint (its `netD.` tensors;
    /// the file's other networks are left alone), and a D of another shape is refused by name.
    func testFineTuningCanStartTheDiscriminatorFromACheckpoint() throws {
        var s = settings(vae: false)
        s.maxSteps = 2
        let first = try finishedRun(s, named: "first")
        s.initialWeights = first.modelPath
        s.initialDiscriminator = first.checkpointPath
        s.seed = 42
        var lines: [String] = []
        let tuned = try TrainingRun.start(s, in: (root as NSString).appendingPathComponent("tuned"), report: { lines.append($0) })
        XCTAssertEqual(tuned.training.discriminator.parameters.map(\.value), first.training.discriminator.parameters.map(\.value))
        XCTAssertTrue(lines.contains { $0.contains("discriminator from \(first.checkpointPath); optimizers start fresh") }, "\(lines)")
        // Without it, D starts from this run's own random initialisation.
        s.initialDiscriminator = nil
        let fresh = try TrainingRun.start(s, in: (root as NSString).appendingPathComponent("fresh"), report: quiet)
        XCTAssertNotEqual(fresh.training.discriminator.parameters.map(\.value), first.training.discriminator.parameters.map(\.value))

        s.initialDiscriminator = first.checkpointPath
        s.ndf = 6
        XCTAssertThrowsError(try TrainingRun.start(s, in: (root as NSString).appendingPathComponent("wide"), report: quiet)) { error in
            XCTAssertTrue("\(error)".contains(first.checkpointPath) && "\(error)".contains("netD."), "\(error)")
        }
    }

    func testFineTuningStartsFromAPaintingModelsGeneratorAndEncoder() throws {
        var s = settings(vae: true)
        s.maxSteps = 2
        let first = try finishedRun(s, named: "first")

        // Before any step, the fine-tuning run holds exactly the model's generator and encoder.
        s.initialWeights = first.modelPath
        s.seed = 99
        s.weightAverageDecay = 0.9
        let tuned = try TrainingRun.start(s, in: (root as NSString).appendingPathComponent("tuned"), report: quiet)
        let model = try PaintingModel.load(path: first.modelPath)
        for (a, b) in zip(model.generator.parameters, tuned.training.generator.parameters) { XCTAssertEqual(a.value, b.value) }
        for (a, b) in zip(model.encoder!.parameters, tuned.training.encoder!.parameters) { XCTAssertEqual(a.value, b.value) }
        // ... and so does its weight average, not the random weights the networks were built with.
        let averaged = tuned.training.withAveragedWeights { tuned.training.generator.parameters.map(\.value) }
        XCTAssertEqual(averaged, model.generator.parameters.map(\.value))
        try tuned.run(quiet: true, report: quiet)
        XCTAssertEqual(tuned.step, 2)

        // A model of another configuration is refused, naming the file, before the run directory is made.
        var other = settings(vae: true)
        other.model.ngf = 8
        other.initialWeights = first.modelPath
        let otherDir = (root as NSString).appendingPathComponent("other")
        XCTAssertThrowsError(try TrainingRun.start(other, in: otherDir, report: quiet)) {
            XCTAssertTrue("\($0)".contains(first.modelPath) && "\($0)".contains("differs"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: otherDir))

        // Another encoder norm: the generator starts from the model, the encoder fresh (it cannot take those
        // weights), and the finished run saves that encoder under its own names.
        var nonorm = s
        nonorm.model.normE = "spectralnone"
        var lines: [String] = []
        let switched = try TrainingRun.start(nonorm, in: (root as NSString).appendingPathComponent("nonorm"), report: { lines.append($0) })
        for (a, b) in zip(model.generator.parameters, switched.training.generator.parameters) { XCTAssertEqual(a.value, b.value) }
        XCTAssertEqual(switched.training.encoder?.norm, ConvEncoder.Norm.none)
        XCTAssertTrue(lines.contains { $0.contains("style encoder (norm_E spectralnone") && $0.contains("start fresh") }, lines.joined(separator: "\n"))
        try switched.run(quiet: true, report: quiet)
        XCTAssertEqual(try PaintingModel.load(path: switched.modelPath).encoder?.norm, ConvEncoder.Norm.none)
    }

    func testBadDatasetIsReportedBeforeTraining() throws {
        let data = (root as NSString).appendingPathComponent("data")
        try writeLabelPNG(LabelMap(width: 40, height: 40, fill: 7), to: "\(data)/labels/p0.png", palette: nil)
        var lines: [String] = []
        XCTAssertThrowsError(try TrainingRun.start(settings(vae: false), in: root + "/bad", report: { lines.append($0) })) {
            XCTAssertTrue("\($0)".contains("1 problem(s)"), "\($0)")
        }
        XCTAssertTrue(lines.contains { $0.contains("labels/p0.png: label value 7") }, lines.joined(separator: "\n"))
        var skipping = settings(vae: false)
        skipping.skipBad = true
        skipping.maxSteps = 1
        let run = try TrainingRun.start(skipping, in: root + "/skip", report: quiet)
        XCTAssertEqual(run.dataset.count, 5)
    }

    func testInterruptionSavesACheckpointAndStops() throws {
        var s = settings(vae: false)
        s.maxSteps = 100
        let dir = (root as NSString).appendingPathComponent("stop")
        let run = try TrainingRun.start(s, in: dir, report: quiet)
        let flag = InterruptionFlag(signals: [SIGUSR1])
        flag.receive(SIGUSR1)
        XCTAssertEqual(try run.run(quiet: true, interruption: flag, report: quiet), .interrupted(signal: SIGUSR1))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/checkpoint.safetensors"))
        XCTAssertEqual(try TrainingRun.resume(dir, report: quiet).step, run.step)
    }
}
