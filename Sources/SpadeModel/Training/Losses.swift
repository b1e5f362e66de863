import Foundation

/// SPADE's training losses (spec §10), each returning its value and its gradient.
///
/// Discriminator outputs are `[[Tensor]]` (per scale, every child output; the last one is the patch logits);
/// gradients come back in the same layout, nil where a feature gets none, ready for
/// `MultiscaleDiscriminator.judgeBackward`.
public typealias FeatureGrads = [[Tensor?]]

/// Gradients that are nil everywhere, shaped like `features`.
public func emptyGrads(like features: [[Tensor]]) -> FeatureGrads {
    features.map { $0.map { _ in nil } }
}

/// Sums two gradient sets of the same layout.
public func addGrads(_ a: FeatureGrads, _ b: FeatureGrads) -> FeatureGrads {
    precondition(a.count == b.count, "addGrads: \(a.count) vs \(b.count) scales")
    return zip(a, b).map { sa, sb in
        zip(sa, sb).map { x, y in
            switch (x, y) {
            case let (x?, y?): return x + y
            default: return x ?? y
            }
        }
    }
}

/// `GANLoss(gan_mode='hinge')` on the last output of every scale, averaged over scales.
public enum HingeLoss {
    /// D on real: mean(relu(1 − x)); D on fake: mean(relu(1 + x)).
    public static func discriminator(_ predictions: [[Tensor]], real: Bool) -> (value: Float, grads: FeatureGrads) {
        let sign: Float = real ? -1 : 1
        return averaged(predictions) { x in
            let n = Float(x.count)
            var sum = 0.0
            var g = Tensor(shape: x.shape)
            for i in 0..<x.count {
                let margin = 1 + sign * x.data[i]
                if margin > 0 {
                    sum += Double(margin)
                    g.data[i] = sign / n
                }
            }
            return (Float(sum / Double(n)), g)
        }
    }

    /// G: −mean(x) on the fake predictions.
    public static func generator(_ predictions: [[Tensor]]) -> (value: Float, grads: FeatureGrads) {
        averaged(predictions) { x in (-x.mean(), Tensor(shape: x.shape, repeating: -1 / Float(x.count))) }
    }

    private static func averaged(_ predictions: [[Tensor]], _ perScale: (Tensor) -> (Float, Tensor)) -> (value: Float, grads: FeatureGrads) {
        precondition(!predictions.isEmpty, "GAN loss: no discriminator outputs")
        let numD = Float(predictions.count)
        var total: Float = 0
        var grads = emptyGrads(like: predictions)
        for (i, scale) in predictions.enumerated() {
            guard let logits = scale.last else { preconditionFailure("GAN loss: scale \(i) has no outputs") }
            var (value, g) = perScale(logits)
            total += value
            g.scale(by: 1 / numD)
            grads[i][scale.count - 1] = g
        }
        return (total / numD, grads)
    }
}

/// GAN feature matching: Σ over scales i and every child j but the last of
/// `L1(fake_ij, real_ij.detach()) · λ / num_D`. The gradient is with respect to the fake features only.
public enum FeatureMatchingLoss {
    public static let defaultLambda: Float = 10

    public static func compute(fake: [[Tensor]], real: [[Tensor]], lambda: Float = defaultLambda) -> (value: Float, grads: FeatureGrads) {
        precondition(fake.count == real.count, "feature matching: \(fake.count) fake scales, \(real.count) real")
        let weight = lambda / Float(fake.count)
        var total: Float = 0
        var grads = emptyGrads(like: fake)
        for i in fake.indices {
            precondition(fake[i].count == real[i].count, "feature matching: scale \(i) output counts differ")
            for j in 0..<(fake[i].count - 1) {
                var (value, g) = Loss.l1(fake[i][j], real[i][j])
                total += value * weight
                g.scale(by: weight)
                grads[i][j] = g
            }
        }
        return (total, grads)
    }
}

/// `KLDLoss`: −0.5 · Σ(1 + logvar − mu² − exp(logvar)), summed over batch and dims, times λ (0.05).
public enum KLDivergenceLoss {
    public static let defaultLambda: Float = 0.05

    public static func compute(mu: Tensor, logvar: Tensor, lambda: Float = defaultLambda) -> (value: Float, mu: Tensor, logvar: Tensor) {
        checkSameShape("KL divergence", mu, logvar)
        var sum = 0.0
        var gMu = Tensor(shape: mu.shape), gLogvar = Tensor(shape: mu.shape)
        for i in 0..<mu.count {
            let m = mu.data[i], lv = logvar.data[i], e = exp(lv)
            sum += Double(1 + lv - m * m - e)
            gMu.data[i] = lambda * m
            gLogvar.data[i] = 0.5 * lambda * (e - 1)
        }
        return (Float(-0.5 * sum) * lambda, gMu, gLogvar)
    }
}

/// The perceptual loss `VGGLoss`: Σ_k w_k · L1(vgg_k(fake), vgg_k(real).detach()) · λ (10), with
/// w = 1/32, 1/16, 1/8, 1/4, 1 on relu1_1 … relu5_1 and images fed in [-1, 1] (no ImageNet normalisation).
public struct VGGLoss {
    public static let defaultLambda: Float = 10
    public static let layerWeights: [Float] = [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0]

    public let network: VGG19
    public var lambda: Float

    public init(network: VGG19, lambda: Float = defaultLambda) {
        self.network = network
        self.lambda = lambda
    }

    /// The loss and its gradient with respect to `fake`.
    public func compute(fake: Tensor, real: Tensor) -> (value: Float, grad: Tensor) {
        checkSameShape("VGG loss", fake, real)
        let realFeatures = network.forward(real, keepForBackward: false).features
        let fakeRun = network.forward(fake)
        var total: Float = 0
        var grads: [Tensor] = []
        for k in 0..<VGG19.tapCount {
            var (value, g) = Loss.l1(fakeRun.features[k], realFeatures[k])
            let w = Self.layerWeights[k] * lambda
            total += value * w
            g.scale(by: w)
            grads.append(g)
        }
        return (total, network.backward(grads, run: fakeRun))
    }
}

/// spadepaint's own term, not the reference's: L1 between the `block`×`block` tile means of fake and real,
/// times λ. It asks the generator for the real picture's low-frequency colour layout, which with the VAE it
/// can only get from z: so the encoder learns to carry the picture's style. The reference gets that pull
/// from the VGG perceptual loss; this is the cheap stand-in for runs without VGG19 weights.
public enum ColourLoss {
    public static let defaultBlock = 16

    /// The loss and its gradient with respect to `fake`.
    public static func compute(fake: Tensor, real: Tensor, block: Int = defaultBlock, lambda: Float) -> (value: Float, grad: Tensor) {
        checkSameShape("colour loss", fake, real)
        let (_, _, h, w) = fake.nchw("colour loss")
        let (value, pooledGrad) = Loss.l1(Resample.blockAverage(fake, block: block), Resample.blockAverage(real, block: block))
        var grad = Resample.blockAverageBackward(pooledGrad, block: block, inputHeight: h, inputWidth: w)
        grad.scale(by: lambda)
        return (value * lambda, grad)
    }
}
