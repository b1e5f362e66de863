import Foundation

/// Per-pixel softmax cross-entropy over the class channel (`F.cross_entropy(logits, target,
/// weight, ignore_index)` with mean reduction): L = Σ_p w[y_p] · (logsumexp(z_p) − z_p[y_p]) / Σ_p w[y_p]
/// over the pixels p whose target is not ignored. Its gradient is w[y_p] · (softmax(z_p) − onehot(y_p)) / Σ w.
public enum SoftmaxCrossEntropy {
    /// - logits: [N, C, H, W].
    /// - targets: N·H·W class indices, row-major per sample; `ignoreIndex` marks pixels without a label.
    /// - classWeights: C weights (nil: all 1).
    /// Returns the mean loss (0 when every pixel is ignored) and ∂loss/∂logits.
    public static func loss(logits: Tensor, targets: [UInt8], ignoreIndex: UInt8 = 255,
                            classWeights: [Float]? = nil) -> (value: Float, grad: Tensor) {
        let (n, c, h, w) = logits.nchw("cross entropy")
        let hw = h * w
        precondition(targets.count == n * hw, "cross entropy: \(targets.count) targets for logits \(logits.shape)")
        precondition(classWeights == nil || classWeights!.count == c,
                     "cross entropy: \(classWeights!.count) class weights for \(c) classes")
        for t in targets where t != ignoreIndex {
            precondition(Int(t) < c, "cross entropy: target \(t) outside the \(c) classes")
        }
        var grad = Tensor(shape: logits.shape)
        // Per sample: Σ w·loss and Σ w, in double (hundreds of thousands of terms).
        var partial = [(Double, Double)](repeating: (0, 0), count: n)
        logits.withPointer { zp in
            grad.withMutablePointer { gp in
                targets.withUnsafeBufferPointer { tp in
                    partial.withUnsafeMutableBufferPointer { pp in
                        Parallel.forEach(n) { s in
                            let z = zp + s * c * hw, g = gp + s * c * hw
                            var lossSum = 0.0, weightSum = 0.0
                            for i in 0..<hw {
                                let t = tp[s * hw + i]
                                if t == ignoreIndex { continue }
                                var m = z[i]
                                for k in 1..<c { m = max(m, z[k * hw + i]) }
                                var sum: Float = 0
                                for k in 0..<c {
                                    let e = expf(z[k * hw + i] - m)
                                    g[k * hw + i] = e
                                    sum += e
                                }
                                let y = Int(t), wy = classWeights?[y] ?? 1
                                lossSum += Double(wy) * Double(logf(sum) + m - z[y * hw + i])
                                weightSum += Double(wy)
                                // Unnormalised for now: softmax · w_y, minus w_y at the target.
                                let scale = wy / sum
                                for k in 0..<c { g[k * hw + i] *= scale }
                                g[y * hw + i] -= wy
                            }
                            pp[s] = (lossSum, weightSum)
                        }
                    }
                }
            }
        }
        let lossSum = partial.reduce(0) { $0 + $1.0 }, weightSum = partial.reduce(0) { $0 + $1.1 }
        guard weightSum > 0 else { return (0, grad) }
        grad.scale(by: Float(1 / weightSum))
        return (Float(lossSum / weightSum), grad)
    }
}
