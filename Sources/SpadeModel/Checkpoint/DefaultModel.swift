import Foundation

/// The model spadepaint ships: `Checkpoints/landscape.safetensors`, trained on the landscape world with
/// the `landscape` palette (15 classes, no don't-care, no instance edges) and the VAE encoder so a photo
/// can set the style. Until that file exists, the painter runs a randomly initialised generator of
/// `config` and says so.
public enum DefaultModel {
    public static let checkpointName = "Checkpoints/landscape.safetensors"
    public static let paletteName = "landscape"

    /// The configuration the default model is trained with (`SPADEConfig.landscape`, i.e.
    /// `spadepaint train --preset landscape`). A checkpoint's own stored configuration always wins over this.
    public static let config = SPADEConfig.landscape

    /// The segmenter `spadepaint eval` judges models with.
    public static let segmenterName = "Checkpoints/landscape-seg.safetensors"

    /// Where the shipped checkpoint is (see `shippedFile`). Nil when it does not exist.
    public static func checkpointPath() -> String? { shippedFile(checkpointName) }

    /// Where the shipped segmenter is (see `shippedFile`). Nil when it does not exist.
    public static func segmenterPath() -> String? { shippedFile(segmenterName) }

    /// A file shipped with spadepaint (`relativePath` inside the package): found in the current directory or
    /// next to the executable's package (from the executable's directory upwards), so commands work from
    /// anywhere, not only from the checkout's root.
    public static func shippedFile(_ relativePath: String) -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relativePath]
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent(relativePath).path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
