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

    /// Where the shipped checkpoint is: next to the executable's package (…/Checkpoints, found from the
    /// executable's directory upwards) or in the current directory. Nil when it does not exist.
    public static func checkpointPath() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/" + checkpointName]
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent(checkpointName).path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
