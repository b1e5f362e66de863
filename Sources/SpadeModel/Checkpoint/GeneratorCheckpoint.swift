import Foundation

/// A generator checkpoint: the generator's tensors under their reference names (no prefix, as in a
/// converted `latest_net_G.pth`) and, in `__metadata__`, the configuration JSON (`spade_config`) and the
/// palette name (`palette`).
public enum GeneratorCheckpoint {
    public static let configKey = "spade_config"
    public static let paletteKey = "palette"

    public struct Loaded {
        public let generator: SPADEGenerator
        public let palette: String?
    }

    /// Saves atomically; `prefix` places the tensors inside a larger checkpoint's namespace.
    public static func save(_ generator: SPADEGenerator, palette: String?, to path: String,
                            extraMetadata: [String: String] = [:]) throws {
        var metadata = extraMetadata
        metadata[configKey] = generator.config.jsonString()
        if let palette { metadata[paletteKey] = palette }
        try StateDict.save([StateDict.Part(generator)], metadata: metadata, to: path)
    }

    /// Reads the configuration stored in a checkpoint (nil when the file has none).
    public static func storedConfig(in file: SafeTensorsFile) throws -> SPADEConfig? {
        guard let json = file.metadata[configKey] else { return nil }
        do {
            return try SPADEConfig.fromJSON(json)
        } catch {
            throw CheckpointError(file: file.path, problem: "bad '\(configKey)' metadata: \(error)")
        }
    }

    /// Builds the generator the file describes and loads it strictly. `config` overrides (or stands in for)
    /// the stored configuration — needed for files without metadata, and for the upsampling mode, which the
    /// tensors cannot tell (`normal` and `more` have identical shapes).
    public static func load(path: String, config override: SPADEConfig? = nil, prefix: String = "") throws -> Loaded {
        let file = try SafeTensorsFile(path: path)
        guard let config = try override ?? storedConfig(in: file) else {
            throw CheckpointError(file: path, problem: "no '\(configKey)' entry in the metadata; give the model configuration explicitly (e.g. a preset)")
        }
        var rng = RandomGenerator(seed: 0)
        let generator: SPADEGenerator
        do {
            generator = try SPADEGenerator(config: config, rng: &rng, initialize: false)
        } catch {
            throw CheckpointError(file: path, problem: "\(error)")
        }
        try StateDict.load(generator, from: file, prefix: prefix, ignoring: [PaintingModel.encoderPrefix])
        return Loaded(generator: generator, palette: file.metadata[paletteKey])
    }
}
