import ArgumentParser
import Foundation
import SpadeModel

/// `spadepaint bench generator`: eval-mode forward time of a full-size generator (random weights; the
/// cost does not depend on their values), next to a 2048³ sgemm's GFLOP/s taken in the same run.
struct BenchGenerator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generator",
        abstract: "Time the eval-mode SPADE generator on one label map (random weights).")

    @Option(help: "Configuration preset: ade20k, coco or cityscapes.")
    var preset = "ade20k"

    @Option(help: "Timed forward passes (after one warm-up pass).")
    var repeats = 3

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func run() throws {
        if let threads { Parallel.threads = threads }
        guard let config = SPADEConfig.preset(named: preset) else {
            throw ValidationError("unknown preset '\(preset)' (ade20k, coco, cityscapes)")
        }
        var rng = RandomGenerator(seed: 1)
        let generator = try SPADEGenerator(config: config, rng: &rng)
        let (h, w) = config.labelMapSize
        var labels = [UInt8](repeating: 0, count: h * w)
        for i in 0..<labels.count { labels[i] = UInt8((i / w / 16 * 7 + i % w / 16 * 3) % config.labelNC) }
        let onehot = try LabelEncoding.oneHot(labels, height: h, width: w, config: config)
        let z = config.useVAE ? generator.sampleZ(batch: 1, rng: &rng) : nil

        var c = [Float](repeating: 0, count: 2048 * 2048)
        let a = [Float](repeating: 0.5, count: 2048 * 2048)
        let t0 = Date()
        BLAS.multiply(m: 2048, n: 2048, k: 2048, a: a, b: a, c: &c)
        let gemmGflops = 2 * pow(2048.0, 3) / Date().timeIntervalSince(t0) / 1e9

        _ = generator.forward(labels: onehot, z: z, training: false)
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = Date()
            _ = generator.forward(labels: onehot, z: z, training: false)
            times.append(Date().timeIntervalSince(start))
        }
        times.sort()
        print(String(format: "generator %@ %dx%d, %d threads: eval forward min %.2f s, median %.2f s (%d runs); baseline sgemm 2048^3 %.1f GFLOP/s",
                     preset, config.outputSize.width, config.outputSize.height, Parallel.threads, times[0],
                     times[times.count / 2], times.count, gemmGflops))
    }
}
