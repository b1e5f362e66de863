import Foundation

/// Batch and instance normalisation (PyTorch semantics, eps inside the square root), with backward.
public enum BatchNorm {
    /// What the training forward keeps for its backward.
    public struct Cache {
        public var normalized: Tensor   // x̂
        public var invStd: [Float]      // per channel
    }

    /// Training mode: batch mean and biased variance over (N, H, W); running averages updated in place
    /// with `momentum` using the unbiased variance, as `torch.nn.BatchNorm2d` does.
    public static func trainForward(_ x: Tensor, weight: Tensor?, bias: Tensor?,
                                    runningMean: inout Tensor, runningVar: inout Tensor,
                                    momentum: Float = 0.1, eps: Float = 1e-5) -> (Tensor, Cache) {
        let (n, c, h, w) = x.nchw("batch norm")
        precondition(runningMean.shape == [c] && runningVar.shape == [c],
                     "batch norm: running stats \(runningMean.shape)/\(runningVar.shape) for \(c) channels")
        let hw = h * w, count = n * hw
        precondition(count > 1, "batch norm: training needs more than one value per channel, got input \(x.shape)")
        var xhat = Tensor(uninitializedShape: x.shape)
        var invStd = [Float](repeating: 0, count: c)
        var means = [Double](repeating: 0, count: c), vars = [Double](repeating: 0, count: c)
        x.withPointer { xp in
            xhat.withMutablePointer { op in
                means.withUnsafeMutableBufferPointer { mb in
                    vars.withUnsafeMutableBufferPointer { vb in
                        invStd.withUnsafeMutableBufferPointer { ib in
                            Parallel.forEach(c) { ch in
                                var sum = 0.0
                                for s in 0..<n { sum += VectorSums.double(xp + (s * c + ch) * hw, hw) }
                                let mean = sum / Double(count)
                                var sq = 0.0
                                for s in 0..<n { sq += VectorSums.squaredDeviations(xp + (s * c + ch) * hw, hw, mean: mean) }
                                let variance = sq / Double(count)
                                let inv = Float(1 / (variance + Double(eps)).squareRoot())
                                mb[ch] = mean; vb[ch] = variance; ib[ch] = inv
                                // The mean as float32 plus its rounding remainder: subtracting both keeps
                                // x − mean accurate when the mean is large next to the spread.
                                let m = Float(mean), mLow = Float(mean - Double(m))
                                for s in 0..<n {
                                    let p = xp + (s * c + ch) * hw, o = op + (s * c + ch) * hw
                                    for i in 0..<hw { o[i] = ((p[i] - m) - mLow) * inv }
                                }
                            }
                        }
                    }
                }
            }
        }
        for ch in 0..<c {
            runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * Float(means[ch])
            let unbiased = vars[ch] * Double(count) / Double(count - 1)
            runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * Float(unbiased)
        }
        let y = ChannelAffine.apply(xhat, weight: weight, bias: bias)
        return (y, Cache(normalized: xhat, invStd: invStd))
    }

    /// Returns the input gradient; adds affine gradients into `weightGrad`/`biasGrad` when given.
    public static func trainBackward(_ gy: Tensor, cache: Cache, weight: Tensor?,
                                     weightGrad: inout Tensor?, biasGrad: inout Tensor?) -> Tensor {
        let (n, c, h, w) = gy.nchw("batch norm backward")
        checkSameShape("batch norm backward", gy, cache.normalized)
        let hw = h * w, count = Float(n * hw)
        var gx = Tensor(uninitializedShape: gy.shape)
        var gw = [Float](repeating: 0, count: c), gb = [Float](repeating: 0, count: c)
        let gamma = weight?.data
        gy.withPointer { gp in
            cache.normalized.withPointer { xp in
                gx.withMutablePointer { op in
                    gw.withUnsafeMutableBufferPointer { gwb in
                        gb.withUnsafeMutableBufferPointer { gbb in
                            Parallel.forEach(c) { ch in
                                // Sums in double: they feed a difference of similar-sized terms.
                                var sumG = 0.0, sumGX = 0.0
                                for s in 0..<n {
                                    let (g, gx) = VectorSums.sumAndDot(gp + (s * c + ch) * hw, xp + (s * c + ch) * hw, hw)
                                    sumG += g
                                    sumGX += gx
                                }
                                gwb[ch] = Float(sumGX); gbb[ch] = Float(sumG)
                                let scale = (gamma?[ch] ?? 1) * cache.invStd[ch]
                                let meanG = Float(sumG) / count, meanGX = Float(sumGX) / count
                                for s in 0..<n {
                                    let g = gp + (s * c + ch) * hw, xh = xp + (s * c + ch) * hw, o = op + (s * c + ch) * hw
                                    for i in 0..<hw { o[i] = scale * (g[i] - meanG - xh[i] * meanGX) }
                                }
                            }
                        }
                    }
                }
            }
        }
        if weightGrad != nil { for ch in 0..<c { weightGrad!.data[ch] += gw[ch] } }
        if biasGrad != nil { for ch in 0..<c { biasGrad!.data[ch] += gb[ch] } }
        return gx
    }

    /// Eval mode: y = (x − running_mean) / sqrt(running_var + eps) · weight + bias — a per-channel affine map.
    public static func evalScaleShift(runningMean: Tensor, runningVar: Tensor, weight: Tensor?, bias: Tensor?,
                                      eps: Float = 1e-5) -> (scale: Tensor, shift: Tensor) {
        let c = runningMean.count
        var scale = Tensor(shape: [c]), shift = Tensor(shape: [c])
        for ch in 0..<c {
            let inv = 1 / (runningVar.data[ch] + eps).squareRoot()
            let g = weight?.data[ch] ?? 1
            scale.data[ch] = inv * g
            shift.data[ch] = (bias?.data[ch] ?? 0) - runningMean.data[ch] * inv * g
        }
        return (scale, shift)
    }

    public static func evalForward(_ x: Tensor, runningMean: Tensor, runningVar: Tensor,
                                   weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        let (scale, shift) = evalScaleShift(runningMean: runningMean, runningVar: runningVar,
                                            weight: weight, bias: bias, eps: eps)
        return ChannelAffine.apply(x, weight: scale, bias: shift)
    }

    /// Input gradient of the eval-mode map (a per-channel scale).
    public static func evalBackward(_ gy: Tensor, runningVar: Tensor, weight: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        var scale = Tensor(shape: runningVar.shape)
        for ch in 0..<runningVar.count { scale.data[ch] = (weight?.data[ch] ?? 1) / (runningVar.data[ch] + eps).squareRoot() }
        return ChannelAffine.apply(gy, weight: scale, bias: nil)
    }
}

/// Instance normalisation without affine parameters (`nn.InstanceNorm2d(affine=False)`): per sample and
/// channel over (H, W), biased variance, the same in training and eval.
public enum InstanceNorm {
    public struct Cache {
        public var normalized: Tensor
        public var invStd: [Float]  // per (n, c)

        /// The cache of samples `range` alone (instance norm treats every sample on its own).
        public func batchSlice(_ range: Range<Int>) -> Cache {
            let c = normalized.shape[1]
            return Cache(normalized: normalized.batchSlice(range), invStd: Array(invStd[range.lowerBound * c..<range.upperBound * c]))
        }
    }

    public static func forward(_ x: Tensor, eps: Float = 1e-5) -> (Tensor, Cache) {
        let (n, c, h, w) = x.nchw("instance norm")
        let hw = h * w
        var y = Tensor(uninitializedShape: x.shape)
        var invStd = [Float](repeating: 0, count: n * c)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                invStd.withUnsafeMutableBufferPointer { ib in
                    Parallel.forEach(n * c) { nc in
                        let p = xp + nc * hw, o = yp + nc * hw
                        let mean = VectorSums.double(p, hw) / Double(hw)
                        let sq = VectorSums.squaredDeviations(p, hw, mean: mean)
                        let inv = Float(1 / (sq / Double(hw) + Double(eps)).squareRoot())
                        ib[nc] = inv
                        let m = Float(mean), mLow = Float(mean - Double(m))  // as in batch norm
                        for i in 0..<hw { o[i] = ((p[i] - m) - mLow) * inv }
                    }
                }
            }
        }
        return (y, Cache(normalized: y, invStd: invStd))
    }

    public static func backward(_ gy: Tensor, cache: Cache) -> Tensor {
        let (n, c, h, w) = gy.nchw("instance norm backward")
        checkSameShape("instance norm backward", gy, cache.normalized)
        let hw = h * w
        var gx = Tensor(uninitializedShape: gy.shape)
        gy.withPointer { gp in
            cache.normalized.withPointer { xp in
                gx.withMutablePointer { op in
                    Parallel.forEach(n * c) { nc in
                        let g = gp + nc * hw, xh = xp + nc * hw, o = op + nc * hw
                        let (sumG, sumGX) = VectorSums.sumAndDot(g, xh, hw)
                        let meanG = Float(sumG / Double(hw)), meanGX = Float(sumGX / Double(hw))
                        let inv = cache.invStd[nc]
                        for i in 0..<hw { o[i] = inv * (g[i] - meanG - xh[i] * meanGX) }
                    }
                }
            }
        }
        return gx
    }
}

/// y[n, c] = x[n, c] · weight[c] + bias[c] (either optional).
public enum ChannelAffine {
    public static func apply(_ x: Tensor, weight: Tensor?, bias: Tensor?) -> Tensor {
        if weight == nil && bias == nil { return x }
        let (n, c, h, w) = x.nchw("channel affine")
        let hw = h * w
        var y = Tensor(uninitializedShape: x.shape)
        let wd = weight?.data, bd = bias?.data
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forEach(n * c) { nc in
                    let ch = nc % c
                    let a = wd?[ch] ?? 1, b = bd?[ch] ?? 0
                    let p = xp + nc * hw, o = yp + nc * hw
                    for i in 0..<hw { o[i] = p[i] * a + b }
                }
            }
        }
        return y
    }
}
