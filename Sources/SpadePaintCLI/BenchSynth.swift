import ArgumentParser
import Foundation
import SpadeModel

/// `spadepaint bench synth`: the inference engine's latencies (full frame, one-cell dab, ~1% dab,
/// restyle) for the ADE20K configuration, ADE20K + VAE and the default model, with PyTorch's full frame
/// on the same weights when PyTorch is importable.
struct BenchSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Inference engine latencies (full frame, dabs, restyle) next to sgemm and PyTorch.")

    @Option(help: "Write the figures as one JSON object to this file.")
    var json: String?

    @Option(help: "Worker threads (default: all cores); PyTorch gets the same.")
    var threads: Int?

    @Option(help: "One-cell dabs to time (median).")
    var cellDabs = 50

    @Option(help: "26x26 dabs to time (median).")
    var largeDabs = 30

    @Option(help: "Restyles (new z) to time for the VAE models (median).")
    var restyles = 20

    @Option(help: "Only these cases (comma-separated: ade20k, ade20k_vae, default).")
    var cases: String?

    @Flag(help: "Skip the PyTorch comparison.")
    var noTorch = false

    @Flag(help: "Also print where the time goes: a full frame per block and stage, a ~1% dab and a restyle per block.")
    var profile = false

    @Option(help: "The PyTorch timing script.")
    var torchScript = "Tests/fixtures/bench_torch_synth.py"

    func run() throws {
        if let threads { Parallel.threads = threads }
        var options = SynthBenchmark.Options()
        options.cellDabs = max(1, cellDabs)
        options.largeDabs = max(1, largeDabs)
        options.restyles = max(1, restyles)
        options.profile = profile
        if !noTorch {
            if !FileManager.default.fileExists(atPath: torchScript) {
                print("PyTorch: script \(torchScript) not found (run from the repository root or pass --torch-script)")
            } else if SynthBenchmark.torchAvailable() {
                options.torchScript = torchScript
            }
        }
        var defaultConfig = DefaultModel.config
        if let path = DefaultModel.checkpointPath(), let stored = try GeneratorCheckpoint.storedConfig(in: SafeTensorsFile(path: path)) {
            defaultConfig = stored
        }
        var selected = SynthBenchmark.standardCases(defaultModel: defaultConfig)
        if let cases {
            let keys = cases.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            for k in keys where !selected.contains(where: { $0.key == k }) {
                throw ValidationError("unknown case '\(k)' (ade20k, ade20k_vae, default)")
            }
            selected = selected.filter { keys.contains($0.key) }
        }
        let result = try SynthBenchmark.runAll(selected, options: options) { print($0); fflush(stdout) }
        if let json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(data, to: json)
            print("wrote \(json)")
        }
    }
}
