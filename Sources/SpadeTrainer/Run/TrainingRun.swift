import Foundation
import SpadeImaging
import SpadeModel

/// A training run in a directory: builds or restores the networks, streams batches, runs the reference
/// iteration, and leaves results to look at. Layout of the run directory:
///
///     settings.json              what the run is (model, data, schedule); `--resume` reads it
///     checkpoint.safetensors     G, D, (E), both optimizers, and in the metadata the step, data position
///                                and RNG state: enough to continue bit-for-bit
///     model.safetensors          the painting model: G (reference names) + E under `netE.` (VAE models);
///                                with --ema-decay the averaged weights (the checkpoint keeps both)
///     samples/step_NNNNNNN.png   label colours | real | generated on a fixed batch; samples/latest.png
///     losses.csv, losses.png     loss terms over steps
public final class TrainingRun {
    public let directory: String
    public let settings: TrainingSettings
    public let dataset: PairedDataset
    public let training: SPADETraining
    public let palette: Palette?
    public private(set) var step = 0
    public private(set) var position = LoaderPosition(epoch: 0, iteration: 0)
    var rng: RandomGenerator
    var lossLog: LossLog

    public static let settingsFile = "settings.json"
    public static let checkpointFile = "checkpoint.safetensors"
    public static let modelFile = "model.safetensors"

    var checkpointPath: String { path(Self.checkpointFile) }
    public var modelPath: String { path(Self.modelFile) }
    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Starts a new run in `directory` (created; refused if it already holds a run, so nothing is overwritten).
    public static func start(_ settings: TrainingSettings, in directory: String, report: (String) -> Void) throws -> TrainingRun {
        let settingsPath = (directory as NSString).appendingPathComponent(settingsFile)
        if FileManager.default.fileExists(atPath: settingsPath) {
            throw TrainingError("\(directory) already holds a run; continue it with --resume \(directory) or choose another --run")
        }
        if let initial = settings.initialWeights {
            // Before the dataset check (minutes on a large set) and before anything is created on disk.
            try checkInitialWeights(initial, fit: settings.model)
        }
        do {
            try FileManager.default.createDirectory(atPath: (directory as NSString).appendingPathComponent("samples"),
                                                    withIntermediateDirectories: true)
        } catch {
            throw TrainingError("\(directory): cannot create the run directory: \(error.localizedDescription)")
        }
        let run = try TrainingRun(settings: settings, directory: directory, checkpoint: nil, report: report)
        try settings.save(to: settingsPath)
        return run
    }

    /// Continues the run in `directory` from its last checkpoint.
    /// `maxSteps` extends (or shortens) a time-boxed run.
    /// `weightAverageDecay` starts (or re-tunes) the weight average from the resumed step on.
    /// `niter` / `niterDecay` change the learning-rate schedule from the resumed epoch on (e.g. to let a
    /// constant-rate run decay to 0 over its last epochs).
    public static func resume(_ directory: String, report: (String) -> Void, maxSteps: Int? = nil,
                              weightAverageDecay: Float? = nil, niter: Int? = nil, niterDecay: Int? = nil) throws -> TrainingRun {
        let settingsPath = (directory as NSString).appendingPathComponent(settingsFile)
        var settings = try TrainingSettings.load(from: settingsPath)
        let before = settings
        settings.maxSteps = maxSteps ?? settings.maxSteps
        settings.weightAverageDecay = weightAverageDecay ?? settings.weightAverageDecay
        settings.niter = niter ?? settings.niter
        settings.niterDecay = niterDecay ?? settings.niterDecay
        if settings.niter != before.niter || settings.niterDecay != before.niterDecay {
            report("schedule: \(settings.niter) epoch(s) at the base rate, then \(settings.niterDecay) of linear decay "
                   + "(was \(before.niter) and \(before.niterDecay))")
        }
        if settings != before { try settings.save(to: settingsPath) }
        let checkpoint = (directory as NSString).appendingPathComponent(checkpointFile)
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw TrainingError("\(directory): no \(checkpointFile) to resume from (the run stopped before its first checkpoint)")
        }
        return try TrainingRun(settings: settings, directory: directory, checkpoint: checkpoint, report: report)
    }

    init(settings: TrainingSettings, directory: String, checkpoint: String?, report: (String) -> Void) throws {
        self.settings = settings
        self.directory = directory
        palette = try settings.palette.map { try Palette.load(named: $0) }
        guard let format = DatasetFormat(rawValue: settings.format) else {
            throw TrainingError("unknown dataset format '\(settings.format)'")
        }
        dataset = try PairedDataset(root: settings.dataDirectory, format: format, config: settings.model,
                                    preprocessing: try settings.preprocessing(training: true), palette: palette)
        report("dataset: \(dataset.count) pairs in the \(dataset.format.rawValue) layout at \(settings.dataDirectory); checking them…")
        let problems = dataset.validate()
        if !problems.isEmpty {
            for p in problems { report("  \(p)") }
            guard settings.skipBad else {
                throw TrainingError("\(problems.count) problem(s) in \(settings.dataDirectory) (listed above); fix them or pass --skip-bad to train on the rest")
            }
            dataset.removePairs(with: problems)
            report("skipping \(Set(problems.map(\.pair)).count) bad pair(s); \(dataset.count) left")
        }
        guard dataset.count >= settings.batchSize else {
            throw TrainingError("\(settings.dataDirectory): \(dataset.count) usable pair(s), fewer than the batch size \(settings.batchSize)")
        }

        var initRNG = RandomGenerator(seed: settings.seed)
        let vgg: VGG19? = try settings.vggWeights.map { try VGG19(contentsOf: $0) }
        let generator = try SPADEGenerator(config: settings.model, rng: &initRNG, initialize: checkpoint == nil)
        let segmentation = try Self.segmentationLoss(settings, palette: palette)
        training = SPADETraining(generator: generator, options: settings.trainingOptions, vgg: vgg,
                                 segmentation: segmentation, rng: &initRNG,
                                 notice: { report("note: \($0)") })
        rng = initRNG
        lossLog = LossLog(runDirectory: directory)
        if checkpoint == nil, let initial = settings.initialWeights {
            try Self.loadInitialWeights(initial, discriminator: settings.initialDiscriminator, into: training, report: report)
            training.resetAverages()
        }
        if let checkpoint {
            let file = try SafeTensorsFile(path: checkpoint)
            // A run that starts averaging on resume has no averages in its checkpoint yet: they start at the
            // resumed weights.
            let hasAverages = file.names.contains { $0.hasPrefix(SPADETraining.averagePrefix) }
            try StateDict.load(hasAverages ? training.checkpointParts : training.trainingParts, from: file,
                               ignoring: [SPADETraining.averagePrefix])
            if !hasAverages { training.resetAverages() }
            guard let stepText = file.metadata["step"], let savedStep = Int(stepText),
                  let epochText = file.metadata["epoch"], let epoch = Int(epochText),
                  let iterText = file.metadata["iteration"], let iteration = Int(iterText),
                  let rngWords = file.metadata["rng"]?.split(separator: ",").compactMap({ UInt64($0) }), rngWords.count == 6 else {
                throw TrainingError("\(checkpoint): missing run state (step, epoch, iteration, rng) in the metadata")
            }
            step = savedStep
            position = LoaderPosition(epoch: epoch, iteration: iteration)
            rng = RandomGenerator(savedState: rngWords)
            try lossLog.load(upTo: step)
            report("resumed at step \(step) (epoch \(epoch + 1), iteration \(iteration))")
            if !hasAverages, let average = training.generatorAverage {
                report("the weight average (decay \(average.decay)) starts here, at the resumed weights")
            }
        }
    }

    /// The semantic term the settings ask for, its judge loaded and checked against the model.
    static func segmentationLoss(_ settings: TrainingSettings, palette: Palette?) throws -> SegmentationLoss? {
        guard let path = settings.segmentationJudge, let lambda = settings.lambdaSegmentation, lambda > 0 else { return nil }
        let loaded = try SegmenterCheckpoint.load(path: path)
        if let judgePalette = loaded.palette, let palette, palette.name != judgePalette {
            throw TrainingError("\(path): this segmenter labels the palette '\(judgePalette)', the run uses '\(palette.name)'")
        }
        let judge = loaded.segmenter
        do {
            return try SegmentationLoss(judge: judge, lambda: lambda, outputSize: settings.model.outputSize,
                                        semanticChannels: settings.model.semanticNC)
        } catch {
            throw TrainingError("\(path): cannot judge this model's pictures: \(error)")
        }
    }

    /// A fine-tuning start must be a readable painting model of exactly the run's configuration.
    static func checkInitialWeights(_ path: String, fit config: SPADEConfig) throws {
        let file = try SafeTensorsFile(path: path)
        if var savedConfig = try GeneratorCheckpoint.storedConfig(in: file) {
            savedConfig.normE = config.normE  // another encoder norm is fine: that encoder starts fresh (`loadInitialWeights`)
            if savedConfig != config {
                throw TrainingError("\(path): its model configuration \(savedConfig.jsonString()) differs from this run's "
                                    + "\(config.jsonString()); start with the options the model was trained with")
            }
        }
    }

    /// Fine-tuning start: the generator and encoder from a painting model of this configuration, and D from
    /// `discriminator` (any safetensors file with this run's `netD.` tensors, such as a training checkpoint)
    /// when given. An encoder with another norm (`--norm-e`) cannot take the model's weights and starts fresh.
    static func loadInitialWeights(_ path: String, discriminator: String? = nil, into training: SPADETraining,
                                   report: (String) -> Void) throws {
        try checkInitialWeights(path, fit: training.generator.config)
        if let discriminator {
            // Other networks in the file (a whole training checkpoint) are not D's business.
            try StateDict.load(training.discriminator, from: SafeTensorsFile(path: discriminator),
                               prefix: SPADETraining.discriminatorPrefix)
        }
        let file = try SafeTensorsFile(path: path)
        var parts = [StateDict.Part(training.generator)]
        var started = "generator"
        var fresh = discriminator == nil ? "discriminator and optimizers start fresh" : "optimizers start fresh"
        if let encoder = training.encoder {
            guard let stored = ConvEncoder.Norm.stored(in: file.names, prefix: PaintingModel.encoderPrefix) else {
                throw TrainingError("\(path): no style encoder ('netE.' tensors) to start this VAE run from")
            }
            if stored == encoder.norm {
                parts.append(StateDict.Part(encoder, prefix: PaintingModel.encoderPrefix))
                started += " and style encoder"
            } else {
                fresh = "style encoder (norm_E \(encoder.norm.optionName); the model's is \(stored.optionName)), " + fresh
            }
        }
        try StateDict.load(parts, from: file, ignoring: [PaintingModel.encoderPrefix])
        report("\(started) start from \(path)" + (discriminator.map { ", discriminator from \($0)" } ?? "") + "; \(fresh)")
    }

    public enum Outcome: Equatable {
        case finished
        case interrupted(signal: Int32)
    }

    /// Trains until the schedule (or `maxSteps`) ends or `interruption` is raised; checkpoints at the end either way.
    @discardableResult
    public func run(quiet: Bool = false, interruption: InterruptionFlag? = nil, report: (String) -> Void) throws -> Outcome {
        let loader = BatchLoader(dataset: dataset, batchSize: settings.batchSize, seed: settings.seed, start: position)
        defer { loader.stop() }
        let perEpoch = loader.iterationsPerEpoch
        let totalSteps = min(settings.maxSteps ?? Int.max, settings.epochs * perEpoch)
        let sampleBatch = try fixedSampleBatch()
        var averages = LossAverages()
        var progress = ProgressLine(quiet: quiet)
        let started = Date()
        let startStep = step
        report("training \(totalSteps - step) more step(s) (\(perEpoch) per epoch, batch \(settings.batchSize)); run directory \(directory)")
        while step < totalSteps {
            if let sig = interruption?.signal {
                progress.finishLine()
                try saveCheckpoint(report: report)
                return .interrupted(signal: sig)
            }
            let batch = try loader.next()
            training.setEpoch(batch.epoch + 1)
            let warmingUp = step < settings.discriminatorWarmUp ?? 0
            let losses = warmingUp
                ? training.discriminatorWarmUpStep(semantics: batch.semantics, real: batch.images, rng: &rng).named
                : training.iterate(semantics: batch.semantics, real: batch.images, rng: &rng).named
            // While D warms up the G terms are NaN by design: only D's losses are shown and checked.
            let computed = warmingUp ? losses.filter { $0.0.hasPrefix("D_") } : losses
            step += 1
            position = batch.iteration + 1 < perEpoch
                ? LoaderPosition(epoch: batch.epoch, iteration: batch.iteration + 1)
                : LoaderPosition(epoch: batch.epoch + 1, iteration: 0)
            averages.add(computed)
            if let bad = computed.first(where: { !$0.1.isFinite }) {
                try? saveSamples(sampleBatch)
                throw TrainingError("loss \(bad.0) became \(bad.1) at step \(step); the last good checkpoint is \(checkpointPath)")
            }
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double((step - startStep) * settings.batchSize) / max(elapsed, 1e-9)
            let eta = Double(totalSteps - step) * Double(settings.batchSize) / max(rate, 1e-9)
            progress.show(ProgressLine.render(epoch: batch.epoch, epochs: settings.epochs, step: step, totalSteps: totalSteps,
                                              imagesPerSecond: rate, eta: eta, averages: averages))
            if step % settings.logEvery == 0 { try lossLog.append(step: step, losses: losses) }
            if step % settings.sampleEvery == 0 { try saveSamples(sampleBatch) }
            if step % settings.checkpointEvery == 0 { try saveCheckpoint(report: { _ in }) }
        }
        progress.finishLine()
        try saveSamples(sampleBatch)
        try saveCheckpoint(report: report)
        return .finished
    }

    /// The first few pairs, without augmentation: the sample grid always shows the same examples.
    func fixedSampleBatch() throws -> TrainingBatch {
        let evalData = dataset
        let loader = BatchLoader(dataset: evalData, batchSize: min(4, dataset.count), seed: 0, training: false, background: false)
        var batch = try loader.makeBatch(at: LoaderPosition(epoch: 0, iteration: 0))
        if settings.preprocessMode == Preprocessing.Mode.resizeAndCrop.rawValue && settings.loadSize != settings.model.cropSize {
            // Training crops from a larger resize; the sample batch shows whole pictures at the model size.
            let fixed = try PairedDataset(root: settings.dataDirectory, format: dataset.format, config: settings.model,
                                          preprocessing: try settings.preprocessing(training: false), palette: palette)
            fixed.removePairs(with: [])
            batch = try BatchLoader(dataset: fixed, batchSize: min(4, fixed.count), seed: 0, training: false, background: false)
                .makeBatch(at: LoaderPosition(epoch: 0, iteration: 0))
        }
        return batch
    }

    func saveSamples(_ batch: TrainingBatch) throws {
        // A private RNG: drawing samples must not change the training stream.
        var sampleRNG = RandomGenerator(seed: 0x5A3D1E)
        let generated = training.withAveragedWeights {
            training.generate(semantics: batch.semantics, real: batch.images, rng: &sampleRNG)
        }
        let grid = SampleGrid.make(labels: batch.labels, real: batch.images, generated: generated, palette: palette)
        let name = String(format: "samples/step_%07d.png", step)
        try writePNG(grid, to: path(name))
        try writePNG(grid, to: path("samples/latest.png"))
        try lossLog.plot()
    }

    /// Writes the training checkpoint and the painting model, each atomically: a failure (full disk,
    /// unwritable directory) leaves the previous files intact and is reported as an error.
    public func saveCheckpoint(report: (String) -> Void) throws {
        let metadata = [
            "step": String(step), "epoch": String(position.epoch), "iteration": String(position.iteration),
            "rng": rng.savedState.map(String.init).joined(separator: ","),
            GeneratorCheckpoint.configKey: settings.model.jsonString(),
            "spadepaint_version": SpadeModelVersion.string,
        ].merging(settings.palette.map { [GeneratorCheckpoint.paletteKey: $0] } ?? [:]) { a, _ in a }
        do {
            try StateDict.save(training.checkpointParts, metadata: metadata, to: checkpointPath)
            try training.withAveragedWeights {
                try PaintingModel.save(generator: training.generator, encoder: training.encoder,
                                       palette: palette?.name ?? settings.palette, to: modelPath)
            }
        } catch {
            throw TrainingError("could not save the checkpoint at step \(step): \(error) — the last good checkpoint is unchanged")
        }
        report("checkpoint at step \(step): \(checkpointPath); painting model: \(modelPath)")
    }
}
