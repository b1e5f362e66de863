import Foundation
import SpadeImaging
import SpadeModel

/// Pixel accuracy and IoU of one set of pictures.
public struct SegmentationScores: Codable, Equatable, Sendable {
    public var pixelAccuracy: Double
    public var meanIoU: Double
    /// Per class, in palette order; nil where the class neither occurs nor is predicted.
    public var classIoU: [Double?]

    enum CodingKeys: String, CodingKey {
        case pixelAccuracy = "pixel_accuracy", meanIoU = "mean_iou", classIoU = "class_iou"
    }

    public init(_ confusion: ConfusionMatrix) {
        pixelAccuracy = confusion.pixelAccuracy
        meanIoU = confusion.meanIoU
        classIoU = confusion.intersectionOverUnion
    }
}

/// What `spadepaint eval` reports (and writes with `--json`).
public struct EvaluationReport: Codable, Equatable, Sendable {
    public var data: String
    public var pairs: Int
    /// "generator" or "mean-colour baseline".
    public var method: String
    public var checkpoint: String?
    /// Where the VAE's z came from ("encoder mu of the real picture", "random, seed S"), nil without a VAE.
    public var zSource: String?
    public var segmenter: String
    public var classNames: [String]
    /// The segmenter on the real pictures: the upper bound for generated ones.
    public var real: SegmentationScores
    public var generated: SegmentationScores
    /// Fréchet distance between Gaussians fitted to the segmenter's pooled features of the generated and the
    /// real pictures. Not Inception FID: the features come from the landscape segmenter.
    public var segmenterFeatureFrechetDistance: Double
    public var featureDimension: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case data, pairs, method, checkpoint, zSource = "z_source", segmenter, classNames = "class_names"
        case real, generated, segmenterFeatureFrechetDistance = "segmenter_feature_frechet_distance"
        case featureDimension = "feature_dimension", seconds
    }

    /// generated mIoU / real mIoU (0 when the real mIoU is 0).
    public var mIoURatio: Double { real.meanIoU > 0 ? generated.meanIoU / real.meanIoU : 0 }

    /// The plain-text table `spadepaint eval` prints.
    public func text() -> String {
        var lines: [String] = []
        lines.append("\(pairs) label maps from \(data); \(method)" + (checkpoint.map { ": \($0)" } ?? ""))
        if let zSource { lines.append("style z: \(zSource)") }
        lines.append("segmenter: \(segmenter)")
        lines.append("")
        lines.append("                       mIoU   pixel accuracy")
        lines.append(String(format: "real pictures        %6.4f   %6.4f   (upper bound)", real.meanIoU, real.pixelAccuracy))
        lines.append(String(format: "generated pictures   %6.4f   %6.4f", generated.meanIoU, generated.pixelAccuracy))
        lines.append(String(format: "generated / real     %6.4f", mIoURatio))
        lines.append("")
        lines.append(String(format: "segmenter-feature Fréchet distance (generated vs real, %d-d pooled segmenter features; not Inception FID): %.4f",
                            featureDimension, segmenterFeatureFrechetDistance))
        lines.append("")
        lines.append("class IoU        real    generated")
        for (k, name) in classNames.enumerated() {
            func show(_ v: Double??) -> String { (v ?? nil).map { String(format: "%6.4f", $0) } ?? "     -" }
            let r = k < real.classIoU.count ? real.classIoU[k] : nil
            let g = k < generated.classIoU.count ? generated.classIoU[k] : nil
            lines.append(name.padding(toLength: max(14, name.count), withPad: " ", startingAt: 0) + " \(show(r))   \(show(g))")
        }
        lines.append(String(format: "(%.1f s)", seconds))
        return lines.joined(separator: "\n")
    }
}

/// A batch of evaluation data: real pictures at the label size, their label maps, and the generator's
/// one-hot input.
public struct EvaluationBatch {
    /// [N, 3, H, W] in [-1, 1].
    public var images: Tensor
    public var labels: [[UInt8]]
    /// [N, semantic_nc, H, W] (for the dataset's model configuration).
    public var semantics: Tensor
    public var names: [String]
}

/// Runs the segmenter over the first `count` pairs of a dataset, on the real pictures and on pictures
/// made from the label maps by `makePictures`, and scores both against the label maps.
public struct SegmentationEvaluator {
    public let segmenter: Segmenter
    public let dataset: PairedDataset
    public let count: Int
    public let batchSize: Int

    public init(segmenter: Segmenter, dataset: PairedDataset, count: Int? = nil, batchSize: Int = 4) {
        self.segmenter = segmenter
        self.dataset = dataset
        self.count = min(count ?? dataset.count, dataset.count)
        self.batchSize = max(1, batchSize)
    }

    public struct Result {
        public var real: ConfusionMatrix
        public var generated: ConfusionMatrix
        public var realFeatures: [[Float]]
        public var generatedFeatures: [[Float]]

        public var frechetDistance: Double {
            FrechetDistance.distance(FeatureStatistics(rows: generatedFeatures), FeatureStatistics(rows: realFeatures))
        }
    }

    /// The data in order, batch by batch (the last batch may be short), decoded ahead on a background queue.
    public func forEachBatch(_ body: (EvaluationBatch) throws -> Void) throws {
        let loader = BatchLoader(dataset: dataset, batchSize: batchSize, seed: 0, training: false)
        defer { loader.stop() }
        var remaining = count
        while remaining > 0 {
            let b = try loader.next()
            let n = min(remaining, b.labels.count)
            remaining -= n
            if n < b.labels.count {
                try body(EvaluationBatch(images: b.images.splitBatch([n, b.labels.count - n])[0],
                                         labels: Array(b.labels.prefix(n)),
                                         semantics: b.semantics.splitBatch([n, b.labels.count - n])[0],
                                         names: Array(b.names.prefix(n))))
            } else {
                try body(EvaluationBatch(images: b.images, labels: b.labels, semantics: b.semantics, names: b.names))
            }
        }
    }

    /// `makePictures` returns [N, 3, h, w] in [-1, 1] for a batch (any h, w: the segmenter's predictions
    /// are resized to the label maps). `progress(done, count)` follows each batch.
    public func evaluate(makePictures: (EvaluationBatch) throws -> Tensor,
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let classes = segmenter.config.classes
        var result = Result(real: ConfusionMatrix(classes: classes), generated: ConfusionMatrix(classes: classes),
                            realFeatures: [], generatedFeatures: [])
        var done = 0
        try forEachBatch { batch in
            let (_, _, h, w) = batch.images.nchw("evaluation batch")
            let generatedPictures = try makePictures(batch)
            let n = batch.labels.count
            precondition(generatedPictures.shape.count == 4 && generatedPictures.shape[0] == n && generatedPictures.shape[1] == 3,
                         "evaluation: pictures \(generatedPictures.shape) for a batch of \(n)")
            let real = segmenter.segment(batch.images, height: h, width: w)
            let generated = segmenter.segment(generatedPictures, height: h, width: w)
            for k in 0..<n {
                result.real.add(truth: batch.labels[k], prediction: real.labels[k])
                result.generated.add(truth: batch.labels[k], prediction: generated.labels[k])
            }
            let f = segmenter.config.featureCount
            for k in 0..<n {
                result.realFeatures.append(Array(real.features.data[k * f..<(k + 1) * f]))
                result.generatedFeatures.append(Array(generated.features.data[k * f..<(k + 1) * f]))
            }
            done += n
            progress(done, count)
        }
        return result
    }
}

/// The trivial baseline: every pixel painted in the mean colour of its class over the real pictures.
public struct MeanColourBaseline {
    /// Per class: mean (r, g, b) in [-1, 1]; classes never seen are mid-gray (0).
    public let colours: [[Float]]

    public init(colours: [[Float]]) { self.colours = colours }

    /// Measures the class colours over the evaluator's pictures at their label resolution.
    public init(measuredOn evaluator: SegmentationEvaluator) throws {
        let classes = evaluator.segmenter.config.classes
        var sums = [[Double]](repeating: [0, 0, 0], count: classes)
        var counts = [Int](repeating: 0, count: classes)
        try evaluator.forEachBatch { batch in
            let (_, _, h, w) = batch.images.nchw("baseline colours")
            let hw = h * w
            for (k, labels) in batch.labels.enumerated() {
                for i in 0..<hw {
                    let c = Int(labels[i])
                    guard c < classes else { continue }
                    counts[c] += 1
                    for ch in 0..<3 { sums[c][ch] += Double(batch.images.data[(k * 3 + ch) * hw + i]) }
                }
            }
        }
        colours = (0..<classes).map { c in counts[c] > 0 ? sums[c].map { Float($0 / Double(counts[c])) } : [0, 0, 0] }
    }

    /// [N, 3, H, W] pictures of the label maps.
    public func paint(_ labels: [[UInt8]], height: Int, width: Int) -> Tensor {
        let hw = height * width
        var out = Tensor(shape: [labels.count, 3, height, width])
        for (k, map) in labels.enumerated() {
            precondition(map.count == hw, "mean-colour baseline: label map of \(map.count) pixels for \(width)×\(height)")
            for i in 0..<hw {
                let c = Int(map[i])
                let colour = c < colours.count ? colours[c] : [0, 0, 0]
                for ch in 0..<3 { out.data[(k * 3 + ch) * hw + i] = colour[ch] }
            }
        }
        return out
    }
}
