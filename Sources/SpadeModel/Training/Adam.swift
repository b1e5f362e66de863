import Foundation

/// Adam exactly as `torch.optim.Adam` (no weight decay, no amsgrad), defaults of the reference's TTUR setup:
/// betas (0, 0.9), eps 1e-8. Its state is a `Module`, so checkpoints save and load it like a network:
/// `step` (int64 scalar), `exp_avg.<param name>` and `exp_avg_sq.<param name>`; prefix it with
/// `optimizer_G` / `optimizer_D`.
public final class Adam: Module {
    // Hyper-parameters are doubles, like the Python floats torch computes its step scalars from.
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let eps: Double
    public let names: [String]
    public let parameters: [Parameter]
    private let expAvg: [Buffer]
    private let expAvgSq: [Buffer]
    private let stepCount: Buffer

    /// Steps taken so far.
    public var step: Int {
        get { Int(stepCount.value.data[0]) }
        set { stepCount.value.data[0] = Float(newValue) }
    }

    public init(_ named: [(String, Parameter)], learningRate: Double, beta1: Double = 0, beta2: Double = 0.9, eps: Double = 1e-8) {
        precondition(Set(named.map { $0.0 }).count == named.count, "Adam: duplicate parameter names")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        names = named.map { $0.0 }
        parameters = named.map { $0.1 }
        expAvg = parameters.map { Buffer(Tensor(shape: $0.value.shape)) }
        expAvgSq = parameters.map { Buffer(Tensor(shape: $0.value.shape)) }
        stepCount = Buffer(Tensor(shape: [], repeating: 0), isInteger: true)
    }

    /// Optimises every parameter of `module`, named as in its state dict (with `prefix.` when given).
    public convenience init(module: Module, prefix: String? = nil, learningRate: Double,
                            beta1: Double = 0, beta2: Double = 0.9, eps: Double = 1e-8) {
        let named = module.stateEntries().compactMap { name, entry -> (String, Parameter)? in
            if case .parameter(let p) = entry { return (prefix.map { "\($0).\(name)" } ?? name, p) }
            return nil
        }
        self.init(named, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps)
    }

    public func stateEntries() -> [(String, StateEntry)] {
        [("step", .buffer(stepCount))]
            + zip(names, expAvg).map { ("exp_avg.\($0)", .buffer($1)) }
            + zip(names, expAvgSq).map { ("exp_avg_sq.\($0)", .buffer($1)) }
    }

    /// Clears the gradients of the optimised parameters (the reference's `optimizer.zero_grad()`).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// One update from the accumulated gradients, in torch's order of operations.
    public func update() {
        step += 1
        let t = Double(step)
        let stepSize = learningRate / (1 - pow(beta1, t))
        // torch applies these Python-float scalars to float32 tensors as float32 values.
        let correction2Sqrt = Float((1 - pow(beta2, t)).squareRoot())
        let negStep = Float(-stepSize)
        let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2), eps = Float(eps)
        // exp_avg.lerp_(grad, 1 − β1) uses torch's two-sided lerp formula, chosen once per step.
        let lerpFromStart = w1 < 0.5
        typealias V = SIMD8<Float>
        /// One update of 8 elements, in torch's order of operations.
        @inline(__always)
        func update(_ g: V, _ m: inout V, _ v: inout V, _ w: inout V) {
            m = lerpFromStart ? m + w1 * (g - m) : g - (g - m) * (1 - w1)
            v = v * b2 + w2 * g * g
            let denom = v.squareRoot() / correction2Sqrt + eps
            w += negStep * (m / denom)
        }
        for (k, p) in parameters.enumerated() {
            let n = p.value.count
            let grad = p.grad
            p.value.withMutablePointer { wp in
                expAvg[k].value.withMutablePointer { mp in
                    expAvgSq[k].value.withMutablePointer { vp in
                        grad.withPointer { gp in
                            Parallel.forRanges(n, minChunk: 1 << 15) { r in
                                var i = r.lowerBound
                                while i + 8 <= r.upperBound {
                                    var m = Self.load(UnsafePointer(mp + i)), v = Self.load(UnsafePointer(vp + i)), w = Self.load(UnsafePointer(wp + i))
                                    update(Self.load(gp + i), &m, &v, &w)
                                    Self.store(m, mp + i); Self.store(v, vp + i); Self.store(w, wp + i)
                                    i += 8
                                }
                                // The last few elements, through the same vector code (zero-padded lanes).
                                if i < r.upperBound {
                                    var g = V(), m = V(), v = V(), w = V()
                                    for j in 0..<(r.upperBound - i) { g[j] = gp[i + j]; m[j] = mp[i + j]; v[j] = vp[i + j]; w[j] = wp[i + j] }
                                    update(g, &m, &v, &w)
                                    for j in 0..<(r.upperBound - i) { mp[i + j] = m[j]; vp[i + j] = v[j]; wp[i + j] = w[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD8<Float>.self)
    }
}

/// The reference's learning-rate policy (`Pix2PixTrainer.update_learning_rate`): `lr` constant for `niter`
/// epochs, then lowered by lr/niter_decay after every later epoch (reaching 0 at niter + niter_decay);
/// with TTUR, G gets lr/2 and D 2·lr.
public struct LearningRateSchedule: Equatable {
    public var baseRate: Double = 0.0002
    public var niter: Int = 50
    public var niterDecay: Int = 0
    public var twoTimeScale: Bool = true

    public init(baseRate: Double = 0.0002, niter: Int = 50, niterDecay: Int = 0, twoTimeScale: Bool = true) {
        self.baseRate = baseRate
        self.niter = niter
        self.niterDecay = niterDecay
        self.twoTimeScale = twoTimeScale
    }

    /// The shared rate in force during `epoch` (1-based), computed by the same repeated subtraction as the
    /// reference so the float values agree.
    public func rate(epoch: Int) -> Double {
        var lr = baseRate
        guard niterDecay > 0 else { return lr }
        let decrement = baseRate / Double(niterDecay)
        for finished in 1..<max(epoch, 1) where finished > niter { lr -= decrement }
        return lr
    }

    /// (G, D) rates during `epoch`.
    public func rates(epoch: Int) -> (generator: Double, discriminator: Double) {
        let lr = rate(epoch: epoch)
        return twoTimeScale ? (lr / 2, lr * 2) : (lr, lr)
    }
}
