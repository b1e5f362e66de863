import Foundation

/// The model spadepaint ships: `Checkpoints/landscape.safetensors`, trained on the landscape world with
/// the `landscape` palette (15 classes, no don't-care, no instance edges) and the VAE encoder so a photo
/// can set the style. Until that file exists, the painter runs a randomly initialised generator of
/// `config` and says so.
public enum DefaultModel {
    public static let checkpointName = "Checkpoints/landscape.safetensors"
    public static let paletteName = "landscape"

    /// The configuration a default model is trained with: a narrower generator than the reference
    /// (ngf 32, SPADE hidden width 64) so that a full 256×256 frame stays interactive on a 2-core CPU.
    /// A checkpoint's own stored configuration always wins over this.
    public static let config = SPADEConfig(labelNC: 15, containDontcareLabel: false, noInstance: true, ngf: 32, zDim: 256,
                                           cropSize: 256, aspectRatio: 1, numUpsamplingLayers: .normal,
                                           normG: "spectralspadesyncbatch3x3", useVAE: true, spadeHidden: 64)

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
