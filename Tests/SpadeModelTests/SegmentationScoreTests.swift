import Foundation
import XCTest
@testable import SpadeModel

/// mIoU, pixel accuracy and the Fréchet distance on cases worked out by hand.
final class SegmentationScoreTests: XCTestCase {
    // MARK: Confusion matrix

    func testPerfectPredictionScoresOne() {
        var m = ConfusionMatrix(classes: 3)
        m.add(truth: [0, 1, 2, 2], prediction: [0, 1, 2, 2])
        XCTAssertEqual(m.pixelAccuracy, 1)
        XCTAssertEqual(m.meanIoU, 1)
    }

    /// truth   0 0 0 0 1 1 2 2
    /// predict 0 0 0 1 1 1 1 2
    /// class 0: tp 3, fn 1, fp 0 → 3/4; class 1: tp 2, fp 2 → 2/4; class 2: tp 1, fn 1 → 1/2.
    func testHandWorkedConfusion() {
        var m = ConfusionMatrix(classes: 3)
        m.add(truth: [0, 0, 0, 0, 1, 1, 2, 2], prediction: [0, 0, 0, 1, 1, 1, 1, 2])
        XCTAssertEqual(m[0, 1], 1)
        XCTAssertEqual(m[2, 1], 1)
        XCTAssertEqual(m.pixelAccuracy, 6.0 / 8.0)
        let iou = m.intersectionOverUnion
        XCTAssertEqual(iou[0]!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(iou[1]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(iou[2]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.meanIoU, (0.75 + 0.5 + 0.5) / 3, accuracy: 1e-12)
        XCTAssertEqual(m.support, [4, 2, 2])
    }

    /// A class that is neither present nor predicted has no IoU and does not pull the mean down; one that
    /// is only predicted (a false alarm) has IoU 0 and does.
    func testAbsentClassesAndFalseAlarms() {
        var m = ConfusionMatrix(classes: 4)
        m.add(truth: [0, 0, 1, 1], prediction: [0, 0, 1, 1])
        XCTAssertNil(m.intersectionOverUnion[2])
        XCTAssertEqual(m.meanIoU, 1)
        m.add(truth: [0, 0], prediction: [3, 0])
        // class 0: tp 3, fn 1 → 0.75; class 1: 1; class 3: tp 0, fp 1 → 0.
        XCTAssertEqual(m.intersectionOverUnion[3]!, 0)
        XCTAssertEqual(m.meanIoU, (0.75 + 1 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(m.pixelAccuracy, 5.0 / 6.0, accuracy: 1e-12)
    }

    func testUnlabelledPixelsAreNotCountedAndMatricesAdd() {
        var a = ConfusionMatrix(classes: 2)
        a.add(truth: [0, 255, 1], prediction: [0, 1, 0])
        XCTAssertEqual(a.total, 2)
        var b = ConfusionMatrix(classes: 2)
        b.add(truth: [1], prediction: [1])
        a.add(b)
        XCTAssertEqual(a.total, 3)
        XCTAssertEqual(a.pixelAccuracy, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(ConfusionMatrix(classes: 2).meanIoU, 0, "empty matrix")
    }

    // MARK: Eigen-solver and Fréchet distance

    func testJacobiEigenDecompositionReconstructsTheMatrix() {
        var rng = RandomGenerator(seed: 8)
        let n = 12
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let v = Double(rng.normal()); m[i * n + j] = v; m[j * n + i] = v } }
        let (values, vectors) = SymmetricEigen.decompose(m, n: n)
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var reconstructed = 0.0, dot = 0.0
                for k in 0..<n {
                    reconstructed += vectors[i * n + k] * values[k] * vectors[j * n + k]
                    dot += vectors[k * n + i] * vectors[k * n + j]
                }
                worst = max(worst, abs(reconstructed - m[i * n + j]), abs(dot - (i == j ? 1 : 0)))
            }
        }
        XCTAssertLessThan(worst, 1e-10, "V Λ Vᵀ = M and Vᵀ V = I")
        // Trace is preserved.
        XCTAssertEqual(values.reduce(0, +), (0..<n).reduce(0.0) { $0 + m[$1 * n + $1] }, accuracy: 1e-10)
    }

    func testSquareRootSquaresBack() {
        // A = B Bᵀ is symmetric positive semi-definite (rank 3 of 5).
        var rng = RandomGenerator(seed: 2)
        let n = 5, r = 3
        let b = (0..<(n * r)).map { _ in Double(rng.normal()) }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<r { a[i * n + j] += b[i * r + k] * b[j * r + k] } } }
        let root = SymmetricEigen.squareRoot(a, n: n)
        let squared = FrechetDistance.multiply(root, root, n: n)
        for i in 0..<(n * n) { XCTAssertEqual(squared[i], a[i], accuracy: 1e-9) }
    }

    func testFrechetDistanceOfIdenticalSetsIsZero() {
        var rng = RandomGenerator(seed: 1)
        let rows = (0..<50).map { _ in (0..<20).map { _ in rng.normal() * 3 + 1 } }
        let s = FeatureStatistics(rows: rows)
        XCTAssertEqual(FrechetDistance.distance(s, s), 0, accuracy: 1e-8)
        XCTAssertEqual(FrechetDistance.distance(s, FeatureStatistics(rows: rows.reversed())), 0, accuracy: 1e-8)
    }

    /// Gaussians with commuting covariances have the closed form ‖Δμ‖² + Σ (√a_i − √b_i)²; here the
    /// covariances share a random rotation, so the solver sees dense matrices.
    func testFrechetDistanceOfShiftedGaussiansIsAnalytic() {
        var rng = RandomGenerator(seed: 6)
        let n = 6
        // Random orthogonal Q from the eigenvectors of a random symmetric matrix.
        var sym = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let v = Double(rng.normal()); sym[i * n + j] = v; sym[j * n + i] = v } }
        let q = SymmetricEigen.decompose(sym, n: n).vectors
        func rotated(_ diagonal: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { for k in 0..<n { m[i * n + j] += q[i * n + k] * diagonal[k] * q[j * n + k] } } }
            return m
        }
        let da: [Double] = [1, 2, 0.5, 4, 3, 0.25], db: [Double] = [2, 2, 1, 1, 0.5, 0.25]
        let meanA = [Double](repeating: 0, count: n), meanB: [Double] = [1, -2, 0, 0.5, 0, 0]
        let a = FeatureStatistics(mean: meanA, covariance: rotated(da), count: 100)
        let b = FeatureStatistics(mean: meanB, covariance: rotated(db), count: 100)
        let expected = meanB.reduce(0) { $0 + $1 * $1 } + zip(da, db).reduce(0) { $0 + pow($1.0.squareRoot() - $1.1.squareRoot(), 2) }
        XCTAssertEqual(FrechetDistance.distance(a, b), expected, accuracy: 1e-9)
        XCTAssertEqual(FrechetDistance.distance(b, a), expected, accuracy: 1e-9, "symmetric")

        // Non-commuting covariances: 1-D-like check through a 2×2 case worked out independently.
        // Σ₁ = I, Σ₂ = [[2,1],[1,2]] (eigenvalues 1 and 3): tr((Σ₂)^½) = 1 + √3, so
        // d² = 2 + 4 − 2(1 + √3).
        let i2 = FeatureStatistics(mean: [0, 0], covariance: [1, 0, 0, 1], count: 10)
        let s2 = FeatureStatistics(mean: [0, 0], covariance: [2, 1, 1, 2], count: 10)
        XCTAssertEqual(FrechetDistance.distance(i2, s2), 6 - 2 * (1 + 3.0.squareRoot()), accuracy: 1e-12)
    }

    /// Samples: N(0, I) against N(δ, 4I) in 8 dimensions; with 4,000 samples each the sample-statistics distance
    /// lies near the population value ‖δ‖² + 8 (2 − 1)² = ‖δ‖² + 8.
    func testFrechetDistanceOfSampledGaussiansApproachesThePopulationValue() {
        var rng = RandomGenerator(seed: 12)
        let d = 8, count = 4000
        let delta: [Float] = [1, 0, -1, 0, 2, 0, 0, 0.5]
        let a = (0..<count).map { _ in (0..<d).map { _ in rng.normal() } }
        let b = (0..<count).map { _ in (0..<d).map { delta[$0] + 2 * rng.normal() } }
        let expected = Double(delta.reduce(0) { $0 + $1 * $1 }) + Double(d)
        let measured = FrechetDistance.distance(FeatureStatistics(rows: a), FeatureStatistics(rows: b))
        XCTAssertEqual(measured, expected, accuracy: 0.05 * expected)
    }

    func testCovarianceIsUnbiased() {
        let s = FeatureStatistics(rows: [[1, 0], [3, 2]])
        XCTAssertEqual(s.mean, [2, 1])
        XCTAssertEqual(s.covariance, [2, 2, 2, 2])
    }
}
