// A GEMM for products with few columns: C[m×n] = A[m×k]·B[k×n] (+ C) with n up to a few dozen and A large
// (the Winograd GEMMs of the 8² and 16² maps, U[ξ] of 1024 × 1024 against 16 tiles; the γ‖β convs of a dab
// over a few dozen pixels). OpenBLAS packs all of A for such a product and reuses each packed block for only
// n columns, so it spends as long copying A as multiplying; this kernel reads A once, straight from memory,
// and keeps a 6 × 16 block of C in registers.
#ifndef CSKINNYGEMM_H
#define CSKINNYGEMM_H

// 1 when this CPU has AVX2 and FMA, which the kernel needs; callers fall back to BLAS otherwise.
int sp_skinny_available(void);

// Row-major, no transposes: C = A·B when accumulate is 0, C += A·B otherwise. Single-threaded; callers
// split m between threads. Needs sp_skinny_available().
void sp_skinny_sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                     int accumulate);

#endif
