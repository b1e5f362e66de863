import ArgumentParser
import SpadeModel

/// `spadepaint bench …`: benchmarks that print figures (never run as tests).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: print measured figures next to a baseline taken in the same run.",
        subcommands: [BenchConv.self, BenchCheckpoint.self, BenchGenerator.self, BenchSynth.self, BenchTrain.self])
}

struct BenchConv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "conv2d GFLOP/s for SPADE-sized 3x3 convolutions next to a 2048^3 cblas_sgemm.")

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func run() throws {
        if let threads { Parallel.threads = threads }
        ConvBenchmark.run()
    }
}
