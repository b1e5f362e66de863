/// Reductions over a run of floats with several independent vector accumulators: the per-channel sums
/// of the norms, the bias gradients and the loss terms. A plain `sum += p[i]` loop is one long chain of
/// dependent scalar adds (LLVM may not reorder float adds), four to eight times slower than memory.
/// The double-precision ones keep the statistics the norms need exact to float rounding even when a
/// channel's mean is large next to its spread.
enum VectorSums {
    /// Σ p[i] in double precision.
    @inline(__always)
    static func double(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            a0 += widen(x.lowHalf)
            a1 += widen(x.highHalf)
            i += 8
        }
        var sum = (a0 + a1).sum()
        while i < n { sum += Double(p[i]); i += 1 }
        return sum
    }

    /// Σ (p[i] − mean)² in double precision.
    @inline(__always)
    static func squaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, mean: Double) -> Double {
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        let m = SIMD4<Double>(repeating: mean)
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            let d0 = widen(x.lowHalf) - m, d1 = widen(x.highHalf) - m
            a0 += d0 * d0
            a1 += d1 * d1
            i += 8
        }
        var sum = (a0 + a1).sum()
        while i < n { let d = Double(p[i]) - mean; sum += d * d; i += 1 }
        return sum
    }

    /// (Σ g[i], Σ g[i]·x[i]) in double precision, each product rounded to float first.
    @inline(__always)
    static func sumAndDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> (Double, Double) {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), d0 = SIMD4<Double>(), d1 = SIMD4<Double>()
        var i = 0
        while i + 8 <= n {
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
            let gx = gv * UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            s0 += widen(gv.lowHalf); s1 += widen(gv.highHalf)
            d0 += widen(gx.lowHalf); d1 += widen(gx.highHalf)
            i += 8
        }
        var sum = (s0 + s1).sum(), dot = (d0 + d1).sum()
        while i < n { sum += Double(g[i]); dot += Double(g[i] * x[i]); i += 1 }
        return (sum, dot)
    }

    /// Σ p[i] in float, over 16 lanes.
    @inline(__always)
    static func float(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            a0 += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            a1 += UnsafeRawPointer(p + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            i += 16
        }
        var sum = (a0 + a1).sum()
        while i < n { sum += p[i]; i += 1 }
        return sum
    }

    @inline(__always)
    private static func widen(_ x: SIMD4<Float>) -> SIMD4<Double> {
        SIMD4<Double>(Double(x[0]), Double(x[1]), Double(x[2]), Double(x[3]))
    }
}
