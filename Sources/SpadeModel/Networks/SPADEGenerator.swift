/// The SPADE generator (reference `SPADEGenerator`): `fc` (a 3×3 conv of the label map downsampled
/// nearest to the latent size, or a linear map of z when the VAE is used), the residual blocks
/// `head_0, G_middle_0, G_middle_1, up_0 … up_3 (+ up_4)` with nearest ×2 upsampling between them,
/// then `tanh(conv_img(lrelu(x)))`. State names and order match the reference `state_dict()`.
public final class SPADEGenerator: Module {
    public let config: SPADEConfig
    public let norm: SPADEConfig.NormSpec
    /// `fc`: a conv on the label map, or a linear layer from z (`use_vae`).
    public let fcConv: Conv2dLayer?
    public let fcLinear: LinearLayer?
    /// The residual blocks in forward order, with their state-dict names.
    public let blocks: [(name: String, block: SPADEResnetBlock, upsampleBefore: Bool)]
    public let convImg: Conv2dLayer

    // Training caches for backward.
    private var finalPreActivation: Tensor?
    private var output: Tensor?
    private var batchSize = 0

    /// Builds the network with the reference initialisation (xavier-normal, gain 0.02, on every conv and
    /// linear weight; zero biases; random unit u, v) drawn from `rng`.
    public init(config: SPADEConfig, rng: inout RandomGenerator, initialize: Bool = true) throws {
        try config.validate()
        self.config = config
        let norm = try config.normSpec()
        self.norm = norm
        let nf = config.ngf
        let (sh, sw) = config.latentSize
        if config.useVAE {
            fcLinear = LinearLayer(config.zDim, 16 * nf * sh * sw)
            fcConv = nil
        } else {
            fcConv = Conv2dLayer(config.semanticNC, 16 * nf, kernel: 3, padding: 1, rng: &rng)
            fcLinear = nil
        }
        let normSpec = norm
        func block(_ fin: Int, _ fout: Int) -> SPADEResnetBlock {
            SPADEResnetBlock(fin, fout, config: config, norm: normSpec, rng: &rng)
        }
        var blocks: [(String, SPADEResnetBlock, Bool)] = [
            ("head_0", block(16 * nf, 16 * nf), false),
            ("G_middle_0", block(16 * nf, 16 * nf), true),
            ("G_middle_1", block(16 * nf, 16 * nf), config.numUpsamplingLayers != .normal),
            ("up_0", block(16 * nf, 8 * nf), true),
            ("up_1", block(8 * nf, 4 * nf), true),
            ("up_2", block(4 * nf, 2 * nf), true),
            ("up_3", block(2 * nf, nf), true),
        ]
        var finalChannels = nf
        if config.numUpsamplingLayers == .most {
            blocks.append(("up_4", block(nf, nf / 2), true))
            finalChannels = nf / 2
        }
        self.blocks = blocks.map { (name: $0.0, block: $0.1, upsampleBefore: $0.2) }
        convImg = Conv2dLayer(finalChannels, 3, kernel: 3, padding: 1, rng: &rng)
        if initialize { Initialization.xavierNormal(self, gain: 0.02, rng: &rng) }
    }

    public func stateEntries() -> [(String, StateEntry)] {
        var entries = fcConv?.prefixed("fc") ?? fcLinear!.prefixed("fc")
        for b in blocks { entries += b.block.prefixed(b.name) }
        return entries + convImg.prefixed("conv_img")
    }

    /// Draws z ~ N(0, I) of shape [n, z_dim] (the reference draws it when no z is given).
    public func sampleZ(batch n: Int, rng: inout RandomGenerator) -> Tensor {
        rng.normalTensor([n, config.zDim])
    }

    /// The picture in [-1, 1], [N, 3, H, W] with (H, W) = `config.outputSize`.
    /// - labels: the one-hot map [N, semantic_nc, h, w] (any h, w: each layer resizes it nearest).
    /// - z: [N, z_dim], required exactly when the configuration uses the VAE.
    /// - training: batch statistics and running-average updates, one power iteration per spectral
    ///   norm, and caches for `backward`; eval uses running statistics and the stored u, v.
    public func forward(labels: Tensor, z: Tensor? = nil, training: Bool) -> Tensor {
        run(labels: labels, z: z, training: training, shouldCancel: nil)!
    }

    /// Eval-mode forward for interactive use: `shouldCancel` is asked between layers, and once it returns
    /// true the pass stops and returns nil (a newer request has made this one pointless).
    public func synthesize(labels: Tensor, z: Tensor? = nil, shouldCancel: () -> Bool) -> Tensor? {
        withoutActuallyEscaping(shouldCancel) { run(labels: labels, z: z, training: false, shouldCancel: $0) }
    }

    private func run(labels: Tensor, z: Tensor?, training: Bool, shouldCancel: (() -> Bool)?) -> Tensor? {
        let (n, c, _, _) = labels.nchw("generator labels")
        precondition(c == config.semanticNC, "generator: label map has \(c) channels, the configuration needs \(config.semanticNC)")
        let pyramid = LabelPyramid(labels)
        let (sh, sw) = config.latentSize
        var x: Tensor
        if let fcLinear {
            guard let z else { preconditionFailure("generator: use_vae needs z ([\(n), \(config.zDim)])") }
            precondition(z.shape == [n, config.zDim], "generator: z has shape \(z.shape), expected [\(n), \(config.zDim)]")
            // view(-1, 16·nf, sh, sw): the linear output is channel-major.
            x = fcLinear.forward(z, training: training).reshaped([n, 16 * config.ngf, sh, sw])
        } else {
            precondition(z == nil, "generator: z given but the configuration does not use the VAE")
            x = fcConv!.forward(pyramid.at(height: sh, width: sw), training: training)
        }
        for b in blocks {
            if shouldCancel?() == true { return nil }
            if b.upsampleBefore { x = Resample.upsample2x(x) }
            x = b.block.forward(x, labels: pyramid, training: training)
        }
        if shouldCancel?() == true { return nil }
        let image = Activation.tanh(convImg.forward(Activation.leakyRelu(x, slope: SPADEResnetBlock.slope), training: training))
        if training {
            finalPreActivation = x
            output = image
            batchSize = n
        }
        return image
    }

    /// Backward of the last training forward for the upstream gradient `gy` (∂loss/∂output):
    /// accumulates every parameter gradient and returns ∂loss/∂z in the VAE case (nil otherwise).
    @discardableResult
    public func backward(_ gy: Tensor) -> Tensor? {
        guard let x = finalPreActivation, let image = output else {
            preconditionFailure("SPADEGenerator.backward without a training forward")
        }
        checkSameShape("generator backward", gy, image)
        let gConvIn = convImg.backward(Activation.tanhBackward(gy, output: image))!
        var g = Activation.leakyReluBackward(gConvIn, input: x, slope: SPADEResnetBlock.slope)
        for b in blocks.reversed() {
            g = b.block.backward(g)
            if b.upsampleBefore { g = Resample.upsample2xBackward(g) }
        }
        if let fcLinear {
            return fcLinear.backward(g.reshaped([batchSize, g.count / batchSize]))
        }
        fcConv!.backward(g, needInputGrad: false)
        return nil
    }

    /// Frees the training caches (activations of the whole network).
    public func releaseCache() {
        finalPreActivation = nil
        output = nil
        fcConv?.releaseCache()
        for b in blocks { b.block.releaseCache() }
        convImg.releaseCache()
    }
}
