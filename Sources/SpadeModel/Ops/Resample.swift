/// Resampling of NCHW maps, PyTorch semantics, with backward (the adjoint scatter).
public enum Resample {
    /// PyTorch's legacy `nearest` source index: floor(dst · in/out) in float32, clamped;
    /// exact identity and ×2 cases as PyTorch special-cases them.
    @inline(__always)
    public static func nearestSourceIndex(_ dst: Int, inSize: Int, outSize: Int) -> Int {
        if inSize == outSize { return dst }
        if outSize == 2 * inSize { return dst >> 1 }
        let scale = Float(inSize) / Float(outSize)
        return min(Int((Float(dst) * scale).rounded(.down)), inSize - 1)
    }

    /// `F.interpolate(x, size: (outH, outW), mode: "nearest")`.
    public static func nearest(_ x: Tensor, height outH: Int, width outW: Int) -> Tensor {
        let (n, c, h, w) = x.nchw("nearest resize")
        let rows = (0..<outH).map { nearestSourceIndex($0, inSize: h, outSize: outH) }
        let cols = (0..<outW).map { nearestSourceIndex($0, inSize: w, outSize: outW) }
        var y = Tensor(uninitializedShape: [n, c, outH, outW])
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forEach(n * c) { nc in
                    let src = xp + nc * h * w, dst = yp + nc * outH * outW
                    for oy in 0..<outH {
                        let srow = src + rows[oy] * w, drow = dst + oy * outW
                        for ox in 0..<outW { drow[ox] = srow[cols[ox]] }
                    }
                }
            }
        }
        return y
    }

    public static func nearestBackward(_ gy: Tensor, inputHeight h: Int, inputWidth w: Int) -> Tensor {
        let (n, c, outH, outW) = gy.nchw("nearest resize backward")
        let rows = (0..<outH).map { nearestSourceIndex($0, inSize: h, outSize: outH) }
        let cols = (0..<outW).map { nearestSourceIndex($0, inSize: w, outSize: outW) }
        var gx = Tensor(shape: [n, c, h, w])
        gy.withPointer { gp in
            gx.withMutablePointer { xp in
                Parallel.forEach(n * c) { nc in
                    let src = gp + nc * outH * outW, dst = xp + nc * h * w
                    for oy in 0..<outH {
                        let drow = dst + rows[oy] * w, srow = src + oy * outW
                        for ox in 0..<outW { drow[cols[ox]] += srow[ox] }
                    }
                }
            }
        }
        return gx
    }

    /// Nearest ×2 upsampling (`nn.Upsample(scale_factor=2)`).
    public static func upsample2x(_ x: Tensor) -> Tensor {
        let (_, _, h, w) = x.nchw("upsample ×2")
        return nearest(x, height: 2 * h, width: 2 * w)
    }

    public static func upsample2xBackward(_ gy: Tensor) -> Tensor {
        let (_, _, h, w) = gy.nchw("upsample ×2 backward")
        return nearestBackward(gy, inputHeight: h / 2, inputWidth: w / 2)
    }

    /// Source taps of bilinear resampling with align_corners=False: (i0, i1, weight of i1).
    static func bilinearTaps(inSize: Int, outSize: Int) -> [(Int, Int, Float)] {
        let scale = Float(inSize) / Float(outSize)
        return (0..<outSize).map { d in
            let src = max(scale * (Float(d) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), inSize - 1)
            let i1 = min(i0 + 1, inSize - 1)
            return (i0, i1, src - Float(i0))
        }
    }

    /// `F.interpolate(x, size, mode="bilinear", align_corners=False)`.
    public static func bilinear(_ x: Tensor, height outH: Int, width outW: Int) -> Tensor {
        let (n, c, h, w) = x.nchw("bilinear resize")
        let ry = bilinearTaps(inSize: h, outSize: outH), rx = bilinearTaps(inSize: w, outSize: outW)
        var y = Tensor(shape: [n, c, outH, outW])
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forEach(n * c) { nc in
                    let src = xp + nc * h * w, dst = yp + nc * outH * outW
                    for oy in 0..<outH {
                        let (y0, y1, ly) = ry[oy]
                        for ox in 0..<outW {
                            let (x0, x1, lx) = rx[ox]
                            let top = (1 - lx) * src[y0 * w + x0] + lx * src[y0 * w + x1]
                            let bottom = (1 - lx) * src[y1 * w + x0] + lx * src[y1 * w + x1]
                            dst[oy * outW + ox] = (1 - ly) * top + ly * bottom
                        }
                    }
                }
            }
        }
        return y
    }

    public static func bilinearBackward(_ gy: Tensor, inputHeight h: Int, inputWidth w: Int) -> Tensor {
        let (n, c, outH, outW) = gy.nchw("bilinear resize backward")
        let ry = bilinearTaps(inSize: h, outSize: outH), rx = bilinearTaps(inSize: w, outSize: outW)
        var gx = Tensor(shape: [n, c, h, w])
        gy.withPointer { gp in
            gx.withMutablePointer { xp in
                Parallel.forEach(n * c) { nc in
                    let src = gp + nc * outH * outW, dst = xp + nc * h * w
                    for oy in 0..<outH {
                        let (y0, y1, ly) = ry[oy]
                        for ox in 0..<outW {
                            let (x0, x1, lx) = rx[ox]
                            let g = src[oy * outW + ox]
                            dst[y0 * w + x0] += (1 - ly) * (1 - lx) * g
                            dst[y0 * w + x1] += (1 - ly) * lx * g
                            dst[y1 * w + x0] += ly * (1 - lx) * g
                            dst[y1 * w + x1] += ly * lx * g
                        }
                    }
                }
            }
        }
        return gx
    }

    /// `F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)`: the discriminator's scale pyramid.
    public static func avgPool3x3s2(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw("avg pool")
        let oh = (h + 2 - 3) / 2 + 1, ow = (w + 2 - 3) / 2 + 1
        var y = Tensor(uninitializedShape: [n, c, oh, ow])
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forEach(n * c) { nc in
                    let src = xp + nc * h * w, dst = yp + nc * oh * ow
                    for oy in 0..<oh {
                        let y0 = max(oy * 2 - 1, 0), y1 = min(oy * 2 + 1, h - 1)
                        for ox in 0..<ow {
                            let x0 = max(ox * 2 - 1, 0), x1 = min(ox * 2 + 1, w - 1)
                            var sum: Float = 0
                            for yy in y0...y1 { for xx in x0...x1 { sum += src[yy * w + xx] } }
                            dst[oy * ow + ox] = sum / Float((y1 - y0 + 1) * (x1 - x0 + 1))
                        }
                    }
                }
            }
        }
        return y
    }

    public static func avgPool3x3s2Backward(_ gy: Tensor, inputHeight h: Int, inputWidth w: Int) -> Tensor {
        let (n, c, oh, ow) = gy.nchw("avg pool backward")
        var gx = Tensor(shape: [n, c, h, w])
        gy.withPointer { gp in
            gx.withMutablePointer { xp in
                Parallel.forEach(n * c) { nc in
                    let src = gp + nc * oh * ow, dst = xp + nc * h * w
                    for oy in 0..<oh {
                        let y0 = max(oy * 2 - 1, 0), y1 = min(oy * 2 + 1, h - 1)
                        for ox in 0..<ow {
                            let x0 = max(ox * 2 - 1, 0), x1 = min(ox * 2 + 1, w - 1)
                            let g = src[oy * ow + ox] / Float((y1 - y0 + 1) * (x1 - x0 + 1))
                            for yy in y0...y1 { for xx in x0...x1 { dst[yy * w + xx] += g } }
                        }
                    }
                }
            }
        }
        return gx
    }
}

extension Resample {
    /// Means over `block`×`block` tiles (`F.avg_pool2d(x, block, ceil_mode=True)` with edge tiles averaged over
    /// the pixels they hold): a picture's low-frequency colour layout.
    public static func blockAverage(_ x: Tensor, block: Int) -> Tensor {
        precondition(block >= 1, "block average: block \(block) < 1")
        let (n, c, h, w) = x.nchw("block average")
        let oh = (h + block - 1) / block, ow = (w + block - 1) / block
        var y = Tensor(uninitializedShape: [n, c, oh, ow])
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forEach(n * c) { nc in
                    let src = xp + nc * h * w, dst = yp + nc * oh * ow
                    for oy in 0..<oh {
                        let y0 = oy * block, y1 = min(y0 + block, h)
                        for ox in 0..<ow {
                            let x0 = ox * block, x1 = min(x0 + block, w)
                            var sum: Float = 0
                            for yy in y0..<y1 { for xx in x0..<x1 { sum += src[yy * w + xx] } }
                            dst[oy * ow + ox] = sum / Float((y1 - y0) * (x1 - x0))
                        }
                    }
                }
            }
        }
        return y
    }

    public static func blockAverageBackward(_ gy: Tensor, block: Int, inputHeight h: Int, inputWidth w: Int) -> Tensor {
        let (n, c, oh, ow) = gy.nchw("block average backward")
        precondition(oh == (h + block - 1) / block && ow == (w + block - 1) / block,
                     "block average backward: \(oh)x\(ow) does not tile \(h)x\(w) by \(block)")
        var gx = Tensor(uninitializedShape: [n, c, h, w])
        gy.withPointer { gp in
            gx.withMutablePointer { xp in
                Parallel.forEach(n * c) { nc in
                    let src = gp + nc * oh * ow, dst = xp + nc * h * w
                    for yy in 0..<h {
                        let oy = yy / block, rows = min(oy * block + block, h) - oy * block
                        for xx in 0..<w {
                            let ox = xx / block, cols = min(ox * block + block, w) - ox * block
                            dst[yy * w + xx] = src[oy * ow + ox] / Float(rows * cols)
                        }
                    }
                }
            }
        }
        return gx
    }
}
