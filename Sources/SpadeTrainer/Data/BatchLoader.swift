import Dispatch
import Foundation
import SpadeModel

/// A mini-batch ready for the networks.
public struct TrainingBatch {
    public var epoch: Int
    /// Iteration within the epoch (0-based).
    public var iteration: Int
    /// [N, semantic_nc, H, W] one-hot (+ instance edges).
    public var semantics: Tensor
    /// [N, 3, H, W] in [-1, 1].
    public var images: Tensor
    /// [N, H, W] raw label values (for sample grids and evaluation).
    public var labels: [[UInt8]]
    public var names: [String]
}

/// Where the data stream stands: enough to continue exactly after an interruption.
public struct LoaderPosition: Equatable, Codable, Sendable {
    public var epoch: Int
    public var iteration: Int
    public init(epoch: Int, iteration: Int) { self.epoch = epoch; self.iteration = iteration }
}

/// Decodes batches ahead of the training step on a background queue.
///
/// The order and augmentation are functions of (seed, epoch, position) only, so a resumed run sees
/// exactly the batches the uninterrupted run would have seen, whatever the thread timing.
public final class BatchLoader: @unchecked Sendable {
    public let dataset: PairedDataset
    public let batchSize: Int
    public let seed: UInt64
    public let training: Bool
    /// Full batches per epoch (the last partial batch is dropped in training, as the reference does).
    public let iterationsPerEpoch: Int

    private let queue = DispatchQueue(label: "spadepaint.loader")
    private let ready: DispatchSemaphore
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var buffer: [Result<TrainingBatch, Error>] = []
    private var nextToProduce: LoaderPosition
    private var stopped = false

    public init(dataset: PairedDataset, batchSize: Int, seed: UInt64, start: LoaderPosition = LoaderPosition(epoch: 0, iteration: 0),
                training: Bool = true, prefetch: Int = 3, background: Bool = true) {
        precondition(batchSize > 0)
        self.dataset = dataset
        self.batchSize = batchSize
        self.seed = seed
        self.training = training
        iterationsPerEpoch = training ? max(1, dataset.count / batchSize) : (dataset.count + batchSize - 1) / batchSize
        ready = DispatchSemaphore(value: 0)
        // Created at 0 and signalled up: libdispatch traps when a semaphore is freed below its initial value.
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<max(1, prefetch) { slots.signal() }
        nextToProduce = start
        // Without `background` the loader only serves `makeBatch(at:)` calls (e.g. a fixed sample batch).
        if background { queue.async { [weak self] in self?.produce() } }
    }

    deinit { stop() }

    public func stop() {
        lock.lock(); stopped = true; lock.unlock()
        slots.signal()
    }

    /// The next batch, waiting for the loader if it is behind.
    public func next() throws -> TrainingBatch {
        ready.wait()
        lock.lock()
        let result = buffer.removeFirst()
        lock.unlock()
        slots.signal()
        return try result.get()
    }

    /// Dataset indices of an epoch, in order: a seeded shuffle when training.
    public func order(epoch: Int) -> [Int] {
        var indices = Array(0..<dataset.count)
        guard training else { return indices }
        var rng = RandomGenerator(seed: seed &+ 0x5EED_0000 &+ UInt64(epoch) &* 0x9E37_79B9)
        for i in stride(from: indices.count - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            indices.swapAt(i, j)
        }
        return indices
    }

    public func makeBatch(at position: LoaderPosition) throws -> TrainingBatch {
        let order = order(epoch: position.epoch)
        let start = position.iteration * batchSize
        let members = (start..<min(start + batchSize, order.count)).map { order[$0] }
        let (w, h) = dataset.preprocessing.outputSize
        var images = Tensor(shape: [members.count, 3, h, w])
        var samples = [Result<Sample, Error>?](repeating: nil, count: members.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: members.count) { k in
            var rng = RandomGenerator(seed: seed ^ (UInt64(position.epoch) << 40) ^ UInt64(start + k) &* 0xA24B_AED4_963E_E407)
            let choice = dataset.preprocessing.choose(&rng, training: training)
            let result = Result { try dataset.sample(members[k], choice: choice) }
            lock.lock(); samples[k] = result; lock.unlock()
        }
        var labels: [[UInt8]] = []
        var instances: [[Int]] = []
        for (k, result) in samples.enumerated() {
            let sample = try result!.get()
            if let ids = sample.instances { instances.append(ids) }
            images.withMutablePointer { p in
                sample.image.withPointer { s in (p + k * 3 * w * h).update(from: s, count: 3 * w * h) }
            }
            labels.append(sample.labels)
        }
        let semantics = try LabelEncoding.oneHot(batch: labels, height: h, width: w, config: dataset.config,
                                                 instances: instances.count == labels.count ? instances : nil,
                                                 source: members.map { dataset.pairs[$0].label }.joined(separator: ", "))
        return TrainingBatch(epoch: position.epoch, iteration: position.iteration, semantics: semantics, images: images,
                             labels: labels, names: members.map { dataset.pairs[$0].name })
    }

    private func produce() {
        while true {
            slots.wait()
            lock.lock()
            let halt = stopped
            let position = nextToProduce
            lock.unlock()
            if halt { return }
            let result = Result { try makeBatch(at: position) }
            lock.lock()
            buffer.append(result)
            nextToProduce = position.iteration + 1 < iterationsPerEpoch
                ? LoaderPosition(epoch: position.epoch, iteration: position.iteration + 1)
                : LoaderPosition(epoch: position.epoch + 1, iteration: 0)
            lock.unlock()
            ready.signal()
        }
    }
}
