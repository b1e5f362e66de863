/// 2-D convolution (PyTorch `Conv2d` semantics: zero padding, cross-correlation, weight [O, C, kh, kw])
/// by im2col + GEMM, forward and backward side by side (wide 3×3 same-padded convs: Winograd, see
/// `Conv2dWinograd`; convs with few outputs: `Conv2dNarrowOutput`).
///
/// The column matrix is built for a band of output rows at a time so that memory stays bounded
/// (a 3×3 conv of 128 channels at 256² would need 300 MB at once); the im2col copy is spread over the
/// cores by input channel and the GEMM is threaded by OpenBLAS.
public struct Conv2dGeometry: Equatable {
    public var inChannels, outChannels, kernelH, kernelW, stride, padding: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelH = kernel
        self.kernelW = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
        ((h + 2 * padding - kernelH) / stride + 1, (w + 2 * padding - kernelW) / stride + 1)
    }

    var columnRows: Int { inChannels * kernelH * kernelW }
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }
}

/// Floats per im2col band. Small enough that a band is still in cache when the GEMM reads it back
/// (4 MB: a 32 MB band made the copy and the GEMM each go through memory), large enough to keep
/// GEMMs wide (a 3×3 conv of 32 channels at 256² gets 14-row bands, 3,600 columns).
private let columnBandBudget = 1 << 20

private func bandRows(_ g: Conv2dGeometry, outH: Int, outW: Int) -> Int {
    max(1, min(outH, columnBandBudget / max(1, g.columnRows * outW)))
}

/// The output columns ow whose input column ow·s − p + j lies inside 0..<w: the rest read zero padding.
@inline(__always)
func inBoundsColumns(outW: Int, w: Int, stride s: Int, padding p: Int, kernelColumn j: Int) -> Range<Int> {
    let lo = p - j > 0 ? (p - j + s - 1) / s : 0
    let last = w - 1 + p - j
    let hi = last < 0 ? 0 : min(outW, last / s + 1)
    return lo..<max(lo, hi)
}

/// Fills col[(c·kh + i)·kw + j][(r − r0)·Wo + ow] = x[c, r·s − p + i, ow·s − p + j] (0 outside) for r in rows.
/// Every element of the band is written, so `col` need not be cleared first.
private func im2col(_ x: UnsafePointer<Float>, h: Int, w: Int, g: Conv2dGeometry, outW: Int,
                    rows: Range<Int>, col: UnsafeMutablePointer<Float>) {
    let bandCols = rows.count * outW
    let s = g.stride, p = g.padding
    Parallel.forEach(g.inChannels) { c in
        let plane = x + c * h * w
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let dst = col + ((c * g.kernelH + i) * g.kernelW + j) * bandCols
                let valid = inBoundsColumns(outW: outW, w: w, stride: s, padding: p, kernelColumn: j)
                var o = 0
                for r in rows {
                    let iy = r * s - p + i
                    let out = dst + o
                    if iy < 0 || iy >= h || valid.isEmpty {
                        out.update(repeating: 0, count: outW)
                    } else {
                        out.update(repeating: 0, count: valid.lowerBound)
                        let src = plane + iy * w - p + j
                        if s == 1 {
                            (out + valid.lowerBound).update(from: src + valid.lowerBound, count: valid.count)
                        } else {
                            for ow in valid { out[ow] = src[ow * s] }
                        }
                        (out + valid.upperBound).update(repeating: 0, count: outW - valid.upperBound)
                    }
                    o += outW
                }
            }
        }
    }
}

/// The adjoint of `im2col`: accumulates column gradients back into gx (parallel by channel: no races).
private func col2imAdd(_ col: UnsafePointer<Float>, h: Int, w: Int, g: Conv2dGeometry, outW: Int,
                       rows: Range<Int>, gx: UnsafeMutablePointer<Float>) {
    let bandCols = rows.count * outW
    let s = g.stride, p = g.padding
    Parallel.forEach(g.inChannels) { c in
        let plane = gx + c * h * w
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let src = col + ((c * g.kernelH + i) * g.kernelW + j) * bandCols
                let valid = inBoundsColumns(outW: outW, w: w, stride: s, padding: p, kernelColumn: j)
                var o = 0
                for r in rows {
                    let iy = r * s - p + i
                    if iy >= 0 && iy < h {
                        let dst = plane + iy * w - p + j
                        let from = src + o
                        if s == 1 {
                            for ow in valid { dst[ow] += from[ow] }
                        } else {
                            for ow in valid { dst[ow * s] += from[ow] }
                        }
                    }
                    o += outW
                }
            }
        }
    }
}

/// Scratch for im2col bands, not zero-filled: every use overwrites what it later reads.
private func scratchBand(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

public enum Conv2d {
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
        let (n, c, h, w) = x.nchw("conv2d")
        precondition(weight.rank == 4 && weight.shape[1] == c,
                     "conv2d: input \(x.shape) needs weight [O, \(c), kh, kw], got \(weight.shape)")
        precondition(weight.shape[2] == weight.shape[3], "conv2d: only square kernels, got \(weight.shape)")
        let g = Conv2dGeometry(inChannels: c, outChannels: weight.shape[0], kernel: weight.shape[2],
                               stride: stride, padding: padding)
        if let bias { precondition(bias.shape == [g.outChannels], "conv2d: bias \(bias.shape) for \(g.outChannels) outputs") }
        let (oh, ow) = g.outputSize(h: h, w: w)
        precondition(oh > 0 && ow > 0, "conv2d: input \(x.shape) too small for kernel \(g.kernelH), padding \(padding)")
        if Conv2dWinograd.applies(g, outH: oh, outW: ow) || Conv2dNarrowOutput.applies(g) {
            var y = Conv2dNarrowOutput.applies(g) ? Conv2dNarrowOutput.forward(x, weight: weight, geometry: g)
                                                  : Conv2dWinograd.forward(x, weight: weight)
            if let bias { addChannelBias(&y, bias) }
            return y
        }
        var y = Tensor(uninitializedShape: [n, g.outChannels, oh, ow])  // every element is a GEMM output
        let band = bandRows(g, outH: oh, outW: ow)
        var col = scratchBand(g.isPointwise ? 0 : g.columnRows * band * ow)
        x.withPointer { xp in
            weight.withPointer { wp in
                y.withMutablePointer { yp in
                    col.withUnsafeMutableBufferPointer { colBuf in
                        for s in 0..<n {
                            let xs = xp + s * c * h * w
                            let ys = yp + s * g.outChannels * oh * ow
                            if g.isPointwise {
                                sgemm(m: g.outChannels, n: oh * ow, k: c, a: wp, lda: c, b: xs, ldb: oh * ow,
                                      c: ys, ldc: oh * ow)
                                continue
                            }
                            var r0 = 0
                            while r0 < oh {
                                let rows = r0..<min(oh, r0 + band)
                                im2col(xs, h: h, w: w, g: g, outW: ow, rows: rows, col: colBuf.baseAddress!)
                                sgemm(m: g.outChannels, n: rows.count * ow, k: g.columnRows,
                                      a: wp, lda: g.columnRows, b: colBuf.baseAddress!, ldb: rows.count * ow,
                                      c: ys + r0 * ow, ldc: oh * ow)
                                r0 = rows.upperBound
                            }
                        }
                    }
                }
            }
        }
        if let bias { addChannelBias(&y, bias) }
        return y
    }

    /// Gradients of `forward`. The weight gradient is *accumulated* into `weightGrad` (so mini-batches and
    /// repeated uses add up); the bias gradient is `biasGrad.addChannelSums(of: outputGrad)`, left to the
    /// caller. The input gradient is returned when asked for.
    public static func backward(_ x: Tensor, weight: Tensor, outputGrad gy: Tensor, stride: Int = 1, padding: Int = 0,
                                weightGrad: inout Tensor, needInputGrad: Bool = true) -> Tensor? {
        accumulateWeightGradient(x, outputGrad: gy, stride: stride, padding: padding, into: &weightGrad)
        return needInputGrad ? inputGradient(inputShape: x.shape, weight: weight, outputGrad: gy,
                                             stride: stride, padding: padding) : nil
    }

    /// gW += gy · im2col(x)ᵀ, band by band.
    public static func accumulateWeightGradient(_ x: Tensor, outputGrad gy: Tensor, stride: Int = 1, padding: Int = 0,
                                                into weightGrad: inout Tensor) {
        let (n, c, h, w) = x.nchw("conv2d weight gradient")
        precondition(weightGrad.rank == 4 && weightGrad.shape[1] == c && weightGrad.shape[2] == weightGrad.shape[3],
                     "conv2d weight gradient: accumulator \(weightGrad.shape) for input \(x.shape)")
        let g = Conv2dGeometry(inChannels: c, outChannels: weightGrad.shape[0], kernel: weightGrad.shape[2],
                               stride: stride, padding: padding)
        let (oh, ow) = g.outputSize(h: h, w: w)
        precondition(gy.shape == [n, g.outChannels, oh, ow], "conv2d backward: output grad \(gy.shape), expected \([n, g.outChannels, oh, ow])")
        if Conv2dNarrowOutput.applies(g) {
            Conv2dNarrowOutput.accumulateWeightGradient(x, outputGrad: gy, geometry: g, into: &weightGrad)
            return
        }
        let band = bandRows(g, outH: oh, outW: ow)
        var col = scratchBand(g.isPointwise ? 0 : g.columnRows * band * ow)
        x.withPointer { xp in
            gy.withPointer { gyp in
                weightGrad.withMutablePointer { gwp in
                    col.withUnsafeMutableBufferPointer { colBuf in
                        for s in 0..<n {
                            let xs = xp + s * c * h * w
                            let gys = gyp + s * g.outChannels * oh * ow
                            if g.isPointwise {
                                sgemm(transB: true, m: g.outChannels, n: c, k: oh * ow, a: gys, lda: oh * ow,
                                      b: xs, ldb: oh * ow, beta: 1, c: gwp, ldc: c)
                                continue
                            }
                            var r0 = 0
                            while r0 < oh {
                                let rows = r0..<min(oh, r0 + band)
                                let cols = rows.count * ow
                                im2col(xs, h: h, w: w, g: g, outW: ow, rows: rows, col: colBuf.baseAddress!)
                                sgemm(transB: true, m: g.outChannels, n: g.columnRows, k: cols,
                                      a: gys + r0 * ow, lda: oh * ow, b: colBuf.baseAddress!, ldb: cols,
                                      beta: 1, c: gwp, ldc: g.columnRows)
                                r0 = rows.upperBound
                            }
                        }
                    }
                }
            }
        }
    }

    /// gx = col2im(Wᵀ · gy): needs only the input's shape, not its values (the G step asks D for this
    /// alone: D's own parameter gradients would be thrown away).
    public static func inputGradient(inputShape: [Int], weight: Tensor, outputGrad gy: Tensor,
                                     stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(inputShape.count == 4, "conv2d input gradient: input shape \(inputShape) is not NCHW")
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        precondition(weight.rank == 4 && weight.shape[1] == c, "conv2d input gradient: weight \(weight.shape) for input \(inputShape)")
        let g = Conv2dGeometry(inChannels: c, outChannels: weight.shape[0], kernel: weight.shape[2],
                               stride: stride, padding: padding)
        let (oh, ow) = g.outputSize(h: h, w: w)
        precondition(gy.shape == [n, g.outChannels, oh, ow], "conv2d backward: output grad \(gy.shape), expected \([n, g.outChannels, oh, ow])")
        // The transposed conv reads the output gradient's channels: those must be wide enough.
        let transposed = Conv2dGeometry(inChannels: g.outChannels, outChannels: c, kernel: g.kernelH, stride: stride, padding: padding)
        if Conv2dWinograd.applies(transposed, outH: h, outW: w) {
            return Conv2dWinograd.inputGradient(gy, weight: weight)
        }
        if Conv2dNarrowOutput.applies(g) {
            return Conv2dNarrowOutput.inputGradient(inputShape: inputShape, weight: weight, outputGrad: gy, geometry: g)
        }
        if g.isPointwise {
            var gx = Tensor(uninitializedShape: inputShape)  // every element is a GEMM output
            weight.withPointer { wp in
                gy.withPointer { gyp in
                    gx.withMutablePointer { gxp in
                        for s in 0..<n {
                            sgemm(transA: true, m: c, n: oh * ow, k: g.outChannels, a: wp, lda: c,
                                  b: gyp + s * g.outChannels * oh * ow, ldb: oh * ow, c: gxp + s * c * h * w, ldc: oh * ow)
                        }
                    }
                }
            }
            return gx
        }
        let band = bandRows(g, outH: oh, outW: ow)
        var gcol = scratchBand(g.columnRows * band * ow)
        var gx = Tensor(shape: inputShape)  // col2im accumulates
        weight.withPointer { wp in
            gy.withPointer { gyp in
                gx.withMutablePointer { gxp in
                    gcol.withUnsafeMutableBufferPointer { gcolBuf in
                        for s in 0..<n {
                            let gys = gyp + s * g.outChannels * oh * ow
                            var r0 = 0
                            while r0 < oh {
                                let rows = r0..<min(oh, r0 + band)
                                let cols = rows.count * ow
                                sgemm(transA: true, m: g.columnRows, n: cols, k: g.outChannels,
                                      a: wp, lda: g.columnRows, b: gys + r0 * ow, ldb: oh * ow,
                                      c: gcolBuf.baseAddress!, ldc: cols)
                                col2imAdd(gcolBuf.baseAddress!, h: h, w: w, g: g, outW: ow, rows: rows,
                                          gx: gxp + s * c * h * w)
                                r0 = rows.upperBound
                            }
                        }
                    }
                }
            }
        }
        return gx
    }
}

extension Tensor {
    /// Adds sums over (N, H, W) of `t` (NCHW) into this [C] vector: the bias gradient of a conv.
    public mutating func addChannelSums(of t: Tensor) {
        let (n, c, h, w) = t.nchw("channel sums")
        precondition(shape == [c], "channel sums: accumulator \(shape) for \(c) channels")
        let hw = h * w
        t.withPointer { tp in
            withMutablePointer { acc in
                Parallel.forEach(c) { ch in  // each worker owns its channels' sums
                    var sum: Float = 0
                    for s in 0..<n { sum += VectorSums.float(tp + (s * c + ch) * hw, hw) }
                    acc[ch] += sum
                }
            }
        }
    }
}

/// y[n, c, :, :] += bias[c]
func addChannelBias(_ y: inout Tensor, _ bias: Tensor) {
    let (n, c, h, w) = y.nchw("bias")
    let hw = h * w
    bias.withPointer { bp in
        y.withMutablePointer { yp in
            Parallel.forEach(n * c) { nc in
                let b = bp[nc % c]
                let p = yp + nc * hw
                for i in 0..<hw { p[i] += b }
            }
        }
    }
}
