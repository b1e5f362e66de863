/// Max pooling (VGG19's `nn.MaxPool2d(2, 2)`) and batch concatenation, with backward.
public enum MaxPool {
    /// 2×2 max pooling with stride 2 (floor mode). Returns the output and, per output element, the flat
    /// index of the chosen input element, which the backward scatters into. Ties pick the first element
    /// in scan order, as PyTorch does.
    public static func forward2x2(_ x: Tensor) -> (Tensor, [Int32]) {
        let (n, c, h, w) = x.nchw("max pool 2×2")
        let oh = h / 2, ow = w / 2
        precondition(oh > 0 && ow > 0, "max pool 2×2: input \(x.shape) smaller than the window")
        var y = Tensor(shape: [n, c, oh, ow])
        var argmax = [Int32](repeating: 0, count: y.count)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                argmax.withUnsafeMutableBufferPointer { ap in
                    Parallel.forEach(n * c) { nc in
                        let src = xp + nc * h * w
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                var best = 2 * oy * w + 2 * ox
                                for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                                    let i = (2 * oy + dy) * w + 2 * ox + dx
                                    if src[i] > src[best] || src[i].isNaN { best = i }
                                }
                                let o = nc * oh * ow + oy * ow + ox
                                yp[o] = src[best]
                                ap[o] = Int32(best)
                            }
                        }
                    }
                }
            }
        }
        return (y, argmax)
    }

    public static func backward2x2(_ gy: Tensor, argmax: [Int32], inputShape: [Int]) -> Tensor {
        let (n, c, oh, ow) = gy.nchw("max pool 2×2 backward")
        precondition(argmax.count == gy.count, "max pool 2×2 backward: \(argmax.count) indices for \(gy.shape)")
        var gx = Tensor(shape: inputShape)
        let hw = inputShape[2] * inputShape[3]
        gy.withPointer { gp in
            gx.withMutablePointer { xp in
                Parallel.forEach(n * c) { nc in
                    for o in nc * oh * ow..<(nc + 1) * oh * ow { xp[nc * hw + Int(argmax[o])] += gp[o] }
                }
            }
        }
        return gx
    }
}

extension Tensor {
    /// Concatenates tensors along the first (batch) dimension (`torch.cat(dim=0)`).
    public static func concatBatch(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concat batch: no tensors")
        let tail = Array(parts[0].shape.dropFirst())
        precondition(parts.allSatisfy { Array($0.shape.dropFirst()) == tail },
                     "concat batch: shapes \(parts.map { $0.shape }) differ outside the batch dimension")
        var data = [Float]()
        data.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { data.append(contentsOf: p.data) }
        return Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + tail, data: data)
    }

    /// Samples `range` of the batch (`x[range]` in PyTorch), as a new tensor.
    public func batchSlice(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "batch slice: \(range) outside a batch of \(shape.first ?? 0)")
        let per = count / max(shape[0], 1)
        return Tensor(shape: [range.count] + shape.dropFirst(), data: Array(data[range.lowerBound * per..<range.upperBound * per]))
    }

    /// The inverse of `concatBatch`: splits into parts of the given batch sizes.
    public func splitBatch(_ sizes: [Int]) -> [Tensor] {
        precondition(rank >= 1 && sizes.reduce(0, +) == shape[0], "split batch: \(sizes) does not add up to \(shape)")
        let per = count / max(shape[0], 1)
        var offset = 0
        return sizes.map { k in
            defer { offset += k * per }
            return Tensor(shape: [k] + shape.dropFirst(), data: Array(data[offset..<offset + k * per]))
        }
    }
}
