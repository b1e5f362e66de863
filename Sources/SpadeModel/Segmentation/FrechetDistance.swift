import Foundation

/// Mean and covariance of a set of feature vectors (float64), the two things a Fréchet distance needs.
public struct FeatureStatistics: Equatable, Sendable {
    public let count: Int
    public let mean: [Double]
    /// dimension × dimension, row-major; unbiased (divides by count − 1), as `numpy.cov` in FID code.
    public let covariance: [Double]
    public var dimension: Int { mean.count }

    public init(mean: [Double], covariance: [Double], count: Int) {
        precondition(covariance.count == mean.count * mean.count,
                     "feature statistics: covariance has \(covariance.count) entries for dimension \(mean.count)")
        self.mean = mean
        self.covariance = covariance
        self.count = count
    }

    /// Statistics of `rows` (each one feature vector, all of one length; at least two rows).
    public init(rows: [[Float]]) {
        precondition(rows.count >= 2, "feature statistics: need at least two feature vectors, got \(rows.count)")
        let d = rows[0].count
        precondition(rows.allSatisfy { $0.count == d }, "feature statistics: feature vectors differ in length")
        var mean = [Double](repeating: 0, count: d)
        for r in rows { for j in 0..<d { mean[j] += Double(r[j]) } }
        for j in 0..<d { mean[j] /= Double(rows.count) }
        var cov = [Double](repeating: 0, count: d * d)
        var centred = [Double](repeating: 0, count: d)
        for r in rows {
            for j in 0..<d { centred[j] = Double(r[j]) - mean[j] }
            for i in 0..<d {
                let ci = centred[i]
                if ci == 0 { continue }
                for j in i..<d { cov[i * d + j] += ci * centred[j] }
            }
        }
        let norm = 1 / Double(rows.count - 1)
        for i in 0..<d {
            for j in i..<d {
                cov[i * d + j] *= norm
                cov[j * d + i] = cov[i * d + j]
            }
        }
        self.init(mean: mean, covariance: cov, count: rows.count)
    }
}

/// The Fréchet distance between the Gaussians fitted to two feature sets:
/// d² = ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2 tr((Σ₁^½ Σ₂ Σ₁^½)^½).
/// Both square roots are of symmetric positive semi-definite matrices, taken through their
/// eigendecomposition (negative eigenvalues from rounding are treated as 0).
public enum FrechetDistance {
    public static func distance(_ a: FeatureStatistics, _ b: FeatureStatistics) -> Double {
        precondition(a.dimension == b.dimension, "Fréchet distance: feature dimensions \(a.dimension) and \(b.dimension) differ")
        let d = a.dimension
        var meanTerm = 0.0
        for j in 0..<d { let diff = a.mean[j] - b.mean[j]; meanTerm += diff * diff }
        var traceA = 0.0, traceB = 0.0
        for j in 0..<d { traceA += a.covariance[j * d + j]; traceB += b.covariance[j * d + j] }
        let rootA = SymmetricEigen.squareRoot(a.covariance, n: d)
        var middle = multiply(multiply(rootA, b.covariance, n: d), rootA, n: d)
        symmetrize(&middle, n: d)
        let traceRoot = SymmetricEigen.decompose(middle, n: d).values.reduce(0) { $0 + max($1, 0).squareRoot() }
        return meanTerm + traceA + traceB - 2 * traceRoot
    }

    static func multiply(_ x: [Double], _ y: [Double], n: Int) -> [Double] {
        var z = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for k in 0..<n {
                let xik = x[i * n + k]
                if xik == 0 { continue }
                for j in 0..<n { z[i * n + j] += xik * y[k * n + j] }
            }
        }
        return z
    }

    static func symmetrize(_ m: inout [Double], n: Int) {
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                let v = 0.5 * (m[i * n + j] + m[j * n + i])
                m[i * n + j] = v
                m[j * n + i] = v
            }
        }
    }
}

/// Eigendecomposition of real symmetric matrices by the cyclic Jacobi method (float64): repeated plane
/// rotations, each zeroing one off-diagonal pair, until the off-diagonal part is negligible. Slow for large
/// matrices (O(n³) per sweep) but exact to rounding and dependency-free; feature covariances here are a
/// few hundred wide.
public enum SymmetricEigen {
    /// Eigenvalues (unsorted) and eigenvectors (column k of the row-major `vectors` belongs to value k) of
    /// the symmetric n×n row-major matrix `m` (only its symmetric part matters).
    public static func decompose(_ m: [Double], n: Int, maxSweeps: Int = 60) -> (values: [Double], vectors: [Double]) {
        precondition(m.count == n * n, "symmetric eigen: \(m.count) entries for \(n)×\(n)")
        var a = m
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        var total = 0.0
        for x in a { total += x * x }
        let threshold = max(total, Double.leastNormalMagnitude) * 1e-30
        for _ in 0..<maxSweeps {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { off += a[i * n + j] * a[i * n + j] } }
            if 2 * off <= threshold { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = a[p * n + q]
                    if apq == 0 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    // A ← Jᵀ A J with J the rotation in the (p, q) plane; V ← V J.
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    a[p * n + q] = 0
                    a[q * n + p] = 0
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }

    /// The symmetric square root V · diag(√max(λ, 0)) · Vᵀ of a symmetric positive semi-definite matrix.
    public static func squareRoot(_ m: [Double], n: Int) -> [Double] {
        let (values, vectors) = decompose(m, n: n)
        let roots = values.map { max($0, 0).squareRoot() }
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                var sum = 0.0
                for k in 0..<n { sum += vectors[i * n + k] * roots[k] * vectors[j * n + k] }
                out[i * n + j] = sum
                out[j * n + i] = sum
            }
        }
        return out
    }
}
