/// The generator's [-1, 1] output as 8-bit pixels, exactly as the reference saves pictures
/// (`util.tensor2im`): `(x + 1) / 2 · 255` in float32, clipped to [0, 255], then truncated.
public enum GeneratorOutput {
    /// Interleaved R, G, B bytes of sample `n` of an [N, 3, H, W] tensor, rows top to bottom.
    public static func rgbBytes(_ image: Tensor, sample n: Int = 0) -> [UInt8] {
        let (count, c, h, w) = image.nchw("picture")
        precondition(c == 3 && n >= 0 && n < count, "picture: need sample \(n) of an [N, 3, H, W] tensor, got \(image.shape)")
        let hw = h * w
        var out = [UInt8](repeating: 0, count: hw * 3)
        image.withPointer { p in
            let base = p + n * 3 * hw
            for ch in 0..<3 {
                let plane = base + ch * hw
                for i in 0..<hw { out[i * 3 + ch] = byte(plane[i]) }
            }
        }
        return out
    }

    @inline(__always)
    public static func byte(_ x: Float) -> UInt8 {
        let v = (x + 1) / 2 * 255
        // NaN falls to 0 as numpy's clip-then-astype gives on common platforms.
        guard v > 0 else { return 0 }
        return v >= 255 ? 255 : UInt8(v)  // UInt8(Float) truncates toward zero
    }
}
