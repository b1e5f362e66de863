import Foundation

/// A seeded, reproducible random generator (xoshiro256**, seeded through SplitMix64).
/// Its whole state is four words, so training can save and restore it exactly.
public struct RandomGenerator: RandomNumberGenerator, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)
    /// A second normal from the last Box–Muller pair, kept so sequences don't depend on call pairing.
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Restores a generator from `stateWords` (as saved by a checkpoint).
    public init(stateWords: [UInt64]) {
        precondition(stateWords.count == 4, "RandomGenerator: state needs 4 words, got \(stateWords.count)")
        state = (stateWords[0], stateWords[1], stateWords[2], stateWords[3])
        if stateWords.allSatisfy({ $0 == 0 }) { state.0 = 1 }  // the all-zero state is a fixed point
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// The complete state, including a pending Box–Muller normal, for exact save and restore.
    public var savedState: [UInt64] {
        stateWords + [spareNormal == nil ? 0 : 1, UInt64(spareNormal?.bitPattern ?? 0)]
    }

    public init(savedState words: [UInt64]) {
        precondition(words.count == 6, "RandomGenerator: saved state needs 6 words, got \(words.count)")
        self.init(stateWords: Array(words[0..<4]))
        spareNormal = words[4] == 0 ? nil : Float(bitPattern: UInt32(truncatingIfNeeded: words[5]))
    }

    public static func == (a: RandomGenerator, b: RandomGenerator) -> Bool {
        a.stateWords == b.stateWords && a.spareNormal == b.spareNormal
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = (state.3 << 45) | (state.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    @inline(__always)
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * uniform()
    }

    /// Standard normal by Box–Muller (computed in double precision).
    public mutating func normal() -> Float {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let r = (-2 * log(u1)).squareRoot()
        spareNormal = Float(r * sin(2 * .pi * u2))
        return Float(r * cos(2 * .pi * u2))
    }

    public mutating func normalTensor(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = mean + std * normal() }
        return t
    }

    public mutating func uniformTensor(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = uniform(low, high) }
        return t
    }
}
