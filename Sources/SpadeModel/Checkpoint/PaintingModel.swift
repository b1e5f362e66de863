import Foundation

/// The file the painter, `render` and `eval` use: one safetensors file with the generator under its
/// reference names (exactly a converted `latest_net_G.pth`) and, for VAE models, the style encoder under
/// `netE.` — so one file carries everything `--style` needs. In PyTorch:
/// `G.load_state_dict({k: v for k, v in f.items() if not k.startswith("netE.")})`, and the `netE.` entries
/// with the prefix removed for the encoder.
public enum PaintingModel {
    public static let encoderPrefix = "netE."

    public struct Loaded {
        public let generator: SPADEGenerator
        public let encoder: ConvEncoder?
        public let palette: String?
        public let path: String
    }

    public static func save(generator: SPADEGenerator, encoder: ConvEncoder?, palette: String?, to path: String,
                            extraMetadata: [String: String] = [:]) throws {
        var metadata = extraMetadata
        metadata[GeneratorCheckpoint.configKey] = generator.config.jsonString()
        if let palette { metadata[GeneratorCheckpoint.paletteKey] = palette }
        var parts = [StateDict.Part(generator)]
        if let encoder { parts.append(StateDict.Part(encoder, prefix: encoderPrefix)) }
        try StateDict.save(parts, metadata: metadata, to: path)
    }

    /// Loads the generator strictly and the encoder when the file has one (VAE models).
    public static func load(path: String, config: SPADEConfig? = nil) throws -> Loaded {
        let loaded = try GeneratorCheckpoint.load(path: path, config: config)
        let file = try SafeTensorsFile(path: path)
        var encoder: ConvEncoder?
        if file.names.contains(where: { $0.hasPrefix(encoderPrefix) }) {
            let g = loaded.generator.config
            var rng = RandomGenerator(seed: 0)
            // The names tell the encoder's norm (a PyTorch `--norm_E spectralnone` model has no `.0`).
            let norm = try ConvEncoder.Norm.stored(in: file.names, prefix: encoderPrefix) ?? g.encoderNorm()
            let e = ConvEncoder(ndf: g.ngf, zDim: g.zDim, norm: norm, rng: &rng, initialize: false)
            try StateDict.load(e, from: file, prefix: encoderPrefix)
            encoder = e
        }
        return Loaded(generator: loaded.generator, encoder: encoder, palette: loaded.palette, path: path)
    }
}
