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

    /// The segmenter for a model with `classes` label classes, or nil when the colour match is off. Without
    /// --style-segmenter a missing or unfitting shipped segmenter turns the match off with a note on stderr;
    /// a named one that does not fit is an error.
    func segmenter(classes: Int, forStyle: Bool) throws -> Segmenter? {
        guard forStyle, !noColourMatch else { return nil }
        if let path = styleSegmenter {
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path): no such segmenter checkpoint") }
            let loaded = try SegmenterCheckpoint.load(path: path)
            guard loaded.segmenter.config.classes == classes else {
                throw ValidationError("\(path): the segmenter has \(loaded.segmenter.config.classes) classes, the model \(classes); they must label the same classes")
            }
            return loaded.segmenter
        }
        func note(_ text: String) -> Segmenter? {
            FileHandle.standardError.write(Data("note: \(text): --style takes the encoder's code only (no colour match)\n".utf8))
            return nil
        }
        guard let path = DefaultModel.segmenterPath() else { return note("no segmenter at \(DefaultModel.segmenterName)") }
        let loaded = try SegmenterCheckpoint.load(path: path)
        guard loaded.segmenter.config.classes == classes else {
            return note("\(path) labels \(loaded.segmenter.config.classes) classes, this model \(classes)")
        }
        return loaded.segmenter
    }
}
