import Foundation

/// Pointwise activations with their backward passes. Backward takes the forward *input* (ReLU, LeakyReLU)
/// or the forward *output* (tanh), whichever the derivative needs.
public enum Activation {
    public static func relu(_ x: Tensor) -> Tensor { map(x, Relu()) }

    public static func reluBackward(_ gy: Tensor, input x: Tensor) -> Tensor {
        zip(gy, x, "relu backward", ReluBackward())
    }

    public static func leakyRelu(_ x: Tensor, slope: Float = 0.2) -> Tensor { map(x, LeakyRelu(slope: slope)) }

    public static func leakyReluBackward(_ gy: Tensor, input x: Tensor, slope: Float = 0.2) -> Tensor {
        zip(gy, x, "leaky relu backward", LeakyReluBackward(slope: slope))
    }

    public static func tanh(_ x: Tensor) -> Tensor { map(x, Tanh()) }

    public static func tanhBackward(_ gy: Tensor, output y: Tensor) -> Tensor {
        zip(gy, y, "tanh backward", TanhBackward())
    }

    /// y[i] = op(x[i]). The op is a type, not a closure: generic specialisation inlines it into a vector
    /// loop, where a closure handed on through `Parallel` stayed a function call per element (measured:
    /// LeakyReLU ran at a few hundred MB/s).
    @inline(__always)
    static func map<Op: UnaryFloatOp>(_ x: Tensor, _ op: Op) -> Tensor {
        var y = Tensor(uninitializedShape: x.shape)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forRanges(x.count, minChunk: 1 << 16) { r in for i in r { yp[i] = op(xp[i]) } }
            }
        }
        return y
    }

    /// y[i] = op(a[i], b[i]), specialised like `map`.
    @inline(__always)
    static func zip<Op: BinaryFloatOp>(_ a: Tensor, _ b: Tensor, _ what: String, _ op: Op) -> Tensor {
        checkSameShape(what, a, b)
        var y = Tensor(uninitializedShape: a.shape)
        a.withPointer { ap in
            b.withPointer { bp in
                y.withMutablePointer { yp in
                    Parallel.forRanges(a.count, minChunk: 1 << 16) { r in for i in r { yp[i] = op(ap[i], bp[i]) } }
                }
            }
        }
        return y
    }
}

/// An element-wise function of one float, for `Activation.map`.
protocol UnaryFloatOp { func callAsFunction(_ x: Float) -> Float }
/// An element-wise function of two floats, for `Activation.zip`.
protocol BinaryFloatOp { func callAsFunction(_ a: Float, _ b: Float) -> Float }

struct Relu: UnaryFloatOp {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { max(x, 0) }
}
struct ReluBackward: BinaryFloatOp {
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
}
struct LeakyRelu: UnaryFloatOp {
    let slope: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : x * slope }
}
struct LeakyReluBackward: BinaryFloatOp {
    let slope: Float
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : g * slope }
}
/// tanh as (1 − e) / (1 + e) with e = exp(−2|x|), the sign put back: within 1e-7 of tanh everywhere and 3–4×
/// faster than libm's tanhf (0.94 against 3.5 ms for the 3 · 256² values of one frame's last layer, measured here).
struct Tanh: UnaryFloatOp {
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        let e = Foundation.exp(-2 * abs(x))
        return Float(signOf: x, magnitudeOf: (1 - e) / (1 + e))
    }
}
struct TanhBackward: BinaryFloatOp {
    @inline(__always) func callAsFunction(_ g: Float, _ t: Float) -> Float { g * (1 - t * t) }
}
struct Add: BinaryFloatOp {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
}
struct Subtract: BinaryFloatOp {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
}
struct Multiply: BinaryFloatOp {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
}
struct Scale: UnaryFloatOp {
    let factor: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * factor }
}
struct Shift: UnaryFloatOp {
    let offset: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x + offset }
}
/// d/da of mean |a − b|: sign(a − b) / n.
struct L1Gradient: BinaryFloatOp {
    let inverseCount: Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a > b ? inverseCount : (a < b ? -inverseCount : 0) }
}
/// d/da of mean (a − b)²: 2(a − b) / n.
struct SquaredErrorGradient: BinaryFloatOp {
    let count: Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { 2 * (a - b) / count }
}
