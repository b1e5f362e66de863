import Foundation
import XCTest
@testable import SpadeModel

/// The segmenter's loss, gradients, learning and checkpoints.
final class SegmenterTests: XCTestCase {
    // MARK: Cross-entropy

    /// Float64 reference of the weighted, ignore-aware mean cross-entropy.
    static func referenceCrossEntropy(_ z: [Double], n: Int, c: Int, hw: Int, targets: [UInt8],
                                      weights: [Double]?, ignore: UInt8) -> Double {
        var loss = 0.0, total = 0.0
        for s in 0..<n {
            for i in 0..<hw {
                let t = targets[s * hw + i]
                if t == ignore { continue }
                let logits = (0..<c).map { z[(s * c + $0) * hw + i] }
                let m = logits.max()!
                let lse = log(logits.reduce(0) { $0 + exp($1 - m) }) + m
                let w = weights?[Int(t)] ?? 1
                loss += w * (lse - logits[Int(t)])
                total += w
            }
        }
        return loss / total
    }

    func testCrossEntropyValueAndGradientMatchFiniteDifferences() {
        var rng = RandomGenerator(seed: 3)
        let n = 2, c = 4, h = 3, w = 3, hw = h * w
        let logits = rng.normalTensor([n, c, h, w], std: 2)
        var targets = (0..<(n * hw)).map { _ in UInt8(rng.next() % UInt64(c)) }
        targets[1] = 255
        targets[10] = 255
        for weights: [Float]? in [nil, [0.5, 2, 1, 3]] {
            let what = weights == nil ? "unweighted" : "weighted"
            let (value, grad) = SoftmaxCrossEntropy.loss(logits: logits, targets: targets, classWeights: weights)
            let f: ([[Double]]) -> [Double] = { a in
                [Self.referenceCrossEntropy(a[0], n: n, c: c, hw: hw, targets: targets,
                                            weights: weights?.map(Double.init), ignore: 255)]
            }
            XCTAssertEqual(Double(value), f([logits.doubles])[0], accuracy: 1e-5, "\(what) loss value")
            assertGradient(grad, GradientCheck.numeric(f, at: [logits.doubles], upstream: [1], wrt: 0),
                           "cross entropy \(what) ∂logits")
            // Ignored pixels take no gradient.
            for k in 0..<c { XCTAssertEqual(grad.data[k * hw + 1], 0, "\(what): ignored pixel, class \(k)") }
        }
    }

    func testCrossEntropyOfConfidentCorrectLogitsIsNearZeroAndAllIgnoredIsZero() {
        var logits = Tensor(shape: [1, 3, 1, 2])
        logits.data = [20, -20, -20, 20, -20, -20]  // pixel 0 → class 0, pixel 1 → class 1
        XCTAssertLessThan(SoftmaxCrossEntropy.loss(logits: logits, targets: [0, 1]).value, 1e-6)
        XCTAssertEqual(SoftmaxCrossEntropy.loss(logits: logits, targets: [1, 0]).value, 40, accuracy: 1e-3)
        let ignored = SoftmaxCrossEntropy.loss(logits: logits, targets: [255, 255])
        XCTAssertEqual(ignored.value, 0)
        XCTAssertEqual(ignored.grad.maxAbs(), 0)
    }

    // MARK: Network gradients

    /// A small U-Net in training mode (batch statistics): the analytic gradients of the cross-entropy with
    /// respect to every parameter tensor and the input, against central differences of the float32 forward
    /// along random directions d: (L(θ + h·d) − L(θ − h·d)) / 2h ≈ ⟨∇L, d⟩ (loss summed in float64).
    /// Batch-normalised ReLU inputs and max-pool windows sit densely around their kinks, so the step must be
    /// tiny (h = 3e-5: at 1e-3 errors of 30% are common, they fall to ~1e-3 as h shrinks) and each tensor is
    /// judged by the median of five directions, since a probe now and then still lands across a kink. A
    /// wiring mistake (a lost skip gradient, swapped channels) is wrong in every direction.
    func testSegmenterBackwardMatchesFiniteDifferences() throws {
        for (widths, side) in [([4, 8], 8), ([4, 6, 8], 16)] {
            var rng = RandomGenerator(seed: 5)
            let config = SegmenterConfig(classes: 3, widths: widths, inputSize: side)
            let net = try Segmenter(config: config, rng: &rng)
            // Non-trivial BN affine parameters, so their gradients are exercised.
            for (name, entry) in net.stateEntries() where name.hasSuffix("bn.weight") || name.hasSuffix("bn.bias") {
                if case .parameter(let p) = entry { p.value = p.value + rng.normalTensor(p.value.shape, std: 0.3) }
            }
            var images = rng.normalTensor([2, 3, side, side])
            let hw = side * side
            let targets = (0..<(2 * hw)).map { _ in UInt8(rng.next() % 3) }

            func loss() -> Double {
                let (logits, _) = net.forward(images, training: true)
                return Self.referenceCrossEntropy(logits.doubles, n: 2, c: 3, hw: hw, targets: targets, weights: nil, ignore: 255)
            }
            net.zeroGrad()
            let (logits, _) = net.forward(images, training: true)
            let (_, gLogits) = SoftmaxCrossEntropy.loss(logits: logits, targets: targets)
            let gImages = net.backward(gLogits, needInputGrad: true)!
            let h: Float = 3e-5

            /// Median error of five directional derivatives of the tensor that `apply(d, scale)` perturbs,
            /// relative to max(|⟨g, d⟩|, ‖g‖) (‖g‖ is the typical size of ⟨g, d⟩ for d ~ N(0, I)), after
            /// allowing for the float32 forward: its loss resolves ~1e-7, i.e. ~2e-3 in a difference over 2h.
            func check(_ what: String, analytic: Tensor, apply: (Tensor, Float) -> Void) {
                let norm = analytic.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                XCTAssertGreaterThan(norm, 0, "\(what): zero gradient, the check proves nothing")
                let errors: [Double] = (0..<5).map { _ in
                    let d = rng.normalTensor(analytic.shape)
                    let expected = zip(analytic.data, d.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    apply(d, h); let up = loss()
                    apply(d, -2 * h); let down = loss()
                    apply(d, h)
                    let floor = 1e-7 / (2 * Double(h))
                    return max(0, abs((up - down) / (2 * Double(h)) - expected) - floor) / max(abs(expected), norm)
                }.sorted()
                XCTAssertLessThanOrEqual(errors[2], 1e-2, "\(what): directional errors \(errors)")
                MeasuredErrors.record("segmenter directional gradient (median of 5)", what, errors[2])
            }
            for (name, entry) in net.stateEntries() {
                guard case .parameter(let p) = entry else { continue }
                check("segmenter \(widths) ∂\(name)", analytic: p.grad) { d, s in p.value.add(d, scale: s) }
            }
            check("segmenter \(widths) ∂images", analytic: gImages) { d, s in images.add(d, scale: s) }
        }
    }

    // MARK: Learning

    /// Pictures of coloured blocks whose class is the block's colour, plus noise: a few dozen Adam steps must
    /// take the segmenter from chance to near-perfect accuracy, and eval mode (running statistics) must agree.
    func testSegmenterLearnsColouredBlocks() throws {
        var rng = RandomGenerator(seed: 9)
        let config = SegmenterConfig(classes: 3, widths: [8, 16], inputSize: 16)
        let net = try Segmenter(config: config, rng: &rng)
        let colours: [[Float]] = [[0.8, -0.6, -0.6], [-0.6, 0.8, -0.6], [-0.6, -0.6, 0.8]]
        func batch(_ n: Int) -> (Tensor, [UInt8]) {
            var images = Tensor(shape: [n, 3, 16, 16])
            var labels = [UInt8](repeating: 0, count: n * 256)
            for s in 0..<n {
                // Four 8×8 quadrants with random classes.
                let classes = (0..<4).map { _ in Int(rng.next() % 3) }
                for y in 0..<16 {
                    for x in 0..<16 {
                        let k = classes[(y / 8) * 2 + x / 8]
                        labels[s * 256 + y * 16 + x] = UInt8(k)
                        for ch in 0..<3 { images.data[((s * 3 + ch) * 16 + y) * 16 + x] = colours[k][ch] + 0.3 * rng.normal() }
                    }
                }
            }
            return (images, labels)
        }
        let adam = Adam(module: net, learningRate: 0.01, beta1: 0.9, beta2: 0.999)
        var firstLoss: Float = 0, lastLoss: Float = 0
        for step in 0..<40 {
            let (images, labels) = batch(4)
            adam.zeroGrad()
            let (logits, _) = net.forward(images, training: true)
            let (value, grad) = SoftmaxCrossEntropy.loss(logits: logits, targets: labels)
            net.backward(grad)
            adam.update()
            if step == 0 { firstLoss = value }
            lastLoss = value
        }
        XCTAssertLessThan(lastLoss, firstLoss * 0.3, "loss \(firstLoss) → \(lastLoss)")
        let (images, labels) = batch(4)
        let (predicted, features) = net.segment(images, height: 16, width: 16)
        var confusion = ConfusionMatrix(classes: 3)
        for s in 0..<4 { confusion.add(truth: Array(labels[s * 256..<(s + 1) * 256]), prediction: predicted[s]) }
        XCTAssertGreaterThan(confusion.pixelAccuracy, 0.95, "eval-mode accuracy after training")
        XCTAssertEqual(features.shape, [4, 24])
    }

    // MARK: Shapes and resizing

    func testSegmentResizesToTheWorkingSizeAndBack() throws {
        var rng = RandomGenerator(seed: 2)
        let net = try Segmenter(config: SegmenterConfig(classes: 4, widths: [4, 4, 4], inputSize: 16), rng: &rng)
        XCTAssertEqual(net.workingSize(height: 64, width: 64).height, 16)
        XCTAssertEqual(net.workingSize(height: 32, width: 64).height, 8)
        XCTAssertEqual(net.workingSize(height: 32, width: 64).width, 16)
        let (labels, features) = net.segment(rng.normalTensor([2, 3, 48, 48]), height: 40, width: 40)
        XCTAssertEqual(labels.count, 2)
        XCTAssertEqual(labels[0].count, 40 * 40)
        XCTAssertTrue(labels.allSatisfy { $0.allSatisfy { $0 < 4 } })
        XCTAssertEqual(features.shape, [2, 12])
    }

    func testBoxDownsamplingAveragesBlocks() {
        let x = Tensor(shape: [1, 1, 2, 4], data: [1, 3, 5, 7, 1, 3, 5, 7])
        XCTAssertEqual(Segmenter.resizePictures(x, height: 1, width: 2).data, [2, 6])
    }

    func testBadConfigurationsAreRejected() {
        var rng = RandomGenerator(seed: 0)
        XCTAssertThrowsError(try Segmenter(config: SegmenterConfig(classes: 3, widths: [4, 8], inputSize: 15), rng: &rng))
        XCTAssertThrowsError(try Segmenter(config: SegmenterConfig(classes: 1, widths: [4, 8], inputSize: 16), rng: &rng))
        XCTAssertThrowsError(try Segmenter(config: SegmenterConfig(classes: 3, widths: [4], inputSize: 16), rng: &rng))
    }

    // MARK: Checkpoints

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spadepaint-seg-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func testCheckpointRoundTripInF32AndF16() throws {
        var rng = RandomGenerator(seed: 4)
        let config = SegmenterConfig(classes: 5, widths: [4, 8, 8], inputSize: 16)
        let net = try Segmenter(config: config, rng: &rng)
        // One training forward moves the running statistics away from their defaults.
        _ = net.forward(rng.normalTensor([2, 3, 16, 16], mean: 0.5), training: true)
        let images = rng.normalTensor([1, 3, 16, 16])
        let expected = net.forward(images, training: false).logits
        for half in [false, true] {
            let path = temporaryPath(half ? "seg16.safetensors" : "seg32.safetensors")
            try SegmenterCheckpoint.save(net, palette: "landscape", to: path, halfPrecision: half)
            let loaded = try SegmenterCheckpoint.load(path: path)
            XCTAssertEqual(loaded.palette, "landscape")
            XCTAssertEqual(loaded.segmenter.config, config)
            XCTAssertEqual(loaded.metadata[SegmenterCheckpoint.classesKey], "5")
            XCTAssertEqual(try SafeTensorsFile(path: path).dtype("head.weight"), half ? .float16 : .float32)
            XCTAssertEqual(try SafeTensorsFile(path: path).dtype("down0.0.bn.num_batches_tracked"), .int64)
            let got = loaded.segmenter.forward(images, training: false).logits
            let worst = zip(got.data, expected.data).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, half ? 0.05 : 0, "logits after a \(half ? "F16" : "F32") round trip")
        }
    }

    func testCheckpointErrorsNameTheFileAndProblem() throws {
        let missing = temporaryPath("absent.safetensors")
        XCTAssertThrowsError(try SegmenterCheckpoint.load(path: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing) && "\(error)".contains("no such segmenter checkpoint"), "\(error)")
        }
        // A generator checkpoint is not a segmenter.
        var rng = RandomGenerator(seed: 1)
        let generator = try SPADEGenerator(config: SPADEConfig(labelNC: 3, containDontcareLabel: false, noInstance: true,
                                                               ngf: 2, cropSize: 32, spadeHidden: 4), rng: &rng)
        let path = temporaryPath("generator.safetensors")
        try GeneratorCheckpoint.save(generator, palette: nil, to: path)
        XCTAssertThrowsError(try SegmenterCheckpoint.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("not a segmenter checkpoint"), "\(error)")
        }
        // Metadata whose class count contradicts the configuration.
        let net = try Segmenter(config: SegmenterConfig(classes: 3, widths: [2, 2], inputSize: 4), rng: &rng)
        let bad = temporaryPath("contradiction.safetensors")
        try SegmenterCheckpoint.save(net, palette: nil, to: bad)
        var writer = SafeTensorsWriter(metadata: [SegmenterCheckpoint.configKey: net.config.jsonString(),
                                                  SegmenterCheckpoint.classesKey: "15"])
        try StateDict.add(net, to: &writer)
        try writer.write(to: bad)
        XCTAssertThrowsError(try SegmenterCheckpoint.load(path: bad)) { error in
            XCTAssertTrue("\(error)".contains("15 classes"), "\(error)")
        }
    }
}
