import ArgumentParser
import Foundation
import SpadeImaging
import SpadeModel

extension UpsamplingMode: ExpressibleByArgument {}

/// `spadepaint render`: pictures from label maps through the eval-mode generator, saved as the reference
/// saves its results. One file or a whole folder; the style from a seed, a saved code or a reference photo.
struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render label maps (index or palette-colour PNGs) into pictures with a SPADE model.",
        discussion: """
            LABELS is a PNG (then -o names the output PNG) or a folder of PNGs (then -o names the output folder; \
            each picture keeps its label map's file name). The generator runs in eval mode (BatchNorm running \
            statistics, stored spectral-norm vectors) and pictures are (x+1)/2·255 truncated, as the reference's \
            test.py saves them. Label maps may have any size: each layer resizes them (nearest) to its own \
            resolution; the picture has the model's size (or --size for models whose first layer is a conv).
            Style (VAE models): --style REF.png (the encoder's μ of REF), --z CODE.safetensors (from \
            `spadepaint encode`), or a random z from --seed (a blend of two codes of the model's style bank, \
            CHECKPOINT-styles.safetensors, when it has one; else N(0, I)). With --style, each class of the picture then takes \
            the mean and spread of its colours in REF, as the segmenter labels REF (--no-colour-match: the \
            encoder's code only); a --z file from `encode` carries those colours too.
            """)

    @Argument(help: "A label map PNG, or a folder of them.")
    var labels: String

    @Option(name: .shortAndLong, help: "Output PNG (or folder, for a folder of label maps).")
    var output: String

    @Option(help: "Model (safetensors; default: the shipped landscape model).")
    var checkpoint: String?

    @Option(help: "Seed of a random z for VAE models.")
    var seed: UInt64 = 0

    @Option(help: "z for VAE models: a safetensors file with z_dim values (named 'z' if it holds several).")
    var z: String?

    @Option(help: "Reference photo (PNG or JPEG) whose style (encoder μ, then its class colours) every picture takes; VAE models with an encoder.")
    var style: String?

    @OptionGroup var colourMatch: ColourMatchOptions

    @OptionGroup var styleBank: StyleBankOptions

    @Option(help: "Output size WxH for models whose first layer reads the label map (not VAE models).")
    var size: String?

    @Option(help: "Configuration preset (ade20k, coco, cityscapes, landscape) for a checkpoint without stored configuration.")
    var preset: String?

    @Option(help: "Override the upsampling mode (normal, more, most); a checkpoint cannot tell normal from more.")
    var upsampling: UpsamplingMode?

    @Option(help: "Instance map (index PNG) for models with an instance-edge channel; default: the label map's own boundaries.")
    var instance: String?

    @Option(help: "Palette (name or .palette path) to read colour-coded label maps; default: the checkpoint's palette.")
    var palette: String?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func run() throws {
        if let threads { Parallel.threads = threads }
        guard let checkpointPath = checkpoint ?? DefaultModel.checkpointPath() else {
            throw ValidationError("no checkpoint given and no default model at \(DefaultModel.checkpointName); pass --checkpoint FILE.safetensors")
        }
        guard FileManager.default.fileExists(atPath: checkpointPath) else {
            throw ValidationError("\(checkpointPath): no such file")
        }
        let start = Date()
        let model = try PaintingModel.load(path: checkpointPath, config: try configOverride(checkpointPath))
        let generator = model.generator
        let config = generator.config
        let (zTensor, colours) = try styleCode(model)
        let jobs = try renderJobs()
        if instance != nil && jobs.count > 1 {
            throw ValidationError("--instance goes with a single label map, not a folder")
        }
        let loadTime = Date().timeIntervalSince(start)
        let engine = InferenceEngine(generator: generator)
        if config.useVAE { try engine.setStyle(z: zTensor) }
        let (h, w) = config.outputSize
        for (input, outputPath) in jobs {
            let began = Date()
            let map = try readLabels(input, checkpointPalette: model.palette)
            let picture: Tensor
            if let instance {
                // A separate instance map feeds the edge channel, which the engine derives from the labels itself.
                let inst = try readLabelMap(instance, palette: nil)
                guard inst.width == map.width && inst.height == map.height else {
                    throw ValidationError("\(instance): instance map is \(inst.width)x\(inst.height), the label map \(map.width)x\(map.height)")
                }
                let onehot = try LabelEncoding.oneHot(map.labels, height: map.height, width: map.width, config: config,
                                                      instances: inst.labels.map { Int($0) }, source: input)
                picture = generator.forward(labels: onehot, z: zTensor, training: false)
            } else {
                // The inference engine: folded weights, one-hot gathers, both cores (same picture as forward).
                try engine.setLabels(map.labels, width: map.width, height: map.height, source: input)
                picture = engine.render()!
            }
            var pixels = GeneratorOutput.rgbBytes(picture)
            if let colours {
                let labels = ReferenceColourMatch.labels(map.labels, width: map.width, height: map.height, toWidth: w, toHeight: h)
                pixels = colours.apply(rgb: pixels, labels: labels)
            }
            try writePNG(RGBImage(width: w, height: h, pixels: pixels), to: outputPath)
            FileHandle.standardError.write(Data(String(format: "rendered %dx%d from %@ (%dx%d) in %.2f s -> %@\n", w, h, input,
                                                       map.width, map.height, Date().timeIntervalSince(began), outputPath).utf8))
        }
        FileHandle.standardError.write(Data(String(format: "%d picture(s); model loaded in %.2f s\n", jobs.count, loadTime).utf8))
    }

    /// (label map, output picture) pairs: one file, or every PNG of a folder into the output folder.
    func renderJobs() throws -> [(String, String)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: labels, isDirectory: &isDirectory) else {
            throw ValidationError("\(labels): no such file or folder")
        }
        guard isDirectory.boolValue else { return [(labels, output)] }
        let names = try FileManager.default.contentsOfDirectory(atPath: labels)
            .filter { $0.lowercased().hasSuffix(".png") }.sorted()
        guard !names.isEmpty else { throw ValidationError("\(labels): no PNG label maps in this folder") }
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("\(output): cannot create the output folder: \(error.localizedDescription)")
        }
        return names.map { ((labels as NSString).appendingPathComponent($0), (output as NSString).appendingPathComponent($0)) }
    }

    /// Index PNGs are read as they are (the model checks the range, with 255 as don't care); a palette
    /// (--palette, else the checkpoint's) is only needed to decode a colour-coded map.
    func readLabels(_ path: String, checkpointPalette: String?) throws -> LabelMap {
        if let palette { return try readLabelMap(path, palette: Palette.load(named: palette)) }
        do {
            return try readLabelMap(path, palette: nil)
        } catch ImagingError.paletteRequired {
            guard let name = checkpointPalette else {
                throw ValidationError("\(path) is colour-coded and the checkpoint names no palette; pass --palette")
            }
            return try readLabelMap(path, palette: Palette.load(named: name))
        }
    }

    /// --preset, --upsampling and --size change the configuration the checkpoint is loaded with.
    func configOverride(_ checkpointPath: String) throws -> SPADEConfig? {
        var override: SPADEConfig? = nil
        if let preset {
            guard let p = SPADEConfig.preset(named: preset) else {
                throw ValidationError("unknown preset '\(preset)' (ade20k, coco, cityscapes, landscape)")
            }
            override = p
        }
        guard upsampling != nil || size != nil else { return override }
        var c = try override ?? GeneratorCheckpoint.storedConfig(in: SafeTensorsFile(path: checkpointPath))
            ?? { throw ValidationError("\(checkpointPath) stores no configuration; give --preset as well") }()
        if let upsampling { c.numUpsamplingLayers = upsampling }
        if let size {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            let step = 1 << c.numUpsamplingLayers.upsamplings
            guard parts.count == 2, parts[0] > 0, parts[1] > 0, parts[0] % step == 0, parts[1] % step == 0 else {
                throw ValidationError("--size \(size): give WxH with both sides multiples of \(step) for this model")
            }
            guard !c.useVAE else {
                throw ValidationError("--size: this model's first layer maps z to a fixed \(c.latentSize.width)x\(c.latentSize.height) grid, so its output size is fixed at \(c.outputSize.width)x\(c.outputSize.height)")
            }
            c.cropSize = parts[0]
            c.aspectRatio = Double(parts[0]) / Double(parts[1])
        }
        return c
    }

    /// z for VAE models from --style, --z or --seed (nil for models without a VAE), and with --style the
    /// reference's class colours (unless the colour match is off).
    func styleCode(_ model: PaintingModel.Loaded) throws -> (Tensor?, ReferenceColourMatch?) {
        let config = model.generator.config
        guard config.useVAE else {
            if z != nil || style != nil {
                throw ValidationError("--z/--style given, but this model does not use a VAE (use_vae false): its style is fixed")
            }
            return (nil, nil)
        }
        if z != nil && style != nil { throw ValidationError("give --z or --style, not both") }
        if let style {
            guard let encoder = model.encoder else {
                throw ValidationError("\(model.path): this model has no style encoder, so --style cannot be used; try --seed")
            }
            let photo = try readRGB(style)
            let code = encoder.styleCode(rgb: photo.pixels, width: photo.width, height: photo.height)
            let colours = try colourMatch.segmenter(classes: config.labelNC, palette: model.palette).map {
                ReferenceColourMatch(referenceRGB: photo.pixels, width: photo.width, height: photo.height, segmenter: $0)
            }
            return (code, colours)
        }
        if let z {
            // A style file from `encode` may carry the photo's class colours as well.
            let colours = colourMatch.noColourMatch ? nil : try ReferenceColourMatch.stored(in: SafeTensorsFile(path: z))
            if let colours, colours.reference.classes != config.labelNC {
                throw ValidationError("\(z): its class colours are for \(colours.reference.classes) classes, the model has \(config.labelNC)")
            }
            return (try Self.readZ(z, zDim: config.zDim), colours)
        }
        var rng = RandomGenerator(seed: seed)
        if let bank = try styleBank.bank(checkpoint: model.path, zDim: config.zDim) {
            return (bank.sample(batch: 1, rng: &rng), nil)
        }
        return (model.generator.sampleZ(batch: 1, rng: &rng), nil)
    }

    /// z from a safetensors file: its only tensor, or the one named "z"; z_dim values (shape [z_dim] or [1, z_dim]).
    static func readZ(_ path: String, zDim: Int) throws -> Tensor {
        let file = try SafeTensorsFile(path: path)
        let name = file.contains("z") ? "z" : (file.names.count == 1 ? file.names[0] : nil)
        guard let name else {
            throw ValidationError("\(path): holds \(file.names.count) tensors and none is named 'z'")
        }
        let values = try file.floats(name)
        guard values.count == zDim else {
            throw ValidationError("\(path): tensor '\(name)' has \(values.count) values, the model's z_dim is \(zDim)")
        }
        return Tensor(shape: [1, zDim], data: values)
    }
}
