import Foundation

/// Weight initialisation as the reference's `init_weights` (`init_type='xavier'`, `init_variance=0.02`).
public enum Initialization {
    /// `xavier_normal_(gain)` on every conv / linear weight of `module` (under spectral norm the init lands
    /// in `weight_orig`), zero biases; spectral-norm u, v and norm buffers are left as they are.
    /// Fans are computed as PyTorch does: fan_in = shape[1]·receptive field, fan_out = shape[0]·receptive field.
    public static func xavierNormal(_ module: Module, gain: Float = 0.02, rng: inout RandomGenerator) {
        for (name, entry) in module.stateEntries() {
            guard case .parameter(let p) = entry else { continue }
            let leaf = name.split(separator: ".").last.map(String.init) ?? name
            if leaf == "bias" {
                p.value.fill(0)
            } else if (leaf == "weight" || leaf == "weight_orig") && p.value.rank >= 2 {
                let shape = p.value.shape
                let receptive = shape.dropFirst(2).reduce(1, *)
                let fanIn = shape[1] * receptive, fanOut = shape[0] * receptive
                let std = gain * (2 / Float(fanIn + fanOut)).squareRoot()
                p.value = rng.normalTensor(shape, std: std)
            }
        }
    }
}
