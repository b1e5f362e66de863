import Foundation

/// Pointwise activations with their backward passes. Backward takes the forward *input* (ReLU, LeakyReLU)
/// or the forward *output* (tanh), whichever the derivative needs.
public enum Activation {
    public static func relu(_ x: Tensor) -> Tensor { map(x) { max($0, 0) } }

    public static func reluBackward(_ gy: Tensor, input x: Tensor) -> Tensor {
        zip(gy, x, "relu backward") { g, v in v > 0 ? g : 0 }
    }

    public static func leakyRelu(_ x: Tensor, slope: Float = 0.2) -> Tensor { map(x) { $0 > 0 ? $0 : $0 * slope } }

    public static func leakyReluBackward(_ gy: Tensor, input x: Tensor, slope: Float = 0.2) -> Tensor {
        zip(gy, x, "leaky relu backward") { g, v in v > 0 ? g : g * slope }
    }

    public static func tanh(_ x: Tensor) -> Tensor { map(x) { Foundation.tanh($0) } }

    public static func tanhBackward(_ gy: Tensor, output y: Tensor) -> Tensor {
        zip(gy, y, "tanh backward") { g, t in g * (1 - t * t) }
    }

    @inline(__always)
    static func map(_ x: Tensor, _ f: @escaping (Float) -> Float) -> Tensor {
        var y = Tensor(uninitializedShape: x.shape)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forRanges(x.count, minChunk: 1 << 16) { r in for i in r { yp[i] = f(xp[i]) } }
            }
        }
        return y
    }

    @inline(__always)
    static func zip(_ a: Tensor, _ b: Tensor, _ op: String, _ f: @escaping (Float, Float) -> Float) -> Tensor {
        checkSameShape(op, a, b)
        var y = Tensor(uninitializedShape: a.shape)
        a.withPointer { ap in
            b.withPointer { bp in
                y.withMutablePointer { yp in
                    Parallel.forRanges(a.count, minChunk: 1 << 16) { r in for i in r { yp[i] = f(ap[i], bp[i]) } }
                }
            }
        }
        return y
    }
}
