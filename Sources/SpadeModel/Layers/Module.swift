/// Building blocks of the networks: learnable parameters, persistent buffers and the module tree
/// that names them exactly as the reference PyTorch `state_dict` does.
///
/// Gradients use explicit layer backward (as in llm.c): every layer's `forward` keeps what its
/// `backward` needs, and `backward(outputGrad)` accumulates parameter gradients into `Parameter.grad`
/// and returns the input gradient. A layer's backward always refers to its most recent forward.

/// A learnable tensor and its accumulated gradient.
public final class Parameter {
    public var value: Tensor
    /// Allocated (as zeros of `value`'s shape) on first use, so that inference-only networks — a full
    /// generator in the painter or `render` — do not hold a second copy of every weight.
    public lazy var grad: Tensor = Tensor(shape: value.shape)

    public init(_ value: Tensor) {
        self.value = value
    }

    public func zeroGrad() { grad.fill(0) }
}

/// A persistent non-learnable tensor (BN running statistics, spectral-norm u and v).
/// `isInteger` marks buffers stored as int64 in checkpoints (BatchNorm's `num_batches_tracked`).
public final class Buffer {
    public var value: Tensor
    public let isInteger: Bool

    public init(_ value: Tensor, isInteger: Bool = false) {
        self.value = value
        self.isInteger = isInteger
    }
}

/// One named entry of a state dict.
public enum StateEntry {
    case parameter(Parameter)
    case buffer(Buffer)

    public var tensor: Tensor {
        switch self {
        case .parameter(let p): return p.value
        case .buffer(let b): return b.value
        }
    }

    public func assign(_ t: Tensor) {
        switch self {
        case .parameter(let p): p.value = t
        case .buffer(let b): b.value = t
        }
    }
}

/// A node of the network tree. `stateEntries` lists the node's own entries and its children's, with
/// names relative to this node, in the reference `state_dict()` order.
public protocol Module: AnyObject {
    func stateEntries() -> [(String, StateEntry)]
}

extension Module {
    public var parameters: [Parameter] {
        stateEntries().compactMap { if case .parameter(let p) = $0.1 { return p } else { return nil } }
    }

    public var buffers: [Buffer] {
        stateEntries().compactMap { if case .buffer(let b) = $0.1 { return b } else { return nil } }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Helper for parents: prefixes every child entry with `name.`.
    public func prefixed(_ name: String) -> [(String, StateEntry)] {
        stateEntries().map { ("\(name).\($0.0)", $0.1) }
    }
}

/// Conv2d with optional bias and optional spectral normalisation (`torch.nn.utils.spectral_norm`).
/// State names: `weight`, `bias` — or with spectral norm `weight_orig`, `weight_u`, `weight_v`, `bias`.
public final class Conv2dLayer: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let u: Buffer?
    public let v: Buffer?
    public let stride: Int
    public let padding: Int

    public var spectral: Bool { u != nil }
    public var outChannels: Int { weight.value.shape[0] }
    public var inChannels: Int { weight.value.shape[1] }
    public var kernel: Int { weight.value.shape[2] }

    private var lastInput: Tensor?
    private var lastWeight: Tensor?
    private var lastSigma: Float = 1

    /// Weights start as zeros: the network's initializer (or a checkpoint) fills them.
    /// u and v start as random unit vectors, as PyTorch registers them.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, spectral: Bool = false, rng: inout RandomGenerator) {
        weight = Parameter(Tensor(shape: [outChannels, inChannels, kernel, kernel]))
        self.bias = bias ? Parameter(Tensor(shape: [outChannels])) : nil
        self.stride = stride
        self.padding = padding
        if spectral {
            u = Buffer(Tensor(shape: [outChannels], data: SpectralNorm.normalized(rng.normalTensor([outChannels]).data)))
            let cols = inChannels * kernel * kernel
            v = Buffer(Tensor(shape: [cols], data: SpectralNorm.normalized(rng.normalTensor([cols]).data)))
        } else {
            u = nil
            v = nil
        }
    }

    public func stateEntries() -> [(String, StateEntry)] {
        var entries: [(String, StateEntry)] = []
        if let u, let v {
            // PyTorch order: bias stays in place, weight_orig replaces weight, u and v are appended.
            if let bias { entries.append(("bias", .parameter(bias))) }
            entries.append(("weight_orig", .parameter(weight)))
            entries.append(("weight_u", .buffer(u)))
            entries.append(("weight_v", .buffer(v)))
        } else {
            entries.append(("weight", .parameter(weight)))
            if let bias { entries.append(("bias", .parameter(bias))) }
        }
        return entries
    }

    /// The weight the convolution uses: `weight_orig / σ` under spectral norm (one power iteration
    /// first when training), else the raw weight.
    public func effectiveWeight(training: Bool) -> (Tensor, Float) {
        guard let u, let v else { return (weight.value, 1) }
        return SpectralNorm.weight(weight.value, u: &u.value, v: &v.value, training: training)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let (w, sigma) = effectiveWeight(training: training)
        if training {
            lastInput = x
            lastWeight = w
            lastSigma = sigma
        }
        return Conv2d.forward(x, weight: w, bias: bias?.value, stride: stride, padding: padding)
    }

    /// Backward of the last training forward: accumulates parameter gradients, returns the input gradient.
    @discardableResult
    public func backward(_ gy: Tensor, needInputGrad: Bool = true) -> Tensor? {
        guard let x = lastInput, let w = lastWeight else {
            preconditionFailure("Conv2dLayer.backward without a training forward")
        }
        if let bias { bias.grad.addChannelSums(of: gy) }
        if let u, let v {
            var gw = Tensor(shape: w.shape)
            let gx = Conv2d.backward(x, weight: w, outputGrad: gy, stride: stride, padding: padding,
                                     weightGrad: &gw, needInputGrad: needInputGrad)
            weight.grad.add(SpectralNorm.backward(weightGrad: gw, weightOrig: weight.value, u: u.value, v: v.value,
                                                  sigma: lastSigma))
            return gx
        }
        return Conv2d.backward(x, weight: w, outputGrad: gy, stride: stride, padding: padding,
                               weightGrad: &weight.grad, needInputGrad: needInputGrad)
    }

    /// The input gradient alone, for samples `samples` of the last training forward's batch (`gy` holds
    /// just those samples); no parameter gradients. For a caller that throws D's parameter gradients away.
    public func inputGradient(_ gy: Tensor, samples: Range<Int>) -> Tensor {
        guard let x = lastInput, let w = lastWeight else {
            preconditionFailure("Conv2dLayer.inputGradient without a training forward")
        }
        precondition(samples.lowerBound >= 0 && samples.upperBound <= x.shape[0],
                     "Conv2dLayer.inputGradient: samples \(samples) outside a batch of \(x.shape[0])")
        return Conv2d.inputGradient(inputShape: [samples.count] + x.shape.dropFirst(), weight: w, outputGrad: gy,
                                    stride: stride, padding: padding)
    }

    /// Drops cached activations (e.g. after an eval-only use) to free memory.
    public func releaseCache() {
        lastInput = nil
        lastWeight = nil
    }
}

/// `nn.Linear` with optional spectral norm is never needed by SPADE; plain weight/bias only.
public final class LinearLayer: Module {
    public let weight: Parameter
    public let bias: Parameter?
    private var lastInput: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Parameter(Tensor(shape: [outFeatures, inFeatures]))
        self.bias = bias ? Parameter(Tensor(shape: [outFeatures])) : nil
    }

    public func stateEntries() -> [(String, StateEntry)] {
        var entries: [(String, StateEntry)] = [("weight", .parameter(weight))]
        if let bias { entries.append(("bias", .parameter(bias))) }
        return entries
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { lastInput = x }
        return Linear.forward(x, weight: weight.value, bias: bias?.value)
    }

    public func backward(_ gy: Tensor) -> Tensor {
        guard let x = lastInput else { preconditionFailure("LinearLayer.backward without a training forward") }
        var bg: Tensor? = bias?.grad
        let gx = Linear.backward(x, weight: weight.value, outputGrad: gy, weightGrad: &weight.grad, biasGrad: &bg)
        if let bg { bias!.grad = bg }
        return gx
    }
}
