import Foundation

/// A segmenter checkpoint: the network's tensors (no prefix) and, in `__metadata__`, its configuration
/// JSON (`segmenter_config`), the palette it labels (`palette`), the class count (`classes`, so a
/// mismatch is clear without parsing JSON) and free-form training notes.
public enum SegmenterCheckpoint {
    public static let configKey = "segmenter_config"
    public static let paletteKey = "palette"
    public static let classesKey = "classes"

    public struct Loaded {
        public let segmenter: Segmenter
        public let palette: String?
        public let metadata: [String: String]
    }

    /// Saves atomically (temporary file, then rename). Floats as F32, or F16 to halve the file.
    public static func save(_ segmenter: Segmenter, palette: String?, to path: String, halfPrecision: Bool = false,
                            extraMetadata: [String: String] = [:]) throws {
        var metadata = extraMetadata
        metadata[configKey] = segmenter.config.jsonString()
        metadata[classesKey] = String(segmenter.config.classes)
        if let palette { metadata[paletteKey] = palette }
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, entry) in segmenter.stateEntries() {
            let t = entry.tensor
            if case .buffer(let b) = entry, b.isInteger {
                try writer.add(name, int64s: t.data.map { Int64($0) }, shape: t.shape)
            } else {
                try writer.add(name, floats: t.data, shape: t.shape, as: halfPrecision ? .float16 : .float32)
            }
        }
        try writer.write(to: path)
    }

    /// Builds the segmenter the file describes and loads it strictly.
    public static func load(path: String) throws -> Loaded {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CheckpointError(file: path, problem: "no such segmenter checkpoint (train one with `spadepaint train-seg`)")
        }
        let file = try SafeTensorsFile(path: path)
        guard let json = file.metadata[configKey] else {
            throw CheckpointError(file: path, problem: "not a segmenter checkpoint: no '\(configKey)' entry in the metadata")
        }
        let config: SegmenterConfig
        do {
            config = try SegmenterConfig.fromJSON(json)
        } catch {
            throw CheckpointError(file: path, problem: "bad '\(configKey)' metadata: \(error)")
        }
        if let stated = file.metadata[classesKey], stated != String(config.classes) {
            throw CheckpointError(file: path, problem: "metadata says \(stated) classes but the configuration has \(config.classes)")
        }
        var rng = RandomGenerator(seed: 0)
        let segmenter = try Segmenter(config: config, rng: &rng)
        try StateDict.load(segmenter, from: file)
        return Loaded(segmenter: segmenter, palette: file.metadata[paletteKey], metadata: file.metadata)
    }
}
