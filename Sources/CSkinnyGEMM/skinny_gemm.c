#include "CSkinnyGEMM.h"

#include <stdlib.h>
#include <string.h>

#if !defined(__x86_64__)

// Other CPUs: every product goes to BLAS.
int sp_skinny_available(void) { return 0; }

void sp_skinny_sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                     int accumulate) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc; (void)accumulate;
    abort();
}

#else

#include <immintrin.h>

int sp_skinny_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// Stores rows × cols of the accumulators (row r in acc[2r], acc[2r+1]) into C, adding C's old values when asked.
__attribute__((target("avx2,fma")))
static inline void store_block(const __m256 *acc, int rows, int cols, float *c, int ldc, int accumulate) {
    float tmp[16];
    for (int r = 0; r < rows; r++) {
        float *dst = c + (long)r * ldc;
        if (cols == 16 && !accumulate) {
            _mm256_storeu_ps(dst, acc[2 * r]);
            _mm256_storeu_ps(dst + 8, acc[2 * r + 1]);
            continue;
        }
        _mm256_storeu_ps(tmp, acc[2 * r]);
        _mm256_storeu_ps(tmp + 8, acc[2 * r + 1]);
        if (accumulate) {
            for (int j = 0; j < cols; j++) dst[j] += tmp[j];
        } else {
            memcpy(dst, tmp, sizeof(float) * (size_t)cols);
        }
    }
}

// The first `rows` of the 6 rows of A from a; the missing ones read row 0 again (and are not stored).
static inline void six_rows(const float *a, int lda, int rows, const float *r[6]) {
    for (int i = 0; i < 6; i++) r[i] = i < rows ? a + (long)i * lda : a;
}

// Up to 6 rows of A against one packed panel of B (k rows of 16 floats): 12 accumulators, two loads of B
// and six broadcasts of A per step of k. Missing rows read row 0 again and are not stored.
__attribute__((target("avx2,fma")))
static void block6x16(int rows, int cols, int k, const float *a, int lda, const float *panel, float *c, int ldc,
                      int accumulate) {
    const float *r[6];
    six_rows(a, lda, rows, r);
    const float *a0 = r[0], *a1 = r[1], *a2 = r[2], *a3 = r[3], *a4 = r[4], *a5 = r[5];
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(panel + 16L * p), b1 = _mm256_loadu_ps(panel + 16L * p + 8), x;
        x = _mm256_broadcast_ss(a0 + p); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + p); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + p); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + p); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + p); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + p); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    store_block(acc, rows, cols, c, ldc, accumulate);
}

// The same for a panel of at most 8 columns (k rows of 8 floats): half the multiply-adds of a padded 16-wide panel.
__attribute__((target("avx2,fma")))
static void block6x8(int rows, int cols, int k, const float *a, int lda, const float *panel, float *c, int ldc,
                     int accumulate) {
    const float *r[6];
    six_rows(a, lda, rows, r);
    const float *a0 = r[0], *a1 = r[1], *a2 = r[2], *a3 = r[3], *a4 = r[4], *a5 = r[5];
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    for (int p = 0; p < k; p++) {
        __m256 b = _mm256_loadu_ps(panel + 8L * p);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + p), b, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1 + p), b, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a2 + p), b, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + p), b, c3);
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a4 + p), b, c4);
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a5 + p), b, c5);
    }
    const __m256 zero = _mm256_setzero_ps();
    const __m256 acc[12] = {c0, zero, c1, zero, c2, zero, c3, zero, c4, zero, c5, zero};
    store_block(acc, rows, cols, c, ldc, accumulate);
}

// One thread's packing buffer for B, kept between calls (a few hundred KB at most).
static _Thread_local float *pack_buffer;
static _Thread_local size_t pack_capacity;

void sp_skinny_sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                     int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) for (int i = 0; i < m; i++) memset(c + (long)i * ldc, 0, sizeof(float) * (size_t)n);
        return;
    }
    // B as panels of 16 columns (the last one 8 wide when at most 8 columns remain), zero-padded, each k × width.
    int full = n / 16, rest = n % 16, restWidth = rest == 0 ? 0 : (rest <= 8 ? 8 : 16);
    size_t need = (size_t)k * (size_t)(16 * full + restWidth);
    if (need > pack_capacity) {
        free(pack_buffer);
        pack_buffer = aligned_alloc(64, (need * sizeof(float) + 63) / 64 * 64);
        if (!pack_buffer) abort();
        pack_capacity = need;
    }
    float *panel = pack_buffer;
    for (int q = 0; q < full; q++, panel += 16L * k)
        for (int p = 0; p < k; p++) memcpy(panel + 16L * p, b + (long)p * ldb + 16 * q, 16 * sizeof(float));
    if (rest)
        for (int p = 0; p < k; p++) {
            float *dst = panel + (long)restWidth * p;
            memcpy(dst, b + (long)p * ldb + 16 * full, sizeof(float) * (size_t)rest);
            memset(dst + rest, 0, sizeof(float) * (size_t)(restWidth - rest));
        }
    // Each block of six rows of A meets every panel while it is still in cache: A is read from memory once.
    for (int i = 0; i < m; i += 6) {
        int rows = m - i < 6 ? m - i : 6;
        const float *ai = a + (long)i * lda;
        float *ci = c + (long)i * ldc;
        for (int q = 0; q < full; q++)
            block6x16(rows, 16, k, ai, lda, pack_buffer + 16L * k * q, ci + 16 * q, ldc, accumulate);
        if (rest == 0) continue;
        const float *last = pack_buffer + 16L * k * full;
        if (restWidth == 8) block6x8(rows, rest, k, ai, lda, last, ci + 16 * full, ldc, accumulate);
        else block6x16(rows, rest, k, ai, lda, last, ci + 16 * full, ldc, accumulate);
    }
}

#endif
