import XCTest
@testable import SpadeModel

/// Parity of the discriminator, encoder, losses, VGG19 and Adam with an independent PyTorch implementation
/// (Tests/fixtures/torch_critic.py; regenerate with Tests/fixtures/make_critic_fixtures.py).
final class CriticParityTests: XCTestCase {
    static let featureTolerance: Float = criticFeatureTolerance
    static let gradientTolerance: Float = criticGradientTolerance

    func testDiscriminatorFeaturesLossesGradientsAndAdamStep() throws {
        let f = try CriticFixture("discriminator")
        var rng = RandomGenerator(seed: 5)
        let netD = MultiscaleDiscriminator(DiscriminatorOptions(inputChannels: 12, ndf: 16), rng: &rng)
        f.load(netD, prefix: "state")
        let sem = f["semantics"], fake = f["fake"], real = f["real"]

        // Eval mode: stored u, v, no power iteration.
        let evalJudgement = netD.judge(semantics: sem, fake: fake, real: real, training: false)
        compareFeatures(evalJudgement.fake, f, "eval.fake")
        compareFeatures(evalJudgement.real, f, "eval.real")
        compareState(netD, f, "state", tolerance: 0, onlyBuffers: true)  // eval leaves u, v alone

        // The generator step's use of D: GAN + feature matching, gradient into the fake image.
        let g = netD.judge(semantics: sem, fake: fake, real: real, training: true)
        compareFeatures(g.fake, f, "gstep.fake")
        compareFeatures(g.real, f, "gstep.real")
        let gan = HingeLoss.generator(g.fake)
        let feat = FeatureMatchingLoss.compute(fake: g.fake, real: g.real)
        XCTAssertEqual(gan.value, f.scalar("gstep.loss.gan"), accuracy: 1e-5)
        XCTAssertEqual(feat.value, f.scalar("gstep.loss.feat"), accuracy: 1e-5 * max(1, abs(feat.value)))
        netD.zeroGrad()
        let imageGrad = netD.judgeBackward(fake: addGrads(gan.grads, feat.grads), real: emptyGrads(like: g.real),
                                           fakeShape: fake.shape, needFakeImageGrad: true)
        assertRelClose(try XCTUnwrap(imageGrad), f["gstep.grad_image"], rel: Self.gradientTolerance, "gradient on the fake image")
        print("parity: D gradient on the fake image max relative diff \(relativeDiff(imageGrad!, f["gstep.grad_image"]))")
        compareGradients(netD, f, "gstep.grad")
        compareState(netD, f, "gstep.state", tolerance: 1e-5, onlyBuffers: true)

        // The discriminator step: fresh gradients, hinge losses on fake and real, one Adam step.
        let adam = Adam(module: netD, learningRate: 4e-4)
        adam.zeroGrad()
        let d = netD.judge(semantics: sem, fake: fake, real: real, training: true)
        let lossFake = HingeLoss.discriminator(d.fake, real: false)
        let lossReal = HingeLoss.discriminator(d.real, real: true)
        XCTAssertEqual(lossFake.value, f.scalar("dstep.loss.fake"), accuracy: 1e-5)
        XCTAssertEqual(lossReal.value, f.scalar("dstep.loss.real"), accuracy: 1e-5)
        XCTAssertNil(netD.judgeBackward(fake: lossFake.grads, real: lossReal.grads, fakeShape: fake.shape, needFakeImageGrad: false))
        compareGradients(netD, f, "dstep.grad")
        adam.update()
        compareAfterAdam(netD, f, grads: "dstep.grad", state: "dstep.state", lr: 4e-4)
    }

    func testEncoderMuLogvarKLDGradientsAndAdamStep() throws { try checkEncoder("encoder", norm: .instance) }

    /// `--norm_E spectralnone`: no instance norm, convs with (here random) biases, names without `.0`.
    func testEncoderWithoutNormMatchesPyTorch() throws { try checkEncoder("encoder_nonorm", norm: .none) }

    func checkEncoder(_ fixture: String, norm: ConvEncoder.Norm) throws {
        let f = try CriticFixture(fixture)
        var rng = RandomGenerator(seed: 6)
        let netE = ConvEncoder(ndf: 8, zDim: 32, norm: norm, rng: &rng)
        XCTAssertEqual(ConvEncoder.Norm.stored(in: netE.stateEntries().map(\.0)), norm, "names tell the norm")
        f.load(netE, prefix: "state")
        let image = f["image"]

        let (evalMu, evalLogvar) = netE.forward(image, training: false)
        assertClose(evalMu, f["eval.mu"], abs: Self.featureTolerance, "eval mu")
        assertClose(evalLogvar, f["eval.logvar"], abs: Self.featureTolerance, "eval logvar")

        let adam = Adam(module: netE, learningRate: 1e-4)
        adam.zeroGrad()
        let (mu, logvar) = netE.forward(image, training: true)
        assertClose(mu, f["train.mu"], abs: Self.featureTolerance, "train mu")
        assertClose(logvar, f["train.logvar"], abs: Self.featureTolerance, "train logvar")
        let eps = f["eps"]
        let z = Reparameterization.sample(mu: mu, logvar: logvar, eps: eps)
        assertClose(z, f["z"], abs: Self.featureTolerance, "z")
        let kld = KLDivergenceLoss.compute(mu: mu, logvar: logvar)
        XCTAssertEqual(kld.value, f.scalar("loss.kld"), accuracy: 1e-5 * max(1, abs(kld.value)))
        // The fixture's loss is Σ z·w + KLD: dL/dz = w.
        let viaZ = Reparameterization.backward(f["zweight"], logvar: logvar, eps: eps)
        netE.backward(mu: viaZ.mu + kld.mu, logvar: viaZ.logvar + kld.logvar)
        compareGradients(netE, f, "grad")
        adam.update()
        compareAfterAdam(netE, f, grads: "grad", state: "after", lr: 1e-4)
    }

    func testVGGLossAndItsGradient() throws {
        let f = try CriticFixture("vgg19_tiny")
        let vgg = try VGG19(tensors: f.tensors, source: "vgg19_tiny.safetensors")
        let real = f["test.real"], fake = f["test.fake"]
        let taps = vgg.forward(real).features
        for k in 0..<VGG19.tapCount { assertClose(taps[k], f["test.real_tap.\(k)"], abs: Self.featureTolerance, "relu\(k + 1)_1") }
        let loss = VGGLoss(network: vgg).compute(fake: fake, real: real)
        XCTAssertEqual(loss.value, f.scalar("test.loss"), accuracy: 1e-5 * max(1, abs(loss.value)))
        assertRelClose(loss.grad, f["test.grad_fake"], rel: Self.gradientTolerance, "VGG loss gradient")
        print("parity: VGG loss \(loss.value) vs \(f.scalar("test.loss")), gradient max relative diff \(relativeDiff(loss.grad, f["test.grad_fake"]))")
    }

    func testVGGWeightsWithAMissingOrMisshapenTensorAreRejectedByName() throws {
        let f = try CriticFixture("vgg19_tiny")
        var missing = f.tensors
        missing["features.21.weight"] = nil
        XCTAssertThrowsError(try VGG19(tensors: missing, source: "vgg.safetensors")) { error in
            XCTAssertEqual("\(error)", "vgg.safetensors: not usable as VGG19 weights: missing tensor features.21.weight")
        }
        XCTAssertThrowsError(try VGG19(contentsOf: "/nonexistent/vgg19.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/vgg19.safetensors"), "\(error)")
        }
        var misshapen = f.tensors
        misshapen["features.5.weight"] = Tensor(shape: [8, 3, 3, 3])
        XCTAssertThrowsError(try VGG19(tensors: misshapen, source: "vgg.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("features.5.weight has shape [8, 3, 3, 3], expected [out, 4, 3, 3]"), "\(error)")
        }
    }

    func testAdamMatchesTorchOverSeveralSteps() throws {
        let f = try CriticFixture("adam")
        for (tag, beta1, beta2, lr) in [("ttur", 0.0, 0.9, 4e-4), ("plain", 0.5, 0.999, 2e-4)] {
            let p = Parameter(f["\(tag).initial"])
            let adam = Adam([("w", p)], learningRate: lr, beta1: beta1, beta2: beta2)
            for step in 1...3 {
                p.grad = f["\(tag).grad.\(step)"]
                adam.update()
                assertClose(p.value, f["\(tag).param.\(step)"], abs: 1e-7, "\(tag) step \(step)")
            }
            XCTAssertEqual(adam.step, 3)
            let state = Dictionary(uniqueKeysWithValues: adam.stateEntries().map { ($0.0, $0.1.tensor) })
            assertRelClose(state["exp_avg.w"]!, f["\(tag).exp_avg"], rel: 1e-6, "\(tag) exp_avg")
            assertRelClose(state["exp_avg_sq.w"]!, f["\(tag).exp_avg_sq"], rel: 1e-6, "\(tag) exp_avg_sq")
            XCTAssertEqual(Array(state.keys).sorted(), ["exp_avg.w", "exp_avg_sq.w", "step"])
        }
    }
}

/// Reference facts that need no fixture.
final class CriticStructureTests: XCTestCase {
    func testReferenceParameterCountsAndStateNames() {
        var rng = RandomGenerator(seed: 1)
        // ADE20K: 151 semantic channels + RGB.
        let netD = MultiscaleDiscriminator(DiscriminatorOptions(inputChannels: 154), rng: &rng)
        let netE = ConvEncoder(rng: &rng)
        print("discriminator parameters (ADE20K):", netD.parameterCount)
        print("encoder parameters (ADE20K):", netE.parameterCount)
        XCTAssertEqual(netD.parameterCount, 5_836_930)
        XCTAssertEqual(netE.parameterCount, 10_463_424)
        let dNames = netD.stateEntries().map { $0.0 }
        XCTAssertEqual(dNames.count, 26)
        XCTAssertEqual(Array(dNames.prefix(13)), [
            "discriminator_0.model0.0.weight", "discriminator_0.model0.0.bias",
            "discriminator_0.model1.0.0.weight_orig", "discriminator_0.model1.0.0.weight_u", "discriminator_0.model1.0.0.weight_v",
            "discriminator_0.model2.0.0.weight_orig", "discriminator_0.model2.0.0.weight_u", "discriminator_0.model2.0.0.weight_v",
            "discriminator_0.model3.0.0.weight_orig", "discriminator_0.model3.0.0.weight_u", "discriminator_0.model3.0.0.weight_v",
            "discriminator_0.model4.0.weight", "discriminator_0.model4.0.bias",
        ])
        XCTAssertEqual(dNames[13], "discriminator_1.model0.0.weight")
        let eNames = netE.stateEntries().map { $0.0 }
        XCTAssertEqual(eNames.count, 22)
        XCTAssertEqual(eNames.first, "layer1.0.weight_orig")
        XCTAssertEqual(Array(eNames.suffix(4)), ["fc_mu.weight", "fc_mu.bias", "fc_var.weight", "fc_var.bias"])
    }

    func testDiscriminatorOutputSizesForA256Input() {
        // Spec §8: 129², 65², 33², 34², 35² at scale 0 and 65², 33², 17², 18², 19² at scale 1.
        var rng = RandomGenerator(seed: 2)
        let netD = MultiscaleDiscriminator(DiscriminatorOptions(inputChannels: 4, ndf: 2), rng: &rng)
        let out = netD.forward(rng.normalTensor([1, 4, 256, 256]), training: false)
        XCTAssertEqual(out.map { $0.map { $0.shape[2] } }, [[129, 65, 33, 34, 35], [65, 33, 17, 18, 19]])
        XCTAssertEqual(out.map { $0.map { $0.shape[1] } }, [[2, 4, 8, 16, 1], [2, 4, 8, 16, 1]])
    }

    /// The G step's shortcut (fake half only, no weight gradients) gives the fake image the same gradient as
    /// the full backward over cat(fake, real), and leaves D's parameter gradients alone.
    func testFakeImageGradientMatchesTheFullJudgeBackward() {
        var rng = RandomGenerator(seed: 5)
        let netD = MultiscaleDiscriminator(DiscriminatorOptions(inputChannels: 5, ndf: 4, layers: 3), rng: &rng)
        let semantics = rng.normalTensor([2, 2, 24, 20]), fake = rng.normalTensor([2, 3, 24, 20])
        let real = rng.normalTensor([2, 3, 24, 20])
        let judgement = netD.judge(semantics: semantics, fake: fake, real: real, training: true)
        var grads = emptyGrads(like: judgement.fake)
        for s in grads.indices { for k in grads[s].indices where k != 1 { grads[s][k] = rng.normalTensor(judgement.fake[s][k].shape) } }
        let shortcut = netD.fakeImageGradient(fake: grads, fakeShape: fake.shape)
        let untouched = netD.parameters.map { $0.grad }
        let full = netD.judgeBackward(fake: grads, real: emptyGrads(like: judgement.real), fakeShape: fake.shape,
                                      needFakeImageGrad: true)!
        XCTAssertEqual(shortcut.shape, fake.shape)
        XCTAssertEqual(untouched, netD.parameters.map { Tensor(shape: $0.value.shape) }, "the shortcut wrote D's gradients")
        for i in 0..<full.count { XCTAssertEqual(shortcut.data[i], full.data[i], accuracy: 1e-5 * max(1, abs(full.data[i]))) }
        XCTAssertGreaterThan(full.data.map(abs).max() ?? 0, 0)
    }

    func testLinearDecaySchedule() {
        let s = LearningRateSchedule(baseRate: 0.0002, niter: 2, niterDecay: 4)
        let rates = (1...7).map { s.rate(epoch: $0) }
        // Constant for epochs 1…3 (the decay starts after epoch niter + 1 ends), then −lr/4 per epoch down to 0.
        XCTAssertEqual(rates[0], 0.0002)
        XCTAssertEqual(rates[2], 0.0002)
        XCTAssertEqual(rates[3], 0.00015, accuracy: 1e-12)
        XCTAssertEqual(rates[6], 0, accuracy: 1e-12)
        XCTAssertEqual(s.rates(epoch: 1).generator, 1e-4)
        XCTAssertEqual(s.rates(epoch: 1).discriminator, 4e-4)
        XCTAssertEqual(LearningRateSchedule().rate(epoch: 200), 0.0002, "niter_decay 0: constant")
    }

    func testHingeLossValuesAndGradients() {
        // One scale, logits [−2, 0.5, 3]: real → mean(relu(1 − x)) = (3 + 0.5 + 0)/3, fake → (0 + 1.5 + 4)/3.
        let x = Tensor(shape: [1, 1, 1, 3], data: [-2, 0.5, 3])
        let real = HingeLoss.discriminator([[x]], real: true)
        XCTAssertEqual(real.value, 3.5 / 3, accuracy: 1e-6)
        XCTAssertEqual(real.grads[0][0]!.data, [-1.0 / 3, -1.0 / 3, 0])
        let fake = HingeLoss.discriminator([[x], [x]], real: false)
        XCTAssertEqual(fake.value, 5.5 / 3, accuracy: 1e-6, "averaged over scales")
        XCTAssertEqual(fake.grads[1][0]!.data, [0, 1.0 / 6, 1.0 / 6])
        XCTAssertEqual(HingeLoss.generator([[x]]).value, -0.5, accuracy: 1e-6)
    }
}
