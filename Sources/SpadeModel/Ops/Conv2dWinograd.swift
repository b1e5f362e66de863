import Foundation

/// The training side's use of the engine's Winograd kernels (`WinogradConv`): a 3×3, stride-1, padding-1
/// conv with 8+ input channels — the SPADE ResBlocks' conv_0/conv_1 and conv_img — runs its forward pass
/// as a Winograd conv, and its input gradient too, since that is the same kind of conv of the output
/// gradient with the kernel transposed and flipped. The thin generator layers of small models (16–64
/// channels at 128²–256²) are where im2col + GEMM was slowest; the weight gradient stays on im2col.
enum Conv2dWinograd {
    /// Off in tests that compare against the im2col path.
    nonisolated(unsafe) static var enabled = true

    /// Output pixels below which a conv stays on im2col. Training transforms the weights on every call
    /// (they change every step), which costs about as much as the conv itself on the 8² and 16² levels
    /// of wide layers (256 channels: 590k weights, 64–256 pixels); from 32² up the saving wins.
    nonisolated(unsafe) static var minimumArea = 32 * 32

    static func applies(_ g: Conv2dGeometry, outH: Int, outW: Int) -> Bool {
        enabled && g.kernelH == 3 && g.kernelW == 3 && g.stride == 1 && g.padding == 1
            && g.inChannels >= WinogradConv.minimumChannels && outH * outW >= max(minimumArea, WinogradConv.minimumArea)
    }

    /// conv(x, weight) without bias, weight [O, C, 3, 3].
    static func forward(_ x: Tensor, weight: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw("winograd conv")
        let conv = FoldedConv(weight: weight, bias: nil)
        precondition(conv.inChannels == c && conv.kernel == 3, "winograd conv: weight \(weight.shape) for input \(x.shape)")
        var y = Tensor(uninitializedShape: [n, conv.outChannels, h, w])  // every pixel comes out of a band
        x.withPointer { xp in
            y.withMutablePointer { yp in
                scratchPool.withScratch { scratch in
                    for s in 0..<n {
                        let ys = yp + s * conv.outChannels * h * w
                        WinogradConv.run(conv, input: xp + s * c * h * w, height: h, width: w,
                                         rect: PixelRect(y0: 0, y1: h, x0: 0, x1: w), scratch: scratch) { band, values in
                            // Bands span whole rows, so each channel's part is one contiguous run.
                            Parallel.forRanges(conv.outChannels) { range in
                                for o in range {
                                    (ys + o * h * w + band.y0 * w).update(from: values + o * band.area, count: band.area)
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// The input gradient of a stride-1 padding-1 3×3 conv: gx[c] = Σ_o conv(gy[o], flip(W[o, c])), padding 1.
    static func inputGradient(_ gy: Tensor, weight: Tensor) -> Tensor {
        forward(gy, weight: transposedFlipped(weight))
    }

    /// W'[c, o, i, j] = W[o, c, 2 − i, 2 − j].
    static func transposedFlipped(_ weight: Tensor) -> Tensor {
        let (o, c) = (weight.shape[0], weight.shape[1])
        var t = Tensor(uninitializedShape: [c, o, 3, 3])
        weight.withPointer { wp in
            t.withMutablePointer { tp in
                for oc in 0..<o {
                    for ic in 0..<c {
                        let src = wp + (oc * c + ic) * 9, dst = tp + (ic * o + oc) * 9
                        for k in 0..<9 { dst[k] = src[8 - k] }
                    }
                }
            }
        }
        return t
    }

    /// Scratch buffers kept between calls (a training step runs dozens of these convs; their buffers are
    /// tens of MB), one per concurrent caller.
    static let scratchPool = ScratchPool()
}

final class ScratchPool: @unchecked Sendable {
    private var idle: [EngineScratch] = []
    private let lock = NSLock()

    func withScratch<R>(_ body: (EngineScratch) -> R) -> R {
        lock.lock()
        let scratch = idle.popLast() ?? EngineScratch()
        lock.unlock()
        defer {
            lock.lock()
            idle.append(scratch)
            lock.unlock()
        }
        return body(scratch)
    }
}
