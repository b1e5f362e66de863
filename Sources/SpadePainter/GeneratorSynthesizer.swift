import Foundation
import SpadeImaging
import SpadeModel

/// The painter's generator: a SPADE generator behind the incremental `InferenceEngine`. The painter
/// passes the whole label map on every call; the engine diffs it against the previous one and
/// recomputes only what the changed pixels reach, so a dab costs a fraction of a frame.
public final class GeneratorSynthesizer: PictureSynthesizer {
    public let engine: InferenceEngine
    public let encoder: ConvEncoder?
    public var labelWidth: Int { engine.config.labelMapSize.width }
    public var labelHeight: Int { engine.config.labelMapSize.height }
    /// Label channels without the instance-edge channel (don't-care included): what a palette must cover.
    public var classCount: Int { engine.config.labelChannels }
    public var styleDescription: String { notes.isEmpty ? style : style + " — " + notes.joined(separator: "; ") }

    private var style = "no style"
    /// Shown after the style on the status line: "random weights — no model", the full-frame fallback.
    private let notes: [String]

    /// - modelNote: what the status line should say about the weights (e.g. "random weights — no model").
    public init(generator: SPADEGenerator, encoder: ConvEncoder? = nil, modelNote: String? = nil) {
        engine = InferenceEngine(generator: generator)
        self.encoder = encoder
        notes = [modelNote, engine.fullFrameReason.map { _ in "instance norm: full frames" }].compactMap { $0 }
        if !generator.config.useVAE { style = "labels only (model has no style input)" }
    }

    public func synthesize(_ labels: LabelMap, shouldCancel: () -> Bool) throws -> RGBImage? {
        if engine.config.useVAE && !hasStyle { newRandomStyle(seed: 1) }
        try engine.setLabels(labels.labels, width: labels.width, height: labels.height, source: "painted label map")
        guard let picture = engine.render(shouldCancel: shouldCancel) else { return nil }
        return Self.image(from: picture)
    }

    private var hasStyle = false

    public func newRandomStyle(seed: UInt64) {
        let config = engine.config
        guard config.useVAE else {
            style = "labels only (model has no style input; seed \(seed) unused)"
            return
        }
        var rng = RandomGenerator(seed: seed)
        // A z of the right size cannot be refused.
        try! engine.setStyle(z: rng.normalTensor([1, config.zDim]))
        hasStyle = true
        style = "random style, seed \(seed)"
    }

    /// The style of a photo: the encoder's μ (the mean of q(z | photo)) as z.
    public func setStyle(reference: RGBImage, name: String) throws {
        guard engine.config.useVAE, let encoder else {
            throw PainterSetupError("this model has no style encoder, so it cannot take the style of \(name)")
        }
        let (mu, _) = encoder.forward(Self.tensor(from: reference), training: false)
        try engine.setStyle(z: mu)
        hasStyle = true
        style = "style of \(name)"
    }

    /// [1, 3, H, W] in [-1, 1] to 8-bit RGB as the reference saves pictures: (x + 1) / 2 · 255, clipped, truncated.
    public static func image(from t: Tensor) -> RGBImage {
        RGBImage(width: t.shape[3], height: t.shape[2], pixels: GeneratorOutput.rgbBytes(t))
    }

    /// 8-bit RGB to [1, 3, H, W] in [-1, 1] (ToTensor then Normalize(0.5, 0.5)).
    public static func tensor(from image: RGBImage) -> Tensor {
        let plane = image.width * image.height
        var t = Tensor(shape: [1, 3, image.height, image.width])
        for i in 0..<plane {
            for c in 0..<3 { t.data[c * plane + i] = Float(image.pixels[i * 3 + c]) / 255 * 2 - 1 }
        }
        return t
    }
}
