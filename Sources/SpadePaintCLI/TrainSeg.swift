import ArgumentParser
import Foundation
import SpadeImaging
import SpadeModel
import SpadeTrainer

/// `spadepaint train-seg`: trains the segmenter that `spadepaint eval` judges generated pictures with.
struct TrainSeg: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-seg",
        abstract: "Train the evaluation segmenter (a small U-Net) on the real pictures of a paired dataset.",
        discussion: """
            The data is a paired folder (images/ + labels/), e.g. from `spadepaint synth`. Pictures are resized \
            to --size² (area average) and labels with nearest sampling; training uses per-pixel cross-entropy, \
            Adam and a cosine learning-rate decay. The checkpoint is written atomically after every epoch and \
            when Ctrl-C stops the run. With --val, mIoU and pixel accuracy on held-out pairs follow each epoch.
            Example:
              spadepaint synth --count 3000 --size 256x256 --seed 1 --out data/seg-train
              spadepaint train-seg --data data/seg-train --out Checkpoints/landscape-seg.safetensors
            """)

    @Option(help: "Paired dataset directory (images/ + labels/).") var data: String
    @Option(help: "Output checkpoint (safetensors).") var out: String
    @Option(help: "Palette (name or .palette path): the classes.") var palette = "landscape"
    @Option(help: "Epochs.") var epochs = 10
    @Option(help: "Pictures per step.") var batch = 8
    @Option(help: "Adam's initial learning rate (cosine decay to 2% of it).") var lr = 0.002
    @Option(help: "Training side in pixels (a multiple of 2^downsamplings).") var size = 128
    @Option(help: "Channels of the U-Net levels, finest first (comma-separated).") var widths = "16,32,64,128"
    @Option(help: "Continue from this segmenter checkpoint (weights only; its widths and size win).") var resume: String?
    @Option(help: "Held-out paired dataset scored after every epoch.") var val: String?
    @Option(name: .customLong("val-count"), help: "Held-out pairs to score (default: all).") var valCount: Int?
    @Option(help: "Seed of the initial weights and the data order.") var seed: UInt64 = 0
    @Flag(name: .customLong("no-flip"), help: "No random horizontal flips.") var noFlip = false
    @Flag(name: .customLong("half"), help: "Store the weights as float16 (half the file).") var half = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Log lines instead of a live progress line.") var quiet = false

    func report(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    func run() throws {
        if let threads { Parallel.threads = threads }
        let palette = try Palette.load(named: self.palette)
        let segmenter: Segmenter
        if let resume {
            let loaded = try SegmenterCheckpoint.load(path: resume)
            guard loaded.segmenter.config.classes == palette.count else {
                throw ValidationError("\(resume): the segmenter has \(loaded.segmenter.config.classes) classes, palette '\(palette.name)' has \(palette.count)")
            }
            segmenter = loaded.segmenter
        } else {
            let parsed = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--widths must be comma-separated channel counts, e.g. 16,32,64,128; got '\(widths)'")
            }
            var rng = RandomGenerator(seed: seed)
            do {
                segmenter = try Segmenter(config: SegmenterConfig(classes: palette.count, widths: parsed.map { $0! }, inputSize: size),
                                          rng: &rng)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let side = segmenter.config.inputSize
        guard epochs > 0, batch > 1 else { throw ValidationError("--epochs must be positive and --batch at least 2 (batch norm)") }

        let dataset = try SegmentationData.dataset(root: data, palette: palette, size: side, flip: !noFlip)
        let problems = dataset.validate()
        if !problems.isEmpty {
            for p in problems.prefix(10) { report("  \(p)") }
            throw ValidationError("\(data): \(problems.count) problem(s) in the dataset (first ones above)")
        }
        guard dataset.count >= batch else {
            throw ValidationError("\(data): \(dataset.count) pairs, fewer than one batch of \(batch)")
        }
        let validation = try val.map { try SegmentationData.dataset(root: $0, palette: palette, size: side, flip: false) }

        var options = SegmenterTrainingOptions()
        options.epochs = epochs
        options.batchSize = batch
        options.learningRate = lr
        options.size = side
        options.widths = segmenter.config.widths
        options.seed = seed
        options.flip = !noFlip
        let trainer = SegmenterTrainer(segmenter: segmenter, dataset: dataset, options: options)
        report("train-seg: \(dataset.count) pairs from \(data) at \(side)², U-Net widths \(segmenter.config.widths) " +
               "(\(segmenter.parameterCount) parameters), \(epochs) epochs × \(trainer.stepsPerEpoch) steps of \(batch), " +
               "\(Parallel.threads) threads")

        let started = Date()
        func save(_ note: String) throws {
            try SegmenterCheckpoint.save(segmenter, palette: palette.name, to: out, halfPrecision: half, extraMetadata: [
                "trained_on": data, "pairs": String(dataset.count), "epochs": note,
                "training_seconds": String(format: "%.0f", Date().timeIntervalSince(started)),
            ])
        }
        let interruption = InterruptionFlag()
        var line = ProgressLine(quiet: quiet)
        var averages = LossAverages()
        let finished = try trainer.run(progress: { status in
            averages.add([("loss", status.loss), ("acc", Float(status.accuracy))])
            let remaining = Double(status.totalSteps - status.step) * Double(options.batchSize) / max(status.imagesPerSecond, 1e-9)
            line.show(ProgressLine.render(epoch: status.epoch, epochs: status.epochs, step: status.step, totalSteps: status.totalSteps,
                                          imagesPerSecond: status.imagesPerSecond, eta: remaining, averages: averages)
                      + String(format: "  lr %.2e", status.learningRate))
        }, endOfEpoch: { epoch in
            line.finishLine()
            try save("\(epoch + 1)/\(epochs)")
            var message = String(format: "epoch %d/%d done (%.0f s): saved %@", epoch + 1, epochs,
                                 Date().timeIntervalSince(started), out)
            if let validation {
                let scores = try Self.score(segmenter, on: validation, count: valCount)
                message += String(format: "; held-out (%d pairs): mIoU %.4f, pixel accuracy %.4f",
                                  min(valCount ?? validation.count, validation.count), scores.meanIoU, scores.pixelAccuracy)
            }
            report(message)
        }, shouldStop: { interruption.signal != nil })
        if !finished {
            line.finishLine()
            try save("interrupted")
            report("interrupted: saved \(out)")
            throw ExitCode(130)
        }
        report(String(format: "done in %.0f s: %@", Date().timeIntervalSince(started), out))
    }

    /// mIoU and pixel accuracy of the segmenter on the real pictures of a dataset.
    static func score(_ segmenter: Segmenter, on dataset: PairedDataset, count: Int?) throws -> SegmentationScores {
        let evaluator = SegmentationEvaluator(segmenter: segmenter, dataset: dataset, count: count, batchSize: 8)
        var confusion = ConfusionMatrix(classes: segmenter.config.classes)
        try evaluator.forEachBatch { batch in
            let (_, _, h, w) = batch.images.nchw("scoring")
            let predicted = segmenter.segment(batch.images, height: h, width: w).labels
            for (k, labels) in batch.labels.enumerated() { confusion.add(truth: labels, prediction: predicted[k]) }
        }
        return SegmentationScores(confusion)
    }
}
