import ArgumentParser
import SpadeModel

/// The `spadepaint` command: painting is the default subcommand; training, rendering,
/// evaluation and benchmarks are siblings that share the model module.
struct SpadePaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spadepaint",
        abstract: "Paint landscapes as class regions in a terminal and watch a SPADE generator turn them into pictures.",
        version: SpadeModelVersion.string,
        subcommands: [Paint.self, Train.self, Render.self, Encode.self, TrainSeg.self, Eval.self, Bench.self, Synth.self],
        defaultSubcommand: Paint.self
    )
}

// Before anything else: a process that must restart to get fast GEMM kernels restarts now.
OpenBLASKernels.relaunchWithBestKernelsIfNeeded()
ProcessMemory.keepFreedMemoryForReuse()
SpadePaint.main()
