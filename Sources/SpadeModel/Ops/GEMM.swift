import CBLAS

/// Row-major single-precision GEMM: C = alpha · op(A) · op(B) + beta · C, through OpenBLAS.
@inline(__always)
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    Parallel.configureBLAS()
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

public enum BLAS {
    /// Sets OpenBLAS's own thread count (used for big GEMMs; kernels' own loops use `Parallel.threads`).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Plain C = A·B for the benchmark baseline.
    public static func multiply(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float]) {
        precondition(a.count >= m * k && b.count >= n * k && c.count >= m * n, "BLAS.multiply: buffers too small")
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                          c: cp.baseAddress!, ldc: n)
                }
            }
        }
    }
}
