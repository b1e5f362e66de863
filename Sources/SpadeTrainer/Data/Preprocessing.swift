import SpadeImaging
import SpadeModel

/// The reference's geometric preprocessing (§12.6): how a photo and its label map are resized,
/// cropped and flipped to the model's input size. Label maps always use nearest sampling.
public struct Preprocessing: Equatable, Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Resize to a square `loadSize`, then crop `cropSize` at a random position (ADE20K, COCO).
        case resizeAndCrop = "resize_and_crop"
        /// Resize to cropSize × round(cropSize / aspect) (Cityscapes).
        case fixed
    }

    public var mode: Mode
    public var loadSize: Int
    public var cropSize: Int
    public var aspectRatio: Double
    public var flip: Bool

    public init(mode: Mode, loadSize: Int, cropSize: Int, aspectRatio: Double = 1, flip: Bool = true) {
        self.mode = mode
        self.loadSize = loadSize
        self.cropSize = cropSize
        self.aspectRatio = aspectRatio
        self.flip = flip
    }

    /// Output size of a sample.
    public var outputSize: (width: Int, height: Int) {
        switch mode {
        case .resizeAndCrop: return (cropSize, cropSize)
        case .fixed: return (cropSize, Int((Double(cropSize) / aspectRatio).rounded(.toNearestOrEven)))
        }
    }

    /// Random choices for one sample, drawn from `rng` (training) or fixed (evaluation).
    public struct Choice: Equatable, Sendable {
        public var cropX = 0, cropY = 0
        public var flipped = false
    }

    public func choose(_ rng: inout RandomGenerator, training: Bool) -> Choice {
        guard training else { return Choice() }
        var c = Choice()
        if mode == .resizeAndCrop && loadSize > cropSize {
            c.cropX = Int(rng.next() % UInt64(loadSize - cropSize + 1))
            c.cropY = Int(rng.next() % UInt64(loadSize - cropSize + 1))
        }
        c.flipped = flip && (rng.next() & 1) == 1
        return c
    }

    /// Size after the resize step, before cropping.
    public var resizedSize: (width: Int, height: Int) {
        mode == .resizeAndCrop ? (loadSize, loadSize) : outputSize
    }

    /// Resizes as the reference's PIL pipeline does: photos with Pillow's BICUBIC, label maps with
    /// PIL's NEAREST (pixel centres).
    public func resize(photo: RGBImage) -> RGBImage {
        let (w, h) = resizedSize
        return SpadeImaging.resize(photo, width: w, height: h, filter: .bicubic)
    }

    public func resize(labels: LabelMap) -> LabelMap {
        let (w, h) = resizedSize
        return resizeNearest(labels, width: w, height: h, rule: .pixelCenter)
    }

    /// Crops and flips planar channels ([C, H, W] at `resizedSize`).
    func cropAndFlip(_ planes: Tensor, choice: Choice) -> Tensor {
        let (rw, rh) = resizedSize
        precondition(planes.shape.count == 3 && planes.shape[1] == rh && planes.shape[2] == rw,
                     "crop: planes \(planes.shape) are not at the resized size \(rw)×\(rh)")
        let (ow, oh) = outputSize
        let c = planes.shape[0]
        var out = Tensor(shape: [c, oh, ow])
        planes.withPointer { src in
            out.withMutablePointer { dst in
                for ch in 0..<c {
                    for y in 0..<oh {
                        let srow = src + (ch * rh + y + choice.cropY) * rw + choice.cropX
                        let drow = dst + (ch * oh + y) * ow
                        if choice.flipped {
                            for x in 0..<ow { drow[x] = srow[ow - 1 - x] }
                        } else {
                            for x in 0..<ow { drow[x] = srow[x] }
                        }
                    }
                }
            }
        }
        return out
    }
}
