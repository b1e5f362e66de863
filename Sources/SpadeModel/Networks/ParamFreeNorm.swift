/// SPADE's parameter-free normalisation (`param_free_norm`): batch norm without affine parameters,
/// with running statistics (state names `running_mean`, `running_var`, `num_batches_tracked`), or
/// instance norm without state.
public final class ParamFreeNorm: Module {
    public let kind: ParamFreeNormKind
    public let runningMean: Buffer?
    public let runningVar: Buffer?
    /// An int64 scalar in checkpoints. Sync-BN never increments it; `nn.BatchNorm2d` does in training.
    public let numBatchesTracked: Buffer?
    public static let eps: Float = 1e-5
    public static let momentum: Float = 0.1

    private var batchCache: BatchNorm.Cache?
    private var instanceCache: InstanceNorm.Cache?

    public init(channels: Int, kind: ParamFreeNormKind) {
        self.kind = kind
        if kind == .instance {
            runningMean = nil
            runningVar = nil
            numBatchesTracked = nil
        } else {
            runningMean = Buffer(Tensor(shape: [channels], repeating: 0))
            runningVar = Buffer(Tensor(shape: [channels], repeating: 1))
            numBatchesTracked = Buffer(Tensor(shape: [], repeating: 0), isInteger: true)
        }
    }

    public func stateEntries() -> [(String, StateEntry)] {
        guard let runningMean, let runningVar, let numBatchesTracked else { return [] }
        return [("running_mean", .buffer(runningMean)), ("running_var", .buffer(runningVar)),
                ("num_batches_tracked", .buffer(numBatchesTracked))]
    }

    /// Eval mode: running statistics as a per-channel affine map (batch) or per-sample statistics
    /// (instance). Training mode: batch statistics, running averages updated; caches for `backward`.
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        switch kind {
        case .instance:
            let (y, cache) = InstanceNorm.forward(x, eps: Self.eps)
            if training { instanceCache = cache }
            return y
        case .batch, .syncbatch:
            let mean = runningMean!, variance = runningVar!
            guard training else {
                return BatchNorm.evalForward(x, runningMean: mean.value, runningVar: variance.value, eps: Self.eps)
            }
            let (y, cache) = BatchNorm.trainForward(x, weight: nil, bias: nil, runningMean: &mean.value,
                                                    runningVar: &variance.value, momentum: Self.momentum, eps: Self.eps)
            if kind == .batch { numBatchesTracked!.value.data[0] += 1 }
            batchCache = cache
            return y
        }
    }

    /// Input gradient of the last training forward.
    public func backward(_ gy: Tensor) -> Tensor {
        switch kind {
        case .instance:
            guard let cache = instanceCache else { preconditionFailure("ParamFreeNorm.backward without a training forward") }
            return InstanceNorm.backward(gy, cache: cache)
        case .batch, .syncbatch:
            guard let cache = batchCache else { preconditionFailure("ParamFreeNorm.backward without a training forward") }
            var noWeight: Tensor? = nil, noBias: Tensor? = nil
            return BatchNorm.trainBackward(gy, cache: cache, weight: nil, weightGrad: &noWeight, biasGrad: &noBias)
        }
    }

    public func releaseCache() {
        batchCache = nil
        instanceCache = nil
    }
}
