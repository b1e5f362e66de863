/// Fully connected layer, `nn.Linear` layout: x [N, I], weight [O, I], bias [O].
public enum Linear {
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1],
                     "linear: input \(x.shape) does not fit weight \(weight.shape)")
        let n = x.shape[0], i = x.shape[1], o = weight.shape[0]
        var y = Tensor(shape: [n, o])
        x.withPointer { xp in
            weight.withPointer { wp in
                y.withMutablePointer { yp in
                    sgemm(transB: true, m: n, n: o, k: i, a: xp, lda: i, b: wp, ldb: i, c: yp, ldc: o)
                }
            }
        }
        if let bias {
            precondition(bias.shape == [o], "linear: bias \(bias.shape) for \(o) outputs")
            for s in 0..<n { for j in 0..<o { y.data[s * o + j] += bias.data[j] } }
        }
        return y
    }

    /// Accumulates weight (and bias) gradients; returns the input gradient.
    public static func backward(_ x: Tensor, weight: Tensor, outputGrad gy: Tensor,
                                weightGrad: inout Tensor, biasGrad: inout Tensor?) -> Tensor {
        let n = x.shape[0], i = x.shape[1], o = weight.shape[0]
        precondition(gy.shape == [n, o], "linear backward: output grad \(gy.shape), expected \([n, o])")
        var gx = Tensor(shape: x.shape)
        gy.withPointer { gp in
            x.withPointer { xp in
                weight.withPointer { wp in
                    weightGrad.withMutablePointer { gwp in
                        sgemm(transA: true, m: o, n: i, k: n, a: gp, lda: o, b: xp, ldb: i, beta: 1, c: gwp, ldc: i)
                    }
                    gx.withMutablePointer { gxp in
                        sgemm(m: n, n: i, k: o, a: gp, lda: o, b: wp, ldb: i, c: gxp, ldc: i)
                    }
                }
            }
        }
        if biasGrad != nil { for s in 0..<n { for j in 0..<o { biasGrad!.data[j] += gy.data[s * o + j] } } }
        return gx
    }
}
