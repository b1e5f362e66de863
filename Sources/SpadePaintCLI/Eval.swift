import ArgumentParser
import Foundation
import SpadeImaging
import SpadeModel
import SpadeTrainer

/// `spadepaint eval`: how well generated pictures show what their label maps asked for, judged by the
/// landscape segmenter, next to the same segmenter on the real pictures.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a generator: segmenter mIoU / pixel accuracy on its pictures vs. the real ones, and a feature Fréchet distance.",
        discussion: """
            For every label map of --data (a paired folder, e.g. from `spadepaint synth`) the eval-mode generator \
            makes a picture; the segmenter labels it and the real picture, and both are scored against the label \
            map. The real pictures' scores are the upper bound. The Fréchet distance is computed on the \
            segmenter's pooled features of the generated vs. the real pictures: it is not Inception FID.
            VAE models take z from the encoder (μ of the real picture) unless --z random is given.
            --baseline mean-colour evaluates the trivial baseline that paints each class in its mean colour.
            Examples:
              spadepaint synth --count 200 --size 256x256 --seed 202 --out data/heldout
              spadepaint eval --data data/heldout
              spadepaint eval --data data/heldout --baseline mean-colour --json baseline.json
            """)

    enum Baseline: String, ExpressibleByArgument, CaseIterable {
        case meanColour = "mean-colour"
    }

    enum ZChoice: String, ExpressibleByArgument, CaseIterable {
        case encoder, random, bank
    }

    @Option(help: "Generator checkpoint (default: \(DefaultModel.checkpointName)).") var checkpoint: String?
    @Option(help: "Paired dataset directory (images/ + labels/).") var data: String
    @Option(help: "Segmenter checkpoint (default: \(DefaultModel.segmenterName)).") var segmenter: String?
    @Option(help: "Evaluate the first N pairs (default: all).") var count: Int?
    @Option(help: "Evaluate a baseline instead of a generator: mean-colour.") var baseline: Baseline?
    @Option(help: "Picture side for the baseline (the generator's own size is used otherwise).") var size = 256
    @Option(help: "z of VAE models: encoder (μ of each real picture), random (N(0, I)) or bank (blends of style-bank codes).")
    var z: ZChoice = .encoder
    @Option(help: "Seed of the random z.") var seed: UInt64 = 0
    @OptionGroup var styleBank: StyleBankOptions
    @Option(help: "Palette (name or .palette path); default: the segmenter's.") var palette: String?
    @Option(help: "Also write the report as JSON to this file.") var json: String?
    @Option(help: "Label maps per batch.") var batch = 4
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    /// The file named by an option, or the shipped default when the option is absent; an error naming the
    /// path (worded for either case) when it does not exist.
    private func existingFile(_ given: String?, default fallback: String,
                              noDefault: (String) -> String, missing: (String) -> String) throws -> String {
        let path = given ?? fallback
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError(given == nil ? noDefault(path) : missing(path))
        }
        return path
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        let segmenterPath = try existingFile(
            segmenter, default: DefaultModel.segmenterPath() ?? DefaultModel.segmenterName,
            noDefault: { "no segmenter given and none at \($0); pass --segmenter FILE or train one with `spadepaint train-seg`" },
            missing: { "\($0): no such segmenter checkpoint" })
        let loadedSegmenter = try SegmenterCheckpoint.load(path: segmenterPath)
        guard let paletteName = palette ?? loadedSegmenter.palette else {
            throw ValidationError("\(segmenterPath) names no palette; pass --palette")
        }
        let palette = try Palette.load(named: paletteName)

        let method: ModelEvaluation.Method
        if baseline == .meanColour {
            method = .meanColourBaseline(size: size)
        } else {
            let path = try existingFile(
                checkpoint, default: DefaultModel.checkpointPath() ?? DefaultModel.checkpointName,
                noDefault: { "no checkpoint given and no default model at \($0); pass --checkpoint FILE.safetensors (or --baseline mean-colour)" },
                missing: { "\($0): no such checkpoint" })
            let model = try PaintingModel.load(path: path)
            let style: ModelEvaluation.StyleSource
            switch z {
            case .encoder: style = .encoderMean
            case .random: style = .random(seed: seed)
            case .bank: style = .bank(try styleBank.requiredBank(checkpoint: path, zDim: model.generator.config.zDim), seed: seed)
            }
            method = .generator(model, style: style)
        }
        let interactive = isatty(STDERR_FILENO) == 1
        let report = try ModelEvaluation.run(data: data, method: method, segmenter: loadedSegmenter, segmenterPath: segmenterPath,
                                             palette: palette, count: count, batchSize: batch, progress: { done, total in
            if interactive { FileHandle.standardError.write(Data("\r\(done)/\(total) label maps".utf8)) }
        })
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        print(report.text())
        if let json {
            try AtomicFile.write(ModelEvaluation.json(report), to: json)
            print("report written to \(json)")
        }
    }
}
