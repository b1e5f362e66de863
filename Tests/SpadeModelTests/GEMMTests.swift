import XCTest
@testable import SpadeModel

/// `sgemm` splits a product between the workers by columns of C, by rows of C when C has few columns,
/// or not at all; every way must give the plain product, with either operand transposed and with beta.
final class GEMMTests: XCTestCase {
    func testEverySplitGivesTheProduct() {
        var rng = RandomGenerator(seed: 21)
        // (m, n, k): columns split, rows split (few columns, many rows: a conv over a small rectangle),
        // too small to split, and rows not a multiple of the 16-row blocks.
        for (m, n, k) in [(96, 300, 80), (1100, 25, 300), (20, 30, 40), (333, 70, 200)] {
            for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = rng.normalTensor([m * k]).data, b = rng.normalTensor([k * n]).data
                let c0 = rng.normalTensor([m * n]).data
                let lda = transA ? m : k, ldb = transB ? k : n
                var c = c0
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: lda,
                                  b: bp.baseAddress!, ldb: ldb, beta: 2, c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var acc = 0.0
                        for p in 0..<k {
                            let av = transA ? a[p * m + i] : a[i * k + p], bv = transB ? b[j * k + p] : b[p * n + j]
                            acc += Double(av) * Double(bv)
                        }
                        worst = max(worst, abs(0.5 * acc + 2 * Double(c0[i * n + j]) - Double(c[i * n + j])))
                    }
                }
                XCTAssertLessThan(worst, 1e-3, "m \(m) n \(n) k \(k) transA \(transA) transB \(transB)")
            }
        }
    }

    /// The skinny kernel (products of at most `SkinnyGEMM.maximumColumns` columns): every remainder of its 6-row
    /// blocks and 16- and 8-column panels, strided B and C, and C += A·B (beta 1) as the Winograd GEMMs ask.
    func testSkinnyKernelGivesTheProduct() throws {
        try XCTSkipUnless(SkinnyGEMM.enabled, "this CPU has no AVX2 + FMA: products go to OpenBLAS only")
        var rng = RandomGenerator(seed: 22)
        for (m, n, k) in [(1, 1, 1), (5, 7, 3), (13, 8, 130), (100, 9, 64), (6, 16, 1024), (61, 17, 40), (31, 24, 33),
                          (200, 33, 12), (7, 64, 300), (12, 48, 5)] {
            for beta: Float in [0, 1] {
                let lda = k + 3, ldb = n + 5, ldc = n + 2
                let a = rng.normalTensor([m * lda]).data, b = rng.normalTensor([k * ldb]).data
                let c0 = rng.normalTensor([m * ldc]).data
                var c = c0
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: beta,
                                  c: cp.baseAddress!, ldc: ldc)
                        }
                    }
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<ldc {
                        guard j < n else {
                            // Past the n columns, C is left alone.
                            XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "m \(m) n \(n) k \(k): column \(j) written")
                            continue
                        }
                        var acc = Double(beta) * Double(c0[i * ldc + j])
                        for p in 0..<k { acc += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                        worst = max(worst, abs(acc - Double(c[i * ldc + j])))
                    }
                }
                XCTAssertLessThan(worst, 1e-3, "m \(m) n \(n) k \(k) beta \(beta)")
            }
        }
    }
}
