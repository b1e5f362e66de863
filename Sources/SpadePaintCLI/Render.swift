import ArgumentParser
import Foundation
import SpadeImaging
import SpadeModel

extension UpsamplingMode: ExpressibleByArgument {}

/// `spadepaint render LABEL.png -o OUT.png`: one picture from one label map through the eval-mode
/// generator, saved as the reference saves its results.
struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a label map (index PNG) into a picture with a SPADE generator checkpoint.",
        discussion: """
            The generator runs in eval mode (BatchNorm running statistics, stored spectral-norm vectors) and \
            the picture is (x+1)/2·255 truncated, as the reference's test.py saves it. The label map may have \
            any size: each layer resizes it (nearest) to its own resolution; the picture has the model's size.
            """)

    @Argument(help: "Label map: an index PNG (gray or palette type); 255 = don't care.")
    var labels: String

    @Option(name: .shortAndLong, help: "Output PNG.")
    var output: String

    @Option(help: "Generator checkpoint (safetensors; default: Checkpoints/landscape.safetensors).")
    var checkpoint: String?

    @Option(help: "Seed of z for VAE models.")
    var seed: UInt64 = 0

    @Option(help: "z for VAE models: a safetensors file with one F32 tensor of z_dim values (named 'z' if it holds several).")
    var z: String?

    @Option(help: "Configuration preset (ade20k, coco, cityscapes) for a checkpoint without stored configuration.")
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
        let checkpointPath = checkpoint ?? DefaultModel.checkpointPath() ?? DefaultModel.checkpointName
        guard FileManager.default.fileExists(atPath: checkpointPath) else {
            throw ValidationError(checkpoint == nil
                ? "no checkpoint given and no default model at \(checkpointPath); pass --checkpoint FILE.safetensors"
                : "\(checkpointPath): no such file")
        }
        var override: SPADEConfig? = nil
        if let preset {
            guard let p = SPADEConfig.preset(named: preset) else {
                throw ValidationError("unknown preset '\(preset)' (ade20k, coco, cityscapes)")
            }
            override = p
        }
        if let upsampling {
            var c = try override ?? GeneratorCheckpoint.storedConfig(in: SafeTensorsFile(path: checkpointPath))
                ?? { throw ValidationError("\(checkpointPath) stores no configuration; give --preset as well") }()
            c.numUpsamplingLayers = upsampling
            override = c
        }
        let start = Date()
        let loaded = try GeneratorCheckpoint.load(path: checkpointPath, config: override)
        let generator = loaded.generator
        let config = generator.config

        // Index PNGs are read as they are (the model checks the range, with 255 as don't care); a palette
        // (--palette, else the checkpoint's) is only needed to decode a colour-coded map.
        let map: LabelMap
        if let palette {
            map = try readLabelMap(labels, palette: Palette.load(named: palette))
        } else {
            do {
                map = try readLabelMap(labels, palette: nil)
            } catch ImagingError.paletteRequired {
                guard let name = loaded.palette else {
                    throw ValidationError("\(labels) is colour-coded and the checkpoint names no palette; pass --palette")
                }
                map = try readLabelMap(labels, palette: Palette.load(named: name))
            }
        }
        var instanceIDs: [Int]? = nil
        if let instance {
            let inst = try readLabelMap(instance, palette: nil)
            guard inst.width == map.width && inst.height == map.height else {
                throw ValidationError("\(instance): instance map is \(inst.width)x\(inst.height), the label map \(map.width)x\(map.height)")
            }
            instanceIDs = inst.labels.map { Int($0) }
        }
        var zTensor: Tensor? = nil
        if config.useVAE {
            if let z {
                zTensor = try Self.readZ(z, zDim: config.zDim)
            } else {
                var rng = RandomGenerator(seed: seed)
                zTensor = generator.sampleZ(batch: 1, rng: &rng)
            }
        } else if z != nil {
            throw ValidationError("--z given, but the checkpoint's model does not use a VAE (use_vae false)")
        }
        let loadTime = Date().timeIntervalSince(start)
        let picture: Tensor
        if instanceIDs == nil {
            // The inference engine: folded weights, one-hot gathers, both cores (same picture as forward).
            let engine = InferenceEngine(generator: generator)
            try engine.setLabels(map.labels, width: map.width, height: map.height, source: labels)
            if config.useVAE { try engine.setStyle(z: zTensor) }
            picture = engine.render()!
        } else {
            // A separate instance map feeds the edge channel, which the engine derives from the labels itself.
            let onehot = try LabelEncoding.oneHot(map.labels, height: map.height, width: map.width, config: config,
                                                  instances: instanceIDs, source: labels)
            picture = generator.forward(labels: onehot, z: zTensor, training: false)
        }
        let (h, w) = config.outputSize
        try writePNG(RGBImage(width: w, height: h, pixels: GeneratorOutput.rgbBytes(picture)), to: output)
        FileHandle.standardError.write(Data(String(format: "rendered %dx%d from %dx%d labels in %.2f s (loading %.2f s) -> %@\n",
                                                   w, h, map.width, map.height, Date().timeIntervalSince(start) - loadTime,
                                                   loadTime, output).utf8))
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
