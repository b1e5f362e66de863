import ArgumentParser
import Foundation
import SpadeModel

/// Where random styles come from (render --seed, the painter's first style and its N key, eval --z bank):
/// a style bank (`StyleBank`), or N(0, I) as in the reference.
struct StyleBankOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Random styles are blends of this file's style codes (from `spadepaint encode FOLDER`); 'none': z ~ N(0, I).",
        discussion: "Default: CHECKPOINT-styles.safetensors beside the model when it exists, else N(0, I)."))
    var styleBank: String?

    /// The bank for the model at `checkpoint` with `zDim`, or nil for N(0, I). A named file must exist; a
    /// companion file that exists must be valid (a broken one is an error, not a silent fallback).
    func bank(checkpoint: String, zDim: Int) throws -> StyleBank? {
        if styleBank == "none" { return nil }
        if let path = styleBank {
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path): no such style bank") }
            return try StyleBank.load(path: path, zDim: zDim)
        }
        let companion = StyleBank.companionPath(ofCheckpoint: checkpoint)
        guard FileManager.default.fileExists(atPath: companion) else { return nil }
        return try StyleBank.load(path: companion, zDim: zDim)
    }

    /// The bank where one is required (`eval --z bank`): as `bank`, but no bank at all is an error.
    func requiredBank(checkpoint: String, zDim: Int) throws -> StyleBank {
        if styleBank == "none" { throw ValidationError("--z bank and --style-bank none contradict each other") }
        guard let bank = try bank(checkpoint: checkpoint, zDim: zDim) else {
            throw ValidationError("--z bank: \(checkpoint) has no style bank (\(StyleBank.companionPath(ofCheckpoint: checkpoint))); pass --style-bank FILE")
        }
        return bank
    }
}
