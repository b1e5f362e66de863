import XCTest
@testable import SpadeModel

/// The moving average of a network's weights: the closed form after a few updates, integer buffers copied,
/// and the live weights back exactly after a look at the averaged ones.
final class WeightAverageTests: XCTestCase {
    func testAverageFollowsTheClosedFormAndCopiesIntegerBuffers() {
        let norm = BatchNorm2dLayer(2)
        norm.weight.value = Tensor(shape: [2], data: [1, 2])
        let average = WeightAverage(of: norm, decay: 0.9)
        let steps: [[Float]] = [[3, 4], [5, 8], [-1, 0]]
        var expected: [Float] = [1, 2]
        for (k, w) in steps.enumerated() {
            norm.weight.value = Tensor(shape: [2], data: w)
            norm.runningVar.value = Tensor(shape: [2], data: [Float(k + 2), 1])
            norm.numBatchesTracked.value = Tensor(shape: [], data: [Float(k + 1)])
            average.update()
            expected = zip(expected, w).map { 0.9 * $0 + 0.1 * $1 }
        }
        let state = Dictionary(uniqueKeysWithValues: average.stateEntries().map { ($0.0, $0.1.tensor) })
        XCTAssertEqual(Set(state.keys), Set(norm.stateEntries().map(\.0)), "the average has the network's names")
        for (a, e) in zip(state["weight"]!.data, expected) { XCTAssertEqual(a, e, accuracy: 1e-6) }
        // running_var went 1 → 2, 3, 4 in channel 0.
        XCTAssertEqual(state["running_var"]!.data[0], ((0.9 * 1 + 0.1 * 2) * 0.9 + 0.1 * 3) * 0.9 + 0.1 * 4, accuracy: 1e-6)
        XCTAssertEqual(state["num_batches_tracked"]!.data, [3], "an integer buffer is the latest value, not an average")
        XCTAssertTrue(average.stateEntries().allSatisfy { if case .buffer = $0.1 { return true } else { return false } },
                      "the average holds no parameters, so no optimizer or gradient touches it")
    }

    /// A spectral-norm layer whose top singular direction turns between two steps: the averaged u is then
    /// a blend of two orthogonal unit vectors, and σ = uᵀWv from it would be half the true one (a weight twice
    /// too large: run "semantic"'s average collapsed this way). The averaged state re-estimates u and v, so
    /// σ is the averaged weight's largest singular value; the stored average and the live state stay as they were.
    func testAveragedSpectralNormUsesTheAveragedWeightsTopSingularValue() {
        var rng = RandomGenerator(seed: 1)
        let conv = Conv2dLayer(2, 2, kernel: 1, bias: false, spectral: true, rng: &rng)
        func converge(_ w: [Float]) {
            conv.weight.value = Tensor(shape: [2, 2, 1, 1], data: w)
            for _ in 0..<50 { _ = conv.effectiveWeight(training: true) }
        }
        converge([3, 0, 0, 1])        // σ 3, u = ±e1
        let average = WeightAverage(of: conv, decay: 0.5)
        // σ 2 with top direction e2; from u = e1 exactly, power iteration would stay put (e1 is a singular
        // vector too), so the vectors are set where training's iterations would have taken them.
        conv.weight.value = Tensor(shape: [2, 2, 1, 1], data: [1, 0, 0, 2])
        conv.u!.value = Tensor(shape: [2], data: [0, 1])
        conv.v!.value = Tensor(shape: [2], data: [0, 1])
        average.update()              // average weight diag(2, 1.5): σ 2
        let storedU = average.stateEntries().first { $0.0 == "weight_u" }!.1.tensor
        let blend = storedU.data.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(blend, Float(0.5).squareRoot(), accuracy: 1e-3, "the stored average of u is a blend, |u| ≈ 0.71")
        let liveU = conv.u!.value
        let sigma = average.withAveragedState { conv.effectiveWeight(training: false).1 }
        XCTAssertEqual(sigma, 2, accuracy: 1e-3)
        XCTAssertEqual(conv.u!.value, liveU, "the live vectors come back")
        XCTAssertEqual(average.stateEntries().first { $0.0 == "weight_u" }!.1.tensor, storedU, "the stored average is unchanged")
    }

    func testAveragedStateIsSwappedInAndTheLiveStateRestored() throws {
        let norm = BatchNorm2dLayer(3)
        let average = WeightAverage(of: norm, decay: 0.5)
        norm.weight.value = Tensor(shape: [3], data: [3, 3, 3])
        norm.runningMean.value = Tensor(shape: [3], data: [2, 2, 2])
        average.update()
        let seen = average.withAveragedState { (norm.weight.value.data, norm.runningMean.value.data) }
        XCTAssertEqual(seen.0, [2, 2, 2])
        XCTAssertEqual(seen.1, [1, 1, 1])
        XCTAssertEqual(norm.weight.value.data, [3, 3, 3])
        XCTAssertEqual(norm.runningMean.value.data, [2, 2, 2])
        struct Failure: Error {}
        XCTAssertThrowsError(try average.withAveragedState { throw Failure() })
        XCTAssertEqual(norm.weight.value.data, [3, 3, 3], "restored when the body throws too")
        average.reset()
        XCTAssertEqual(average.withAveragedState { norm.weight.value.data }, [3, 3, 3])
    }
}
