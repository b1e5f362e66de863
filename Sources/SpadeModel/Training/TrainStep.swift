import Foundation

/// Options of SPADE training that are not part of the generator's configuration (reference
/// `train_options.py` / `base_options.py` names in the comments).
public struct TrainingOptions: Equatable {
    public var discriminatorWidth = 64            // --ndf
    public var discriminatorLayers = 4            // --n_layers_D
    public var discriminatorScales = 2            // --num_D
    public var ganFeatureLoss = true              // !--no_ganFeat_loss
    public var vggLoss = true                     // !--no_vgg_loss
    public var lambdaFeat: Float = FeatureMatchingLoss.defaultLambda   // --lambda_feat
    public var lambdaVGG: Float = VGGLoss.defaultLambda                 // --lambda_vgg
    public var lambdaKLD: Float = KLDivergenceLoss.defaultLambda        // --lambda_kld
    /// spadepaint's `ColourLoss` weight and tile size; 0 (the reference) leaves the term out.
    public var lambdaColour: Float = 0
    public var colourBlock = ColourLoss.defaultBlock
    /// spadepaint's scale of the VAE's sampling noise in training (z = μ + zNoise·ε·σ); 1 is the reference.
    /// Below 1 it keeps z's signal above the noise while the encoder is still weak: with the reference's KLD
    /// the encoder's σ sits near 1 and its μ near 0, so the generator learns to ignore z (posterior collapse).
    public var zNoise: Float = 1
    /// spadepaint's encoder-only fine-tuning: G keeps its weights and its buffers (BN running statistics,
    /// spectral-norm vectors) exactly as loaded; E learns through G's gradients, and D as usual.
    public var freezeGenerator = false
    /// spadepaint's exponential moving average of G's and E's weights (`WeightAverage`), the model a run
    /// writes as its painting model; nil keeps none (the reference).
    public var weightAverageDecay: Float?
    /// spadepaint's style-only encoder input: in training the encoder sees the picture cut into this many
    /// tiles per side in a random order (`TileShuffle`); nil shows it the picture (the reference).
    public var encoderTileGrid: Int?
    public var schedule = LearningRateSchedule()  // --lr, --niter, --niter_decay, !--no_TTUR
    public var beta1: Double = 0                  // TTUR betas; the reference's --no_TTUR uses (0.5, 0.999)
    public var beta2: Double = 0.9

    public init() {}
}

/// The losses of one iteration, under the reference's names.
public struct IterationLosses: Equatable {
    public var gan: Float = 0
    public var ganFeat: Float?
    public var vgg: Float?
    public var kld: Float?
    public var colour: Float?
    /// spadepaint's `SegmentationLoss`.
    public var segmentation: Float?
    public var dFake: Float = 0
    public var dReal: Float = 0

    public init() {}

    /// (name, value) in the reference's order: GAN, GAN_Feat, VGG, KLD, then spadepaint's Colour and Seg,
    /// D_Fake, D_real.
    public var named: [(String, Float)] {
        var out = [("GAN", gan)]
        if let ganFeat { out.append(("GAN_Feat", ganFeat)) }
        if let vgg { out.append(("VGG", vgg)) }
        if let kld { out.append(("KLD", kld)) }
        if let colour { out.append(("Colour", colour)) }
        if let segmentation { out.append(("Seg", segmentation)) }
        return out + [("D_Fake", dFake), ("D_real", dReal)]
    }
}

/// SPADE's networks and optimizers, and one training iteration in the reference's order
/// (`Pix2PixTrainer.run_generator_one_step`, then `run_discriminator_one_step`, on the same batch):
///
/// G step: zero G grads → (VAE: encode the real image, z = μ + ε·σ, KLD) → training G forward →
/// D on cat(fake, real) → GAN + feature matching + VGG (+ KLD) → backward through D into the fake image →
/// through G (and E) → Adam G.
/// D step: zero D grads → a new training-mode G forward (VAE: a new encoding and ε), detached →
/// D on cat(fake, real) → hinge losses → backward into D → Adam D.
///
/// So, per iteration, G's BN running statistics are updated twice and every spectral norm of G, D and E
/// does two power iterations, as in the reference.
public final class SPADETraining {
    public let generator: SPADEGenerator
    public let discriminator: MultiscaleDiscriminator
    public let encoder: ConvEncoder?
    public let perceptual: VGGLoss?
    /// spadepaint's semantic term through a frozen segmenter; nil leaves it out (the reference).
    public let segmentation: SegmentationLoss?
    public let optimizerG: Adam
    public let optimizerD: Adam
    public var options: TrainingOptions
    /// The averaged generator and encoder (`options.weightAverageDecay`), updated after every `iterate`.
    public let generatorAverage: WeightAverage?
    public let encoderAverage: WeightAverage?
    /// D's tensors in a training checkpoint (the reference saves D as its own `net_D` file).
    public static let discriminatorPrefix = "netD."
    public static let averagePrefix = "ema_"

    /// Prints "no VGG19 weights" at most once per process however many trainers are built.
    nonisolated(unsafe) private static var toldAboutMissingVGG = false

    /// - vgg: the VGG19 for the perceptual loss; nil (with `options.vggLoss`) trains without that term and
    ///   says so once through `notice`.
    /// - discriminator / encoder: pass loaded networks to resume; otherwise they are built and initialised
    ///   from `rng` (the encoder only when the generator uses the VAE).
    /// - segmentation: the semantic term's judge and weight (`SegmentationLoss`); nil: none.
    public init(generator: SPADEGenerator, options: TrainingOptions = TrainingOptions(), vgg: VGG19?,
                segmentation: SegmentationLoss? = nil,
                discriminator: MultiscaleDiscriminator? = nil, encoder: ConvEncoder? = nil,
                rng: inout RandomGenerator,
                notice: (String) -> Void = { FileHandle.standardError.write(Data(("note: " + $0 + "\n").utf8)) }) {
        let config = generator.config
        self.generator = generator
        self.options = options
        self.segmentation = segmentation
        let dOptions = DiscriminatorOptions(inputChannels: config.semanticNC + 3, ndf: options.discriminatorWidth,
                                            layers: options.discriminatorLayers, scales: options.discriminatorScales)
        if let discriminator {
            precondition(discriminator.options == dOptions,
                         "SPADETraining: discriminator \(discriminator.options) does not fit the options \(dOptions)")
        }
        self.discriminator = discriminator ?? MultiscaleDiscriminator(dOptions, rng: &rng)
        let builtEncoder: ConvEncoder?
        if config.useVAE {
            // The generator validated its configuration, norm_E included, so this cannot throw.
            builtEncoder = encoder ?? ConvEncoder(ndf: config.ngf, zDim: config.zDim, norm: try! config.encoderNorm(), rng: &rng)
        } else {
            precondition(encoder == nil, "SPADETraining: an encoder was given but the generator does not use the VAE")
            builtEncoder = nil
        }
        self.encoder = builtEncoder
        if options.vggLoss, let vgg {
            perceptual = VGGLoss(network: vgg, lambda: options.lambdaVGG)
        } else {
            perceptual = nil
            if options.vggLoss && !Self.toldAboutMissingVGG {
                Self.toldAboutMissingVGG = true
                notice("no VGG19 weights given: training continues without the VGG perceptual loss")
            }
        }
        let rates = options.schedule.rates(epoch: 1)
        var gNamed = Self.namedParameters(generator, prefix: "netG")
        if let e = builtEncoder { gNamed += Self.namedParameters(e, prefix: "netE") }
        optimizerG = Adam(gNamed, learningRate: rates.generator, beta1: options.beta1, beta2: options.beta2)
        optimizerD = Adam(Self.namedParameters(self.discriminator, prefix: "netD"), learningRate: rates.discriminator,
                          beta1: options.beta1, beta2: options.beta2)
        generatorAverage = options.weightAverageDecay.map { WeightAverage(of: generator, decay: $0) }
        encoderAverage = options.weightAverageDecay.flatMap { decay in builtEncoder.map { WeightAverage(of: $0, decay: decay) } }
    }

    private static func namedParameters(_ module: Module, prefix: String) -> [(String, Parameter)] {
        module.stateEntries().compactMap { name, entry in
            if case .parameter(let p) = entry { return ("\(prefix).\(name)", p) }
            return nil
        }
    }

    /// Everything a training checkpoint holds, with the prefixes its tensor names carry:
    /// `netG.`, `netD.`, `netE.` (VAE), `optimizer_G.`, `optimizer_D.` (each `step`, `exp_avg.<param>`,
    /// `exp_avg_sq.<param>`, the param names being the checkpoint's own, e.g. `netG.fc.weight`).
    /// With weight averaging, `ema_netG.` and `ema_netE.` follow (`averageParts`).
    public var checkpointParts: [StateDict.Part] { trainingParts + averageParts }

    /// The networks and optimizers, without the weight averages.
    public var trainingParts: [StateDict.Part] {
        var parts = [StateDict.Part(generator, prefix: "netG."), StateDict.Part(discriminator, prefix: Self.discriminatorPrefix)]
        if let encoder { parts.append(StateDict.Part(encoder, prefix: "netE.")) }
        return parts + [StateDict.Part(optimizerG, prefix: "optimizer_G."), StateDict.Part(optimizerD, prefix: "optimizer_D.")]
    }

    public var averageParts: [StateDict.Part] {
        var parts: [StateDict.Part] = []
        if let generatorAverage { parts.append(StateDict.Part(generatorAverage, prefix: Self.averagePrefix + "netG.")) }
        if let encoderAverage { parts.append(StateDict.Part(encoderAverage, prefix: Self.averagePrefix + "netE.")) }
        return parts
    }

    /// Restarts the weight averages at the current weights (after loading a model to fine-tune, or when a
    /// run starts averaging part-way).
    public func resetAverages() {
        generatorAverage?.reset()
        encoderAverage?.reset()
    }

    /// Runs `body` with the averaged weights in G and E (the live ones when averaging is off), then puts the
    /// live weights back: what a run writes as its painting model and draws its samples with.
    public func withAveragedWeights<T>(_ body: () throws -> T) rethrows -> T {
        guard let generatorAverage else { return try body() }  // E is averaged exactly when G is
        return try generatorAverage.withAveragedState {
            guard let encoderAverage else { return try body() }
            return try encoderAverage.withAveragedState(body)
        }
    }

    /// Sets both learning rates for `epoch` (1-based) from the schedule (the reference's
    /// `update_learning_rate` after every epoch).
    public func setEpoch(_ epoch: Int) {
        let rates = options.schedule.rates(epoch: epoch)
        optimizerG.learningRate = rates.generator
        optimizerD.learningRate = rates.discriminator
    }

    /// One G step and one D step on the same batch. `semantics`: one-hot [N, semantic_nc, H, W];
    /// `real`: [N, 3, H, W] in [-1, 1] with (H, W) the generator's output size. With the VAE each step
    /// draws its ε from `rng` unless given.
    @discardableResult
    public func iterate(semantics: Tensor, real: Tensor, rng: inout RandomGenerator,
                        eps: (generator: Tensor, discriminator: Tensor)? = nil) -> IterationLosses {
        var losses = generatorStep(semantics: semantics, real: real, rng: &rng, eps: eps?.generator).losses
        let d = discriminatorStep(semantics: semantics, real: real, rng: &rng, eps: eps?.discriminator)
        losses.dFake = d.fake
        losses.dReal = d.real
        generatorAverage?.update()
        encoderAverage?.update()
        return losses
    }

    /// The G step; returns its losses (D fields zero) and the fake image it made.
    public func generatorStep(semantics: Tensor, real: Tensor, rng: inout RandomGenerator,
                              eps given: Tensor? = nil) -> (losses: IterationLosses, fake: Tensor) {
        checkBatch(semantics: semantics, real: real)
        let frozen = frozenGeneratorState()
        defer { frozen?.restore() }
        var losses = IterationLosses()
        optimizerG.zeroGrad()
        var vae: (mu: Tensor, logvar: Tensor, eps: Tensor, kld: (value: Float, mu: Tensor, logvar: Tensor))?
        var z: Tensor?
        if let encoder {
            let (mu, logvar) = encoder.forward(encoderInput(real, rng: &rng), training: true)
            let eps = scaledNoise(given ?? rng.normalTensor(mu.shape))
            z = Reparameterization.sample(mu: mu, logvar: logvar, eps: eps)
            let kld = KLDivergenceLoss.compute(mu: mu, logvar: logvar, lambda: options.lambdaKLD)
            losses.kld = kld.value
            vae = (mu, logvar, eps, kld)
        }
        let fake = generator.forward(labels: semantics, z: z, training: true)
        let judgement = discriminator.judge(semantics: semantics, fake: fake, real: real, training: true)
        let gan = HingeLoss.generator(judgement.fake)
        losses.gan = gan.value
        var featureGrads = gan.grads
        if options.ganFeatureLoss {
            let feat = FeatureMatchingLoss.compute(fake: judgement.fake, real: judgement.real, lambda: options.lambdaFeat)
            losses.ganFeat = feat.value
            featureGrads = addGrads(featureGrads, feat.grads)
        }
        // Only the fake image's gradient: D's parameter gradients would be discarded (the D step zeroes them
        // first; the reference computes and drops them).
        var fakeGrad = discriminator.fakeImageGradient(fake: featureGrads, fakeShape: fake.shape)
        discriminator.releaseCache()
        if let perceptual {
            let vgg = perceptual.compute(fake: fake, real: real)
            losses.vgg = vgg.value
            fakeGrad.add(vgg.grad)
        }
        if options.lambdaColour > 0 {
            let colour = ColourLoss.compute(fake: fake, real: real, block: options.colourBlock, lambda: options.lambdaColour)
            losses.colour = colour.value
            fakeGrad.add(colour.grad)
        }
        if let segmentation {
            let semantic = segmentation.compute(fake: fake, semantics: semantics)
            losses.segmentation = semantic.value
            fakeGrad.add(semantic.grad)
        }
        let zGrad = generator.backward(fakeGrad)
        generator.releaseCache()
        if let encoder, let vae, let zGrad {
            let viaZ = Reparameterization.backward(zGrad, logvar: vae.logvar, eps: vae.eps)
            encoder.backward(mu: viaZ.mu + vae.kld.mu, logvar: viaZ.logvar + vae.kld.logvar)
            encoder.releaseCache()
        }
        // With zero gradients from the start, Adam's moments stay zero and so does every G update.
        if frozen != nil { for p in generator.parameters { p.zeroGrad() } }
        optimizerG.update()
        return (losses, fake)
    }

    /// The D step on a regenerated, detached fake; returns the hinge losses.
    @discardableResult
    public func discriminatorStep(semantics: Tensor, real: Tensor, rng: inout RandomGenerator,
                                  eps given: Tensor? = nil) -> (fake: Float, real: Float) {
        checkBatch(semantics: semantics, real: real)
        let frozen = frozenGeneratorState()
        defer { frozen?.restore() }
        optimizerD.zeroGrad()
        // A training-mode forward (BN statistics, power iterations) whose graph is not kept: the reference
        // runs it under no_grad.
        var z: Tensor?
        if let encoder {
            let (mu, logvar) = encoder.forward(encoderInput(real, rng: &rng), training: true)
            encoder.releaseCache()
            z = Reparameterization.sample(mu: mu, logvar: logvar, eps: scaledNoise(given ?? rng.normalTensor(mu.shape)))
        }
        let fake = generator.forward(labels: semantics, z: z, training: true)
        generator.releaseCache()
        let judgement = discriminator.judge(semantics: semantics, fake: fake, real: real, training: true)
        let lossFake = HingeLoss.discriminator(judgement.fake, real: false)
        let lossReal = HingeLoss.discriminator(judgement.real, real: true)
        _ = discriminator.judgeBackward(fake: lossFake.grads, real: lossReal.grads, fakeShape: fake.shape, needFakeImageGrad: false)
        discriminator.releaseCache()
        optimizerD.update()
        return (lossFake.value, lossReal.value)
    }

    /// Only the D step, G and E left as they are: warms up a fresh discriminator before fine-tuning, so
    /// that G's first updates do not follow a random critic. The G terms the iteration would report are NaN
    /// ("not computed"), so a loss log keeps its columns.
    @discardableResult
    public func discriminatorWarmUpStep(semantics: Tensor, real: Tensor, rng: inout RandomGenerator) -> IterationLosses {
        let d = discriminatorStep(semantics: semantics, real: real, rng: &rng)
        var losses = IterationLosses()
        losses.gan = .nan
        if options.ganFeatureLoss { losses.ganFeat = .nan }
        if perceptual != nil { losses.vgg = .nan }
        if encoder != nil { losses.kld = .nan }
        if options.lambdaColour > 0 { losses.colour = .nan }
        if segmentation != nil { losses.segmentation = .nan }
        losses.dFake = d.fake
        losses.dReal = d.real
        return losses
    }

    /// Eval-mode synthesis (running statistics, stored u, v). With the VAE the real image is encoded and z
    /// sampled (the reference's inference), or z is drawn from N(0, I) when no image is given.
    public func generate(semantics: Tensor, real: Tensor? = nil, rng: inout RandomGenerator) -> Tensor {
        var z: Tensor?
        if let encoder {
            if let real {
                let (mu, logvar) = encoder.forward(real, training: false)
                z = Reparameterization.sample(mu: mu, logvar: logvar, rng: &rng).z
            } else {
                z = generator.sampleZ(batch: semantics.shape[0], rng: &rng)
            }
        }
        return generator.forward(labels: semantics, z: z, training: false)
    }

    /// G's buffers as they are now, to put back after a step when G is frozen (its training-mode forward
    /// moves the running statistics and the spectral-norm vectors); nil when G trains.
    private func frozenGeneratorState() -> FrozenBuffers? {
        options.freezeGenerator ? FrozenBuffers(generator) : nil
    }

    /// What the encoder sees of the real pictures in training: the pictures, or their tiles shuffled.
    private func encoderInput(_ real: Tensor, rng: inout RandomGenerator) -> Tensor {
        guard let grid = options.encoderTileGrid, grid > 1 else { return real }
        return TileShuffle.apply(real, grid: grid, rng: &rng)
    }

    /// ε scaled by `options.zNoise`: the backward pass then sees the same scaled ε as the forward did.
    private func scaledNoise(_ eps: Tensor) -> Tensor {
        options.zNoise == 1 ? eps : eps * options.zNoise
    }

    private func checkBatch(semantics: Tensor, real: Tensor) {
        let (n, c, _, _) = semantics.nchw("training semantics")
        let (rn, rc, rh, rw) = real.nchw("training images")
        let (oh, ow) = generator.config.outputSize
        precondition(c == generator.config.semanticNC, "training: semantics have \(c) channels, the generator needs \(generator.config.semanticNC)")
        precondition(rn == n && rc == 3 && rh == oh && rw == ow,
                     "training: images \(real.shape) do not match the batch [\(n), 3, \(oh), \(ow)] the generator makes")
    }
}

/// Copies of a module's buffers, to restore them after a training-mode forward.
struct FrozenBuffers {
    private let saved: [(Buffer, Tensor)]

    init(_ module: Module) {
        saved = module.buffers.map { ($0, $0.value) }
    }

    func restore() { for (buffer, value) in saved { buffer.value = value } }
}
