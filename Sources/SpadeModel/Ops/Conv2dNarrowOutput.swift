/// Stride-1 convolutions with few output channels — the discriminator's last layer (128 → 1, 4×4) —
/// without im2col ("kn2row"). im2col would copy every input pixel k² times (37 MB per sample for that
/// layer at 66²) only for a GEMM with one output row. Instead, with the weight regrouped as
/// Wr[(o, i, j)][c] = W[o, c, i, j]:
/// - forward: Y = Wr · X (cout·k² maps the size of the input), then out[o] = Σ_ij Y[o, i, j] shifted by (i, j);
/// - gradients: G[(o, i, j)] = the output gradient of channel o shifted back by (i, j) onto the input grid,
///   then gW = G · Xᵀ and gx = Wrᵀ · G.
/// All three are GEMMs over the input once, with cout·k² ≤ cin rows on the small side.
enum Conv2dNarrowOutput {
    /// Off in tests that compare against the im2col path.
    nonisolated(unsafe) static var enabled = true

    static func applies(_ g: Conv2dGeometry) -> Bool {
        enabled && g.stride == 1 && g.kernelH == g.kernelW && g.kernelH > 1
            && g.outChannels * g.kernelH * g.kernelW <= g.inChannels
    }

    /// conv(x, weight) without bias.
    static func forward(_ x: Tensor, weight: Tensor, geometry g: Conv2dGeometry) -> Tensor {
        let (n, c, h, w) = x.nchw("narrow conv")
        let k = g.kernelH, kk = k * k, p = g.padding, rows = g.outChannels * kk, hw = h * w
        let (oh, ow) = g.outputSize(h: h, w: w)
        let wr = regroupedWeight(weight, g)
        var y = Tensor(uninitializedShape: [n, g.outChannels, oh, ow])
        var shifted = [Float](unsafeUninitializedCapacity: rows * hw) { _, initialized in initialized = rows * hw }
        x.withPointer { xp in
            y.withMutablePointer { yp in
                wr.withUnsafeBufferPointer { wb in
                    shifted.withUnsafeMutableBufferPointer { sb in
                        let prod = sb.baseAddress!
                        for s in 0..<n {
                            sgemm(m: rows, n: hw, k: c, a: wb.baseAddress!, lda: c, b: xp + s * c * hw, ldb: hw, c: prod, ldc: hw)
                            let ys = yp + s * g.outChannels * oh * ow
                            Parallel.forEach(g.outChannels * oh) { job in
                                let o = job / oh, oy = job % oh
                                let dst = ys + job * ow
                                dst.update(repeating: 0, count: ow)
                                for i in 0..<k {
                                    let iy = oy + i - p
                                    if iy < 0 || iy >= h { continue }
                                    for j in 0..<k {
                                        let src = prod + (o * kk + i * k + j) * hw + iy * w + j - p
                                        for ox in inBoundsColumns(outW: ow, w: w, stride: 1, padding: p, kernelColumn: j) {
                                            dst[ox] += src[ox]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// weightGrad += ∂/∂W.
    static func accumulateWeightGradient(_ x: Tensor, outputGrad gy: Tensor, geometry g: Conv2dGeometry,
                                         into weightGrad: inout Tensor) {
        let (n, c, h, w) = x.nchw("narrow conv weight gradient")
        let kk = g.kernelH * g.kernelH, rows = g.outChannels * kk, hw = h * w
        var grouped = [Float](repeating: 0, count: rows * c)  // gWr[(o, i, j)][c], summed over the batch
        x.withPointer { xp in
            grouped.withUnsafeMutableBufferPointer { gb in
                forEachShiftedSample(gy, batch: n, geometry: g, height: h, width: w) { s, shifted in
                    sgemm(transB: true, m: rows, n: c, k: hw, a: shifted, lda: hw, b: xp + s * c * hw, ldb: hw,
                          beta: 1, c: gb.baseAddress!, ldc: c)
                }
            }
        }
        weightGrad.withMutablePointer { gw in
            for o in 0..<g.outChannels {
                for ch in 0..<c {
                    for t in 0..<kk { gw[(o * c + ch) * kk + t] += grouped[(o * kk + t) * c + ch] }
                }
            }
        }
    }

    /// ∂/∂x.
    static func inputGradient(inputShape: [Int], weight: Tensor, outputGrad gy: Tensor, geometry g: Conv2dGeometry) -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let rows = g.outChannels * g.kernelH * g.kernelH, hw = h * w
        let wr = regroupedWeight(weight, g)
        var gx = Tensor(uninitializedShape: inputShape)  // every element is a GEMM output
        gx.withMutablePointer { gxp in
            wr.withUnsafeBufferPointer { wb in
                forEachShiftedSample(gy, batch: n, geometry: g, height: h, width: w) { s, shifted in
                    sgemm(transA: true, m: c, n: hw, k: rows, a: wb.baseAddress!, lda: c, b: shifted, ldb: hw,
                          c: gxp + s * c * hw, ldc: hw)
                }
            }
        }
        return gx
    }

    /// Wr[(o·k² + t)][c] = W[o, c, t].
    static func regroupedWeight(_ weight: Tensor, _ g: Conv2dGeometry) -> [Float] {
        regroupedWeight(weight.data, outChannels: g.outChannels, inChannels: g.inChannels, taps: g.kernelH * g.kernelH)
    }

    /// Wr[(o · taps + t) · cin + c] = W[(o · cin + c) · taps + t]: each kernel tap of each output a row over the inputs.
    static func regroupedWeight(_ weight: [Float], outChannels: Int, inChannels c: Int, taps kk: Int) -> [Float] {
        var wr = [Float](repeating: 0, count: outChannels * kk * c)
        for o in 0..<outChannels {
            for ch in 0..<c {
                for t in 0..<kk { wr[(o * kk + t) * c + ch] = weight[(o * c + ch) * kk + t] }
            }
        }
        return wr
    }

    /// Both gradients read the output gradient through the same shifted planes: calls `body(sample, planes)`
    /// for each sample, with planes[(o·k² + t)] = that sample's ∂y shifted by kernel tap t (one scratch buffer).
    static func forEachShiftedSample(_ gy: Tensor, batch n: Int, geometry g: Conv2dGeometry, height h: Int, width w: Int,
                                     _ body: (Int, UnsafePointer<Float>) -> Void) {
        let count = g.outChannels * g.kernelH * g.kernelH * h * w
        var shifted = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        gy.withPointer { gyp in
            shifted.withUnsafeMutableBufferPointer { sb in
                for s in 0..<n {
                    shiftOutputGradient(gyp, sample: s, geometry: g, height: h, width: w, into: sb.baseAddress!)
                    body(s, sb.baseAddress!)
                }
            }
        }
    }

    /// G[(o·k² + i·k + j)][y·w + x] = gy[s, o, y − i + p, x − j + p], zero where that falls outside the output.
    static func shiftOutputGradient(_ gy: UnsafePointer<Float>, sample s: Int, geometry g: Conv2dGeometry,
                                    height h: Int, width w: Int, into shifted: UnsafeMutablePointer<Float>) {
        let k = g.kernelH, kk = k * k, p = g.padding
        let (oh, ow) = g.outputSize(h: h, w: w)
        let gys = gy + s * g.outChannels * oh * ow
        Parallel.forEach(g.outChannels * kk) { r in
            let o = r / kk, i = (r % kk) / k, j = r % k
            // Input columns x whose output column x − j + p exists.
            let lo = min(w, max(0, j - p)), hi = max(lo, min(w, ow + j - p))
            for y in 0..<h {
                let row = shifted + r * h * w + y * w
                let oy = y - i + p
                if oy < 0 || oy >= oh {
                    row.update(repeating: 0, count: w)
                    continue
                }
                row.update(repeating: 0, count: lo)
                (row + lo).update(from: gys + (o * oh + oy) * ow + lo - j + p, count: hi - lo)
                (row + hi).update(repeating: 0, count: w - hi)
            }
        }
    }
}
