import XCTest
@testable import SpadeModel

/// One full training iteration (G step then D step, the reference's order) against the PyTorch fixture
/// made by Tests/fixtures/make_critic_fixtures.py with torch_spade.py's generator: every G, D (and E)
/// parameter gradient, every loss, and all state after both Adam steps (weights, BN running statistics,
/// spectral-norm u and v after their two power iterations).
final class TrainingIterationParityTests: XCTestCase {
    static let config = SPADEConfig(labelNC: 8, containDontcareLabel: true, noInstance: true, ngf: 2, zDim: 16,
                                    cropSize: 64, normG: "spectralspadesyncbatch3x3", spadeHidden: 8)

    func runIteration(_ fixtureName: String, vae: Bool) throws {
        let f = try CriticFixture(fixtureName)
        var config = Self.config
        config.useVAE = vae
        var rng = RandomGenerator(seed: 9)
        let netG = try SPADEGenerator(config: config, rng: &rng, initialize: false)
        f.load(netG, prefix: "state.netG")
        var options = TrainingOptions()
        options.discriminatorWidth = 8
        let netD = MultiscaleDiscriminator(DiscriminatorOptions(inputChannels: config.semanticNC + 3, ndf: 8), rng: &rng, initialize: false)
        f.load(netD, prefix: "state.netD")
        var netE: ConvEncoder?
        if vae {
            netE = ConvEncoder(ndf: config.ngf, zDim: config.zDim, rng: &rng, initialize: false)
            f.load(netE!, prefix: "state.netE")
        }
        let vggPath = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/critic/vgg19_tiny", withExtension: "safetensors")).path
        let vgg = try VGG19(contentsOf: vggPath)
        let training = SPADETraining(generator: netG, options: options, vgg: vgg, discriminator: netD, encoder: netE, rng: &rng)

        let semantics = f["input.semantics"], real = f["input.real"]
        let (gLosses, fake) = training.generatorStep(semantics: semantics, real: real, rng: &rng,
                                                      eps: vae ? f["input.eps.generator"] : nil)
        assertClose(fake, f["gstep.fake"], abs: 1e-4, "G step fake image")
        print("parity: \(fixtureName) G-step fake max abs diff \(maxAbsDiff(fake, f["gstep.fake"]))")
        compareGradients(netG, f, "grad.netG")
        if let netE { compareGradients(netE, f, "grad.netE") }

        let d = training.discriminatorStep(semantics: semantics, real: real, rng: &rng,
                                           eps: vae ? f["input.eps.discriminator"] : nil)
        compareGradients(netD, f, "grad.netD")

        var losses = gLosses
        losses.dFake = d.fake
        losses.dReal = d.real
        XCTAssertEqual(losses.named.map { $0.0 }, vae ? ["GAN", "GAN_Feat", "VGG", "KLD", "D_Fake", "D_real"]
                                                      : ["GAN", "GAN_Feat", "VGG", "D_Fake", "D_real"])
        for (name, value) in losses.named {
            let ref = f.scalar("loss.\(name)")
            XCTAssertEqual(value, ref, accuracy: 1e-5 * max(1, abs(ref)), "loss \(name)")
            print("parity: \(fixtureName) loss \(name) \(value) vs \(ref)")
        }

        // BN running means see the structurally-zero-gradient biases (which Adam moves by ±lr of noise in
        // both implementations) through the D step's batch means: 0.1 momentum × 2·lr, twice → 5e-5.
        compareAfterAdam(netG, f, grads: "grad.netG", state: "after.netG", lr: 1e-4, bufferTolerance: 5e-5)
        compareAfterAdam(netD, f, grads: "grad.netD", state: "after.netD", lr: 4e-4)
        if let netE { compareAfterAdam(netE, f, grads: "grad.netE", state: "after.netE", lr: 1e-4) }
        XCTAssertEqual(training.optimizerG.step, 1)
        XCTAssertEqual(training.optimizerD.step, 1)
    }

    func testOneIterationMatchesPyTorch() throws { try runIteration("iteration", vae: false) }

    func testOneIterationWithTheVAEMatchesPyTorch() throws { try runIteration("iteration_vae", vae: true) }

    func testCheckpointPartsCarryTheReferenceNamesAndOptimizerState() throws {
        var rng = RandomGenerator(seed: 3)
        var config = Self.config
        config.useVAE = true
        let netG = try SPADEGenerator(config: config, rng: &rng)
        var options = TrainingOptions()
        options.discriminatorWidth = 4
        var notices: [String] = []
        let training = SPADETraining(generator: netG, options: options, vgg: nil, rng: &rng, notice: { notices.append($0) })
        XCTAssertNil(training.perceptual)
        XCTAssertLessThanOrEqual(notices.count, 1, "the missing-VGG notice is given at most once per process")
        let names = training.checkpointParts.flatMap { part in part.module.stateEntries().map { part.prefix + $0.0 } }
        XCTAssertTrue(names.contains("netG.fc.weight"))
        XCTAssertTrue(names.contains("netD.discriminator_1.model4.0.bias"))
        XCTAssertTrue(names.contains("netE.fc_var.weight"))
        XCTAssertTrue(names.contains("optimizer_G.step"))
        XCTAssertTrue(names.contains("optimizer_G.exp_avg.netE.layer1.0.weight_orig"))
        XCTAssertTrue(names.contains("optimizer_D.exp_avg_sq.netD.discriminator_0.model0.0.weight"))
        XCTAssertFalse(names.contains { $0.hasPrefix("optimizer_G.exp_avg.netG.") && $0.hasSuffix("weight_u") }, "buffers have no moments")
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(training.optimizerG.learningRate, 1e-4)
        XCTAssertEqual(training.optimizerD.learningRate, 4e-4)

        // A checkpoint round trip through StateDict restores the optimizer's step and moments.
        training.optimizerG.step = 7
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("critic-ckpt-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try StateDict.save(training.checkpointParts, metadata: [:], to: path)
        let other = SPADETraining(generator: try SPADEGenerator(config: config, rng: &rng), options: options, vgg: nil,
                                  rng: &rng, notice: { _ in })
        try StateDict.load(other.checkpointParts, from: try SafeTensorsFile(path: path))
        XCTAssertEqual(other.optimizerG.step, 7)
        XCTAssertEqual(other.discriminator.scales[1].convs[2].weight.value, training.discriminator.scales[1].convs[2].weight.value)
    }

    /// spadepaint's colour term: off by default (the reference's losses), and when on it is computed on the
    /// step's own fake and its gradient reaches the generator and, through z, the encoder.
    func testColourTermIsOffByDefaultAndReachesGeneratorAndEncoder() throws {
        XCTAssertEqual(TrainingOptions().lambdaColour, 0)
        var (config, semantics, real, data) = try vaeBatch(seed: 14)
        let eps = data.normalTensor([2, config.zDim])
        func step(lambda: Float) throws -> (losses: IterationLosses, fake: Tensor, training: SPADETraining) {
            var (training, rng) = try smallTraining(config, seed: 12) { $0.lambdaColour = lambda; $0.colourBlock = 8 }
            let (losses, fake) = training.generatorStep(semantics: semantics, real: real, rng: &rng, eps: eps)
            return (losses, fake, training)
        }
        let off = try step(lambda: 0), on = try step(lambda: 4)
        XCTAssertNil(off.losses.colour)
        XCTAssertFalse(off.losses.named.contains { $0.0 == "Colour" })
        XCTAssertEqual(off.fake, on.fake, "same weights, data and ε: the same fake before the update")
        let expected = ColourLoss.compute(fake: on.fake, real: real, block: 8, lambda: 4).value
        XCTAssertEqual(try XCTUnwrap(on.losses.colour), expected, accuracy: 1e-6 * max(1, expected))
        XCTAssertEqual(on.losses.gan, off.losses.gan)
        func grads(_ m: Module) -> [Float] { m.parameters.flatMap { $0.grad.data } }
        XCTAssertNotEqual(grads(on.training.generator), grads(off.training.generator), "the term reaches G")
        XCTAssertNotEqual(grads(try XCTUnwrap(on.training.encoder)), grads(try XCTUnwrap(off.training.encoder)), "and E through z")
    }

    /// spadepaint's semantic term: off unless a judge is given; when on it is the judge's loss on the step's
    /// own fake, and its gradient reaches the generator and, through z, the encoder.
    func testSegmentationTermIsComputedOnTheFakeAndReachesGeneratorAndEncoder() throws {
        var (config, semantics, real, data) = try vaeBatch(seed: 21)
        let eps = data.normalTensor([2, config.zDim])
        var judgeRNG = RandomGenerator(seed: 22)
        let judge = try Segmenter(config: SegmenterConfig(classes: 8, widths: [4, 8], inputSize: 16), rng: &judgeRNG)
        let term = try SegmentationLoss(judge: judge, lambda: 3, outputSize: config.outputSize, semanticChannels: config.semanticNC)
        func step(_ segmentation: SegmentationLoss?) throws -> (losses: IterationLosses, fake: Tensor, training: SPADETraining) {
            var (training, rng) = try smallTraining(config, seed: 23, segmentation: segmentation) { _ in }
            let (losses, fake) = training.generatorStep(semantics: semantics, real: real, rng: &rng, eps: eps)
            return (losses, fake, training)
        }
        let off = try step(nil), on = try step(term)
        XCTAssertNil(off.losses.segmentation)
        XCTAssertFalse(off.losses.named.contains { $0.0 == "Seg" })
        XCTAssertEqual(off.fake, on.fake, "same weights, data and ε: the same fake before the update")
        let expected = term.compute(fake: on.fake, semantics: semantics).value
        XCTAssertEqual(try XCTUnwrap(on.losses.segmentation), expected, accuracy: 1e-6 * max(1, expected))
        XCTAssertTrue(on.losses.named.contains { $0.0 == "Seg" })
        func grads(_ m: Module) -> [Float] { m.parameters.flatMap { $0.grad.data } }
        XCTAssertNotEqual(grads(on.training.generator), grads(off.training.generator), "the term reaches G")
        XCTAssertNotEqual(grads(try XCTUnwrap(on.training.encoder)), grads(try XCTUnwrap(off.training.encoder)), "and E through z")
    }

    /// spadepaint's --z-noise: a step with noise scale s and ε is the reference's step with s·ε, forward and
    /// backward (so the gradients reaching σ use the scaled ε); at 0 the fake no longer depends on ε.
    func testZNoiseScalesTheSamplingNoiseInBothPasses() throws {
        XCTAssertEqual(TrainingOptions().zNoise, 1, "the reference's sampling by default")
        var (config, semantics, real, data) = try vaeBatch(seed: 15)
        let eps = data.normalTensor([2, config.zDim]), otherEps = data.normalTensor([2, config.zDim])
        func step(noise: Float, eps: Tensor) throws -> (fake: Tensor, training: SPADETraining) {
            var (training, rng) = try smallTraining(config, seed: 13) { $0.zNoise = noise }
            let fake = training.generatorStep(semantics: semantics, real: real, rng: &rng, eps: eps).fake
            return (fake, training)
        }
        func grads(_ t: SPADETraining) throws -> [Float] {
            (t.generator.parameters + (try XCTUnwrap(t.encoder)).parameters).flatMap { $0.grad.data }
        }
        let scaled = try step(noise: 0.3, eps: eps), reference = try step(noise: 1, eps: eps * 0.3)
        assertClose(scaled.fake, reference.fake, abs: 1e-6, "s·ε in the forward pass")
        let a = try grads(scaled.training), b = try grads(reference.training)
        XCTAssertEqual(a.count, b.count)
        XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max() ?? 0, 1e-6, "and in the backward pass")
        XCTAssertNotEqual(try step(noise: 1, eps: eps).fake, reference.fake, "the scale matters")
        XCTAssertEqual(try step(noise: 0, eps: eps).fake, try step(noise: 0, eps: otherEps).fake, "z = μ at scale 0")
    }

    /// spadepaint's --d-warmup step: D learns, G's and E's weights stay as they were, and the G terms are
    /// reported as NaN under the same names an iteration reports (so a loss log keeps its columns).
    func testDiscriminatorWarmUpStepTrainsOnlyTheDiscriminator() throws {
        let (config, semantics, real, _) = try vaeBatch(seed: 16)
        var (training, rng) = try smallTraining(config, seed: 17) { $0.lambdaColour = 2 }
        func weights(_ m: Module) -> [Float] { m.parameters.flatMap { $0.value.data } }
        let g0 = weights(training.generator), e0 = weights(try XCTUnwrap(training.encoder)), d0 = weights(training.discriminator)
        let warm = training.discriminatorWarmUpStep(semantics: semantics, real: real, rng: &rng)
        XCTAssertEqual(weights(training.generator), g0, "G's weights untouched")
        XCTAssertEqual(weights(try XCTUnwrap(training.encoder)), e0, "E's weights untouched")
        XCTAssertNotEqual(weights(training.discriminator), d0, "D took a step")
        XCTAssertEqual(training.optimizerG.step, 0)
        XCTAssertEqual(training.optimizerD.step, 1)
        XCTAssertTrue(warm.dFake.isFinite && warm.dReal.isFinite)
        let full = training.iterate(semantics: semantics, real: real, rng: &rng)
        XCTAssertEqual(warm.named.map { $0.0 }, full.named.map { $0.0 }, "the same columns as an iteration")
        XCTAssertTrue(warm.named.filter { !$0.0.hasPrefix("D_") }.allSatisfy { $0.1.isNaN }, "G terms not computed")
        XCTAssertNotEqual(weights(training.generator), g0, "a normal iteration then updates G")
    }

    /// spadepaint's --freeze-generator: a full iteration leaves every G tensor (weights, BN running statistics,
    /// spectral-norm vectors) as it was, while E and D learn.
    func testFrozenGeneratorKeepsEveryTensorWhileTheEncoderLearns() throws {
        let (config, semantics, real, _) = try vaeBatch(seed: 18)
        var (training, rng) = try smallTraining(config, seed: 19) { $0.lambdaColour = 2; $0.freezeGenerator = true }
        func everything(_ m: Module) -> [Float] { m.stateEntries().flatMap { $0.1.tensor.data } }
        let g0 = everything(training.generator), e0 = everything(try XCTUnwrap(training.encoder))
        let d0 = everything(training.discriminator)
        for _ in 0..<2 { training.iterate(semantics: semantics, real: real, rng: &rng) }
        XCTAssertEqual(everything(training.generator), g0, "G's weights and buffers exactly as loaded")
        XCTAssertNotEqual(everything(try XCTUnwrap(training.encoder)), e0, "E learns")
        XCTAssertNotEqual(everything(training.discriminator), d0, "D learns")
        training.options.freezeGenerator = false
        training.iterate(semantics: semantics, real: real, rng: &rng)
        XCTAssertNotEqual(everything(training.generator), g0, "without the flag G trains (the test can fail)")
    }

    /// A VAE version of the test configuration and a random two-picture batch, for the tests of spadepaint's
    /// own training options; `data` continues the batch's random stream.
    /// `iterate` folds the weights after the step into the average of G and E; the live weights carry on.
    func testWeightAverageFollowsEveryIteration() throws {
        let batch = try vaeBatch(seed: 41)
        var (training, rng) = try smallTraining(batch.config, seed: 42) { $0.weightAverageDecay = 0.75 }
        let before = (training.generator.parameters + training.encoder!.parameters).map(\.value)
        training.iterate(semantics: batch.semantics, real: batch.real, rng: &rng)
        let after = (training.generator.parameters + training.encoder!.parameters).map(\.value)
        let averaged = training.withAveragedWeights { (training.generator.parameters + training.encoder!.parameters).map(\.value) }
        XCTAssertEqual((training.generator.parameters + training.encoder!.parameters).map(\.value), after, "live weights restored")
        var moved = 0
        for ((b, a), m) in zip(zip(before, after), averaged) {
            for i in 0..<a.count { XCTAssertEqual(m.data[i], 0.75 * b.data[i] + 0.25 * a.data[i], accuracy: 1e-6) }
            if a != b { moved += 1 }
        }
        XCTAssertGreaterThan(moved, 10, "the step changed the weights, so the test can tell the average from them")
        XCTAssertEqual(training.averageParts.map(\.prefix), ["ema_netG.", "ema_netE."])
    }

    /// With --encoder-tiles the encoder learns from shuffled pictures: the step's code is E's code of the
    /// shuffled batch, so the step differs from one on the pictures as they are, and G still learns.
    func testEncoderSeesShuffledTilesWhenAsked() throws {
        let batch = try vaeBatch(seed: 51)
        var (plain, plainRNG) = try smallTraining(batch.config, seed: 52) { $0.zNoise = 0 }
        var (tiled, tiledRNG) = try smallTraining(batch.config, seed: 52) { $0.zNoise = 0; $0.encoderTileGrid = 4 }
        // A twin of the tiled trainer encodes the shuffled batch the step should see (training mode, so its
        // spectral norms take the same power iteration).
        let twin = try smallTraining(batch.config, seed: 52) { $0.zNoise = 0; $0.encoderTileGrid = 4 }.training
        var shuffleRNG = tiledRNG
        let shuffled = TileShuffle.apply(batch.real, grid: 4, rng: &shuffleRNG)
        XCTAssertNotEqual(shuffled, batch.real)
        let code = twin.encoder!.forward(shuffled, training: true)
        let plainLosses = plain.generatorStep(semantics: batch.semantics, real: batch.real, rng: &plainRNG).losses
        let tiledLosses = tiled.generatorStep(semantics: batch.semantics, real: batch.real, rng: &tiledRNG).losses
        XCTAssertNotEqual(plainLosses.kld, tiledLosses.kld, "the encoder saw other pictures")
        XCTAssertEqual(tiledLosses.kld!, KLDivergenceLoss.compute(mu: code.mu, logvar: code.logvar, lambda: tiled.options.lambdaKLD).value,
                       accuracy: 1e-6)
    }

    private func vaeBatch(seed: UInt64) throws -> (config: SPADEConfig, semantics: Tensor, real: Tensor, data: RandomGenerator) {
        var config = Self.config
        config.useVAE = true
        var data = RandomGenerator(seed: seed)
        let labels = (0..<2).map { _ in (0..<(64 * 64)).map { _ in UInt8(data.next() % 8) } }
        let semantics = try LabelEncoding.oneHot(batch: labels, height: 64, width: 64, config: config)
        return (config, semantics, data.normalTensor([2, 3, 64, 64]), data)
    }

    /// A small trainer (D width 4, no VGG) on a freshly initialised generator, and the generator's RNG after it.
    private func smallTraining(_ config: SPADEConfig, seed: UInt64, segmentation: SegmentationLoss? = nil,
                               _ configure: (inout TrainingOptions) -> Void) throws -> (training: SPADETraining, rng: RandomGenerator) {
        var rng = RandomGenerator(seed: seed)
        var options = TrainingOptions()
        options.discriminatorWidth = 4
        configure(&options)
        let training = SPADETraining(generator: try SPADEGenerator(config: config, rng: &rng), options: options,
                                     vgg: nil, segmentation: segmentation, rng: &rng, notice: { _ in })
        return (training, rng)
    }
}
