/// A style code from a reference photo: the encoder's μ for the picture (the mean of its posterior,
/// so the same photo always gives the same style), used as z by `--style`, `encode` and the painter.
extension ConvEncoder {
    /// `rgb`: interleaved 8-bit R, G, B rows of a `width`×`height` photo (any size: the encoder resizes
    /// to 256² bilinearly, as the reference does). Returns μ with shape [1, z_dim].
    public func styleCode(rgb: [UInt8], width: Int, height: Int) -> Tensor {
        precondition(rgb.count == width * height * 3, "style code: \(rgb.count) bytes for a \(width)x\(height) RGB photo")
        let plane = width * height
        var image = Tensor(shape: [1, 3, height, width])
        image.withMutablePointer { p in
            for i in 0..<plane {
                for c in 0..<3 { p[c * plane + i] = Float(rgb[3 * i + c]) / 127.5 - 1 }
            }
        }
        return forward(image, training: false).mu
    }
}
