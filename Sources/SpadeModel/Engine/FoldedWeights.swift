/// The eval-mode weights of a loaded generator, prepared once for the inference engine:
/// spectral norm folded (W = weight_orig / σ with the stored u, v — no power iteration, as the
/// reference's eval mode), batch norm's running statistics folded into a per-channel scale and shift,
/// each SPADE's γ and β convs concatenated into one [2C, …] GEMM, and the convs that read the one-hot
/// label map rearranged into per-label kernel columns for `OneHotGather`.

/// A stride-1, same-padded convolution's weights as a GEMM operand: [out, in·k·k] row-major.
struct FoldedConv {
    let outChannels: Int
    let inChannels: Int
    let kernel: Int
    let weight: [Float]
    let bias: [Float]?
    /// 3×3 convs: the Winograd-domain weights, transformed on first use by `WinogradConv`.
    let winograd: WinogradWeights?
    /// Convs with few outputs (conv_img): the weight regrouped for `NarrowRectConv`, one row per output and tap.
    let narrow: [Float]?

    var padding: Int { kernel / 2 }
    var columnRows: Int { inChannels * kernel * kernel }

    /// The layer's eval-mode weight (spectral norm applied with the stored u, v).
    init(_ layer: Conv2dLayer) {
        precondition(layer.stride == 1 && layer.padding == layer.kernel / 2,
                     "inference engine: only stride-1 same-padded convs, got stride \(layer.stride) padding \(layer.padding)")
        let (w, _) = layer.effectiveWeight(training: false)
        self.init(weight: w, bias: layer.bias?.value.data)
    }

    init(weight w: Tensor, bias: [Float]?) {
        outChannels = w.shape[0]
        inChannels = w.shape[1]
        kernel = w.shape[2]
        weight = w.data
        self.bias = bias
        winograd = kernel == 3 ? WinogradWeights(weight: w.data, outChannels: outChannels, inChannels: inChannels) : nil
        narrow = NarrowRectConv.applies(outChannels: outChannels, kernel: kernel)
            ? Conv2dNarrowOutput.regroupedWeight(w.data, outChannels: outChannels, inChannels: inChannels, taps: kernel * kernel)
            : nil
    }

    /// The two convs' outputs stacked along channels (first `a`'s, then `b`'s): one GEMM instead of two.
    static func stacked(_ a: FoldedConv, _ b: FoldedConv) -> FoldedConv {
        precondition(a.inChannels == b.inChannels && a.kernel == b.kernel, "stacked convs must share their input")
        let w = Tensor(shape: [a.outChannels + b.outChannels, a.inChannels, a.kernel, a.kernel], data: a.weight + b.weight)
        let bias = (a.bias ?? [Float](repeating: 0, count: a.outChannels)) + (b.bias ?? [Float](repeating: 0, count: b.outChannels))
        return FoldedConv(weight: w, bias: bias)
    }
}

/// One SPADE, eval mode: `x̂ = x·scale + shift` (batch norm with running statistics), the label branch
/// (`mlp_shared` as a one-hot gather, then γ‖β as one conv), and the modulation
/// `x̂·(1+γ) + β = x·A + B` with A = scale·(1+γ), B = shift·(1+γ) + β.
struct FoldedSPADE {
    let channels: Int
    let hidden: Int
    let kernel: Int
    let shared: OneHotGather
    let gammaBeta: FoldedConv
    let scale: [Float]
    let shift: [Float]
    /// A and B where the label map is one class c over the whole (2·pad+1)² window the γ‖β conv sees
    /// through mlp_shared (all inside the map, no edge bits): there the hidden map is a per-class
    /// constant, so γ and β are too. [c · channels + ch].
    let uniformA: [Float]
    let uniformB: [Float]
    /// Radius of that window: pad of mlp_shared + pad of γ‖β.
    var uniformRadius: Int { 2 * (kernel / 2) }

    init(_ spade: SPADE, labelChannels: Int, hasEdgeChannel: Bool) {
        let norm = spade.paramFreeNorm
        guard let mean = norm.runningMean?.value.data, let variance = norm.runningVar?.value.data else {
            preconditionFailure("FoldedSPADE needs batch-norm running statistics (instance norm is not foldable)")
        }
        channels = mean.count
        hidden = spade.mlpShared.outChannels
        kernel = spade.mlpShared.kernel
        let sharedGather = OneHotGather(spade.mlpShared, labelChannels: labelChannels, hasEdgeChannel: hasEdgeChannel, relu: true)
        let stacked = FoldedConv.stacked(FoldedConv(spade.mlpGamma), FoldedConv(spade.mlpBeta))
        shared = sharedGather
        gammaBeta = stacked
        var s = [Float](repeating: 0, count: channels), t = s
        for c in 0..<channels {
            s[c] = 1 / (variance[c] + ParamFreeNorm.eps).squareRoot()
            t[c] = -mean[c] * s[c]
        }
        scale = s
        shift = t
        (uniformA, uniformB) = Self.uniformModulation(shared: sharedGather, gammaBeta: stacked, scale: s, shift: t)
    }

    /// Per class c: hidden h_c = relu(bias + Σ_taps W_shared[:, c, tap]); γ‖β_c = (Σ_taps W_γβ[:, :, tap]) h_c + b;
    /// folded with the batch norm into A and B.
    static func uniformModulation(shared: OneHotGather, gammaBeta: FoldedConv, scale: [Float], shift: [Float]) -> ([Float], [Float]) {
        let classes = shared.labelChannels, hid = shared.outChannels, kk = shared.kernel * shared.kernel
        let out2 = gammaBeta.outChannels, ch = out2 / 2, gkk = gammaBeta.kernel * gammaBeta.kernel
        var hidden = [Float](repeating: 0, count: classes * hid)
        for c in 0..<classes {
            for o in 0..<hid {
                var v = shared.bias[o]
                for tap in 0..<kk { v += shared.columns[(c * kk + tap) * hid + o] }
                hidden[c * hid + o] = max(0, v)
            }
        }
        var summed = [Float](repeating: 0, count: out2 * hid)
        for o in 0..<out2 {
            for i in 0..<hid {
                var v: Float = 0
                for tap in 0..<gkk { v += gammaBeta.weight[(o * hid + i) * gkk + tap] }
                summed[o * hid + i] = v
            }
        }
        // [classes, hid] · [out2, hid]ᵀ
        var g = [Float](repeating: 0, count: classes * out2)
        hidden.withUnsafeBufferPointer { hp in
            summed.withUnsafeBufferPointer { sp in
                g.withUnsafeMutableBufferPointer { gp in
                    sgemm(transB: true, m: classes, n: out2, k: hid, a: hp.baseAddress!, lda: hid, b: sp.baseAddress!, ldb: hid,
                          c: gp.baseAddress!, ldc: out2)
                }
            }
        }
        var a = [Float](repeating: 0, count: classes * ch), b = a
        let bias = gammaBeta.bias!
        for c in 0..<classes {
            for k in 0..<ch {
                let onePlusGamma = 1 + g[c * out2 + k] + bias[k]
                a[c * ch + k] = scale[k] * onePlusGamma
                b[c * ch + k] = shift[k] * onePlusGamma + g[c * out2 + ch + k] + bias[ch + k]
            }
        }
        return (a, b)
    }
}
