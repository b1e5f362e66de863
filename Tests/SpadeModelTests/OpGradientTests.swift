import XCTest
@testable import SpadeModel

/// Every op's backward against central finite differences of an independent float64 forward (`Ref`),
/// and every op's forward against that float64 forward. Tensors are small so the suite takes seconds.
final class OpGradientTests: XCTestCase {
    typealias Shape4 = Ref.Shape4

    func testConv2dGradients() {
        var rng = RandomGenerator(seed: 11)
        // (kernel, stride, padding, bias): strides 1/2, kernels 1/3/4, padding 0/1/2, with and without bias.
        let configs: [(Int, Int, Int, Bool)] = [
            (1, 1, 0, true), (1, 1, 0, false), (1, 2, 0, true), (1, 1, 1, false),
            (3, 1, 1, true), (3, 2, 1, false), (3, 1, 0, true), (3, 2, 2, true),
            (4, 2, 2, true), (4, 1, 2, false), (4, 2, 1, true), (4, 1, 0, true),
        ]
        let xs = Shape4(n: 2, c: 3, h: 7, w: 6), o = 4
        for (k, stride, padding, hasBias) in configs {
            let what = "conv2d k\(k) s\(stride) p\(padding)\(hasBias ? "" : " no bias")"
            let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w])
            let w = rng.normalTensor([o, xs.c, k, k], std: 0.5)
            let b = hasBias ? rng.normalTensor([o]) : nil
            let y = Conv2d.forward(x, weight: w, bias: b, stride: stride, padding: padding)
            let f: ([[Double]]) -> [Double] = { a in
                Ref.conv2d(a[0], xs, weight: a[1], outChannels: o, kernel: k, bias: hasBias ? a[2] : nil,
                           stride: stride, padding: padding)
            }
            var inputs = [x.doubles, w.doubles]
            if let b { inputs.append(b.doubles) }
            assertClose(y, f(inputs), "\(what) forward", tolerance: 1e-5)

            let r = rng.normalTensor(y.shape)
            // The weight gradient is accumulated: start from a non-zero buffer and subtract it again.
            let start = rng.normalTensor(w.shape)
            var gw = start
            let gx = Conv2d.backward(x, weight: w, outputGrad: r, stride: stride, padding: padding, weightGrad: &gw)!
            assertGradient(gx, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 0), "\(what) ∂x")
            assertGradient(gw - start, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 1), "\(what) ∂w")
            if hasBias {
                var gb = Tensor(shape: [o])
                gb.addChannelSums(of: r)
                assertGradient(gb, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 2), "\(what) ∂b")
            }
            var gwOnly = Tensor(shape: w.shape)
            XCTAssertNil(Conv2d.backward(x, weight: w, outputGrad: r, stride: stride, padding: padding,
                                         weightGrad: &gwOnly, needInputGrad: false), "\(what): no input grad asked")
            XCTAssertEqual(gwOnly.data, (gw - start).data, accuracy: 1e-5,
                           "\(what): weight grad without input grad")
        }
    }

    /// A conv big enough that im2col works in several row bands (forward and backward), checked
    /// against float64 loops: a band-offset mistake would only show here.
    func testConv2dAcrossColumnBands() {
        var rng = RandomGenerator(seed: 12)
        let xs = Shape4(n: 1, c: 1024, h: 32, w: 32), o = 2, k = 3
        let g = Conv2dGeometry(inChannels: xs.c, outChannels: o, kernel: k, stride: 1, padding: 1)
        XCTAssertGreaterThan(g.columnRows * 32 * 32, 8 << 20, "the shape must need more than one band")
        // This is about im2col's bands: the Winograd path (a 3×3 conv of 1024 channels) has its own test.
        Conv2dWinograd.enabled = false
        defer { Conv2dWinograd.enabled = true }
        let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w])
        let w = rng.normalTensor([o, xs.c, k, k], std: 0.01)
        let y = Conv2d.forward(x, weight: w, bias: nil, stride: 1, padding: 1)
        let xd = x.doubles, wd = w.doubles
        assertClose(y, Ref.conv2d(xd, xs, weight: wd, outChannels: o, kernel: k, bias: nil, stride: 1, padding: 1),
                    "banded conv2d forward", tolerance: 1e-5)
        // Adjoint in float64: gx[c, iy, ix] = Σ gy[o, oy, ox] w[o, c, i, j]; gw[o, c, i, j] = Σ gy · x.
        let r = rng.normalTensor(y.shape), rd = r.doubles
        var gxRef = [Double](repeating: 0, count: x.count), gwRef = [Double](repeating: 0, count: w.count)
        for oc in 0..<o { for c in 0..<xs.c { for i in 0..<k { for j in 0..<k {
            let wi = ((oc * xs.c + c) * k + i) * k + j
            var acc = 0.0
            for oy in 0..<32 {
                let iy = oy - 1 + i
                if iy < 0 || iy >= 32 { continue }
                for ox in 0..<32 {
                    let ix = ox - 1 + j
                    if ix < 0 || ix >= 32 { continue }
                    let gyv = rd[(oc * 32 + oy) * 32 + ox]
                    acc += gyv * xd[(c * 32 + iy) * 32 + ix]
                    gxRef[(c * 32 + iy) * 32 + ix] += gyv * wd[wi]
                }
            }
            gwRef[wi] = acc
        } } } }
        var gw = Tensor(shape: w.shape)
        let gx = Conv2d.backward(x, weight: w, outputGrad: r, stride: 1, padding: 1, weightGrad: &gw)!
        assertClose(gx, gxRef, "banded conv2d ∂x", tolerance: 1e-5)
        assertClose(gw, gwRef, "banded conv2d ∂w", tolerance: 1e-4)
    }

    /// Wide 3×3 same-padded convs on maps of 32² and more run forward and input gradient through Winograd
    /// (F(4, 3)): both against float64 loops, batch of two, odd sizes. The input gradient's
    /// reference is the adjoint written out: a conv of the output gradient with W[o, c] flipped. F(4, 3)'s
    /// transforms scale by up to 8 and lose a few bits: measured errors are 2–7e-5 of max(1, |value|)
    /// (TF32 convolutions on GPUs, common in training, are 1e-3).
    func testConv2dWinogradPathMatchesFloat64() {
        var rng = RandomGenerator(seed: 13)
        for (c, o, h, w) in [(8, 8, 32, 33), (16, 12, 37, 29), (12, 16, 64, 61), (32, 8, 40, 44)] {
            let what = "winograd conv \(c)→\(o) at \(h)×\(w)"
            XCTAssertTrue(Conv2dWinograd.applies(Conv2dGeometry(inChannels: c, outChannels: o, kernel: 3, stride: 1, padding: 1),
                                                 outH: h, outW: w), what)
            let xs = Shape4(n: 2, c: c, h: h, w: w)
            let x = rng.normalTensor([2, c, h, w]), wt = rng.normalTensor([o, c, 3, 3], std: 0.3), b = rng.normalTensor([o])
            let y = Conv2d.forward(x, weight: wt, bias: b, stride: 1, padding: 1)
            assertClose(y, Ref.conv2d(x.doubles, xs, weight: wt.doubles, outChannels: o, kernel: 3, bias: b.doubles,
                                      stride: 1, padding: 1), "\(what) forward", tolerance: 2e-4)
            let r = rng.normalTensor(y.shape)
            let wd = wt.doubles
            var flipped = [Double](repeating: 0, count: wd.count)  // [c, o, 3, 3]
            for oc in 0..<o { for ic in 0..<c { for i in 0..<3 { for j in 0..<3 {
                flipped[((ic * o + oc) * 3 + i) * 3 + j] = wd[((oc * c + ic) * 3 + 2 - i) * 3 + 2 - j]
            } } } }
            let gx = Conv2d.inputGradient(inputShape: x.shape, weight: wt, outputGrad: r, stride: 1, padding: 1)
            assertClose(gx, Ref.conv2d(r.doubles, Shape4(n: 2, c: o, h: h, w: w), weight: flipped, outChannels: c, kernel: 3,
                                       bias: nil, stride: 1, padding: 1), "\(what) ∂x", tolerance: 2e-4)
        }
    }

    /// Stride-1 convs with cout·k² ≤ cin (D's last layer) skip im2col: forward against float64 loops,
    /// input and weight gradients against finite differences, with paddings narrower and wider than usual.
    func testConv2dNarrowOutputPathGradients() {
        var rng = RandomGenerator(seed: 14)
        // (input channels, outputs, kernel, padding)
        for (c, o, k, padding) in [(16, 1, 4, 2), (18, 2, 3, 1), (9, 1, 3, 0), (20, 1, 4, 3)] {
            let what = "narrow conv \(c)→\(o) k\(k) p\(padding)"
            let g = Conv2dGeometry(inChannels: c, outChannels: o, kernel: k, stride: 1, padding: padding)
            XCTAssertTrue(Conv2dNarrowOutput.applies(g), what)
            let xs = Shape4(n: 2, c: c, h: 7, w: 6)
            let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w]), w = rng.normalTensor([o, c, k, k], std: 0.5), b = rng.normalTensor([o])
            let y = Conv2d.forward(x, weight: w, bias: b, stride: 1, padding: padding)
            let f: ([[Double]]) -> [Double] = { a in
                Ref.conv2d(a[0], xs, weight: a[1], outChannels: o, kernel: k, bias: a[2], stride: 1, padding: padding)
            }
            let inputs = [x.doubles, w.doubles, b.doubles]
            assertClose(y, f(inputs), "\(what) forward", tolerance: 1e-5)
            let r = rng.normalTensor(y.shape)
            let start = rng.normalTensor(w.shape)
            var gw = start
            let gx = Conv2d.backward(x, weight: w, outputGrad: r, stride: 1, padding: padding, weightGrad: &gw)!
            assertGradient(gx, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 0), "\(what) ∂x")
            assertGradient(gw - start, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 1), "\(what) ∂w")
        }
    }

    func testLinearGradients() {
        var rng = RandomGenerator(seed: 13)
        let n = 3, i = 5, o = 4
        for hasBias in [true, false] {
            let x = rng.normalTensor([n, i]), w = rng.normalTensor([o, i]), b = rng.normalTensor([o])
            let f: ([[Double]]) -> [Double] = { a in
                Ref.linear(a[0], n: n, inFeatures: i, weight: a[1], outFeatures: o, bias: hasBias ? a[2] : nil)
            }
            let inputs = [x.doubles, w.doubles, b.doubles]
            let y = Linear.forward(x, weight: w, bias: hasBias ? b : nil)
            assertClose(y, f(inputs), "linear forward")
            let r = rng.normalTensor(y.shape)
            var gw = Tensor(shape: w.shape)
            var gb: Tensor? = hasBias ? Tensor(shape: [o]) : nil
            let gx = Linear.backward(x, weight: w, outputGrad: r, weightGrad: &gw, biasGrad: &gb)
            assertGradient(gx, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 0), "linear ∂x")
            assertGradient(gw, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 1), "linear ∂w")
            if hasBias {
                assertGradient(gb!, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 2), "linear ∂b")
            }
        }

        // The layer accumulates into its parameters' gradients and returns the input gradient.
        let layer = LinearLayer(i, o)
        layer.weight.value = rng.normalTensor([o, i])
        layer.bias!.value = rng.normalTensor([o])
        let x = rng.normalTensor([n, i]), r = rng.normalTensor([n, o])
        let f: ([[Double]]) -> [Double] = { a in Ref.linear(a[0], n: n, inFeatures: i, weight: a[1], outFeatures: o, bias: a[2]) }
        let inputs = [x.doubles, layer.weight.value.doubles, layer.bias!.value.doubles]
        assertClose(layer.forward(x, training: true), f(inputs), "LinearLayer forward")
        let gx = layer.backward(r)
        _ = layer.backward(r)
        assertGradient(gx, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 0), "LinearLayer ∂x")
        assertGradient(layer.weight.grad * 0.5, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 1), "LinearLayer ∂w (twice)")
        assertGradient(layer.bias!.grad * 0.5, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 2), "LinearLayer ∂b (twice)")
    }

    func testBatchNormTrainGradientsAndRunningStats() {
        var rng = RandomGenerator(seed: 14)
        let xs = Shape4(n: 3, c: 2, h: 3, w: 4)
        for affine in [true, false] {
            let what = "batch norm train\(affine ? " affine" : "")"
            // Offset and scaled input: statistics far from (0, 1).
            let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w], mean: 1.5, std: 2)
            let gamma = rng.normalTensor([xs.c]), beta = rng.normalTensor([xs.c])
            let mean0 = rng.normalTensor([xs.c]), var0 = rng.uniformTensor([xs.c], low: 0.5, high: 2)
            var runningMean = mean0, runningVar = var0
            let (y, cache) = BatchNorm.trainForward(x, weight: affine ? gamma : nil, bias: affine ? beta : nil,
                                                    runningMean: &runningMean, runningVar: &runningVar)
            let f: ([[Double]]) -> [Double] = { a in
                Ref.batchNormTrain(a[0], xs, gamma: affine ? a[1] : nil, beta: affine ? a[2] : nil)
            }
            let inputs = [x.doubles, gamma.doubles, beta.doubles]
            assertClose(y, f(inputs), "\(what) forward")
            let (mean, variance) = Ref.channelStats(x.doubles, xs)
            let count = Double(xs.n * xs.h * xs.w)
            assertClose(runningMean, (0..<xs.c).map { 0.9 * Double(mean0.data[$0]) + 0.1 * mean[$0] }, "\(what) running mean")
            assertClose(runningVar, (0..<xs.c).map { 0.9 * Double(var0.data[$0]) + 0.1 * variance[$0] * count / (count - 1) },
                        "\(what) running var (unbiased)")

            let r = rng.normalTensor(y.shape)
            var gw: Tensor? = affine ? Tensor(shape: [xs.c]) : nil
            var gb: Tensor? = affine ? Tensor(shape: [xs.c]) : nil
            let gx = BatchNorm.trainBackward(r, cache: cache, weight: affine ? gamma : nil, weightGrad: &gw, biasGrad: &gb)
            assertGradient(gx, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 0), "\(what) ∂x")
            if affine {
                assertGradient(gw!, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 1), "\(what) ∂γ")
                assertGradient(gb!, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 2), "\(what) ∂β")
            }
        }
    }

    func testBatchNormEvalGradients() {
        var rng = RandomGenerator(seed: 15)
        let xs = Shape4(n: 2, c: 3, h: 3, w: 2)
        for affine in [true, false] {
            let what = "batch norm eval\(affine ? " affine" : "")"
            let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w])
            let gamma = rng.normalTensor([xs.c]), beta = rng.normalTensor([xs.c])
            let mean = rng.normalTensor([xs.c]), variance = rng.uniformTensor([xs.c], low: 0.2, high: 3)
            let y = BatchNorm.evalForward(x, runningMean: mean, runningVar: variance,
                                          weight: affine ? gamma : nil, bias: affine ? beta : nil)
            let f: ([[Double]]) -> [Double] = { a in
                Ref.normalizePerChannel(a[0], xs, mean: mean.doubles, variance: variance.doubles,
                                        gamma: affine ? gamma.doubles : nil, beta: affine ? beta.doubles : nil, eps: 1e-5)
            }
            assertClose(y, f([x.doubles]), "\(what) forward")
            let r = rng.normalTensor(y.shape)
            let gx = BatchNorm.evalBackward(r, runningVar: variance, weight: affine ? gamma : nil)
            assertGradient(gx, GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0), "\(what) ∂x")
        }
    }

    func testInstanceNormGradients() {
        var rng = RandomGenerator(seed: 16)
        for (xs, mean) in [(Shape4(n: 2, c: 3, h: 4, w: 3), Float(0)), (Shape4(n: 1, c: 2, h: 5, w: 5), Float(4))] {
            let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w], mean: mean, std: 1.5)
            let (y, cache) = InstanceNorm.forward(x)
            let f: ([[Double]]) -> [Double] = { a in Ref.instanceNorm(a[0], xs) }
            assertClose(y, f([x.doubles]), "instance norm forward")
            let r = rng.normalTensor(y.shape)
            let gx = InstanceNorm.backward(r, cache: cache)
            assertGradient(gx, GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0), "instance norm ∂x")
        }
    }

    /// Maps whose mean is large next to their spread (e.g. 100 ± 0.1): rounding the mean to float32
    /// before subtracting it would cost ~4e-5 in the normalised output; the ops keep it exact-ish.
    func testNormalizationKeepsPrecisionWithLargeMean() {
        var rng = RandomGenerator(seed: 27)
        let xs = Shape4(n: 2, c: 3, h: 6, w: 5)
        let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w], mean: 100, std: 0.1)
        assertClose(InstanceNorm.forward(x).0, Ref.instanceNorm(x.doubles, xs), "instance norm, mean 100", tolerance: 1e-6)
        var runningMean = Tensor(shape: [xs.c]), runningVar = Tensor(shape: [xs.c], repeating: 1)
        let y = BatchNorm.trainForward(x, weight: nil, bias: nil, runningMean: &runningMean, runningVar: &runningVar).0
        assertClose(y, Ref.batchNormTrain(x.doubles, xs, gamma: nil, beta: nil), "batch norm train, mean 100", tolerance: 1e-6)
    }

    func testActivationGradients() {
        var rng = RandomGenerator(seed: 17)
        let x = rng.normalAwayFromZero([2, 3, 4, 5])
        let r = rng.normalTensor(x.shape)
        let y1 = Activation.relu(x)
        assertClose(y1, Ref.relu(x.doubles), "relu forward", tolerance: 0)
        assertGradient(Activation.reluBackward(r, input: x),
                       GradientCheck.numeric({ Ref.relu($0[0]) }, at: [x.doubles], upstream: r.doubles, wrt: 0), "relu ∂x")
        let y2 = Activation.leakyRelu(x)
        assertClose(y2, Ref.leakyRelu(x.doubles), "leaky relu forward", tolerance: 1e-7)
        assertGradient(Activation.leakyReluBackward(r, input: x),
                       GradientCheck.numeric({ Ref.leakyRelu($0[0]) }, at: [x.doubles], upstream: r.doubles, wrt: 0), "leaky relu ∂x")
        let x3 = x * 1.5
        let y3 = Activation.tanh(x3)
        assertClose(y3, Ref.tanh(x3.doubles), "tanh forward", tolerance: 1e-6)
        assertGradient(Activation.tanhBackward(r, output: y3),
                       GradientCheck.numeric({ Ref.tanh($0[0]) }, at: [x3.doubles], upstream: r.doubles, wrt: 0), "tanh ∂x")
    }

    func testNearestResizeGradients() {
        var rng = RandomGenerator(seed: 18)
        // Up and down, integer and non-integer ratios; 26→22 is where the float32 index rule
        // differs from exact arithmetic.
        let cases: [(Int, Int, Int, Int)] = [(3, 5, 7, 8), (9, 7, 4, 3), (4, 3, 8, 6), (5, 5, 5, 5), (26, 4, 22, 9),
                                             (5, 12, 12, 5), (16, 6, 4, 2)]
        for (h, w, oh, ow) in cases {
            let xs = Shape4(n: 2, c: 2, h: h, w: w)
            let x = rng.normalTensor([xs.n, xs.c, h, w])
            let y = Resample.nearest(x, height: oh, width: ow)
            let f: ([[Double]]) -> [Double] = { a in Ref.nearest(a[0], xs, height: oh, width: ow) }
            assertClose(y, f([x.doubles]), "nearest \(h)x\(w)→\(oh)x\(ow) forward", tolerance: 0)
            let r = rng.normalTensor(y.shape)
            assertGradient(Resample.nearestBackward(r, inputHeight: h, inputWidth: w),
                           GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0),
                           "nearest \(h)x\(w)→\(oh)x\(ow) ∂x")
        }
    }

    func testUpsample2xGradients() {
        var rng = RandomGenerator(seed: 19)
        let xs = Shape4(n: 2, c: 3, h: 3, w: 4)
        let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w])
        let y = Resample.upsample2x(x)
        XCTAssertEqual(y.shape, [2, 3, 6, 8])
        let f: ([[Double]]) -> [Double] = { a in Ref.nearest(a[0], xs, height: 6, width: 8) }
        assertClose(y, f([x.doubles]), "upsample2x forward", tolerance: 0)
        let r = rng.normalTensor(y.shape)
        assertGradient(Resample.upsample2xBackward(r), GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0),
                       "upsample2x ∂x")
    }

    func testBilinearResizeGradients() {
        var rng = RandomGenerator(seed: 20)
        let cases: [(Int, Int, Int, Int)] = [(4, 5, 7, 9), (9, 8, 4, 3), (3, 3, 6, 6), (6, 4, 3, 2), (1, 3, 2, 5), (5, 6, 5, 6)]
        for (h, w, oh, ow) in cases {
            let xs = Shape4(n: 1, c: 2, h: h, w: w)
            let x = rng.normalTensor([xs.n, xs.c, h, w])
            let y = Resample.bilinear(x, height: oh, width: ow)
            let f: ([[Double]]) -> [Double] = { a in Ref.bilinear(a[0], xs, height: oh, width: ow) }
            assertClose(y, f([x.doubles]), "bilinear \(h)x\(w)→\(oh)x\(ow) forward", tolerance: 1e-6)
            let r = rng.normalTensor(y.shape)
            assertGradient(Resample.bilinearBackward(r, inputHeight: h, inputWidth: w),
                           GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0),
                           "bilinear \(h)x\(w)→\(oh)x\(ow) ∂x")
        }
    }

    func testAvgPoolGradients() {
        var rng = RandomGenerator(seed: 21)
        for (h, w) in [(7, 6), (8, 9), (2, 2), (1, 3), (5, 5)] {
            let xs = Shape4(n: 2, c: 2, h: h, w: w)
            let x = rng.normalTensor([xs.n, xs.c, h, w])
            let y = Resample.avgPool3x3s2(x)
            let f: ([[Double]]) -> [Double] = { a in Ref.avgPool3x3s2(a[0], xs) }
            assertClose(y, f([x.doubles]), "avg pool \(h)x\(w) forward", tolerance: 1e-6)
            let r = rng.normalTensor(y.shape)
            assertGradient(Resample.avgPool3x3s2Backward(r, inputHeight: h, inputWidth: w),
                           GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0), "avg pool \(h)x\(w) ∂x")
        }
    }

    func testBlockAverageGradients() {
        var rng = RandomGenerator(seed: 29)
        for (h, w, block) in [(8, 8, 4), (7, 10, 3), (5, 4, 5), (3, 3, 1), (6, 9, 16)] {
            let xs = Shape4(n: 2, c: 3, h: h, w: w)
            let x = rng.normalTensor([xs.n, xs.c, h, w])
            let y = Resample.blockAverage(x, block: block)
            let f: ([[Double]]) -> [Double] = { a in Ref.blockAverage(a[0], xs, block: block) }
            assertClose(y, f([x.doubles]), "block average \(h)x\(w)/\(block) forward", tolerance: 1e-6)
            let r = rng.normalTensor(y.shape)
            assertGradient(Resample.blockAverageBackward(r, block: block, inputHeight: h, inputWidth: w),
                           GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0), "block average \(h)x\(w)/\(block) ∂x")
        }
    }

    func testMaxPoolGradients() {
        var rng = RandomGenerator(seed: 28)
        for (h, w) in [(4, 6), (5, 7), (2, 2)] {
            let xs = Shape4(n: 2, c: 2, h: h, w: w)
            let x = rng.normalTensor([xs.n, xs.c, h, w])  // distinct values: no ties within 1e-6
            let (y, argmax) = MaxPool.forward2x2(x)
            let f: ([[Double]]) -> [Double] = { a in Ref.maxPool2x2(a[0], xs) }
            assertClose(y, f([x.doubles]), "max pool \(h)x\(w) forward", tolerance: 0)
            let r = rng.normalTensor(y.shape)
            assertGradient(MaxPool.backward2x2(r, argmax: argmax, inputShape: x.shape),
                           GradientCheck.numeric(f, at: [x.doubles], upstream: r.doubles, wrt: 0), "max pool \(h)x\(w) ∂x")
        }
        // Ties go to the first element in scan order, as PyTorch.
        let tied = Tensor(shape: [1, 1, 2, 2], data: [1, 3, 3, 3])
        let (_, argmax) = MaxPool.forward2x2(tied)
        XCTAssertEqual(argmax, [1])
    }

    func testBatchConcatAndSplit() {
        var rng = RandomGenerator(seed: 29)
        let a = rng.normalTensor([2, 3, 2, 2]), b = rng.normalTensor([1, 3, 2, 2])
        let y = Tensor.concatBatch([a, b])
        XCTAssertEqual(y.shape, [3, 3, 2, 2])
        XCTAssertEqual(y.data, a.data + b.data)
        let parts = y.splitBatch([2, 1])
        XCTAssertEqual(parts[0], a)
        XCTAssertEqual(parts[1], b)
    }

    func testConcatAndSplitGradients() {
        var rng = RandomGenerator(seed: 22)
        let n = 2, h = 3, w = 2, ca = 3, cb = 2
        let a = rng.normalTensor([n, ca, h, w]), b = rng.normalTensor([n, cb, h, w])
        let y = Tensor.concatChannels([a, b])
        let f: ([[Double]]) -> [Double] = { t in Ref.concatChannels(t[0], channelsA: ca, t[1], channelsB: cb, n: n, hw: h * w) }
        assertClose(y, f([a.doubles, b.doubles]), "concat forward", tolerance: 0)
        // concat's backward is split, split's backward is concat.
        let r = rng.normalTensor(y.shape)
        let parts = r.splitChannels([ca, cb])
        assertGradient(parts[0], GradientCheck.numeric(f, at: [a.doubles, b.doubles], upstream: r.doubles, wrt: 0), "concat ∂a")
        assertGradient(parts[1], GradientCheck.numeric(f, at: [a.doubles, b.doubles], upstream: r.doubles, wrt: 1), "concat ∂b")
        let back = y.splitChannels([ca, cb])
        XCTAssertEqual(back[0], a)
        XCTAssertEqual(back[1], b)
        // split as a function of its input: output = both parts flattened one after the other.
        let split: ([[Double]]) -> [Double] = { t in
            var first = [Double](), second = [Double]()
            let hw = h * w, sample = (ca + cb) * hw
            for s in 0..<n {
                let start: Int = s * sample, middle: Int = start + ca * hw, end: Int = start + sample
                first += t[0][start..<middle]
                second += t[0][middle..<end]
            }
            return first + second
        }
        let ra = rng.normalTensor(a.shape), rb = rng.normalTensor(b.shape)
        assertGradient(Tensor.concatChannels([ra, rb]),
                       GradientCheck.numeric(split, at: [y.doubles], upstream: ra.doubles + rb.doubles, wrt: 0), "split ∂x")
    }

    func testElementwiseArithmeticAndReductions() {
        var rng = RandomGenerator(seed: 23)
        let a = rng.normalTensor([2, 3, 4, 5]), b = rng.normalTensor([2, 3, 4, 5]), r = rng.normalTensor([2, 3, 4, 5])
        let ad = a.doubles, bd = b.doubles
        assertClose(a + b, zip(ad, bd).map { $0 + $1 }, "add", tolerance: 1e-7)
        assertClose(a - b, zip(ad, bd).map { $0 - $1 }, "subtract", tolerance: 1e-7)
        assertClose(a * b, zip(ad, bd).map { $0 * $1 }, "multiply", tolerance: 1e-7)
        assertClose(a * 0.3, ad.map { $0 * Double(Float(0.3)) }, "scale", tolerance: 1e-7)
        assertClose(a + 0.3, ad.map { $0 + Double(Float(0.3)) }, "add scalar", tolerance: 1e-7)
        var c = a
        c.add(b, scale: -2)
        assertClose(c, zip(ad, bd).map { $0 - 2 * $1 }, "add in place", tolerance: 1e-6)
        c = a
        c.scale(by: 4)
        assertClose(c, ad.map { 4 * $0 }, "scale in place", tolerance: 0)
        XCTAssertEqual(Double(a.sum()), ad.reduce(0, +), accuracy: 1e-5)
        XCTAssertEqual(Double(a.mean()), ad.reduce(0, +) / Double(ad.count), accuracy: 1e-7)
        XCTAssertEqual(Double(a.maxAbs()), ad.map(abs).max()!, accuracy: 0)

        // The gradients the doc comment states: d(a+b) = (g, g), d(a·b) = (g·b, g·a).
        let add: ([[Double]]) -> [Double] = { t in zip(t[0], t[1]).map { $0 + $1 } }
        let mul: ([[Double]]) -> [Double] = { t in zip(t[0], t[1]).map { $0 * $1 } }
        assertGradient(r, GradientCheck.numeric(add, at: [ad, bd], upstream: r.doubles, wrt: 0), "add ∂a")
        assertGradient(r, GradientCheck.numeric(add, at: [ad, bd], upstream: r.doubles, wrt: 1), "add ∂b")
        assertGradient(r * b, GradientCheck.numeric(mul, at: [ad, bd], upstream: r.doubles, wrt: 0), "mul ∂a")
        assertGradient(r * a, GradientCheck.numeric(mul, at: [ad, bd], upstream: r.doubles, wrt: 1), "mul ∂b")
    }

    func testLossGradients() {
        var rng = RandomGenerator(seed: 24)
        let b = rng.normalTensor([2, 3, 4, 4])
        let a = b + rng.normalAwayFromZero(b.shape)  // a − b away from L1's kink
        let upstream = 0.7
        for (name, loss, ref) in [("L1", Loss.l1, Ref.l1), ("MSE", Loss.mse, Ref.mse)] {
            let (value, grad) = loss(a, b)
            XCTAssertEqual(Double(value), ref(a.doubles, b.doubles), accuracy: 1e-6, "\(name) value")
            let f: ([[Double]]) -> [Double] = { t in [ref(t[0], t[1])] }
            assertGradient(grad * Float(upstream), GradientCheck.numeric(f, at: [a.doubles, b.doubles], upstream: [upstream], wrt: 0),
                           "\(name) ∂a")
        }
        XCTAssertEqual(Loss.l1(b, b).value, 0)
        XCTAssertEqual(Loss.l1(b, b).grad.maxAbs(), 0, "L1 at equality: zero (sign(0)), as PyTorch")
    }

    /// The colour term: λ · L1 of the tile means, differentiated with respect to the fake only.
    func testColourLossValueAndGradient() {
        var rng = RandomGenerator(seed: 30)
        let xs = Shape4(n: 2, c: 3, h: 12, w: 10), block = 4, lambda: Float = 2.5
        let real = rng.normalTensor([xs.n, xs.c, xs.h, xs.w])
        // A constant offset per tile keeps each tile's mean difference away from L1's kink.
        let offsets = rng.normalAwayFromZero([xs.n, xs.c, 3, 3], gap: 0.05)
        var fake = real
        for p in 0..<(xs.n * xs.c) { for y in 0..<xs.h { for x in 0..<xs.w {
            fake.data[(p * xs.h + y) * xs.w + x] += offsets.data[(p * 3 + y / block) * 3 + x / block]
        } } }
        let loss: ([[Double]]) -> [Double] = { t in
            [Double(lambda) * Ref.l1(Ref.blockAverage(t[0], xs, block: block), Ref.blockAverage(t[1], xs, block: block))]
        }
        let (value, grad) = ColourLoss.compute(fake: fake, real: real, block: block, lambda: lambda)
        XCTAssertEqual(Double(value), loss([fake.doubles, real.doubles])[0], accuracy: 1e-5)
        assertGradient(grad, GradientCheck.numeric(loss, at: [fake.doubles, real.doubles], upstream: [1], wrt: 0), "colour loss ∂fake")
        XCTAssertEqual(ColourLoss.compute(fake: real, real: real, lambda: lambda).value, 0, "a picture matches itself")
    }

    func testSpectralNormPowerIterationAndGradient() {
        var rng = RandomGenerator(seed: 25)
        let rows = 5
        let w0 = rng.normalTensor([rows, 3, 2, 2])
        let u0 = Tensor(shape: [rows], data: Ref.normalize(rng.normalTensor([rows]).doubles).map(Float.init))
        let v0 = Tensor(shape: [12], data: Ref.normalize(rng.normalTensor([12]).doubles).map(Float.init))

        // Eval: no iteration, σ from the stored vectors.
        var u = u0, v = v0
        let (wEval, sigmaEval) = SpectralNorm.weight(w0, u: &u, v: &v, training: false)
        XCTAssertEqual(u, u0, "eval must not touch u")
        XCTAssertEqual(v, v0, "eval must not touch v")
        assertClose(wEval, Ref.spectralWeight(w0.doubles, rows: rows, u: u0.doubles, v: v0.doubles), "spectral eval weight")

        // Training: one power iteration, then σ with the new vectors.
        let (wTrain, sigma) = SpectralNorm.weight(w0, u: &u, v: &v, training: true)
        let (uRef, vRef) = Ref.powerIteration(w0.doubles, rows: rows, u: u0.doubles)
        assertClose(u, uRef, "spectral u after iteration", tolerance: 1e-6)
        assertClose(v, vRef, "spectral v after iteration", tolerance: 1e-6)
        let sigmaRef = zip(uRef, Ref.matVec(w0.doubles, rows: rows, cols: 12, vRef)).reduce(0.0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(Double(sigma), sigmaRef, accuracy: 1e-5 * abs(sigmaRef))
        XCTAssertNotEqual(sigma, sigmaEval)
        assertClose(wTrain, Ref.spectralWeight(w0.doubles, rows: rows, u: uRef, v: vRef), "spectral train weight")

        // Gradient with respect to weight_orig with u, v fixed after the iteration.
        let r = rng.normalTensor(w0.shape)
        let f: ([[Double]]) -> [Double] = { t in Ref.spectralWeight(t[0], rows: rows, u: u.doubles, v: v.doubles) }
        assertGradient(SpectralNorm.backward(weightGrad: r, weightOrig: w0, u: u, v: v, sigma: sigma),
                       GradientCheck.numeric(f, at: [w0.doubles], upstream: r.doubles, wrt: 0), "spectral norm ∂weight_orig")
    }

    /// Conv2dLayer with spectral norm, end to end: the training forward's power iteration, its output,
    /// and backward's gradients for x, weight_orig and bias; the plain layer alongside.
    func testConv2dLayerGradients() {
        var rng = RandomGenerator(seed: 26)
        let xs = Shape4(n: 2, c: 3, h: 6, w: 5), o = 4, k = 3
        for spectral in [true, false] {
            let what = spectral ? "Conv2dLayer spectral" : "Conv2dLayer"
            let layer = Conv2dLayer(xs.c, o, kernel: k, stride: 2, padding: 1, spectral: spectral, rng: &rng)
            layer.weight.value = rng.normalTensor(layer.weight.value.shape)
            layer.bias!.value = rng.normalTensor([o])
            let u0 = layer.u?.value.doubles ?? []
            let x = rng.normalTensor([xs.n, xs.c, xs.h, xs.w])
            let y = layer.forward(x, training: true)
            var uRef: [Double] = [], vRef: [Double] = []
            if spectral {
                (uRef, vRef) = Ref.powerIteration(layer.weight.value.doubles, rows: o, u: u0)
                assertClose(layer.u!.value, uRef, "\(what) u", tolerance: 1e-6)
                assertClose(layer.v!.value, vRef, "\(what) v", tolerance: 1e-6)
            }
            let f: ([[Double]]) -> [Double] = { t in
                let w = spectral ? Ref.spectralWeight(t[1], rows: o, u: uRef, v: vRef) : t[1]
                return Ref.conv2d(t[0], xs, weight: w, outChannels: o, kernel: k, bias: t[2], stride: 2, padding: 1)
            }
            let inputs = [x.doubles, layer.weight.value.doubles, layer.bias!.value.doubles]
            assertClose(y, f(inputs), "\(what) forward")
            let r = rng.normalTensor(y.shape)
            layer.zeroGrad()
            let gx = layer.backward(r)!
            assertGradient(gx, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 0), "\(what) ∂x")
            assertGradient(layer.weight.grad, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 1), "\(what) ∂weight")
            assertGradient(layer.bias!.grad, GradientCheck.numeric(f, at: inputs, upstream: r.doubles, wrt: 2), "\(what) ∂bias")
            // An eval forward in between changes neither u, v nor what backward refers to.
            let uAfter = layer.u?.value
            _ = layer.forward(rng.normalTensor([1, xs.c, 4, 4]), training: false)
            XCTAssertEqual(layer.u?.value, uAfter, "\(what): eval forward must not iterate")
            layer.zeroGrad()
            let gxAgain = layer.backward(r)!
            XCTAssertEqual(gxAgain.data, gx.data, accuracy: 0, "\(what): backward after an eval forward")
        }
    }
}

/// Element-wise equality of float arrays within `accuracy`, failing once with the worst index.
func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, _ message: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(message): sizes", file: file, line: line)
    guard a.count == b.count else { return }
    var worst: Float = 0, at = 0
    for i in 0..<a.count where !(abs(a[i] - b[i]) <= worst) { worst = abs(a[i] - b[i]); at = i }
    XCTAssertLessThanOrEqual(worst, accuracy, "\(message): worst difference \(worst) at \(at)", file: file, line: line)
}
