/// An exponential moving average of a network's weights, kept beside the network during training
/// (Karras et al. 2018, Yazıcı et al. 2019): after every step, average = decay · average + (1 − decay) · weight.
/// A GAN generator's weights oscillate around what the generator and discriminator chase; their average
/// draws steadier, cleaner pictures than any single step, which is why it is the model one ships.
///
/// Buffers are averaged the same way, so the BN running statistics stay consistent with the averaged weights
/// (copying the live ones would pair them with weights they were not measured on); integer buffers
/// (`num_batches_tracked`) are copied. Spectral-norm vectors are averaged too, but an average of unit vectors
/// is no unit vector: when a layer's top singular direction turns during training, the averaged u shrinks
/// (run "semantic" saw |u| = 0.35), σ = uᵀWv comes out far too small and the layer's weight far too large.
/// So the averaged state re-estimates u and v by power iteration on the averaged weight
/// (`settleSpectralVectors`) before anyone uses it. The average's state has the network's own names, so
/// it is saved and loaded as one more checkpoint part.
public final class WeightAverage: Module {
    public let decay: Float
    private let sources: [(String, StateEntry)]
    private let averages: [Buffer]
    /// The network's spectral-norm layers: `weight_orig` and its `weight_u`, `weight_v` buffers.
    private let spectralLayers: [(weight: StateEntry, u: Buffer, v: Buffer)]

    /// Starts the average at the network's current state.
    public init(of module: Module, decay: Float) {
        precondition(decay >= 0 && decay < 1, "weight average: decay \(decay) is not in [0, 1)")
        self.decay = decay
        sources = module.stateEntries()
        averages = sources.map { _, entry in
            if case .buffer(let b) = entry { return Buffer(b.value, isInteger: b.isInteger) }
            return Buffer(entry.tensor)
        }
        let byName = Dictionary(uniqueKeysWithValues: sources)
        spectralLayers = sources.compactMap { name, entry in
            guard name.hasSuffix("weight_orig") else { return nil }
            let prefix = name.dropLast("weight_orig".count)
            guard case .buffer(let u)? = byName[prefix + "weight_u"], case .buffer(let v)? = byName[prefix + "weight_v"] else { return nil }
            return (entry, u, v)
        }
    }

    public func stateEntries() -> [(String, StateEntry)] {
        zip(sources, averages).map { ($0.0, .buffer($1)) }
    }

    /// Folds the network's current state into the average.
    public func update() {
        for ((_, entry), average) in zip(sources, averages) {
            if average.isInteger {
                average.value = entry.tensor
                continue
            }
            average.value.scale(by: decay)
            average.value.add(entry.tensor, scale: 1 - decay)
        }
    }

    /// Sets the average to the network's current state (a run that starts averaging part-way).
    public func reset() {
        for ((_, entry), average) in zip(sources, averages) { average.value = entry.tensor }
    }

    /// Power iterations per spectral-norm layer when the average is put in the network: from the averaged
    /// u, which is close to the answer, 20 bring σ to float precision for this project's layers.
    static let spectralIterations = 20

    /// Every spectral-norm layer's u and v become the top singular vectors of the weight now in it, by power
    /// iteration from the current u and v.
    private func settleSpectralVectors() {
        for (weight, u, v) in spectralLayers {
            let w = weight.tensor
            let rows = w.shape[0], cols = w.count / max(rows, 1)
            var uValue = u.value, vValue = v.value
            uValue.data = SpectralNorm.normalized(uValue.data)
            for _ in 0..<Self.spectralIterations {
                SpectralNorm.powerIteration(w.data, rows: rows, cols: cols, u: &uValue, v: &vValue)
            }
            u.value = uValue
            v.value = vValue
        }
    }

    /// Runs `body` with the averaged state in the network, then puts the live state back exactly.
    public func withAveragedState<T>(_ body: () throws -> T) rethrows -> T {
        let live = sources.map { $0.1.tensor }
        for ((_, entry), average) in zip(sources, averages) { entry.assign(average.value) }
        settleSpectralVectors()
        defer { for ((_, entry), value) in zip(sources, live) { entry.assign(value) } }
        return try body()
    }
}
