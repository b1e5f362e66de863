import Foundation

/// `spadepaint bench train`: images/s of the reference training iteration (G step + D step) for a
/// configuration, on random one-hot labels and images, after a warm-up iteration.
public enum TrainBenchmark {
    public struct Result {
        public var imagesPerSecond: Double
        public var secondsPerIteration: Double
        public var iterations: Int
    }

    public static func run(config: SPADEConfig, options: TrainingOptions, batchSize: Int, iterations: Int,
                           seed: UInt64 = 1) throws -> Result {
        var rng = RandomGenerator(seed: seed)
        let generator = try SPADEGenerator(config: config, rng: &rng)
        let training = SPADETraining(generator: generator, options: options, vgg: nil, rng: &rng, notice: { _ in })
        let (h, w) = config.outputSize
        // Blocky random label maps (8×8-pixel cells), like painted regions rather than noise.
        let labels = (0..<batchSize).map { _ -> [UInt8] in
            let cells = (0..<((h / 8 + 1) * (w / 8 + 1))).map { _ in UInt8(rng.next() % UInt64(config.labelChannels)) }
            return (0..<(h * w)).map { cells[($0 / w / 8) * (w / 8 + 1) + ($0 % w) / 8] }
        }
        let semantics = try LabelEncoding.oneHot(batch: labels, height: h, width: w, config: config)
        let images = rng.uniformTensor([batchSize, 3, h, w], low: -1, high: 1)
        training.iterate(semantics: semantics, real: images, rng: &rng)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { training.iterate(semantics: semantics, real: images, rng: &rng) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(imagesPerSecond: Double(iterations * batchSize) / seconds,
                      secondsPerIteration: seconds / Double(iterations), iterations: iterations)
    }
}
