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
    var resizedSize: (width: Int, height: Int) {
        mode == .resizeAndCrop ? (loadSize, loadSize) : outputSize
    }

    /// Resizes, crops and flips planar float channels ([C, H, W]) with the given resampler.
    func transform(_ planes: Tensor, choice: Choice, nearest: Bool) -> Tensor {
        let (rw, rh) = resizedSize
        let batched = planes.reshaped([1] + planes.shape)
        var resized: Tensor
        if batched.shape[2] == rh && batched.shape[3] == rw {
            resized = batched
        } else if nearest {
            resized = Resample.nearest(batched, height: rh, width: rw)
        } else {
            resized = PhotoResize.resize(batched, height: rh, width: rw)
        }
        let (ow, oh) = outputSize
        let c = planes.shape[0]
        var out = Tensor(shape: [c, oh, ow])
        resized.withPointer { src in
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

/// Photo resizing for training input: area averaging when shrinking (no aliasing from large photos),
/// bilinear when enlarging; SpadeImaging's resamplers work on interleaved samples, so planes are
/// interleaved around the call.
enum PhotoResize {
    static func resize(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (n, c, h, w) = x.nchw("photo resize")
        precondition(n == 1, "photo resize: one image at a time")
        var interleaved = [Float](repeating: 0, count: c * h * w)
        for ch in 0..<c { for i in 0..<(h * w) { interleaved[i * c + ch] = x.data[ch * h * w + i] } }
        let shrinking = width <= w && height <= h
        let out = shrinking
            ? resizeArea(interleaved, width: w, height: h, channels: c, toWidth: width, toHeight: height)
            : resizeBilinear(interleaved, width: w, height: h, channels: c, toWidth: width, toHeight: height)
        var y = Tensor(shape: [1, c, height, width])
        for ch in 0..<c { for i in 0..<(height * width) { y.data[ch * height * width + i] = out[i * c + ch] } }
        return y
    }
}
