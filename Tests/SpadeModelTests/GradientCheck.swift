import XCTest
@testable import SpadeModel

/// Finite-difference gradient checking against the float64 references in `Ref`.
///
/// The loss is L = Σ f(inputs) · R for a random upstream gradient R, so ∂L/∂input is exactly what an
/// op's backward returns when handed R. The numeric side differentiates the float64 reference forward
/// by central differences in double precision; the analytic side is our float32 backward.
enum GradientCheck {
    /// Central differences of L = Σ f(inputs)·R with respect to `inputs[k]`.
    static func numeric(_ f: ([[Double]]) -> [Double], at inputs: [[Double]], upstream r: [Double],
                        wrt k: Int, step: Double = 1e-6) -> [Double] {
        var probe = inputs
        func loss() -> Double {
            let y = f(probe)
            precondition(y.count == r.count, "gradient check: output has \(y.count) values, upstream \(r.count)")
            var s = 0.0
            for i in 0..<y.count { s += y[i] * r[i] }
            return s
        }
        var grad = [Double](repeating: 0, count: inputs[k].count)
        for i in 0..<grad.count {
            let x0 = inputs[k][i]
            probe[k][i] = x0 + step
            let up = loss()
            probe[k][i] = x0 - step
            let down = loss()
            probe[k][i] = x0
            grad[i] = (up - down) / (2 * step)
        }
        return grad
    }

    /// Worst relative error, each element measured against max(|numeric|, 1% of the largest |numeric|),
    /// so entries that are tiny by cancellation don't demand more than float32 can give.
    static func worstRelativeError(_ analytic: [Float], _ numeric: [Double]) -> (error: Double, index: Int) {
        let scale = numeric.reduce(0) { max($0, abs($1)) }
        var worst = (error: 0.0, index: 0)
        for i in 0..<numeric.count {
            let e = abs(Double(analytic[i]) - numeric[i]) / max(abs(numeric[i]), 0.01 * scale, 1e-30)
            if e > worst.error || e.isNaN { worst = (e, i) }
        }
        return worst
    }
}

/// Asserts our float32 gradient matches the float64 finite difference to `tolerance` relative.
func assertGradient(_ analytic: Tensor, _ numeric: [Double], _ what: String, tolerance: Double = 1e-3,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(analytic.count, numeric.count, "\(what): gradient size", file: file, line: line)
    guard analytic.count == numeric.count else { return }
    XCTAssertTrue(numeric.contains { $0 != 0 }, "\(what): numeric gradient is all zero, the check proves nothing",
                  file: file, line: line)
    let (worst, i) = GradientCheck.worstRelativeError(analytic.data, numeric)
    XCTAssertLessThanOrEqual(worst, tolerance,
                             "\(what): worst relative error \(worst) at \(i) (ours \(analytic.data[i]), finite difference \(numeric[i]))",
                             file: file, line: line)
    MeasuredErrors.record("gradient", what, worst)
}

/// Asserts our float32 values match a reference: |a − b| ≤ tolerance · max(1, |b|) everywhere.
func assertClose(_ ours: [Float], _ reference: [Double], _ what: String, tolerance: Double = 1e-5,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(ours.count, reference.count, "\(what): size", file: file, line: line)
    guard ours.count == reference.count else { return }
    var worst = 0.0, at = 0
    for i in 0..<ours.count {
        let e = abs(Double(ours[i]) - reference[i]) / max(1, abs(reference[i]))
        if e > worst || e.isNaN { worst = e; at = i }
    }
    XCTAssertLessThanOrEqual(worst, tolerance,
                             "\(what): worst error \(worst) at \(at) (ours \(ours.isEmpty ? 0 : ours[at]), reference \(reference.isEmpty ? 0 : reference[at]))",
                             file: file, line: line)
    MeasuredErrors.record(what.hasPrefix("PyTorch") ? "PyTorch" : "forward", what, worst)
}

func assertClose(_ ours: Tensor, _ reference: [Double], _ what: String, tolerance: Double = 1e-5,
                 file: StaticString = #filePath, line: UInt = #line) {
    assertClose(ours.data, reference, what, tolerance: tolerance, file: file, line: line)
}

/// Prints the worst error of each kind once per process (`swift test` shows it), for the issue notes.
enum MeasuredErrors {
    nonisolated(unsafe) static var worst: [String: (Double, String)] = [:]
    static let lock = NSLock()

    static func record(_ kind: String, _ what: String, _ error: Double) {
        lock.lock()
        defer { lock.unlock() }
        if error > (worst[kind]?.0 ?? -1) {
            worst[kind] = (error, what)
            print("worst \(kind) error so far: \(error) (\(what))")
        }
    }
}

extension Tensor {
    var doubles: [Double] { data.map(Double.init) }
}

extension RandomGenerator {
    /// Normal values kept at least `gap` away from 0, for ops with a kink there (ReLU, L1).
    mutating func normalAwayFromZero(_ shape: [Int], gap: Float = 1e-2) -> Tensor {
        var t = normalTensor(shape)
        for i in 0..<t.count where abs(t.data[i]) < gap { t.data[i] = (t.data[i] < 0 ? -1 : 1) * (gap + abs(t.data[i])) }
        return t
    }
}
