import ArgumentParser
import Foundation
import SpadeImaging
import SpadeModel

/// `spadepaint encode REF.png -o style.safetensors`: the style code (encoder μ) of a reference photo and its
/// class colours (the colour match of `--style`), for `spadepaint render --z style.safetensors`.
struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a reference photo (PNG or JPEG) into a style code for VAE models.")

    @Argument(help: "Reference photo (PNG or JPEG).") var reference: String
    @Option(name: .shortAndLong, help: "Output safetensors file holding 'z' [1, z_dim] and the photo's class colour statistics.") var output: String
    @OptionGroup var colourMatch: ColourMatchOptions
    @Option(help: "Painting model with an encoder (default: the shipped landscape model).") var checkpoint: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        if let threads { Parallel.threads = threads }
        guard let path = checkpoint ?? DefaultModel.checkpointPath() else {
            throw ValidationError("no checkpoint given and no default model (\(DefaultModel.checkpointName)); pass --checkpoint")
        }
        let model = try PaintingModel.load(path: path)
        guard let encoder = model.encoder else {
            throw ValidationError("\(path): this model has no style encoder (it was not trained with --use-vae)")
        }
        let photo = try readRGB(reference)
        let z = encoder.styleCode(rgb: photo.pixels, width: photo.width, height: photo.height)
        var writer = SafeTensorsWriter(metadata: ["source": reference, "checkpoint": path, "kind": "spadepaint style code (encoder mu)"])
        try writer.add("z", floats: z.data, shape: z.shape)
        let segmenter = try colourMatch.segmenter(classes: model.generator.config.labelNC, palette: model.palette)
        if let segmenter {
            try ReferenceColourMatch(referenceRGB: photo.pixels, width: photo.width, height: photo.height, segmenter: segmenter)
                .add(to: &writer)
        }
        try writer.write(to: output)
        FileHandle.standardError.write(Data("style code\(segmenter == nil ? "" : " and class colours") of \(reference) (z_dim \(z.count)) -> \(output)\n".utf8))
    }
}
