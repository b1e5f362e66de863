/// 2-D convolution (PyTorch `Conv2d` semantics: zero padding, cross-correlation, weight [O, C, kh, kw])
/// by im2col + GEMM, forward and backward side by side.
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

/// Floats per im2col band: bounds the scratch buffer (32 MB) while keeping GEMMs wide.
private let columnBandBudget = 8 << 20

private func bandRows(_ g: Conv2dGeometry, outH: Int, outW: Int) -> Int {
    max(1, min(outH, columnBandBudget / max(1, g.columnRows * outW)))
}

/// Fills col[(c·kh + i)·kw + j][(r − r0)·Wo + ow] = x[c, r·s − p + i, ow·s − p + j] (0 outside) for r in rows.
private func im2col(_ x: UnsafePointer<Float>, h: Int, w: Int, g: Conv2dGeometry, outW: Int,
                    rows: Range<Int>, col: UnsafeMutablePointer<Float>) {
    let bandCols = rows.count * outW
    let s = g.stride, p = g.padding
    Parallel.forEach(g.inChannels) { c in
        let plane = x + c * h * w
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let dst = col + ((c * g.kernelH + i) * g.kernelW + j) * bandCols
                var o = 0
                for r in rows {
                    let iy = r * s - p + i
                    if iy < 0 || iy >= h {
                        for ow in 0..<outW { dst[o + ow] = 0 }
                    } else {
                        let src = plane + iy * w
                        for ow in 0..<outW {
                            let ix = ow * s - p + j
                            dst[o + ow] = (ix >= 0 && ix < w) ? src[ix] : 0
                        }
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
                var o = 0
                for r in rows {
                    let iy = r * s - p + i
                    if iy >= 0 && iy < h {
                        let dst = plane + iy * w
                        for ow in 0..<outW {
                            let ix = ow * s - p + j
                            if ix >= 0 && ix < w { dst[ix] += src[o + ow] }
                        }
                    }
                    o += outW
                }
            }
        }
    }
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
        var y = Tensor(shape: [n, g.outChannels, oh, ow])
        let band = bandRows(g, outH: oh, outW: ow)
        var col = [Float](repeating: 0, count: g.isPointwise ? 0 : g.columnRows * band * ow)
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
        let (n, c, h, w) = x.nchw("conv2d backward")
        let g = Conv2dGeometry(inChannels: c, outChannels: weight.shape[0], kernel: weight.shape[2],
                               stride: stride, padding: padding)
        let (oh, ow) = g.outputSize(h: h, w: w)
        precondition(gy.shape == [n, g.outChannels, oh, ow], "conv2d backward: output grad \(gy.shape), expected \([n, g.outChannels, oh, ow])")
        checkSameShape("conv2d backward (weight grad)", weightGrad, weight)
        let band = bandRows(g, outH: oh, outW: ow)
        var col = [Float](repeating: 0, count: g.isPointwise ? 0 : g.columnRows * band * ow)
        var gcol = [Float](repeating: 0, count: needInputGrad && !g.isPointwise ? g.columnRows * band * ow : 0)
        var gxData = [Float](repeating: 0, count: needInputGrad ? x.count : 0)
        x.withPointer { xp in
            weight.withPointer { wp in
                gy.withPointer { gyp in
                    weightGrad.withMutablePointer { gwp in
                        col.withUnsafeMutableBufferPointer { colBuf in
                            gcol.withUnsafeMutableBufferPointer { gcolBuf in
                                gxData.withUnsafeMutableBufferPointer { gxBuf in
                                    for s in 0..<n {
                                        let xs = xp + s * c * h * w
                                        let gys = gyp + s * g.outChannels * oh * ow
                                        if g.isPointwise {
                                            // gW += gy · xᵀ ; gx = Wᵀ · gy
                                            sgemm(transB: true, m: g.outChannels, n: c, k: oh * ow, a: gys, lda: oh * ow,
                                                  b: xs, ldb: oh * ow, beta: 1, c: gwp, ldc: c)
                                            if needInputGrad {
                                                sgemm(transA: true, m: c, n: oh * ow, k: g.outChannels, a: wp, lda: c,
                                                      b: gys, ldb: oh * ow, c: gxBuf.baseAddress! + s * c * h * w, ldc: oh * ow)
                                            }
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
                                            if needInputGrad {
                                                sgemm(transA: true, m: g.columnRows, n: cols, k: g.outChannels,
                                                      a: wp, lda: g.columnRows, b: gys + r0 * ow, ldb: oh * ow,
                                                      c: gcolBuf.baseAddress!, ldc: cols)
                                                col2imAdd(gcolBuf.baseAddress!, h: h, w: w, g: g, outW: ow, rows: rows,
                                                          gx: gxBuf.baseAddress! + s * c * h * w)
                                            }
                                            r0 = rows.upperBound
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return needInputGrad ? Tensor(shape: x.shape, data: gxData) : nil
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
                for s in 0..<n {
                    for ch in 0..<c {
                        let p = tp + (s * c + ch) * hw
                        var sum: Float = 0
                        for i in 0..<hw { sum += p[i] }
                        acc[ch] += sum
                    }
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
