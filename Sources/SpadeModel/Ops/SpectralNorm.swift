import Foundation

/// Spectral normalisation exactly as `torch.nn.utils.spectral_norm` (state version 1): the weight is
/// `weight_orig / σ` with σ = uᵀ·W·v from persistent vectors u [out], v [in·kh·kw]. A training forward
/// first does one power iteration in place on u and v; eval uses them as stored. No gradient flows
/// through u and v.
public enum SpectralNorm {
    public static let eps: Float = 1e-12

    /// Returns the effective weight and σ; updates u, v when `training`.
    public static func weight(_ weightOrig: Tensor, u: inout Tensor, v: inout Tensor,
                              training: Bool) -> (weight: Tensor, sigma: Float) {
        let rows = weightOrig.shape[0], cols = weightOrig.count / max(rows, 1)
        precondition(u.count == rows && v.count == cols,
                     "spectral norm: u \(u.shape), v \(v.shape) do not fit weight \(weightOrig.shape)")
        let w = weightOrig.data
        if training { powerIteration(w, rows: rows, cols: cols, u: &u, v: &v) }
        let wv = matVec(w, rows: rows, cols: cols, v.data)
        var sigma: Float = 0
        for r in 0..<rows { sigma += u.data[r] * wv[r] }
        return (weightOrig * (1 / sigma), sigma)
    }

    /// One power iteration on the [rows, cols] matrix `w`: v ← normalize(Wᵀu); u ← normalize(W v).
    public static func powerIteration(_ w: [Float], rows: Int, cols: Int, u: inout Tensor, v: inout Tensor) {
        var wtu = [Float](repeating: 0, count: cols)
        for r in 0..<rows {
            let ur = u.data[r]
            w.withUnsafeBufferPointer { wp in
                let row = wp.baseAddress! + r * cols
                for c in 0..<cols { wtu[c] += row[c] * ur }
            }
        }
        v.data = normalized(wtu)
        u.data = normalized(matVec(w, rows: rows, cols: cols, v.data))
    }

    /// Gradient with respect to `weight_orig` given the gradient of the effective weight:
    /// ∂L/∂W₀ = G/σ − (⟨G, W₀⟩/σ²) · u vᵀ.
    public static func backward(weightGrad g: Tensor, weightOrig: Tensor, u: Tensor, v: Tensor, sigma: Float) -> Tensor {
        checkSameShape("spectral norm backward", g, weightOrig)
        let rows = weightOrig.shape[0], cols = weightOrig.count / max(rows, 1)
        var inner = 0.0
        for i in 0..<g.count { inner += Double(g.data[i]) * Double(weightOrig.data[i]) }
        let coeff = Float(inner) / (sigma * sigma)
        var out = g * (1 / sigma)
        out.withMutablePointer { op in
            for r in 0..<rows {
                let ur = u.data[r] * coeff
                let row = op + r * cols
                for c in 0..<cols { row[c] -= ur * v.data[c] }
            }
        }
        return out
    }

    static func matVec(_ w: [Float], rows: Int, cols: Int, _ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: rows)
        w.withUnsafeBufferPointer { wp in
            for r in 0..<rows {
                let row = wp.baseAddress! + r * cols
                var s: Float = 0
                for c in 0..<cols { s += row[c] * x[c] }
                y[r] = s
            }
        }
        return y
    }

    static func normalized(_ x: [Float]) -> [Float] {
        var sq: Float = 0
        for e in x { sq += e * e }
        let norm = max(sq.squareRoot(), eps)
        return x.map { $0 / norm }
    }
}
