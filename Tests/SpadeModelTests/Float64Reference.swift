import Foundation

/// Independent float64 forward passes of the ops, written as naive loops straight from the PyTorch
/// definitions. They share no code with `SpadeModel`: the gradient checks differentiate *these*
/// numerically, so a wrong index rule or formula in the engine cannot hide behind itself.
/// Arrays are flat, row-major; shapes are passed alongside.
enum Ref {
    struct Shape4 {
        var n, c, h, w: Int
        var count: Int { n * c * h * w }
        func index(_ s: Int, _ ch: Int, _ y: Int, _ x: Int) -> Int { ((s * c + ch) * h + y) * w + x }
    }

    static func conv2d(_ x: [Double], _ xs: Shape4, weight: [Double], outChannels o: Int, kernel k: Int,
                       bias: [Double]?, stride: Int, padding: Int) -> [Double] {
        let oh = (xs.h + 2 * padding - k) / stride + 1, ow = (xs.w + 2 * padding - k) / stride + 1
        var y = [Double](repeating: 0, count: xs.n * o * oh * ow)
        for s in 0..<xs.n {
            for oc in 0..<o {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var acc = bias?[oc] ?? 0
                        for ic in 0..<xs.c {
                            for i in 0..<k {
                                let iy = oy * stride - padding + i
                                if iy < 0 || iy >= xs.h { continue }
                                for j in 0..<k {
                                    let ix = ox * stride - padding + j
                                    if ix < 0 || ix >= xs.w { continue }
                                    acc += x[xs.index(s, ic, iy, ix)] * weight[((oc * xs.c + ic) * k + i) * k + j]
                                }
                            }
                        }
                        y[((s * o + oc) * oh + oy) * ow + ox] = acc
                    }
                }
            }
        }
        return y
    }

    /// y = x Wᵀ + b with x [n, i], W [o, i].
    static func linear(_ x: [Double], n: Int, inFeatures i: Int, weight: [Double], outFeatures o: Int,
                       bias: [Double]?) -> [Double] {
        var y = [Double](repeating: 0, count: n * o)
        for s in 0..<n {
            for j in 0..<o {
                var acc = bias?[j] ?? 0
                for t in 0..<i { acc += x[s * i + t] * weight[j * i + t] }
                y[s * o + j] = acc
            }
        }
        return y
    }

    /// Per-channel statistics over (N, H, W): mean and biased variance.
    static func channelStats(_ x: [Double], _ xs: Shape4) -> (mean: [Double], variance: [Double]) {
        var mean = [Double](repeating: 0, count: xs.c), variance = mean
        let count = Double(xs.n * xs.h * xs.w)
        for ch in 0..<xs.c {
            var sum = 0.0
            for s in 0..<xs.n { for y in 0..<xs.h { for x0 in 0..<xs.w { sum += x[xs.index(s, ch, y, x0)] } } }
            mean[ch] = sum / count
            var sq = 0.0
            for s in 0..<xs.n { for y in 0..<xs.h { for x0 in 0..<xs.w {
                let d = x[xs.index(s, ch, y, x0)] - mean[ch]
                sq += d * d
            } } }
            variance[ch] = sq / count
        }
        return (mean, variance)
    }

    /// y = (x − mean) / sqrt(var + eps) · γ + β per channel, with the given statistics.
    static func normalizePerChannel(_ x: [Double], _ xs: Shape4, mean: [Double], variance: [Double],
                                    gamma: [Double]?, beta: [Double]?, eps: Double) -> [Double] {
        var y = x
        for s in 0..<xs.n { for ch in 0..<xs.c { for yy in 0..<xs.h { for xx in 0..<xs.w {
            let i = xs.index(s, ch, yy, xx)
            y[i] = (x[i] - mean[ch]) / (variance[ch] + eps).squareRoot() * (gamma?[ch] ?? 1) + (beta?[ch] ?? 0)
        } } } }
        return y
    }

    static func batchNormTrain(_ x: [Double], _ xs: Shape4, gamma: [Double]?, beta: [Double]?, eps: Double = 1e-5) -> [Double] {
        let (mean, variance) = channelStats(x, xs)
        return normalizePerChannel(x, xs, mean: mean, variance: variance, gamma: gamma, beta: beta, eps: eps)
    }

    static func instanceNorm(_ x: [Double], _ xs: Shape4, eps: Double = 1e-5) -> [Double] {
        // Each (sample, channel) plane is a batch norm of a 1-sample, 1-channel tensor.
        let plane = Shape4(n: 1, c: 1, h: xs.h, w: xs.w)
        let hw = xs.h * xs.w
        var y = [Double]()
        y.reserveCapacity(x.count)
        for p in 0..<(xs.n * xs.c) {
            y += batchNormTrain(Array(x[(p * hw)..<((p + 1) * hw)]), plane, gamma: nil, beta: nil, eps: eps)
        }
        return y
    }

    static func relu(_ x: [Double]) -> [Double] { x.map { $0 > 0 ? $0 : 0 } }
    static func leakyRelu(_ x: [Double], slope: Double = 0.2) -> [Double] { x.map { $0 > 0 ? $0 : slope * $0 } }
    static func tanh(_ x: [Double]) -> [Double] { x.map { Foundation.tanh($0) } }

    /// PyTorch's legacy nearest index, stated as its C++ does: identity and exact ×2 are special cases,
    /// otherwise floor(dst · scale) with scale = in/out, both in float32.
    static func nearestIndex(_ dst: Int, inSize: Int, outSize: Int) -> Int {
        if inSize == outSize { return dst }
        if outSize == 2 * inSize { return dst / 2 }
        let scale: Float = Float(inSize) / Float(outSize)
        let product: Float = Float(dst) * scale
        return min(Int(floorf(product)), inSize - 1)
    }

    static func nearest(_ x: [Double], _ xs: Shape4, height oh: Int, width ow: Int) -> [Double] {
        var y = [Double](repeating: 0, count: xs.n * xs.c * oh * ow)
        for p in 0..<(xs.n * xs.c) { for oy in 0..<oh { for ox in 0..<ow {
            let sy = nearestIndex(oy, inSize: xs.h, outSize: oh), sx = nearestIndex(ox, inSize: xs.w, outSize: ow)
            y[(p * oh + oy) * ow + ox] = x[(p * xs.h + sy) * xs.w + sx]
        } } }
        return y
    }

    /// align_corners=False: source coordinate (dst + ½)·in/out − ½, clamped below at 0; the two taps
    /// are floor(src) and the next pixel (clamped to the edge).
    static func bilinear(_ x: [Double], _ xs: Shape4, height oh: Int, width ow: Int) -> [Double] {
        func taps(_ d: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int, Double) {
            let src = max((Double(d) + 0.5) * Double(inSize) / Double(outSize) - 0.5, 0)
            let i0 = min(Int(src.rounded(.down)), inSize - 1)
            return (i0, min(i0 + 1, inSize - 1), src - Double(i0))
        }
        var y = [Double](repeating: 0, count: xs.n * xs.c * oh * ow)
        for p in 0..<(xs.n * xs.c) { for oy in 0..<oh { for ox in 0..<ow {
            let (y0, y1, ly) = taps(oy, xs.h, oh), (x0, x1, lx) = taps(ox, xs.w, ow)
            func at(_ yy: Int, _ xx: Int) -> Double { x[(p * xs.h + yy) * xs.w + xx] }
            let top = (1 - lx) * at(y0, x0) + lx * at(y0, x1)
            let bottom = (1 - lx) * at(y1, x0) + lx * at(y1, x1)
            y[(p * oh + oy) * ow + ox] = (1 - ly) * top + ly * bottom
        } } }
        return y
    }

    /// avg_pool2d(3, stride 2, padding 1, count_include_pad=False): the mean of the window's in-image pixels.
    static func avgPool3x3s2(_ x: [Double], _ xs: Shape4) -> [Double] {
        let oh = (xs.h + 2 - 3) / 2 + 1, ow = (xs.w + 2 - 3) / 2 + 1
        var y = [Double](repeating: 0, count: xs.n * xs.c * oh * ow)
        for p in 0..<(xs.n * xs.c) { for oy in 0..<oh { for ox in 0..<ow {
            var sum = 0.0, count = 0
            for i in 0..<3 { for j in 0..<3 {
                let yy = oy * 2 - 1 + i, xx = ox * 2 - 1 + j
                if yy >= 0 && yy < xs.h && xx >= 0 && xx < xs.w { sum += x[(p * xs.h + yy) * xs.w + xx]; count += 1 }
            } }
            y[(p * oh + oy) * ow + ox] = sum / Double(count)
        } } }
        return y
    }

    /// Means of block×block tiles, ceil mode: an edge tile averages the pixels it holds.
    static func blockAverage(_ x: [Double], _ xs: Shape4, block: Int) -> [Double] {
        let oh = (xs.h + block - 1) / block, ow = (xs.w + block - 1) / block
        var y = [Double](repeating: 0, count: xs.n * xs.c * oh * ow)
        for p in 0..<(xs.n * xs.c) { for yy in 0..<xs.h { for xx in 0..<xs.w {
            let rows = min(xs.h - yy / block * block, block), cols = min(xs.w - xx / block * block, block)
            y[(p * oh + yy / block) * ow + xx / block] += x[(p * xs.h + yy) * xs.w + xx] / Double(rows * cols)
        } } }
        return y
    }

    /// max_pool2d(2, stride 2), floor mode: the largest of each 2×2 block.
    static func maxPool2x2(_ x: [Double], _ xs: Shape4) -> [Double] {
        let oh = xs.h / 2, ow = xs.w / 2
        var y = [Double](repeating: 0, count: xs.n * xs.c * oh * ow)
        for p in 0..<(xs.n * xs.c) { for oy in 0..<oh { for ox in 0..<ow {
            var best = -Double.infinity
            for i in 0..<2 { for j in 0..<2 { best = max(best, x[(p * xs.h + 2 * oy + i) * xs.w + 2 * ox + j]) } }
            y[(p * oh + oy) * ow + ox] = best
        } } }
        return y
    }

    static func concatChannels(_ a: [Double], channelsA: Int, _ b: [Double], channelsB: Int, n: Int, hw: Int) -> [Double] {
        var y = [Double]()
        for s in 0..<n {
            y += a[(s * channelsA * hw)..<((s + 1) * channelsA * hw)]
            y += b[(s * channelsB * hw)..<((s + 1) * channelsB * hw)]
        }
        return y
    }

    static func l1(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { abs($0 - $1) }.reduce(0, +) / Double(a.count) }
    static func mse(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(a.count) }

    /// W_mat [rows, cols] times x.
    static func matVec(_ w: [Double], rows: Int, cols: Int, _ x: [Double]) -> [Double] {
        (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + w[r * cols + $1] * x[$1] } }
    }

    static func transposedMatVec(_ w: [Double], rows: Int, cols: Int, _ x: [Double]) -> [Double] {
        (0..<cols).map { c in (0..<rows).reduce(0.0) { $0 + w[$1 * cols + c] * x[$1] } }
    }

    static func normalize(_ x: [Double]) -> [Double] {
        let norm = max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return x.map { $0 / norm }
    }

    /// One power iteration as `torch.nn.utils.spectral_norm` runs it in a training forward.
    static func powerIteration(_ w: [Double], rows: Int, u: [Double]) -> (u: [Double], v: [Double]) {
        let cols = w.count / rows
        let v = normalize(transposedMatVec(w, rows: rows, cols: cols, u))
        return (normalize(matVec(w, rows: rows, cols: cols, v)), v)
    }

    /// weight_orig / (uᵀ W_mat v) with u, v held fixed.
    static func spectralWeight(_ w: [Double], rows: Int, u: [Double], v: [Double]) -> [Double] {
        let wv = matVec(w, rows: rows, cols: w.count / rows, v)
        let sigma = zip(u, wv).reduce(0.0) { $0 + $1.0 * $1.1 }
        return w.map { $0 / sigma }
    }
}
