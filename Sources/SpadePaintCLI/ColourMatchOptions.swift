import ArgumentParser
import Foundation
import SpadeModel

/// The colour match that goes with `--style` (render and paint): which segmenter labels the reference photo,
/// or none.
struct ColourMatchOptions: ParsableArguments {
    @Flag(help: "With --style: take only the encoder's style code, without matching each class's colours to the photo's.")
    var noColourMatch = false

    @Option(help: "Segmenter that labels the --style photo for the colour match (default: \(DefaultModel.segmenterName)).")
    var styleSegmenter: String?

    /// The segmenter for a model with `classes` label classes (named `palette`, when it names one), or nil when
    /// the colour match is off. Without --style-segmenter a missing or unfitting shipped segmenter turns the
    /// match off with a note on stderr; a named one that does not fit is an error.
    func segmenter(classes: Int, palette: String?) throws -> Segmenter? {
        // Same class count is not enough: the classes must mean the same (same palette) where both say.
        func problem(_ loaded: SegmenterCheckpoint.Loaded, _ path: String) -> String? {
            if loaded.segmenter.config.classes != classes {
                return "\(path) labels \(loaded.segmenter.config.classes) classes, the model \(classes)"
            }
            if let palette, let other = loaded.palette, palette != other {
                return "\(path) labels the classes of palette '\(other)', the model those of '\(palette)'"
            }
            return nil
        }
        guard !noColourMatch else { return nil }
        if let path = styleSegmenter {
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path): no such segmenter checkpoint") }
            let loaded = try SegmenterCheckpoint.load(path: path)
            if let problem = problem(loaded, path) { throw ValidationError("\(problem); they must label the same classes") }
            return loaded.segmenter
        }
        func note(_ text: String) -> Segmenter? {
            FileHandle.standardError.write(Data("note: \(text): --style takes the encoder's code only (no colour match)\n".utf8))
            return nil
        }
        guard let path = DefaultModel.segmenterPath() else { return note("no segmenter at \(DefaultModel.segmenterName)") }
        let loaded = try SegmenterCheckpoint.load(path: path)
        if let problem = problem(loaded, path) { return note(problem) }
        return loaded.segmenter
    }
}
