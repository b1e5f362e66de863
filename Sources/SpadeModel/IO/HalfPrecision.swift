/// Conversions between Float and the two 16-bit float formats checkpoints use.
///
/// IEEE half (F16) goes through Swift's `Float16`, whose conversion from Float rounds to nearest
/// even and handles subnormals, infinities and NaN correctly. bfloat16 (BF16) is the top half of a
/// Float's bits, so it is converted here directly.
enum HalfPrecision {
    /// Every F16 bit pattern decoded once (256 KiB): decoding big F16 tensors becomes a table lookup
    /// instead of a call into the compiler runtime per element.
    private static let float16Table: [Float] = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }

    @inline(__always)
    static func float16Bits(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    @inline(__always)
    static func float(fromFloat16Bits bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// Rounds to nearest, ties to even. NaN stays NaN (quiet, sign kept) instead of being
    /// rounded into infinity, which plain bit arithmetic would do for small payloads.
    @inline(__always)
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    @inline(__always)
    static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Decodes `count` little-endian F16 values from `source` into `destination`.
    static func decodeFloat16(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        float16Table.withUnsafeBufferPointer { table in
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = table[Int(bits)]
            }
        }
    }

    static func decodeBFloat16(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            destination[i] = float(fromBFloat16Bits: bits)
        }
    }
}
