import Foundation

// Deterministic hashing and noise. Everything the world draws comes from these functions, seeded
// per picture, so a pair depends only on (seed, index) and never on thread scheduling.

/// SplitMix64: a tiny, well-mixed generator; good enough for layout choices and cheap to seed.
public struct WorldRandom {
    private var state: UInt64

    public init(seed: UInt64, index: UInt64, stream: UInt64) {
        state = mix64(seed &* 0x9E37_79B9_7F4A_7C15 ^ mix64(index &+ 0x632B_E59B_D9B4_E019) ^ mix64(stream &* 0xD6E8_FEB8_6659_FD93))
    }

    public mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    public mutating func range(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * unit() }

    public mutating func chance(_ p: Float) -> Bool { unit() < p }

    public mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }

    /// A fresh 32-bit seed for a noise field.
    public mutating func noiseSeed() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
}

@inline(__always) func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Integer lattice hash (two coordinates and a seed) to 32 bits.
@inline(__always) func hash2(_ x: Int32, _ y: Int32, _ seed: UInt32) -> UInt32 {
    var h = UInt32(bitPattern: x) &* 0x8DA6_B343 ^ UInt32(bitPattern: y) &* 0xD816_3841 ^ seed &* 0xCB1A_B31F
    h ^= h >> 15
    h = h &* 0x2C1B_3C6D
    h ^= h >> 12
    h = h &* 0x297A_2D39
    h ^= h >> 15
    return h
}

/// Hash to [0, 1).
@inline(__always) func hashUnit(_ x: Int32, _ y: Int32, _ seed: UInt32) -> Float {
    Float(hash2(x, y, seed) >> 8) * (1.0 / 16_777_216.0)
}

@inline(__always) func fastFloor(_ v: Float) -> Int32 {
    let i = Int32(v)
    return Float(i) > v ? i - 1 : i
}

@inline(__always) func smoothstep(_ a: Float, _ b: Float, _ x: Float) -> Float {
    let t = min(max((x - a) / (b - a), 0), 1)
    return t * t * (3 - 2 * t)
}

@inline(__always) func lerp(_ a: Float, _ b: Float, _ t: Float) -> Float { a + (b - a) * t }

@inline(__always) func clamp01(_ v: Float) -> Float { min(max(v, 0), 1) }

private let gradX: [Float] = [1, 1, -1, -1, 1.4142, -1.4142, 0, 0]
private let gradY: [Float] = [1, -1, 1, -1, 0, 0, 1.4142, -1.4142]

/// Gradient noise in 2D, roughly in [-1, 1], zero at lattice points.
@inline(__always) func gradientNoise(_ x: Float, _ y: Float, _ seed: UInt32) -> Float {
    let ix = fastFloor(x), iy = fastFloor(y)
    let fx = x - Float(ix), fy = y - Float(iy)
    @inline(__always) func grad(_ gx: Int32, _ gy: Int32, _ dx: Float, _ dy: Float) -> Float {
        // Eight directions around the circle, picked without branches.
        let h = Int(hash2(gx, gy, seed) & 7)
        return gradX[h] * dx + gradY[h] * dy
    }
    let u = fx * fx * fx * (fx * (fx * 6 - 15) + 10)
    let v = fy * fy * fy * (fy * (fy * 6 - 15) + 10)
    let n00 = grad(ix, iy, fx, fy)
    let n10 = grad(ix + 1, iy, fx - 1, fy)
    let n01 = grad(ix, iy + 1, fx, fy - 1)
    let n11 = grad(ix + 1, iy + 1, fx - 1, fy - 1)
    let a = n00 + (n10 - n00) * u
    let b = n01 + (n11 - n01) * u
    return (a + (b - a) * v) * 1.1
}

/// Fractal sum of gradient noise; about [-1, 1].
@inline(__always) func fbm(_ x: Float, _ y: Float, _ seed: UInt32, octaves: Int, lacunarity: Float = 2.03, gain: Float = 0.5) -> Float {
    var sum: Float = 0, amp: Float = 0.5, fx = x, fy = y, norm: Float = 0
    var s = seed
    for _ in 0..<octaves {
        sum += amp * gradientNoise(fx, fy, s)
        norm += amp
        amp *= gain
        // Rotate a little between octaves so lattice artefacts do not line up.
        let nx = fx * 1.6 - fy * 1.2, ny = fx * 1.2 + fy * 1.6
        fx = nx * (lacunarity / 2) + 17.3
        fy = ny * (lacunarity / 2) - 9.1
        s = s &+ 0x9E37_79B9
    }
    return sum / norm
}

/// Ridged multifractal: sharp crests where the underlying noise crosses zero; in [0, 1].
@inline(__always) func ridged(_ x: Float, _ y: Float, _ seed: UInt32, octaves: Int) -> Float {
    var sum: Float = 0, amp: Float = 0.5, fx = x, fy = y, norm: Float = 0, weight: Float = 1
    var s = seed
    for _ in 0..<octaves {
        var n = 1 - abs(gradientNoise(fx, fy, s))
        n *= n
        n *= weight
        weight = min(max(n * 1.6, 0), 1)
        sum += amp * n
        norm += amp
        amp *= 0.5
        let nx = fx * 1.6 - fy * 1.2, ny = fx * 1.2 + fy * 1.6
        fx = nx + 31.7
        fy = ny - 4.3
        s = s &+ 0x9E37_79B9
    }
    return sum / norm
}
