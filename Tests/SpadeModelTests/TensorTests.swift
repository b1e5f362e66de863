import XCTest
@testable import SpadeModel

/// Direct checks of the convolution against a naive double-precision loop.
final class ConvolutionTests: XCTestCase {
    func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int) -> [Double] {
        let (n, c, h, wd) = x.nchw("naive"), o = w.shape[0], k = w.shape[2]
        let oh = (h + 2 * padding - k) / stride + 1, ow = (wd + 2 * padding - k) / stride + 1
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for s in 0..<n { for oc in 0..<o { for oy in 0..<oh { for ox in 0..<ow {
            var acc = Double(b?.data[oc] ?? 0)
            for ic in 0..<c { for i in 0..<k { for j in 0..<k {
                let iy = oy * stride - padding + i, ix = ox * stride - padding + j
                if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                    acc += Double(x.data[((s * c + ic) * h + iy) * wd + ix]) * Double(w.data[((oc * c + ic) * k + i) * k + j])
                }
            }}}
            y[((s * o + oc) * oh + oy) * ow + ox] = acc
        }}}}
        return y
    }

    /// (kernel, stride, padding): the SPADE shapes plus padding wider than the kernel and strides over 2.
    static let geometries = [(1, 1, 0), (3, 1, 1), (3, 2, 1), (4, 2, 2), (4, 1, 2), (1, 2, 0), (3, 1, 4), (4, 3, 5), (5, 2, 0)]

    /// Backward is the adjoint of forward in both arguments: <conv(x, w), r> = <x, gx> = <w, gw>.
    func testConvBackwardIsTheAdjointOfForward() {
        var rng = RandomGenerator(seed: 8)
        for (k, stride, pad) in Self.geometries {
            let x = rng.normalTensor([2, 5, 9, 7])
            let w = rng.normalTensor([6, 5, k, k])
            let y = Conv2d.forward(x, weight: w, bias: nil, stride: stride, padding: pad)
            let r = rng.normalTensor(y.shape)
            var gw = Tensor.zeros(like: w)
            let gx = Conv2d.backward(x, weight: w, outputGrad: r, stride: stride, padding: pad, weightGrad: &gw)!
            func dot(_ a: Tensor, _ b: Tensor) -> Double { zip(a.data, b.data).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
            let yr = dot(y, r)
            XCTAssertEqual(dot(x, gx), yr, accuracy: 1e-3 * max(1, abs(yr)), "input grad, k\(k) s\(stride) p\(pad)")
            XCTAssertEqual(dot(w, gw), yr, accuracy: 1e-3 * max(1, abs(yr)), "weight grad, k\(k) s\(stride) p\(pad)")
        }
    }

    func testConvMatchesNaiveLoop() {
        var rng = RandomGenerator(seed: 7)
        for (k, stride, pad) in Self.geometries {
            let x = rng.normalTensor([2, 5, 9, 7])
            let w = rng.normalTensor([6, 5, k, k])
            let b = rng.normalTensor([6])
            let y = Conv2d.forward(x, weight: w, bias: b, stride: stride, padding: pad)
            let ref = naiveConv(x, w, b, stride: stride, padding: pad)
            XCTAssertEqual(y.count, ref.count)
            for i in 0..<ref.count { XCTAssertEqual(Double(y.data[i]), ref[i], accuracy: 1e-4, "k\(k) s\(stride) p\(pad) at \(i)") }
        }
    }
}
