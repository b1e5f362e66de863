/// The SPADE residual block (pre-activation): `x_s + conv_1(lrelu(norm_1(conv_0(lrelu(norm_0(x))))))`
/// with `x_s = conv_s(norm_s(x))` (1×1, no bias, no activation) when the channel count changes, else x.
/// Spectral norm (per `norm_G`) applies to conv_0, conv_1 and conv_s only.
public final class SPADEResnetBlock: Module {
    public let learnedShortcut: Bool
    public let conv0: Conv2dLayer
    public let conv1: Conv2dLayer
    public let convS: Conv2dLayer?
    public let norm0: SPADE
    public let norm1: SPADE
    public let normS: SPADE?
    public static let slope: Float = 0.2

    private var norm0Out: Tensor?
    private var norm1Out: Tensor?

    public init(_ fin: Int, _ fout: Int, config: SPADEConfig, norm: SPADEConfig.NormSpec, rng: inout RandomGenerator) {
        learnedShortcut = fin != fout
        let fmiddle = min(fin, fout)
        conv0 = Conv2dLayer(fin, fmiddle, kernel: 3, padding: 1, spectral: norm.spectral, rng: &rng)
        conv1 = Conv2dLayer(fmiddle, fout, kernel: 3, padding: 1, spectral: norm.spectral, rng: &rng)
        convS = learnedShortcut ? Conv2dLayer(fin, fout, kernel: 1, bias: false, spectral: norm.spectral, rng: &rng) : nil
        func spade(_ c: Int) -> SPADE {
            SPADE(channels: c, labelChannels: config.semanticNC, kind: norm.kind, kernel: norm.kernel,
                  hidden: config.spadeHidden, rng: &rng)
        }
        norm0 = spade(fin)
        norm1 = spade(fmiddle)
        normS = learnedShortcut ? spade(fin) : nil
    }

    public func stateEntries() -> [(String, StateEntry)] {
        // Reference order: conv_0, conv_1, conv_s, norm_0, norm_1, norm_s (attribute creation order).
        var entries = conv0.prefixed("conv_0") + conv1.prefixed("conv_1")
        if let convS { entries += convS.prefixed("conv_s") }
        entries += norm0.prefixed("norm_0") + norm1.prefixed("norm_1")
        if let normS { entries += normS.prefixed("norm_s") }
        return entries
    }

    public func forward(_ x: Tensor, labels: LabelPyramid, training: Bool) -> Tensor {
        var shortcut: Tensor
        if let convS, let normS {
            shortcut = convS.forward(normS.forward(x, labels: labels, training: training), training: training)
        } else {
            shortcut = x
        }
        let a0 = norm0.forward(x, labels: labels, training: training)
        let d0 = conv0.forward(Activation.leakyRelu(a0, slope: Self.slope), training: training)
        let a1 = norm1.forward(d0, labels: labels, training: training)
        let d1 = conv1.forward(Activation.leakyRelu(a1, slope: Self.slope), training: training)
        if training {
            norm0Out = a0
            norm1Out = a1
        }
        shortcut.add(d1)
        return shortcut
    }

    public func backward(_ gy: Tensor) -> Tensor {
        guard let a0 = norm0Out, let a1 = norm1Out else {
            preconditionFailure("SPADEResnetBlock.backward without a training forward")
        }
        let gl1 = conv1.backward(gy)!
        let gd0 = norm1.backward(Activation.leakyReluBackward(gl1, input: a1, slope: Self.slope))
        let gl0 = conv0.backward(gd0)!
        var gx = norm0.backward(Activation.leakyReluBackward(gl0, input: a0, slope: Self.slope))
        if let convS, let normS {
            gx.add(normS.backward(convS.backward(gy)!))
        } else {
            gx.add(gy)
        }
        return gx
    }

    public func releaseCache() {
        norm0Out = nil
        norm1Out = nil
        for conv in [conv0, conv1] { conv.releaseCache() }
        convS?.releaseCache()
        norm0.releaseCache()
        norm1.releaseCache()
        normS?.releaseCache()
    }
}
