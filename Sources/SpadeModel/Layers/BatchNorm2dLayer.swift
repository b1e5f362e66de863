/// `nn.BatchNorm2d` with its affine parameters: batch statistics in training (running averages updated),
/// running statistics in eval. State names as PyTorch: `weight`, `bias`, `running_mean`, `running_var`,
/// `num_batches_tracked`.
public final class BatchNorm2dLayer: Module {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVar: Buffer
    public let numBatchesTracked: Buffer
    public let momentum: Float
    public let eps: Float

    private var cache: BatchNorm.Cache?
    /// A frozen layer normalises with its running statistics in training forwards too, leaves them as they
    /// are, and its backward is that of the eval-mode affine map (a fixed network that gradients pass
    /// through, as PyTorch's `eval()` with `requires_grad` inputs). Its own gradients are not accumulated.
    public var frozen = false
    /// The last forward was a frozen training forward, so `backward` is the eval map's.
    private var frozenForward = false

    /// Starts as PyTorch does: weight 1, bias 0, running mean 0, running variance 1.
    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        weight = Parameter(Tensor(shape: [channels], repeating: 1))
        bias = Parameter(Tensor(shape: [channels]))
        runningMean = Buffer(Tensor(shape: [channels]))
        runningVar = Buffer(Tensor(shape: [channels], repeating: 1))
        numBatchesTracked = Buffer(Tensor(shape: [], repeating: 0), isInteger: true)
        self.momentum = momentum
        self.eps = eps
    }

    public var channels: Int { weight.value.count }

    public func stateEntries() -> [(String, StateEntry)] {
        [("weight", .parameter(weight)), ("bias", .parameter(bias)),
         ("running_mean", .buffer(runningMean)), ("running_var", .buffer(runningVar)),
         ("num_batches_tracked", .buffer(numBatchesTracked))]
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        guard training, !frozen else {
            cache = nil
            frozenForward = training
            return BatchNorm.evalForward(x, runningMean: runningMean.value, runningVar: runningVar.value,
                                         weight: weight.value, bias: bias.value, eps: eps)
        }
        let (y, c) = BatchNorm.trainForward(x, weight: weight.value, bias: bias.value,
                                            runningMean: &runningMean.value, runningVar: &runningVar.value,
                                            momentum: momentum, eps: eps)
        numBatchesTracked.value.data[0] += 1
        cache = c
        return y
    }

    /// Backward of the last training forward: accumulates weight and bias gradients, returns the input gradient.
    public func backward(_ gy: Tensor) -> Tensor {
        if frozenForward { return BatchNorm.evalBackward(gy, runningVar: runningVar.value, weight: weight.value, eps: eps) }
        guard let cache else { preconditionFailure("BatchNorm2dLayer.backward without a training forward") }
        var gw: Tensor? = weight.grad, gb: Tensor? = bias.grad
        let gx = BatchNorm.trainBackward(gy, cache: cache, weight: weight.value, weightGrad: &gw, biasGrad: &gb)
        weight.grad = gw!
        bias.grad = gb!
        return gx
    }

    public func releaseCache() {
        cache = nil
        frozenForward = false
    }
}
