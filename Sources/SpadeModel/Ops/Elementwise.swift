/// Element-wise arithmetic, channel concatenation and reductions. Their gradients are simple enough
/// to state next to each op: d(a+b) = (g, g); d(a·b) = (g·b, g·a); concat's backward is `splitChannels`.
extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { Activation.zip(a, b, "add", Add()) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { Activation.zip(a, b, "subtract", Subtract()) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { Activation.zip(a, b, "multiply", Multiply()) }
    public static func * (a: Tensor, s: Float) -> Tensor { Activation.map(a, Scale(factor: s)) }
    public static func + (a: Tensor, s: Float) -> Tensor { Activation.map(a, Shift(offset: s)) }

    /// self += other · scale, in place.
    public mutating func add(_ other: Tensor, scale: Float = 1) {
        checkSameShape("add in place", self, other)
        let n = count
        other.withPointer { op in
            withMutablePointer { sp in
                Parallel.forRanges(n, minChunk: 1 << 16) { r in for i in r { sp[i] += scale * op[i] } }
            }
        }
    }

    public mutating func scale(by s: Float) {
        let n = count
        withMutablePointer { p in for i in 0..<n { p[i] *= s } }
    }

    public mutating func fill(_ v: Float) {
        let n = count
        withMutablePointer { p in for i in 0..<n { p[i] = v } }
    }

    public func sum() -> Float {
        var s = 0.0
        withPointer { p in for i in 0..<count { s += Double(p[i]) } }
        return Float(s)
    }

    public func mean() -> Float { count == 0 ? 0 : sum() / Float(count) }

    public func maxAbs() -> Float { data.reduce(0) { max($0, abs($1)) } }

    /// Concatenates NCHW tensors along channels (`torch.cat(dim=1)`).
    public static func concatChannels(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concat: no tensors")
        let (n, _, h, w) = parts[0].nchw("concat")
        for p in parts {
            let (pn, _, ph, pw) = p.nchw("concat")
            precondition(pn == n && ph == h && pw == w, "concat: shapes \(parts.map { $0.shape }) differ outside channels")
        }
        let channels = parts.map { $0.shape[1] }
        let total = channels.reduce(0, +)
        var y = Tensor(uninitializedShape: [n, total, h, w])  // every channel is copied in
        let hw = h * w
        y.withMutablePointer { yp in
            var offset = 0
            for (k, p) in parts.enumerated() {
                p.withPointer { pp in
                    for s in 0..<n {
                        (yp + (s * total + offset) * hw).update(from: pp + s * channels[k] * hw, count: channels[k] * hw)
                    }
                }
                offset += channels[k]
            }
        }
        return y
    }

    /// The inverse of `concatChannels`: splits into parts with the given channel counts.
    public func splitChannels(_ channels: [Int]) -> [Tensor] {
        let (n, c, h, w) = nchw("split")
        precondition(channels.reduce(0, +) == c, "split: \(channels) does not add up to \(c) channels of \(shape)")
        let hw = h * w
        var offset = 0
        return channels.map { k in
            var part = Tensor(shape: [n, k, h, w])
            withPointer { sp in
                part.withMutablePointer { pp in
                    for s in 0..<n { (pp + s * k * hw).update(from: sp + (s * c + offset) * hw, count: k * hw) }
                }
            }
            offset += k
            return part
        }
    }
}

/// Regression losses (mean reduction, as `nn.L1Loss()` / `nn.MSELoss()`); each returns the value and
/// the gradient with respect to the first argument.
public enum Loss {
    public static func l1(_ a: Tensor, _ b: Tensor) -> (value: Float, grad: Tensor) {
        checkSameShape("L1 loss", a, b)
        let n = Float(a.count)
        var sum = 0.0
        for i in 0..<a.count { sum += Double(abs(a.data[i] - b.data[i])) }
        let grad = Activation.zip(a, b, "L1 loss", L1Gradient(inverseCount: 1 / n))
        return (Float(sum / Double(n)), grad)
    }

    public static func mse(_ a: Tensor, _ b: Tensor) -> (value: Float, grad: Tensor) {
        checkSameShape("MSE loss", a, b)
        let n = Float(a.count)
        var sum = 0.0
        for i in 0..<a.count { let d = Double(a.data[i] - b.data[i]); sum += d * d }
        let grad = Activation.zip(a, b, "MSE loss", SquaredErrorGradient(count: n))
        return (Float(sum / Double(n)), grad)
    }
}
