/// A convolution whose input is a one-hot label map, computed as a gather: with exactly one channel set
/// per pixel, the conv's value at an output pixel is `bias + Σ_taps W[:, label(tap), i, j]`
/// (+ `W[:, edge, i, j]` where the instance-edge bit is set); taps outside the map are zero padding and
/// add nothing. That is k² vector adds per pixel instead of a GEMM over all label channels — used for
/// every SPADE's `mlp_shared` (followed by its ReLU) and for `fc` when it reads the label map.
struct OneHotGather {
    let outChannels: Int
    let kernel: Int
    let labelChannels: Int
    /// [(token · k² + tap) · out + o] = W[o, token, tap]: a contiguous column per (label, tap).
    let columns: [Float]
    /// [tap · out + o] = W[o, edge channel, tap]; empty without an edge channel.
    let edgeColumns: [Float]
    let bias: [Float]
    let relu: Bool

    init(_ conv: Conv2dLayer, labelChannels: Int, hasEdgeChannel: Bool, relu: Bool) {
        let (w, _) = conv.effectiveWeight(training: false)
        let o = w.shape[0], s = w.shape[1], k = w.shape[2], kk = k * k
        precondition(s == labelChannels + (hasEdgeChannel ? 1 : 0),
                     "one-hot gather: conv has \(s) input channels for \(labelChannels) labels\(hasEdgeChannel ? " + edges" : "")")
        precondition(conv.stride == 1 && conv.padding == k / 2, "one-hot gather: only stride-1 same-padded convs")
        outChannels = o
        kernel = k
        self.labelChannels = labelChannels
        self.relu = relu
        bias = conv.bias?.value.data ?? [Float](repeating: 0, count: o)
        var cols = [Float](repeating: 0, count: labelChannels * kk * o)
        var edge = [Float](repeating: 0, count: hasEdgeChannel ? kk * o : 0)
        for oc in 0..<o {
            for ch in 0..<s {
                for tap in 0..<kk {
                    let v = w.data[(oc * s + ch) * kk + tap]
                    if ch < labelChannels {
                        cols[(ch * kk + tap) * o + oc] = v
                    } else {
                        edge[tap * o + oc] = v
                    }
                }
            }
        }
        columns = cols
        edgeColumns = edge
    }

    /// Writes output[o, y, x] (a [out, height, width] map) for every (y, x) in `rect`.
    func run(tokens: [UInt8], edges: [UInt8], height h: Int, width w: Int, rect: PixelRect,
             output: UnsafeMutablePointer<Float>) {
        if rect.isEmpty { return }
        let o = outChannels, k = kernel, kk = k * k, p = k / 2, rw = rect.width
        let useEdges = !edges.isEmpty && !edgeColumns.isEmpty
        let plane = h * w
        tokens.withUnsafeBufferPointer { tb in
            edges.withUnsafeBufferPointer { eb in
                columns.withUnsafeBufferPointer { cb in
                    edgeColumns.withUnsafeBufferPointer { ecb in
                        bias.withUnsafeBufferPointer { bb in
                            let tok = tb.baseAddress!, cols = cb.baseAddress!, bp = bb.baseAddress!
                            Parallel.forEach(rect.height) { r in
                                let y = rect.y0 + r
                                withUnsafeTemporaryAllocation(of: Float.self, capacity: rw * o) { accBuf in
                                    let acc = accBuf.baseAddress!
                                    for xi in 0..<rw {
                                        let x = rect.x0 + xi
                                        let a = acc + xi * o
                                        for c in 0..<o { a[c] = bp[c] }
                                        for i in 0..<k {
                                            let yy = y + i - p
                                            if yy < 0 || yy >= h { continue }
                                            for j in 0..<k {
                                                let xx = x + j - p
                                                if xx < 0 || xx >= w { continue }
                                                let col = cols + (Int(tok[yy * w + xx]) * kk + i * k + j) * o
                                                for c in 0..<o { a[c] += col[c] }
                                                if useEdges && eb[yy * w + xx] != 0 {
                                                    let ecol = ecb.baseAddress! + (i * k + j) * o
                                                    for c in 0..<o { a[c] += ecol[c] }
                                                }
                                            }
                                        }
                                    }
                                    // Pixel-major accumulators to the channel-major map.
                                    for c in 0..<o {
                                        let dst = output + c * plane + y * w + rect.x0
                                        if relu {
                                            for xi in 0..<rw { dst[xi] = max(0, acc[xi * o + c]) }
                                        } else {
                                            for xi in 0..<rw { dst[xi] = acc[xi * o + c] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
