import SpadeImaging

/// What the painter needs from a generator. The painter calls every method on its one background
/// synthesis queue, never two at once and never on the UI thread, so implementations need no
/// locking of their own.
///
/// - `labelWidth`×`labelHeight`: the label map size the generator takes (e.g. 256×256); the canvas
///   is this divided by the painter's canvas factor.
/// - `classCount`: the number of label channels; the palette must have exactly this many classes.
/// - `synthesize` gets the full label map at `labelWidth`×`labelHeight` (values < `classCount`) and
///   returns the picture (any size; the painter scales it to its pane). It should call
///   `shouldCancel()` between layers (or other cheap points) and return nil once it is true: a
///   newer request has made this one pointless. An incremental engine may diff `labels` against
///   the previous call itself; the painter always passes the whole map.
/// - `newRandomStyle(seed:)` draws a new style (latent) from the seed; `setStyle(reference:)` sets
///   the style from a photo through the encoder and throws when the model has none.
/// - `styleDescription`: a short text for the status line ("random style, seed 7", "style of
///   beach.jpg"); implementations used only by tests must say so here.
public protocol PictureSynthesizer: AnyObject {
    var labelWidth: Int { get }
    var labelHeight: Int { get }
    var classCount: Int { get }
    var styleDescription: String { get }
    func synthesize(_ labels: LabelMap, shouldCancel: () -> Bool) throws -> RGBImage?
    func newRandomStyle(seed: UInt64)
    func setStyle(reference: RGBImage, name: String) throws
}

public struct PainterSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Checks that a palette and a synthesizer agree before anything is drawn.
public func checkPalette(_ palette: Palette, fits synthesizer: PictureSynthesizer, canvasFactor: Int) throws {
    if palette.count != synthesizer.classCount {
        throw PainterSetupError(
            "palette \(palette.source) has \(palette.count) classes but the model expects \(synthesizer.classCount) label channels; "
                + "use the palette the model was trained with (--palette)")
    }
    if palette.count > 256 {
        throw PainterSetupError("palette \(palette.source) has \(palette.count) classes; the painter supports at most 256")
    }
    let w = synthesizer.labelWidth, h = synthesizer.labelHeight
    if w <= 0 || h <= 0 || w % canvasFactor != 0 || h % canvasFactor != 0 {
        throw PainterSetupError("the model's label size \(w)×\(h) is not a multiple of the canvas factor \(canvasFactor)")
    }
}
