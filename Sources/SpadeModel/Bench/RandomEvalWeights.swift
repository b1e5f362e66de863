import Foundation

/// Random generator weights that behave like trained ones in eval mode, for benchmarks and engine tests:
/// O(1) activations (the reference's 0.02-gain init would make γ and β negligible and hide mistakes),
/// small random biases, non-trivial batch-norm running statistics, and spectral-norm u, v after one
/// power iteration (a never-iterated u, v gives a meaningless eval-mode σ). Mirrors
/// `randomize_for_tests` in Tests/fixtures/torch_spade.py.
public enum RandomEvalWeights {
    public static func apply(to generator: SPADEGenerator, rng: inout RandomGenerator,
                             weightGain: Float = 1, finalGain: Float = 0.5) {
        for (name, entry) in generator.stateEntries() {
            let leaf = name.split(separator: ".").last.map(String.init) ?? name
            let t = entry.tensor
            switch leaf {
            case "weight", "weight_orig":
                let fanIn = t.count / max(1, t.shape[0])
                let gain = name.hasPrefix("conv_img") ? finalGain : weightGain
                entry.assign(rng.normalTensor(t.shape, std: gain / Float(fanIn).squareRoot()))
            case "bias":
                entry.assign(rng.normalTensor(t.shape, std: 0.1))
            case "running_mean":
                entry.assign(rng.normalTensor(t.shape, std: 0.5))
            case "running_var":
                entry.assign(rng.uniformTensor(t.shape, low: 0.5, high: 2))
            default:
                break
            }
        }
        // One power iteration on every spectral-norm conv (what one training forward leaves behind).
        for b in generator.blocks {
            for conv in [b.block.conv0, b.block.conv1] + (b.block.convS.map { [$0] } ?? []) where conv.spectral {
                _ = conv.effectiveWeight(training: true)
            }
        }
    }
}
