/// Cuts each picture of an NCHW batch into a grid × grid array of equal tiles and puts them back in a random
/// order (one permutation per picture). The colours, light and textures stay; where things are does not.
/// Training the style encoder on such pictures (`TrainingOptions.encoderTileGrid`) leaves z nothing to
/// carry but the picture's style: without it, an encoder whose z has no sampling noise learns to pass the
/// layout of the picture (where the sky and the lake are) to the generator, and a reference photo then
/// paints its own layout's colours over another layout. The unshuffled picture is one of the orders, so the
/// encoder reads reference photos as they are.
public enum TileShuffle {
    public static func apply(_ x: Tensor, grid: Int, rng: inout RandomGenerator) -> Tensor {
        let (n, c, h, w) = x.nchw("tile shuffle")
        precondition(grid >= 1 && h % grid == 0 && w % grid == 0, "tile shuffle: \(h)x\(w) pictures do not split into \(grid)x\(grid) tiles")
        let th = h / grid, tw = w / grid, tiles = grid * grid
        var y = Tensor(uninitializedShape: x.shape)
        for s in 0..<n {
            // Fisher–Yates: destination tile t takes source tile order[t].
            var order = Array(0..<tiles)
            for i in stride(from: tiles - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
            x.withPointer { xp in
                y.withMutablePointer { yp in
                    for ch in 0..<c {
                        let plane = (s * c + ch) * h * w
                        for t in 0..<tiles {
                            let src = order[t]
                            let sy = (src / grid) * th, sx = (src % grid) * tw
                            let dy = (t / grid) * th, dx = (t % grid) * tw
                            for r in 0..<th {
                                (yp + plane + (dy + r) * w + dx).update(from: xp + plane + (sy + r) * w + sx, count: tw)
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}
