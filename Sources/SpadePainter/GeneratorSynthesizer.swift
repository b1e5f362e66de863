import Foundation
import SpadeImaging
import SpadeModel

/// The painter's generator: a SPADE generator behind the incremental `InferenceEngine`. The painter
/// passes the whole label map on every call; the engine diffs it against the previous one and
/// recomputes only what the changed pixels reach, so a dab costs a fraction of a frame.
public final class GeneratorSynthesizer: PictureSynthesizer {
    public let engine: InferenceEngine
    public let encoder: ConvEncoder?
    /// Labels style photos for the colour match (nil: a photo sets z only).
    public let styleSegmenter: Segmenter?
    /// Codes that random styles blend (nil: z ~ N(0, I), as the reference draws them).
    public let styleBank: StyleBank?
    public var labelWidth: Int { engine.config.labelMapSize.width }
    public var labelHeight: Int { engine.config.labelMapSize.height }
    /// Label channels without the instance-edge channel (don't-care included): what a palette must cover.
    public var classCount: Int { engine.config.labelChannels }
    public var styleDescription: String { notes.isEmpty ? style : style + " — " + notes.joined(separator: "; ") }

    private var style = "no style"
    /// The class colours of the current style photo, laid over every picture.
    private var colourMatch: ReferenceColourMatch?
    /// Shown after the style on the status line: "random weights — no model", the full-frame fallback.
    private let notes: [String]

    /// - modelNote: what the status line should say about the weights (e.g. "random weights — no model").
    /// - styleSegmenter: labels style photos so that each class takes the photo's colours
    ///   (`ReferenceColourMatch`); it must label the model's classes.
    /// - styleBank: where random styles come from (`StyleBank`); its codes must have the model's z_dim.
    public init(generator: SPADEGenerator, encoder: ConvEncoder? = nil, styleSegmenter: Segmenter? = nil,
                styleBank: StyleBank? = nil, modelNote: String? = nil) {
        precondition(styleSegmenter.map { $0.config.classes == generator.config.labelNC } ?? true,
                     "GeneratorSynthesizer: the style segmenter labels other classes than the model")
        precondition(styleBank.map { $0.zDim == generator.config.zDim } ?? true,
                     "GeneratorSynthesizer: the style bank's codes are not the model's z_dim")
        self.styleBank = styleBank
        engine = InferenceEngine(generator: generator)
        self.encoder = encoder
        self.styleSegmenter = styleSegmenter
        notes = [modelNote, engine.fullFrameReason.map { _ in "instance norm: full frames" }].compactMap { $0 }
        if !generator.config.useVAE { style = "labels only (model has no style input)" }
    }

    public func synthesize(_ labels: LabelMap, shouldCancel: () -> Bool) throws -> RGBImage? {
        if engine.config.useVAE && !hasStyle { newRandomStyle(seed: 1) }
        try engine.setLabels(labels.labels, width: labels.width, height: labels.height, source: "painted label map")
        guard let picture = engine.render(shouldCancel: shouldCancel) else { return nil }
        var image = Self.image(from: picture)
        if let colourMatch {
            let classes = ReferenceColourMatch.labels(labels.labels, width: labels.width, height: labels.height,
                                                      toWidth: image.width, toHeight: image.height)
            image = RGBImage(width: image.width, height: image.height, pixels: colourMatch.apply(rgb: image.pixels, labels: classes))
        }
        return image
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
        try! engine.setStyle(z: styleBank?.sample(batch: 1, rng: &rng) ?? rng.normalTensor([1, config.zDim]))
        colourMatch = nil
        hasStyle = true
        style = styleBank.map { "random style, seed \(seed), from \($0.count) codes" } ?? "random style, seed \(seed)"
    }

    /// The style of a photo: the encoder's μ (the mean of q(z | photo)) as z, and with a style segmenter the
    /// photo's class colours.
    public func setStyle(reference: RGBImage, name: String) throws {
        guard engine.config.useVAE, let encoder else {
            throw PainterSetupError("this model has no style encoder, so it cannot take the style of \(name)")
        }
        let (mu, _) = encoder.forward(Self.tensor(from: reference), training: false)
        try engine.setStyle(z: mu)
        colourMatch = styleSegmenter.map {
            ReferenceColourMatch(referenceRGB: reference.pixels, width: reference.width, height: reference.height, segmenter: $0)
        }
        hasStyle = true
        style = colourMatch == nil ? "style of \(name)" : "style and colours of \(name)"
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
