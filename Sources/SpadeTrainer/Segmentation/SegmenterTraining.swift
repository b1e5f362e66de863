import Foundation
import SpadeImaging
import SpadeModel

/// Settings of `spadepaint train-seg`.
public struct SegmenterTrainingOptions: Equatable, Sendable {
    public var epochs = 10
    public var batchSize = 8
    /// Adam's rate at the start; it follows a half cosine down to 2% of it by the last step.
    public var learningRate = 0.002
    /// Training side: pictures and labels are resized to size×size (area average / nearest).
    public var size = 128
    public var widths = [16, 32, 64, 128]
    public var seed: UInt64 = 0
    public var flip = true

    public init() {}

    /// Rate at `step` of `totalSteps` (0-based).
    public func rate(step: Int, totalSteps: Int) -> Double {
        let progress = totalSteps > 1 ? Double(step) / Double(totalSteps - 1) : 0
        return learningRate * (0.02 + 0.98 * 0.5 * (1 + cos(Double.pi * min(progress, 1))))
    }
}

/// The label-map side of a segmenter's data: the palette's classes, no don't-care channel unless the
/// palette has one, no instance edges (the segmenter sees pictures, never one-hot maps).
public enum SegmentationData {
    public static func labelConfig(classes: Int, dontcare: Bool, size: Int) -> SPADEConfig {
        SPADEConfig(labelNC: classes, containDontcareLabel: dontcare, noInstance: true, cropSize: size)
    }

    /// A paired dataset resized to size×size (no crop), flipped at random when `flip`.
    public static func dataset(root: String, palette: Palette, size: Int, flip: Bool) throws -> PairedDataset {
        try PairedDataset(root: root, format: .auto,
                          config: labelConfig(classes: palette.count, dontcare: palette.dontcare != nil, size: size),
                          preprocessing: Preprocessing(mode: .fixed, loadSize: size, cropSize: size, flip: flip),
                          palette: palette)
    }

    /// The target the loss sees: label values, with the don't-care value (any value outside the classes)
    /// mapped to the loss's ignore value 255.
    static func targets(_ labels: [[UInt8]], classes: Int) -> [UInt8] {
        labels.flatMap { $0.map { Int($0) < classes ? $0 : 255 } }
    }
}

/// One line of training progress.
public struct SegmenterTrainingStatus {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var totalSteps: Int
    public var loss: Float
    /// Pixel accuracy of the batch (training mode).
    public var accuracy: Double
    public var learningRate: Double
    public var imagesPerSecond: Double
}

/// Trains a segmenter on the real pictures of a paired dataset with per-pixel cross-entropy and Adam.
public final class SegmenterTrainer {
    public let segmenter: Segmenter
    public let dataset: PairedDataset
    public let options: SegmenterTrainingOptions
    public let optimizer: Adam

    public init(segmenter: Segmenter, dataset: PairedDataset, options: SegmenterTrainingOptions) {
        precondition(dataset.preprocessing.outputSize == (options.size, options.size),
                     "SegmenterTrainer: the dataset must deliver \(options.size)² samples")
        self.segmenter = segmenter
        self.dataset = dataset
        self.options = options
        optimizer = Adam(module: segmenter, learningRate: options.learningRate, beta1: 0.9, beta2: 0.999)
    }

    public var stepsPerEpoch: Int { max(1, dataset.count / options.batchSize) }

    /// Runs every epoch, or until `shouldStop()` says so between steps (then the return value is false).
    /// `progress` hears about every step; `endOfEpoch` runs after each full epoch (e.g. to save).
    @discardableResult
    public func run(progress: (SegmenterTrainingStatus) -> Void, endOfEpoch: (Int) throws -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> Bool {
        let loader = BatchLoader(dataset: dataset, batchSize: options.batchSize, seed: options.seed, training: true)
        defer { loader.stop() }
        let total = stepsPerEpoch * options.epochs
        let classes = segmenter.config.classes
        let start = Date()
        var step = 0
        for epoch in 0..<options.epochs {
            for _ in 0..<stepsPerEpoch {
                if shouldStop() { return false }
                let batch = try loader.next()
                let targets = SegmentationData.targets(batch.labels, classes: classes)
                optimizer.learningRate = options.rate(step: step, totalSteps: total)
                optimizer.zeroGrad()
                let (logits, _) = segmenter.forward(batch.images, training: true)
                let (loss, grad) = SoftmaxCrossEntropy.loss(logits: logits, targets: targets)
                segmenter.backward(grad)
                optimizer.update()
                let predicted = Segmenter.argmax(logits, batch: batch.labels.count)
                var confusion = ConfusionMatrix(classes: classes)
                for (k, labels) in batch.labels.enumerated() { confusion.add(truth: labels, prediction: predicted[k]) }
                step += 1
                let elapsed = Date().timeIntervalSince(start)
                progress(SegmenterTrainingStatus(epoch: epoch, epochs: options.epochs, step: step, totalSteps: total,
                                                 loss: loss, accuracy: confusion.pixelAccuracy,
                                                 learningRate: optimizer.learningRate,
                                                 imagesPerSecond: Double(step * options.batchSize) / max(elapsed, 1e-9)))
            }
            try endOfEpoch(epoch)
        }
        segmenter.releaseCache()
        return true
    }
}
