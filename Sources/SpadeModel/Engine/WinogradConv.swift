/// Winograd F(2×2, 3×3) for the engine's wide 3×3 convs (the SPADE ResBlocks' conv_0/conv_1, γ‖β):
/// each 2×2 output tile costs 16 multiply-adds per input channel instead of 36, so the trunk's GEMM work
/// drops 2.25×. Per band of output rows: every 4×4 input tile goes to the Winograd domain (V = Bᵀ d B),
/// 16 independent GEMMs M[ξ] = U[ξ]·V[ξ] (U = G g Gᵀ, the weights transformed once), and each 2×2 output
/// tile comes back as Aᵀ M A, written in `RectConv`'s epilogue layout. Stride 1, padding 1 only.
///
/// The transforms only add, subtract and halve (points 0, ±1), so results stay within float rounding of
/// the direct conv (the engine's 1e-4 parity tolerances hold).
enum WinogradConv {
    /// Below this many input or output channels the 16 small GEMMs run too far from the BLAS peak for
    /// the saved multiply-adds to pay; tests lower it to run the whole engine through this path.
    nonisolated(unsafe) static var minimumChannels = 64
    /// Output pixels below which a rectangle stays on im2col (too few tiles for 16 GEMMs to be worth it).
    nonisolated(unsafe) static var minimumArea = 16

    static func applies(to conv: FoldedConv, rect: PixelRect) -> Bool {
        conv.winograd != nil && min(conv.inChannels, conv.outChannels) >= minimumChannels && rect.area >= minimumArea
    }

    /// Floats of V and M one worker keeps in its own cache (2 MB L2 per core here) in the tile-local mode.
    nonisolated(unsafe) static var chunkFloats = 384 << 10
    /// Tiles a tile-local chunk needs so that re-packing U for each chunk stays a small cost.
    nonisolated(unsafe) static var minimumChunkTiles = 64

    /// Same contract as `RectConv.run` (epilogue values[o · band.area + (y − band.y0) · band.width + (x − band.x0)],
    /// no bias); band heights are even except possibly the last.
    ///
    /// Two ways to share the work between the cores:
    /// - *channel-wide* (few tiles, many channels: the coarse levels): the input transform split over channels,
    ///   the 16 GEMMs over the workers, the output transform over channels; U is packed once per band.
    /// - *tile-local* (many tiles, few channels: the fine levels, where V and M of a whole band are tens of MB and
    ///   the channel-wide mode waits on memory): each worker takes chunks of tile rows small enough for its own
    ///   cache and runs transform → 16 GEMMs → inverse transform on them alone.
    static func run(_ conv: FoldedConv, input: UnsafePointer<Float>, height h: Int, width w: Int, rect: PixelRect,
                    scratch: EngineScratch, epilogue: (PixelRect, UnsafePointer<Float>) -> Void) {
        guard let weights = conv.winograd else { preconditionFailure("WinogradConv: not a 3×3 conv") }
        if rect.isEmpty { return }
        let cin = conv.inChannels, cout = conv.outChannels, rw = rect.width
        let tilesX = (rw + 1) / 2, allTileRows = (rect.height + 1) / 2
        let chunkRows = max(1, chunkFloats / (16 * (cin + cout) * tilesX))
        let workers = Parallel.threads
        if chunkRows * tilesX >= minimumChunkTiles && allTileRows >= 2 * workers * chunkRows {
            runTileLocal(weights, cin: cin, cout: cout, input: input, height: h, width: w, rect: rect, chunkRows: chunkRows,
                         workers: workers, scratch: scratch, epilogue: epilogue)
            return
        }
        let bandTileRows = max(1, min(allTileRows, EngineScratch.bandBudget / (16 * max(cin, cout) * tilesX)))
        let maxStride = tileStride(bandTileRows * tilesX)
        scratch.reserve(columns: 16 * cin * maxStride, product: cout * 2 * bandTileRows * rw,
                        transformed: 16 * cout * maxStride)
        weights.transformed.withUnsafeBufferPointer { ub in
            scratch.withWinogradBuffers { v, out, m in
                let u = ub.baseAddress!
                var y = rect.y0
                while y < rect.y1 {
                    let rows = min(2 * bandTileRows, rect.y1 - y)
                    let band = PixelRect(y0: y, y1: y + rows, x0: rect.x0, x1: rect.x1)
                    let tiles = (rows + 1) / 2 * tilesX, ld = tileStride(tiles)
                    inputTransform(input, channels: cin, height: h, width: w, band: band, tilesX: tilesX, ld: ld, v: v)
                    // The 16 products are independent: one per task, each a single-threaded GEMM, which keeps
                    // both cores busy even when a small rectangle has few tiles.
                    Parallel.forEach(16) { xi in
                        sgemm(m: cout, n: tiles, k: cin, a: u + xi * cout * cin, lda: cin, b: v + xi * cin * ld, ldb: ld,
                              c: m + xi * cout * ld, ldc: ld, splitColumns: false)
                    }
                    outputTransform(m, channels: cout, band: band, tilesX: tilesX, ld: ld, out: out, planeStride: band.area)
                    epilogue(band, out)
                    y += rows
                }
            }
        }
    }

    /// The tile-local mode: bands as large as the band budget allows for the output, cut into chunks of
    /// `chunkRows` tile rows dealt round-robin to the workers, each with its own V and M.
    static func runTileLocal(_ weights: WinogradWeights, cin: Int, cout: Int, input: UnsafePointer<Float>, height h: Int,
                             width w: Int, rect: PixelRect, chunkRows: Int, workers: Int, scratch: EngineScratch,
                             epilogue: (PixelRect, UnsafePointer<Float>) -> Void) {
        let rw = rect.width, tilesX = (rw + 1) / 2, allTileRows = (rect.height + 1) / 2
        let ld = tileStride(chunkRows * tilesX)
        let perBand = EngineScratch.bandBudget / (2 * cout * rw) / chunkRows * chunkRows
        let bandTileRows = max(chunkRows, min(allTileRows, perBand))
        scratch.reserve(columns: workers * 16 * cin * ld, product: cout * 2 * bandTileRows * rw,
                        transformed: workers * 16 * cout * ld)
        weights.transformed.withUnsafeBufferPointer { ub in
            scratch.withWinogradBuffers { vAll, out, mAll in
                let u = ub.baseAddress!
                var y = rect.y0
                while y < rect.y1 {
                    let rows = min(2 * bandTileRows, rect.y1 - y)
                    let band = PixelRect(y0: y, y1: y + rows, x0: rect.x0, x1: rect.x1)
                    let chunks = ((rows + 1) / 2 + chunkRows - 1) / chunkRows
                    Parallel.forEach(min(workers, chunks)) { t in
                        let v = vAll + t * 16 * cin * ld, m = mAll + t * 16 * cout * ld
                        var k = t
                        while k < chunks {
                            let cy0 = y + 2 * k * chunkRows
                            let chunk = PixelRect(y0: cy0, y1: min(band.y1, cy0 + 2 * chunkRows), x0: rect.x0, x1: rect.x1)
                            let tiles = (chunk.height + 1) / 2 * tilesX
                            inputTransform(input, channels: cin, height: h, width: w, band: chunk, tilesX: tilesX, ld: ld, v: v,
                                           serial: true)
                            for xi in 0..<16 {
                                sgemm(m: cout, n: tiles, k: cin, a: u + xi * cout * cin, lda: cin, b: v + xi * cin * ld, ldb: ld,
                                      c: m + xi * cout * ld, ldc: ld, splitColumns: false)
                            }
                            outputTransform(m, channels: cout, band: chunk, tilesX: tilesX, ld: ld, out: out + (cy0 - y) * rw,
                                            planeStride: band.area, serial: true)
                            k += min(workers, chunks)
                        }
                    }
                    epilogue(band, out)
                    y += rows
                }
            }
        }
    }

    /// Row length of a V or M matrix: the tile count plus room for the last 8-wide vector's overhang,
    /// rounded to a cache line.
    static func tileStride(_ tiles: Int) -> Int { (tiles + 7 + 15) / 16 * 16 }

    /// U[ξ][o][c] = (G g Gᵀ)[ξ] for the 3×3 kernel g = weight[o, c], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
    static func transformWeights(_ weight: [Float], outChannels cout: Int, inChannels cin: Int) -> [Float] {
        var u = [Float](repeating: 0, count: 16 * cout * cin)
        weight.withUnsafeBufferPointer { wb in
            u.withUnsafeMutableBufferPointer { ub in
                let src = wb.baseAddress!, dst = ub.baseAddress!
                Parallel.forEach(cout) { o in
                    for c in 0..<cin {
                        let g = src + (o * cin + c) * 9
                        // Gg column by column, then each of its rows times Gᵀ.
                        let c0 = gTimes(g[0], g[3], g[6]), c1 = gTimes(g[1], g[4], g[7]), c2 = gTimes(g[2], g[5], g[8])
                        let step = cout * cin
                        func store(_ i: Int, _ u: (Float, Float, Float, Float)) {
                            let base = dst + (4 * i * cout + o) * cin + c
                            base[0] = u.0
                            base[step] = u.1
                            base[2 * step] = u.2
                            base[3 * step] = u.3
                        }
                        store(0, gTimes(c0.0, c1.0, c2.0))
                        store(1, gTimes(c0.1, c1.1, c2.1))
                        store(2, gTimes(c0.2, c1.2, c2.2))
                        store(3, gTimes(c0.3, c1.3, c2.3))
                    }
                }
            }
        }
        return u
    }

    /// G·(a, b, d)ᵀ.
    @inline(__always)
    static func gTimes(_ a: Float, _ b: Float, _ d: Float) -> (Float, Float, Float, Float) {
        (a, 0.5 * (a + b + d), 0.5 * (a - b + d), d)
    }

    /// V[ξ][c][t] = (Bᵀ d B)[ξ] for the 4×4 input tile d of tile t (row-major over the band's tiles) of channel c,
    /// Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]; zeros outside the map. Tiles may hang over the band's
    /// right and bottom edges: they read real input (or zeros) and their extra outputs are dropped later.
    static func inputTransform(_ x: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int, band: PixelRect,
                               tilesX: Int, ld: Int, v: UnsafeMutablePointer<Float>, serial: Bool = false) {
        let tilesY = (band.height + 1) / 2, plane = h * w
        let chunks = (tilesX + 7) / 8, hLen = 8 * chunks
        // A zero-padded copy of one input row from x0 − 1, long enough for the last chunk's 16-wide loads.
        let padLen = 2 * hLen + 16
        let vStep = cin * ld
        let transform = { (channels: Range<Int>) in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: padLen + 16 * hLen) { tmp in
                let padded = tmp.baseAddress!
                // The horizontal pass (d·B) of the last four input rows, each [4][hLen]: adjacent tile rows
                // share two input rows, so each row is transformed once.
                let ring = padded + padLen
                for c in channels {
                    let src = x + c * plane
                    /// Input row band.y0 − 1 + k into ring slot k mod 4.
                    func horizontal(_ k: Int) {
                        let dst = ring + (k & 3) * 4 * hLen, iy = band.y0 - 1 + k
                        if iy < 0 || iy >= h {
                            dst.update(repeating: 0, count: 4 * hLen)
                            return
                        }
                        // padded[i] = x[iy, x0 − 1 + i], inside the map for i in lo..<hi.
                        let lo = min(padLen, max(0, 1 - band.x0)), hi = max(lo, min(padLen, w - band.x0 + 1))
                        padded.update(repeating: 0, count: lo)
                        (padded + lo).update(from: src + iy * w + band.x0 - 1 + lo, count: hi - lo)
                        (padded + hi).update(repeating: 0, count: padLen - hi)
                        for k in 0..<chunks {
                            // Even and odd columns: each tile's four columns d0…d3 at tx and tx + 1.
                            let a = load16(padded + 16 * k), b = load16(padded + 16 * k + 2)
                            let d0 = a.evenHalf, d1 = a.oddHalf, d2 = b.evenHalf, d3 = b.oddHalf
                            store8(d0 - d2, dst + 8 * k)
                            store8(d1 + d2, dst + hLen + 8 * k)
                            store8(d2 - d1, dst + 2 * hLen + 8 * k)
                            store8(d1 - d3, dst + 3 * hLen + 8 * k)
                        }
                    }
                    horizontal(0)
                    horizontal(1)
                    for ty in 0..<tilesY {
                        horizontal(2 * ty + 2)
                        horizontal(2 * ty + 3)
                        let r0 = ring + ((2 * ty) & 3) * 4 * hLen, r1 = ring + ((2 * ty + 1) & 3) * 4 * hLen
                        let r2 = ring + ((2 * ty + 2) & 3) * 4 * hLen, r3 = ring + ((2 * ty + 3) & 3) * 4 * hLen
                        let dst = v + c * ld + ty * tilesX
                        // The vertical pass (Bᵀ·); the last chunk's overhang lands in the next tile row (rewritten
                        // right after) or in the row's padding (see `tileStride`).
                        for k in 0..<chunks {
                            let p = dst + 8 * k
                            for b in 0..<4 {
                                let o = b * hLen + 8 * k
                                let h0 = load8(r0 + o), h1 = load8(r1 + o), h2 = load8(r2 + o), h3 = load8(r3 + o)
                                store8(h0 - h2, p + b * vStep)
                                store8(h1 + h2, p + (4 + b) * vStep)
                                store8(h2 - h1, p + (8 + b) * vStep)
                                store8(h1 - h3, p + (12 + b) * vStep)
                            }
                        }
                    }
                }
            }
        }
        if serial { transform(0..<cin) } else { Parallel.forRanges(cin, transform) }
    }

    /// out[o · planeStride + (y − band.y0) · width + (x − band.x0)] for the band's pixels from the 2×2 tiles Aᵀ M A,
    /// Aᵀ = [1 1 1 0; 0 1 −1 −1].
    static func outputTransform(_ m: UnsafePointer<Float>, channels cout: Int, band: PixelRect, tilesX: Int, ld: Int,
                                out: UnsafeMutablePointer<Float>, planeStride area: Int, serial: Bool = false) {
        let tilesY = (band.height + 1) / 2, bw = band.width, rows = band.height
        let mStep = cout * ld
        // Tiles whose two columns both lie inside the band.
        let fullTiles = bw / 2
        let transform = { (range: Range<Int>) in
            for o in range {
                let src = m + o * ld
                for ty in 0..<tilesY {
                    let rowA = out + o * area + 2 * ty * bw
                    let twoRows = 2 * ty + 1 < rows
                    var tx = 0
                    while tx < tilesX {
                        let p = src + ty * tilesX + tx
                        // Vertical pass (Aᵀ·) on each of the four columns, then the horizontal one (·A).
                        let (s0, t0) = columnPass(p, mStep, 0), (s1, t1) = columnPass(p, mStep, 1)
                        let (s2, t2) = columnPass(p, mStep, 2), (s3, t3) = columnPass(p, mStep, 3)
                        let y00 = s0 + s1 + s2, y01 = s1 - s2 - s3
                        let y10 = t0 + t1 + t2, y11 = t1 - t2 - t3
                        if tx + 8 <= fullTiles {
                            let a = rowA + 2 * tx
                            for i in 0..<8 {
                                a[2 * i] = y00[i]
                                a[2 * i + 1] = y01[i]
                            }
                            if twoRows {
                                let b = a + bw
                                for i in 0..<8 {
                                    b[2 * i] = y10[i]
                                    b[2 * i + 1] = y11[i]
                                }
                            }
                        } else {
                            for i in 0..<min(8, tilesX - tx) {
                                let col = 2 * (tx + i)
                                rowA[col] = y00[i]
                                if col + 1 < bw { rowA[col + 1] = y01[i] }
                                if twoRows {
                                    rowA[bw + col] = y10[i]
                                    if col + 1 < bw { rowA[bw + col + 1] = y11[i] }
                                }
                            }
                        }
                        tx += 8
                    }
                }
            }
        }
        if serial { transform(0..<cout) } else { Parallel.forRanges(cout, transform) }
    }

    /// Aᵀ·m on column b of 8 tiles: (m0 + m1 + m2, m1 − m2 − m3) with m_a = M[4a + b].
    @inline(__always)
    static func columnPass(_ p: UnsafePointer<Float>, _ mStep: Int, _ b: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        let m0 = load8(p + b * mStep), m1 = load8(p + (4 + b) * mStep)
        let m2 = load8(p + (8 + b) * mStep), m3 = load8(p + (12 + b) * mStep)
        return (m0 + m1 + m2, m1 - m2 - m3)
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store8(_ value: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}

/// A 3×3 conv's weights in the Winograd domain, [16][out][in], computed on the first Winograd run so
/// convs that never take that path (small rectangles only, narrow layers) cost no memory.
final class WinogradWeights {
    private let weight: [Float]
    private let outChannels: Int, inChannels: Int
    private var cached: [Float]?

    init(weight: [Float], outChannels: Int, inChannels: Int) {
        self.weight = weight
        self.outChannels = outChannels
        self.inChannels = inChannels
    }

    var transformed: [Float] {
        if let cached { return cached }
        let u = WinogradConv.transformWeights(weight, outChannels: outChannels, inChannels: inChannels)
        cached = u
        return u
    }
}
