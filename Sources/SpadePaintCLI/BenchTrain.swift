import ArgumentParser
import Foundation
import SpadeModel

/// `spadepaint bench train`: training throughput (images/s) of a configuration next to PyTorch running
/// the same architecture, losses and iteration order on the CPU with the same thread count.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training images/s for a configuration, next to PyTorch on the same CPU and threads.")

    @Option(help: "Configuration: landscape (the default model's), ade20k, coco-stuff, cityscapes.")
    var preset = "landscape"
    @Option(name: .customLong("batch-size")) var batchSize = 1
    @Option(help: "Timed iterations (after one warm-up).") var iterations = 3
    @Option(help: "Discriminator width (default 32 for landscape, else 64).") var ndf: Int?
    @Option(name: .customLong("n-layers-d")) var nLayersD: Int?
    @Option(help: "Worker threads (default: all cores); PyTorch gets the same.") var threads: Int?
    @Option(help: "Rounds, alternating spadepaint and PyTorch; the best round of each is compared.") var rounds = 3
    @Flag(help: "Skip the PyTorch comparison.") var noTorch = false
    @Option(help: "The PyTorch script.") var torchScript = "Tests/fixtures/bench_torch_train.py"

    func run() throws {
        if let threads { Parallel.threads = threads }
        guard let config = SPADEConfig.preset(named: preset) else { throw ValidationError("unknown preset '\(preset)'") }
        let small = preset == "landscape"
        var options = TrainingOptions()
        options.vggLoss = false  // no VGG weights ship with spadepaint; PyTorch runs without it too
        options.discriminatorWidth = ndf ?? (small ? 32 : 64)
        options.discriminatorLayers = nLayersD ?? (small ? 3 : 4)
        let (h, w) = config.outputSize
        print("configuration \(preset): \(w)x\(h), ngf \(config.ngf), \(config.normG), hidden \(config.spadeHidden), VAE \(config.useVAE); D ndf \(options.discriminatorWidth), \(options.discriminatorLayers) layers; batch \(batchSize); threads \(Parallel.threads); OpenBLAS kernels \(OpenBLASKernels.coreName)")
        // Rounds alternate spadepaint and PyTorch so that a changing load on a shared machine hits both alike;
        // the summary compares each side's best round.
        var ours: [TrainBenchmark.Result] = []
        var theirs: [Double] = []
        var torchUsable = !noTorch
        if torchUsable && !FileManager.default.fileExists(atPath: torchScript) {
            print("PyTorch: \(torchScript) not found (run from the repository root or pass --torch-script)")
            torchUsable = false
        }
        for round in 1...max(1, rounds) {
            let result = try TrainBenchmark.run(config: config, options: options, batchSize: batchSize, iterations: max(1, iterations))
            ours.append(result)
            print(String(format: "round %d  spadepaint: %.3f images/s (%.2f s per iteration)", round, result.imagesPerSecond, result.secondsPerIteration))
            guard torchUsable else { continue }
            if let torch = try torchImagesPerSecond(config: config, options: options) {
                theirs.append(torch)
                print(String(format: "round %d  PyTorch:    %.3f images/s (%.2f s per iteration)", round, torch, Double(batchSize) / torch))
            } else {
                print("PyTorch: not available or failed; skipped")
                torchUsable = false
            }
        }
        let bestOurs = ours.map(\.imagesPerSecond).max()!
        print(String(format: "best       spadepaint: %.3f images/s (%.2f s per iteration)", bestOurs, Double(batchSize) / bestOurs))
        guard let bestTheirs = theirs.max() else { return }
        print(String(format: "best       PyTorch:    %.3f images/s (%.2f s per iteration)", bestTheirs, Double(batchSize) / bestTheirs))
        print(String(format: "ratio:      %.2fx PyTorch's images/s (best rounds)", bestOurs / bestTheirs))
    }

    /// Runs the PyTorch script once; its images/s, or nil when PyTorch is missing or fails.
    private func torchImagesPerSecond(config: SPADEConfig, options: TrainingOptions) throws -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", torchScript, "--config", config.jsonString(), "--ndf", "\(options.discriminatorWidth)",
                             "--n-layers-d", "\(options.discriminatorLayers)", "--num-d", "\(options.discriminatorScales)",
                             "--batch", "\(batchSize)", "--iterations", "\(max(1, iterations))", "--threads", "\(Parallel.threads)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(data: output, encoding: .utf8)?.split(separator: "\n").last,
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double] else { return nil }
        return json["images_per_second"]
    }
}
