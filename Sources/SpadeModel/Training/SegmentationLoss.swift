import Foundation

/// spadepaint's semantic term (not in the reference; after OASIS, Schönfeld et al., ICLR 2021, whose generator
/// learns through a segmentation network): a frozen segmenter labels the fake picture, and G is pushed to make
/// it find each pixel's class from the label map. Without it (and without VGG weights, which cannot be
/// downloaded here), nothing but the discriminator asks a region to show its class; small textured classes
/// such as flowers in a meadow then come out as their surroundings.
///
/// L = λ · class-balanced cross-entropy(segmenter(box-average(fake)), labels at the segmenter's working
/// size). The judge must be a different segmenter from the one `spadepaint eval` scores with, or the
/// scores would flatter the model. Classes are weighted by 1 / max(share of the batch's pixels, 2%), so every
/// class in the batch counts about equally however small it is, and a class on a handful of pixels (a
/// resampled edge) does not dominate.
public final class SegmentationLoss {
    public let judge: Segmenter
    public let lambda: Float
    /// Pixels of the generator's output per pixel of the judge's input, per side.
    public let shrink: Int
    static let minimumClassShare: Float = 0.02

    /// - outputSize: the generator's (height, width); the judge's working size must divide it by a whole
    ///   factor (e.g. 256² pictures and a 64² judge: 4).
    public init(judge: Segmenter, lambda: Float, outputSize: (height: Int, width: Int), semanticChannels: Int) throws {
        let (h, w) = outputSize
        let (jh, jw) = judge.workingSize(height: h, width: w)
        guard h % jh == 0, w % jw == 0, h / jh == w / jw else {
            throw SegmentationLossError("the judge works at \(jw)x\(jh), which does not divide the \(w)x\(h) pictures by a whole factor")
        }
        guard judge.config.classes <= semanticChannels else {
            throw SegmentationLossError("the judge labels \(judge.config.classes) classes but the model has \(semanticChannels) label channels")
        }
        guard lambda > 0, lambda.isFinite else { throw SegmentationLossError("its weight must be positive (got \(lambda))") }
        self.judge = judge
        self.lambda = lambda
        self.shrink = h / jh
        judge.freezeStatistics()
    }

    /// The loss and its gradient with respect to `fake` [N, 3, H, W]; `semantics` is the one-hot label map
    /// [N, C, H, W] the fake was made from.
    public func compute(fake: Tensor, semantics: Tensor) -> (value: Float, grad: Tensor) {
        let (_, _, h, w) = fake.nchw("segmentation loss")
        let input = Resample.blockAverage(fake, block: shrink)
        let targets = Self.targets(semantics, classes: judge.config.classes, shrink: shrink)
        let (logits, _) = judge.forward(input, training: true)
        let (value, gLogits) = SoftmaxCrossEntropy.loss(logits: logits, targets: targets,
                                                       classWeights: Self.balancedWeights(targets, classes: judge.config.classes))
        var gInput = judge.backward(gLogits, needInputGrad: true)!
        judge.releaseCache()
        judge.zeroGrad()  // the judge stays as it is; its own gradients are not wanted
        gInput.scale(by: lambda)
        return (value * lambda, Resample.blockAverageBackward(gInput, block: shrink, inputHeight: h, inputWidth: w))
    }

    /// The class at the centre of every shrink×shrink block (255, ignored, where none of the judge's
    /// classes is set: a don't-care pixel).
    static func targets(_ semantics: Tensor, classes: Int, shrink: Int) -> [UInt8] {
        let (n, c, h, w) = semantics.nchw("segmentation targets")
        let oh = h / shrink, ow = w / shrink, hw = h * w
        var out = [UInt8](repeating: 255, count: n * oh * ow)
        semantics.withPointer { sp in
            for s in 0..<n {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let pixel = (oy * shrink + shrink / 2) * w + ox * shrink + shrink / 2
                        for k in 0..<min(classes, c) where sp[(s * c + k) * hw + pixel] > 0.5 {
                            out[(s * oh + oy) * ow + ox] = UInt8(k)
                            break
                        }
                    }
                }
            }
        }
        return out
    }

    static func balancedWeights(_ targets: [UInt8], classes: Int) -> [Float] {
        var counts = [Int](repeating: 0, count: classes)
        for t in targets where Int(t) < classes { counts[Int(t)] += 1 }
        let total = max(1, counts.reduce(0, +))
        return counts.map { 1 / max(Float($0) / Float(total), minimumClassShare) }
    }
}

public struct SegmentationLossError: Error, CustomStringConvertible, Equatable {
    public let problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { "segmentation loss: \(problem)" }
}
