import XCTest
@testable import SpadeModel

/// spadepaint's semantic training term: a frozen segmenter judging the fake pictures.
final class SegmentationLossTests: XCTestCase {
    /// A small judge with non-trivial BN statistics and affine parameters (a freshly built one has mean 0,
    /// variance 1, weight 1, bias 0, which would hide a wrong formula).
    private func judge(seed: UInt64, classes: Int = 3, inputSize: Int = 8) throws -> Segmenter {
        var rng = RandomGenerator(seed: seed)
        let net = try Segmenter(config: SegmenterConfig(classes: classes, widths: [4, 8], inputSize: inputSize), rng: &rng)
        for (name, entry) in net.stateEntries() {
            if name.hasSuffix("bn.bias") || name.hasSuffix("bn.weight"), case .parameter(let p) = entry { p.value = p.value + rng.normalTensor(p.value.shape, std: 0.3) }
            if name.hasSuffix("running_mean"), case .buffer(let b) = entry { b.value = rng.normalTensor(b.value.shape, std: 0.3) }
            if name.hasSuffix("running_var"), case .buffer(let b) = entry {
                b.value = Tensor(shape: b.value.shape, data: (0..<b.value.count).map { _ in 0.5 + Float(rng.next() % 100) / 100 })
            }
        }
        return net
    }

    private func state(_ m: Module) -> [Float] { m.stateEntries().flatMap { $0.1.tensor.data } }

    /// A frozen batch norm is the eval-mode map in a training forward, leaves its running statistics alone,
    /// and passes gradients as that map's derivative, weight / √(running_var + eps), per channel.
    func testFrozenBatchNormIsTheEvalMapInTrainingForwards() throws {
        var rng = RandomGenerator(seed: 3)
        let bn = BatchNorm2dLayer(3)
        bn.weight.value = rng.normalTensor([3])
        bn.bias.value = rng.normalTensor([3])
        bn.runningMean.value = rng.normalTensor([3])
        bn.runningVar.value = Tensor(shape: [3], data: [0.5, 2, 1.5])
        let x = rng.normalTensor([2, 3, 4, 5])
        let eval = bn.forward(x, training: false)
        bn.frozen = true
        let before = state(bn)
        let frozen = bn.forward(x, training: true)
        XCTAssertEqual(frozen, eval)
        XCTAssertEqual(state(bn), before, "running statistics and counter unchanged")
        let gy = rng.normalTensor(x.shape)
        let gx = bn.backward(gy)
        for i in 0..<gy.count {
            let c = (i / 20) % 3
            let expected = gy.data[i] * bn.weight.value.data[c] / (bn.runningVar.value.data[c] + bn.eps).squareRoot()
            XCTAssertEqual(gx.data[i], expected, accuracy: 1e-6)
        }
    }

    /// The loss's gradient with respect to the fake picture against central differences of the loss along
    /// random directions (box average → frozen U-Net → balanced cross-entropy); the judge is unchanged.
    /// The loss is a mean over pixels, so its gradient is small next to its float32 resolution: the step must
    /// be large (h = 1e-3; at 3e-5 rounding alone gives errors of 10–40%), and ReLU kinks and max-pool
    /// windows then make single probes unreliable, so the check takes the median of five (measured: 2.6%).
    /// The tolerance, 5%, still catches a wrong scale (the box average's 1/k², λ) or batch statistics in
    /// place of the frozen ones, which are off by far more.
    func testGradientWithRespectToTheFakeMatchesFiniteDifferences() throws {
        let net = try judge(seed: 4)
        let loss = try SegmentationLoss(judge: net, lambda: 1.5, outputSize: (16, 16), semanticChannels: 4)
        XCTAssertEqual(loss.shrink, 2)
        var rng = RandomGenerator(seed: 6)
        // Classes in vertical bands, one of them narrow (the balanced weights matter), plus a don't-care channel.
        let labels = (0..<2).map { s in (0..<256).map { i -> UInt8 in let x = i % 16; return x < 2 ? 2 : (x < 9 + s ? 0 : 1) } }
        var semantics = Tensor(shape: [2, 4, 16, 16])
        for s in 0..<2 { for i in 0..<256 { semantics.data[(s * 4 + Int(labels[s][i])) * 256 + i] = 1 } }
        var fake = rng.normalTensor([2, 3, 16, 16], std: 0.5)
        let judgeBefore = state(net)
        let (value, grad) = loss.compute(fake: fake, semantics: semantics)
        XCTAssertEqual(state(net), judgeBefore, "the judge's weights and statistics stay as they were")
        XCTAssertTrue(net.parameters.allSatisfy { $0.grad.data.allSatisfy { $0 == 0 } }, "no gradients left in the judge")
        XCTAssertGreaterThan(value, 0)
        let norm = grad.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertGreaterThan(norm, 0)
        let h: Float = 1e-3
        let errors: [Double] = (0..<5).map { _ in
            let d = rng.normalTensor(fake.shape)
            let expected = zip(grad.data, d.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            fake.add(d, scale: h); let up = Double(loss.compute(fake: fake, semantics: semantics).value)
            fake.add(d, scale: -2 * h); let down = Double(loss.compute(fake: fake, semantics: semantics).value)
            fake.add(d, scale: h)
            return abs((up - down) / (2 * Double(h)) - expected) / max(abs(expected), norm)
        }.sorted()
        XCTAssertLessThanOrEqual(errors[2], 5e-2, "directional errors \(errors)")
        MeasuredErrors.record("segmentation loss directional gradient (median of 5)", "∂fake", errors[2])
    }

    /// Targets are the labels at the centre of each block (don't-care pixels ignored), and class weights
    /// give every class about equal say, with rare classes capped at the 2% share.
    func testTargetsSampleBlockCentresAndWeightsBalanceClasses() {
        var semantics = Tensor(shape: [1, 3, 4, 4])
        // Class 0 everywhere but the lower-right block's centre pixel (class 1) and the upper-right block's
        // centre (don't care: channel 2, beyond the judge's 2 classes).
        for i in 0..<16 { semantics.data[i] = 1 }
        semantics.data[0 * 16 + 15] = 0; semantics.data[1 * 16 + 15] = 1
        semantics.data[0 * 16 + 7] = 0; semantics.data[2 * 16 + 7] = 1
        XCTAssertEqual(SegmentationLoss.targets(semantics, classes: 2, shrink: 2), [0, 255, 0, 1])
        let targets = [UInt8](repeating: 0, count: 900) + [UInt8](repeating: 1, count: 99) + [2]
        let w = SegmentationLoss.balancedWeights(targets, classes: 4)
        XCTAssertEqual(w[0] * 0.9, 1, accuracy: 1e-5)
        XCTAssertEqual(w[1] * 0.099, 1, accuracy: 1e-4)
        XCTAssertEqual(w[2], 50, "one pixel in a thousand counts as a 2% share")
        XCTAssertEqual(w[3], 50, "absent classes take no pixels, so their weight does not matter")
    }

    func testJudgesThatDoNotFitAreRefused() throws {
        let net = try judge(seed: 7)
        XCTAssertThrowsError(try SegmentationLoss(judge: net, lambda: 1, outputSize: (12, 12), semanticChannels: 4)) {
            XCTAssertTrue("\($0)".contains("whole factor"), "\($0)")
        }
        XCTAssertThrowsError(try SegmentationLoss(judge: net, lambda: 1, outputSize: (16, 16), semanticChannels: 2)) {
            XCTAssertTrue("\($0)".contains("3 classes"), "\($0)")
        }
        XCTAssertThrowsError(try SegmentationLoss(judge: net, lambda: 0, outputSize: (16, 16), semanticChannels: 4))
    }
}
