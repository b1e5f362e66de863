/// The label map at every feature resolution a forward pass meets, resized once per resolution
/// (`F.interpolate(seg, size, mode='nearest')`) and shared by all SPADE layers at that size.
public final class LabelPyramid {
    public let full: Tensor
    private var resized: [Int: Tensor] = [:]

    /// `segmap`: the one-hot map [N, semantic_nc, H, W].
    public init(_ segmap: Tensor) {
        _ = segmap.nchw("label map")
        full = segmap
    }

    public func at(height: Int, width: Int) -> Tensor {
        if height == full.shape[2] && width == full.shape[3] { return full }
        let key = height << 32 | width
        if let map = resized[key] { return map }
        let map = Resample.nearest(full, height: height, width: width)
        resized[key] = map
        return map
    }
}

/// Spatially-adaptive normalisation: `param_free_norm(x) · (1 + γ(seg)) + β(seg)` where
/// γ, β are 3×3 convs (kernel per `norm_G`) of a shared conv + ReLU of the label map resized to x.
/// State names: `param_free_norm.*`, `mlp_shared.0.*`, `mlp_gamma.*`, `mlp_beta.*`.
public final class SPADE: Module {
    public let paramFreeNorm: ParamFreeNorm
    public let mlpShared: Conv2dLayer
    public let mlpGamma: Conv2dLayer
    public let mlpBeta: Conv2dLayer

    // Training caches for backward.
    private var normalized: Tensor?
    private var gamma: Tensor?
    private var hiddenPreActivation: Tensor?

    public init(channels: Int, labelChannels: Int, kind: ParamFreeNormKind, kernel: Int = 3, hidden: Int = 128,
                rng: inout RandomGenerator) {
        paramFreeNorm = ParamFreeNorm(channels: channels, kind: kind)
        let pad = kernel / 2
        mlpShared = Conv2dLayer(labelChannels, hidden, kernel: kernel, padding: pad, rng: &rng)
        mlpGamma = Conv2dLayer(hidden, channels, kernel: kernel, padding: pad, rng: &rng)
        mlpBeta = Conv2dLayer(hidden, channels, kernel: kernel, padding: pad, rng: &rng)
    }

    public func stateEntries() -> [(String, StateEntry)] {
        paramFreeNorm.prefixed("param_free_norm") + mlpShared.prefixed("mlp_shared.0")
            + mlpGamma.prefixed("mlp_gamma") + mlpBeta.prefixed("mlp_beta")
    }

    public func forward(_ x: Tensor, labels: LabelPyramid, training: Bool) -> Tensor {
        let (_, _, h, w) = x.nchw("SPADE")
        let normed = paramFreeNorm.forward(x, training: training)
        let pre = mlpShared.forward(labels.at(height: h, width: w), training: training)
        let hidden = Activation.relu(pre)
        let g = mlpGamma.forward(hidden, training: training)
        let b = mlpBeta.forward(hidden, training: training)
        if training {
            normalized = normed
            gamma = g
            hiddenPreActivation = pre
        }
        return Self.modulate(normed, gamma: g, beta: b)
    }

    /// Input gradient of the last training forward; parameter gradients accumulate.
    public func backward(_ gy: Tensor) -> Tensor {
        guard let normed = normalized, let g = gamma, let pre = hiddenPreActivation else {
            preconditionFailure("SPADE.backward without a training forward")
        }
        // out = n·(1+γ) + β  ⇒  ∂n = g·(1+γ), ∂γ = g·n, ∂β = g
        // Every element of both is written below.
        var gNormed = Tensor(uninitializedShape: gy.shape), gGamma = Tensor(uninitializedShape: gy.shape)
        let count = gy.count
        gy.withPointer { gp in
            normed.withPointer { np in
                g.withPointer { gammaP in
                    gNormed.withMutablePointer { gnp in
                        gGamma.withMutablePointer { ggp in
                            Parallel.forRanges(count, minChunk: 1 << 16) { r in
                                for i in r {
                                    gnp[i] = gp[i] * (1 + gammaP[i])
                                    ggp[i] = gp[i] * np[i]
                                }
                            }
                        }
                    }
                }
            }
        }
        var gHidden = mlpGamma.backward(gGamma)!
        gHidden.add(mlpBeta.backward(gy)!)
        mlpShared.backward(Activation.reluBackward(gHidden, input: pre), needInputGrad: false)
        return paramFreeNorm.backward(gNormed)
    }

    public func releaseCache() {
        normalized = nil
        gamma = nil
        hiddenPreActivation = nil
        paramFreeNorm.releaseCache()
        for conv in [mlpShared, mlpGamma, mlpBeta] { conv.releaseCache() }
    }

    /// n · (1 + γ) + β in one pass.
    static func modulate(_ n: Tensor, gamma: Tensor, beta: Tensor) -> Tensor {
        checkSameShape("SPADE modulation (gamma)", n, gamma)
        checkSameShape("SPADE modulation (beta)", n, beta)
        var out = Tensor(uninitializedShape: n.shape)  // every element is written below
        let count = n.count
        n.withPointer { np in
            gamma.withPointer { gp in
                beta.withPointer { bp in
                    out.withMutablePointer { op in
                        Parallel.forRanges(count, minChunk: 1 << 16) { r in
                            for i in r { op[i] = np[i] * (1 + gp[i]) + bp[i] }
                        }
                    }
                }
            }
        }
        return out
    }
}
