import Foundation

/// `spadepaint bench conv`: conv2d throughput on the SPADE-sized shapes next to a 2048³ sgemm baseline
/// measured in the same run, so a busy machine affects both figures alike.
public enum ConvBenchmark {
    public struct Row {
        public var label: String
        public var gflops: Double
        public var milliseconds: Double
    }

    public static let shapes: [(cin: Int, cout: Int, size: Int)] = [(128, 128, 128), (256, 256, 64), (1024, 1024, 16), (128, 64, 256)]

    /// Median seconds of `body` over `runs` runs after one warm-up.
    public static func medianSeconds(runs: Int, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }

    public static func sgemmGflops(size n: Int = 2048, runs: Int = 5) -> Double {
        var rng = RandomGenerator(seed: 1)
        let a = rng.normalTensor([n, n]).data, b = rng.normalTensor([n, n]).data
        var c = [Float](repeating: 0, count: n * n)
        let t = medianSeconds(runs: runs) { BLAS.multiply(m: n, n: n, k: n, a: a, b: b, c: &c) }
        return 2 * Double(n) * Double(n) * Double(n) / t / 1e9
    }

    public static func conv3x3Row(cin: Int, cout: Int, size: Int, runs: Int = 5) -> Row {
        var rng = RandomGenerator(seed: 2)
        let x = rng.normalTensor([1, cin, size, size])
        let w = rng.normalTensor([cout, cin, 3, 3], std: 0.05)
        let b = rng.normalTensor([cout])
        let t = medianSeconds(runs: runs) { _ = Conv2d.forward(x, weight: w, bias: b, stride: 1, padding: 1) }
        let flops = 2.0 * Double(cout * cin * 9) * Double(size * size)
        return Row(label: "3x3 \(cin)->\(cout) @ \(size)x\(size)", gflops: flops / t / 1e9, milliseconds: t * 1e3)
    }

    /// Prints the table and returns (sgemm GFLOP/s, rows).
    @discardableResult
    public static func run(print emit: (String) -> Void = { print($0) }) -> (Double, [Row]) {
        let peak = sgemmGflops()
        emit(String(format: "threads: %d   cblas_sgemm 2048^3: %.1f GFLOP/s", Parallel.threads, peak) + "   OpenBLAS kernels: \(OpenBLASKernels.coreName)")
        emit("shape                        ms      GFLOP/s   of sgemm")
        var rows: [Row] = []
        for s in shapes {
            let row = conv3x3Row(cin: s.cin, cout: s.cout, size: s.size)
            rows.append(row)
            emit(String(format: "%-26@ %8.2f  %8.1f   %5.0f%%", row.label as NSString, row.milliseconds, row.gflops,
                        100 * row.gflops / peak))
        }
        return (peak, rows)
    }
}
