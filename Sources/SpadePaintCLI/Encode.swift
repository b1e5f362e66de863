import ArgumentParser
import Foundation
import SpadeImaging
import SpadeModel

/// `spadepaint encode REF.png -o style.safetensors`: the style code (encoder μ) of a reference photo and its
/// class colours (the colour match of `--style`), for `spadepaint render --z style.safetensors`.
/// `spadepaint encode FOLDER -o MODEL-styles.safetensors`: a style bank (`StyleBank`), the codes of the
/// folder's pictures, from which random styles are drawn.
struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a reference photo (PNG or JPEG) into a style code for VAE models, or a folder of them into a style bank.",
        discussion: """
            A folder gives a style bank: 'z' [N, z_dim] holds the codes of N of its pictures (--count, spread evenly \
            over the sorted file names). Saved beside a model as NAME-styles.safetensors (for NAME.safetensors), \
            it is where render --seed, the painter's random styles and eval --z bank draw from: blends of two of \
            its codes, which the generator has seen in training, instead of N(0, I).
            Example (the shipped bank): spadepaint encode data/land2k/images --count 64 -o Checkpoints/landscape-styles.safetensors
            """)

    @Argument(help: "Reference photo (PNG or JPEG), or a folder of them for a style bank.") var reference: String
    @Option(name: .shortAndLong, help: "Output safetensors file holding 'z' [1, z_dim] and the photo's class colour statistics (a folder: 'z' [N, z_dim]).") var output: String
    @Option(help: "With a folder: how many of its pictures to encode (default: all).") var count: Int?
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
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isFolder), isFolder.boolValue {
            return try writeBank(encoder: encoder, checkpoint: path)
        }
        if count != nil { throw ValidationError("--count goes with a folder of pictures, and \(reference) is a file") }
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

    /// The style bank of the folder `reference`: the codes of `count` of its pictures, evenly spread.
    private func writeBank(encoder: ConvEncoder, checkpoint: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: reference)
            .filter { name in [".png", ".jpg", ".jpeg"].contains { name.lowercased().hasSuffix($0) } }.sorted()
        guard !names.isEmpty else { throw ValidationError("\(reference): no PNG or JPEG pictures in this folder") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        let n = min(count ?? names.count, names.count)
        var codes: [Float] = []
        for k in 0..<n {
            let photo = try readRGB((reference as NSString).appendingPathComponent(names[k * names.count / n]))
            codes += encoder.styleCode(rgb: photo.pixels, width: photo.width, height: photo.height).data
        }
        var writer = SafeTensorsWriter(metadata: ["source": reference, "checkpoint": checkpoint,
                                                  "kind": "spadepaint style bank (encoder mu of \(n) pictures)"])
        let bank = StyleBank(codes: Tensor(shape: [n, codes.count / n], data: codes))
        try bank.add(to: &writer)
        try writer.write(to: output)
        FileHandle.standardError.write(Data("style bank of \(n) pictures of \(reference) (z_dim \(bank.zDim)) -> \(output)\n".utf8))
    }
}
