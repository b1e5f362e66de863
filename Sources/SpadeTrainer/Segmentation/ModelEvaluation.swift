import Foundation
import SpadeImaging
import SpadeModel

/// A model that does not fit the segmenter, palette or data it is evaluated with.
public struct EvaluationError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// `spadepaint eval`: generated pictures judged by the segmenter next to the real ones.
public enum ModelEvaluation {
    /// Where a VAE generator's z comes from.
    public enum StyleSource: Equatable {
        /// μ of the encoder for the real picture of each label map (the picture's own style).
        case encoderMean
        /// z ~ N(0, I), drawn in order from this seed.
        case random(seed: UInt64)
        /// Blends of two codes of a style bank (`StyleBank`), drawn in order from this seed.
        case bank(StyleBank, seed: UInt64)
    }

    /// What paints the label maps.
    public enum Method {
        case generator(PaintingModel.Loaded, style: StyleSource)
        /// Each class in its mean colour over the evaluated real pictures.
        case meanColourBaseline(size: Int)
    }

    /// Checks that the pieces fit, then evaluates the first `count` pairs of `data`.
    /// - palette: the classes of the data (colour label PNGs are read with it).
    public static func run(data: String, method: Method, segmenter loaded: SegmenterCheckpoint.Loaded,
                           segmenterPath: String, palette: Palette, count: Int?, batchSize: Int = 4,
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> EvaluationReport {
        let segmenter = loaded.segmenter
        let classes = segmenter.config.classes
        guard classes == palette.count else {
            throw EvaluationError("\(segmenterPath): the segmenter has \(classes) classes but palette '\(palette.name)' has \(palette.count)")
        }
        if let segPalette = loaded.palette, segPalette != palette.name {
            throw EvaluationError("\(segmenterPath): the segmenter was trained on palette '\(segPalette)', the data uses '\(palette.name)'")
        }
        let started = Date()
        let config: SPADEConfig
        switch method {
        case .generator(let model, _):
            let g = model.generator.config
            guard g.labelNC == classes else {
                throw EvaluationError("\(model.path): the generator has \(g.labelNC) classes (label_nc) but the segmenter \(segmenterPath) has \(classes)")
            }
            if let modelPalette = model.palette, modelPalette != palette.name {
                throw EvaluationError("\(model.path): the generator was trained on palette '\(modelPalette)', the data uses '\(palette.name)'")
            }
            config = g
        case .meanColourBaseline(let size):
            config = SegmentationData.labelConfig(classes: classes, dontcare: palette.dontcare != nil, size: size)
        }
        let dataset = try PairedDataset(root: data, format: .auto, config: config,
                                        preprocessing: Preprocessing(mode: .fixed, loadSize: config.cropSize, cropSize: config.cropSize,
                                                                     aspectRatio: config.aspectRatio, flip: false),
                                        palette: palette)
        let evaluator = SegmentationEvaluator(segmenter: segmenter, dataset: dataset, count: count, batchSize: batchSize)
        guard evaluator.count >= 2 else {
            throw EvaluationError("\(data): \(evaluator.count) pair(s); the Fréchet distance needs at least 2")
        }
        if let count, count > dataset.count {
            throw EvaluationError("\(data): --count \(count) but the folder has only \(dataset.count) pairs")
        }
        let problems = dataset.pairs.prefix(evaluator.count).flatMap { dataset.problems(of: $0) }
        if let first = problems.first {
            throw EvaluationError("\(first)" + (problems.count > 1 ? " (and \(problems.count - 1) more problem(s))" : ""))
        }

        let result: SegmentationEvaluator.Result
        var zSource: String?
        let methodName: String
        var checkpoint: String?
        switch method {
        case .generator(let model, let style):
            methodName = "generator"
            checkpoint = model.path
            var rng = RandomGenerator(seed: 0)
            if model.generator.config.useVAE {
                switch style {
                case .encoderMean:
                    guard model.encoder != nil else {
                        throw EvaluationError("\(model.path): a VAE generator without an encoder (no 'netE.' tensors); use a random z (--z random)")
                    }
                    zSource = "encoder mu of each label map's real picture"
                case .random(let seed):
                    rng = RandomGenerator(seed: seed)
                    zSource = "random N(0, I), seed \(seed)"
                case .bank(let bank, let seed):
                    rng = RandomGenerator(seed: seed)
                    zSource = "random blends of \(bank.count) style-bank codes, seed \(seed)"
                }
            }
            result = try evaluator.evaluate(makePictures: { batch in
                var z: Tensor?
                if model.generator.config.useVAE {
                    switch style {
                    case .encoderMean: z = model.encoder!.forward(batch.images, training: false).mu
                    case .random: z = model.generator.sampleZ(batch: batch.labels.count, rng: &rng)
                    case .bank(let bank, _): z = bank.sample(batch: batch.labels.count, rng: &rng)
                    }
                }
                return model.generator.forward(labels: batch.semantics, z: z, training: false)
            }, progress: progress)
        case .meanColourBaseline:
            methodName = "mean-colour baseline (each class in its mean colour over these real pictures)"
            let baseline = try MeanColourBaseline(measuredOn: evaluator)
            result = try evaluator.evaluate(makePictures: { batch in
                let (_, _, h, w) = batch.images.nchw("baseline")
                return baseline.paint(batch.labels, height: h, width: w)
            }, progress: progress)
        }
        return EvaluationReport(data: data, pairs: evaluator.count, method: methodName, checkpoint: checkpoint, zSource: zSource,
                                segmenter: segmenterPath, classNames: palette.names,
                                real: SegmentationScores(result.real), generated: SegmentationScores(result.generated),
                                segmenterFeatureFrechetDistance: result.frechetDistance,
                                featureDimension: segmenter.config.featureCount,
                                seconds: Date().timeIntervalSince(started))
    }

    /// The report as pretty JSON (class IoUs that are undefined are null).
    public static func json(_ report: EvaluationReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(report)
    }
}
