/// The reference's multi-scale PatchGAN discriminator (`MultiscaleDiscriminator` of `NLayerDiscriminator`s,
/// spec §8): kernel 4 / padding 2, spectral instance norm on the intermediate layers only, every child
/// output returned for feature matching.

/// Shape of the discriminator. Defaults are the reference's (`ndf 64`, `n_layers_D 4`, `num_D 2`).
public struct DiscriminatorOptions: Equatable {
    /// Channels of `cat(semantics, image)`: semantic_nc + 3.
    public var inputChannels: Int
    public var ndf: Int = 64
    public var layers: Int = 4
    public var scales: Int = 2

    public init(inputChannels: Int, ndf: Int = 64, layers: Int = 4, scales: Int = 2) {
        self.inputChannels = inputChannels
        self.ndf = ndf
        self.layers = layers
        self.scales = scales
    }
}

/// One PatchGAN (`NLayerDiscriminator`): children `model0 … model{layers}`.
/// model0: conv with bias + LReLU; model1…: SN conv without bias + InstanceNorm + LReLU (stride 2 except the
/// last intermediate one, stride 1); last: conv with bias, raw logits.
public final class NLayerDiscriminator: Module {
    public let convs: [Conv2dLayer]
    /// Training-forward caches: the LReLU inputs and the instance-norm statistics of each child.
    private var activationInputs: [Tensor] = []
    private var normCaches: [InstanceNorm.Cache?] = []

    public init(inputChannels: Int, ndf: Int, layers: Int, rng: inout RandomGenerator) {
        precondition(layers >= 1, "NLayerDiscriminator: needs at least one layer, got \(layers)")
        var convs = [Conv2dLayer(inputChannels, ndf, kernel: 4, stride: 2, padding: 2, rng: &rng)]
        var nf = ndf
        for n in 1..<layers {
            let prev = nf
            nf = min(nf * 2, 512)
            convs.append(Conv2dLayer(prev, nf, kernel: 4, stride: n == layers - 1 ? 1 : 2, padding: 2,
                                     bias: false, spectral: true, rng: &rng))
        }
        convs.append(Conv2dLayer(nf, 1, kernel: 4, stride: 1, padding: 2, rng: &rng))
        self.convs = convs
    }

    private var last: Int { convs.count - 1 }
    private func isNormalized(_ k: Int) -> Bool { k > 0 && k < last }

    public func stateEntries() -> [(String, StateEntry)] {
        convs.indices.flatMap { k in
            // Nesting of the reference's Sequentials: model0.0, model{k}.0.0 (conv inside the norm Sequential), model{last}.0.
            convs[k].prefixed(isNormalized(k) ? "model\(k).0.0" : "model\(k).0")
        }
    }

    /// All child outputs: post-LReLU features for model0…, the patch logits last.
    public func forward(_ x: Tensor, training: Bool) -> [Tensor] {
        if training {
            activationInputs = []
            normCaches = []
        }
        var outputs: [Tensor] = []
        var h = x
        for k in convs.indices {
            h = convs[k].forward(h, training: training)
            if k == last { outputs.append(h); break }
            var cache: InstanceNorm.Cache?
            if isNormalized(k) { (h, cache) = InstanceNorm.forward(h) }
            if training {
                activationInputs.append(h)
                normCaches.append(cache)
            }
            h = Activation.leakyRelu(h)
            outputs.append(h)
        }
        if !training { releaseCache() }
        return outputs
    }

    /// Backward of the last training forward from gradients on any subset of its outputs (nil = none).
    /// Accumulates parameter gradients; returns the input gradient when `needInputGrad`.
    public func backward(_ outputGrads: [Tensor?], needInputGrad: Bool) -> Tensor? {
        precondition(outputGrads.count == convs.count,
                     "NLayerDiscriminator.backward: \(outputGrads.count) gradients for \(convs.count) outputs")
        precondition(activationInputs.count == last, "NLayerDiscriminator.backward without a training forward")
        var flowing: Tensor?  // gradient reaching the output of child k from child k+1
        for k in stride(from: last, through: 0, by: -1) {
            var g = outputGrads[k]
            if let f = flowing { g = g.map { $0 + f } ?? f }
            guard var grad = g else { flowing = nil; continue }
            if k != last {
                grad = Activation.leakyReluBackward(grad, input: activationInputs[k])
                if let cache = normCaches[k] { grad = InstanceNorm.backward(grad, cache: cache) }
            }
            flowing = convs[k].backward(grad, needInputGrad: k > 0 || needInputGrad)
        }
        return needInputGrad ? flowing : nil
    }

    /// The input gradient alone for samples `samples` of the last training forward (each gradient holds just
    /// those samples; nil = none), without parameter gradients. Instance norm and the convs act on every
    /// sample separately, so the other samples, whose gradients are zero, need no work.
    public func inputGradient(_ outputGrads: [Tensor?], samples: Range<Int>) -> Tensor? {
        precondition(outputGrads.count == convs.count,
                     "NLayerDiscriminator.inputGradient: \(outputGrads.count) gradients for \(convs.count) outputs")
        precondition(activationInputs.count == last, "NLayerDiscriminator.inputGradient without a training forward")
        var flowing: Tensor?
        for k in stride(from: last, through: 0, by: -1) {
            var g = outputGrads[k]
            if let f = flowing { g = g.map { $0 + f } ?? f }
            guard var grad = g else { flowing = nil; continue }
            if k != last {
                grad = Activation.leakyReluBackward(grad, input: activationInputs[k].batchSlice(samples))
                if let cache = normCaches[k] { grad = InstanceNorm.backward(grad, cache: cache.batchSlice(samples)) }
            }
            flowing = convs[k].inputGradient(grad, samples: samples)
        }
        return flowing
    }

    public func releaseCache() {
        activationInputs = []
        normCaches = []
        for c in convs { c.releaseCache() }
    }
}

/// `num_D` PatchGANs; scale i+1 sees `avg_pool2d(3, 2, 1, count_include_pad=False)` of scale i's input.
public final class MultiscaleDiscriminator: Module {
    public let options: DiscriminatorOptions
    public let scales: [NLayerDiscriminator]
    private var scaleInputSizes: [(h: Int, w: Int)] = []

    /// With `initialize`, the reference's init (xavier-normal, gain 0.02; zero biases); otherwise the weights
    /// are zero, waiting for a checkpoint.
    public init(_ options: DiscriminatorOptions, rng: inout RandomGenerator, initialize: Bool = true) {
        precondition(options.scales >= 1, "MultiscaleDiscriminator: needs at least one scale")
        self.options = options
        scales = (0..<options.scales).map { _ in
            NLayerDiscriminator(inputChannels: options.inputChannels, ndf: options.ndf, layers: options.layers, rng: &rng)
        }
        if initialize { Initialization.xavierNormal(self, gain: 0.02, rng: &rng) }
    }

    public func stateEntries() -> [(String, StateEntry)] {
        scales.indices.flatMap { scales[$0].prefixed("discriminator_\($0)") }
    }

    /// Per scale, the list of every child output (the last one being the patch logits).
    public func forward(_ x: Tensor, training: Bool) -> [[Tensor]] {
        let (_, c, _, _) = x.nchw("discriminator")
        precondition(c == options.inputChannels,
                     "discriminator: input has \(c) channels, expected \(options.inputChannels) (semantics + image)")
        scaleInputSizes = []
        var input = x
        var result: [[Tensor]] = []
        for (i, d) in scales.enumerated() {
            scaleInputSizes.append((input.shape[2], input.shape[3]))
            result.append(d.forward(input, training: training))
            if i + 1 < scales.count { input = Resample.avgPool3x3s2(input) }
        }
        return result
    }

    /// Backward from gradients on any subset of the features (`grads[scale][child]`, nil = none).
    public func backward(_ grads: [[Tensor?]], needInputGrad: Bool) -> Tensor? {
        precondition(grads.count == scales.count, "discriminator backward: \(grads.count) scales of gradients for \(scales.count)")
        var flowing: Tensor?  // gradient with respect to scale i+1's input
        for i in stride(from: scales.count - 1, through: 0, by: -1) {
            var g = scales[i].backward(grads[i], needInputGrad: needInputGrad)
            if needInputGrad, let f = flowing {
                let pooled = Resample.avgPool3x3s2Backward(f, inputHeight: scaleInputSizes[i].h, inputWidth: scaleInputSizes[i].w)
                g = g.map { $0 + pooled } ?? pooled
            }
            flowing = g
        }
        return needInputGrad ? flowing : nil
    }

    /// The input gradient alone for samples `samples` of the last training forward, no parameter gradients
    /// (see `NLayerDiscriminator.inputGradient`).
    public func inputGradient(_ grads: [[Tensor?]], samples: Range<Int>) -> Tensor? {
        precondition(grads.count == scales.count, "discriminator input gradient: \(grads.count) scales of gradients for \(scales.count)")
        var flowing: Tensor?  // gradient with respect to scale i+1's input
        for i in stride(from: scales.count - 1, through: 0, by: -1) {
            var g = scales[i].inputGradient(grads[i], samples: samples)
            if let f = flowing {
                let pooled = Resample.avgPool3x3s2Backward(f, inputHeight: scaleInputSizes[i].h, inputWidth: scaleInputSizes[i].w)
                g = g.map { $0 + pooled } ?? pooled
            }
            flowing = g
        }
        return flowing
    }

    public func releaseCache() { for d in scales { d.releaseCache() } }
}

/// What the discriminator says about a fake and a real batch judged together.
public struct Judgement {
    public var fake: [[Tensor]]
    public var real: [[Tensor]]
}

extension MultiscaleDiscriminator {
    /// The reference's `discriminate`: `cat(semantics, image)` for fake and real, concatenated along the batch
    /// (one forward, so one spectral-norm power iteration) and split back in halves.
    public func judge(semantics: Tensor, fake: Tensor, real: Tensor, training: Bool) -> Judgement {
        let both = Tensor.concatBatch([Tensor.concatChannels([semantics, fake]), Tensor.concatChannels([semantics, real])])
        let n = fake.shape[0]
        let features = forward(both, training: training)
        let halves = features.map { $0.map { $0.splitBatch([n, n]) } }
        return Judgement(fake: halves.map { $0.map { $0[0] } }, real: halves.map { $0.map { $0[1] } })
    }

    /// Backward of the last `judge` (training mode) from gradients on fake and/or real features. Returns the
    /// gradient with respect to the fake image when `needFakeImageGrad`.
    public func judgeBackward(fake fakeGrads: [[Tensor?]], real realGrads: [[Tensor?]], fakeShape: [Int],
                              needFakeImageGrad: Bool) -> Tensor? {
        precondition(fakeGrads.count == scales.count && realGrads.count == scales.count,
                     "judge backward: gradients for \(fakeGrads.count)/\(realGrads.count) scales, have \(scales.count)")
        let combined: [[Tensor?]] = zip(fakeGrads, realGrads).map { f, r in
            zip(f, r).map { gf, gr in
                switch (gf, gr) {
                case (nil, nil): return nil
                case let (gf?, gr?): return Tensor.concatBatch([gf, gr])
                case let (gf?, nil): return Tensor.concatBatch([gf, Tensor(shape: gf.shape)])
                case let (nil, gr?): return Tensor.concatBatch([Tensor(shape: gr.shape), gr])
                }
            }
        }
        guard let gInput = backward(combined, needInputGrad: needFakeImageGrad) else { return nil }
        let n = fakeShape[0]
        return imageChannels(ofInputGradient: gInput.splitBatch([n, n])[0], fakeShape: fakeShape)
    }

    /// The gradient with respect to the fake image of the last `judge` (training mode), from gradients on
    /// the fake features only, without D's parameter gradients: what the G step needs, at a quarter of the
    /// work of `judgeBackward` (no real half, no weight gradients). The result equals `judgeBackward`'s.
    public func fakeImageGradient(fake fakeGrads: [[Tensor?]], fakeShape: [Int]) -> Tensor {
        guard let gInput = inputGradient(fakeGrads, samples: 0..<fakeShape[0]) else { return Tensor(shape: fakeShape) }
        return imageChannels(ofInputGradient: gInput, fakeShape: fakeShape)
    }

    /// D's input is cat(semantics, image): the image's part of its gradient.
    private func imageChannels(ofInputGradient g: Tensor, fakeShape: [Int]) -> Tensor {
        let imageChannels = fakeShape[1]
        return g.splitChannels([g.shape[1] - imageChannels, imageChannels])[1]
    }
}
