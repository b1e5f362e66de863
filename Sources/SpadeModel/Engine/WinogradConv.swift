/// Winograd convolution for the engine's wide 3×3 convs (the SPADE ResBlocks' conv_0/conv_1, γ‖β), in two
/// tile sizes: F(2×2, 3×3) costs 16 multiply-adds per 2×2 output tile and input channel instead of 36
/// (2.25× fewer), F(4×4, 3×3) 36 per 4×4 tile instead of 144 (4× fewer). Per band of output rows: every
/// input tile goes to the Winograd domain (V = Bᵀ d B), one independent GEMM per tile point,
/// M[ξ] = U[ξ]·V[ξ] (U = G g Gᵀ, the weights transformed once), and each output tile comes back as Aᵀ M A,
/// written in `RectConv`'s epilogue layout. Stride 1, padding 1 only.
///
/// F(2, 3)'s transforms only add, subtract and halve (points 0, ±1); F(4, 3)'s (points 0, ±1, ±2) scale by
/// up to 8 and lose a few more bits, still well within the engine's 1e-4 parity tolerances. F(4, 3) needs
/// 36/16 as many weights per conv, which only pays where a band has many tiles (the fine levels); the
/// coarse levels, whose GEMMs mostly stream weights, keep F(2, 3).
enum WinogradConv {
    /// Input channels below which a conv stays on im2col; tests lower it to run the whole engine through this
    /// path. Measured here, every trunk shape from 8→8 to 1024→1024 runs 1.5–7× faster than im2col, whose
    /// columns are 9·cin floats per pixel against the Winograd domain's 4·cin (F(2, 3)) or 2.25·cin (F(4, 3)).
    /// Convs with very few outputs (conv_img) take `NarrowRectConv` before this path is considered.
    nonisolated(unsafe) static var minimumChannels = 8
    /// Output pixels below which a rectangle stays on im2col. Few pixels make a conv stream its weights, and
    /// F(2, 3)'s weights are 16/9 as many (the γ‖β convs of a dab, 128 → 2·1024 over a few dozen pixels);
    /// sgemm splits such products by rows, so both cores stream them. Measured with `bench synth`
    /// (ADE20K): 100 instead of 16 makes one-cell dabs 15% faster and ~1% dabs 4%, full frames unchanged;
    /// 64 instead of 100 puts head_0's 8² map (1024 → 1024) on F(2, 3): 7.0 → 5.0 ms a conv, dabs unchanged.
    nonisolated(unsafe) static var minimumArea = 64

    /// F(4, 3) tiles a rectangle needs before it takes the larger tiles. A 16² map of 1024 channels has 16
    /// tiles, so F(4, 3) gives it 36 GEMMs of 16 columns against F(2, 3)'s 16 of 64: OpenBLAS ran the latter
    /// faster (it packs the whole of U for a few columns), `SkinnyGEMM` the former (1024 × 1024 by 16 columns in
    /// 0.48 ms against 1.45 by 64). Measured with `bench synth` (ADE20K, AMD EPYC), 30 ~1% dabs alternating
    /// the two: 294 → 283 ms. Without the kernel, 30² and larger maps only.
    nonisolated(unsafe) static var minimumLargeTiles = SkinnyGEMM.enabled ? 12 : 40

    static func applies(to conv: FoldedConv, rect: PixelRect) -> Bool {
        conv.winograd != nil && conv.inChannels >= minimumChannels && rect.area >= minimumArea
    }

    /// Output tile size: F(2×2, 3×3) or F(4×4, 3×3).
    enum Tile {
        case two, four
        /// Output pixels per tile side.
        var size: Int { self == .two ? 2 : 4 }
        /// Points of the Winograd domain (GEMMs per band): (size + 2)².
        var points: Int { self == .two ? 16 : 36 }
    }

    static func tile(for rect: PixelRect) -> Tile {
        (rect.width / 4) * (rect.height / 4) >= minimumLargeTiles ? .four : .two
    }

    /// Floats of V and M one worker keeps in its own cache (2 MB L2 per core here) in the tile-local mode.
    nonisolated(unsafe) static var chunkFloats = 384 << 10
    /// Tiles a tile-local chunk needs so that re-packing U for each chunk stays a small cost.
    nonisolated(unsafe) static var minimumChunkTiles = 64

    /// Same contract as `RectConv.run` (epilogue values[o · band.area + (y − band.y0) · band.width + (x − band.x0)],
    /// no bias); band heights are multiples of the tile size except possibly the last.
    ///
    /// Two ways to share the work between the cores:
    /// - *channel-wide* (few tiles, many channels: the coarse levels): the input transform split over channels,
    ///   the GEMMs (one per tile point) over the workers, the output transform over channels; U is packed once per band.
    /// - *tile-local* (many tiles, few channels: the fine levels, where V and M of a whole band are tens of MB and
    ///   the channel-wide mode waits on memory): each worker takes chunks of tile rows small enough for its own
    ///   cache and runs transform → GEMMs → inverse transform on them alone.
    static func run(_ conv: FoldedConv, input: UnsafePointer<Float>, height h: Int, width w: Int, rect: PixelRect,
                    scratch: EngineScratch, epilogue: (PixelRect, UnsafePointer<Float>) -> Void) {
        guard let weights = conv.winograd else { preconditionFailure("WinogradConv: not a 3×3 conv") }
        if rect.isEmpty { return }
        let tile = tile(for: rect), ts = tile.size, points = tile.points
        let cin = conv.inChannels, cout = conv.outChannels, rw = rect.width
        let tilesX = (rw + ts - 1) / ts, allTileRows = (rect.height + ts - 1) / ts
        let chunkRows = max(1, chunkFloats / (points * (cin + cout) * tilesX))
        let workers = Parallel.threads
        if chunkRows * tilesX >= minimumChunkTiles && allTileRows >= 2 * workers * chunkRows {
            runTileLocal(weights, tile: tile, cin: cin, cout: cout, input: input, height: h, width: w, rect: rect,
                         chunkRows: chunkRows, workers: workers, scratch: scratch, epilogue: epilogue)
            return
        }
        let bandTileRows = max(1, min(allTileRows, EngineScratch.bandBudget / (points * max(cin, cout) * tilesX)))
        let maxStride = tileStride(bandTileRows * tilesX)
        scratch.reserve(columns: points * pointStride(cin, maxStride), product: cout * ts * bandTileRows * rw,
                        transformed: points * pointStride(cout, maxStride))
        weights.transformed(tile).withUnsafeBufferPointer { ub in
            scratch.withWinogradBuffers { v, out, m in
                let u = ub.baseAddress!
                var y = rect.y0
                while y < rect.y1 {
                    let rows = min(ts * bandTileRows, rect.y1 - y)
                    let band = PixelRect(y0: y, y1: y + rows, x0: rect.x0, x1: rect.x1)
                    let tiles = (rows + ts - 1) / ts * tilesX, ld = tileStride(tiles)
                    let vStep = pointStride(cin, ld), mStep = pointStride(cout, ld)
                    inputTransform(tile, input, channels: cin, height: h, width: w, band: band, tilesX: tilesX, ld: ld, v: v)
                    // The products are independent: one per task, each a single-threaded GEMM, which keeps
                    // both cores busy even when a small rectangle has few tiles.
                    Parallel.forEach(points) { xi in
                        sgemm(m: cout, n: tiles, k: cin, a: u + xi * cout * cin, lda: cin, b: v + xi * vStep, ldb: ld,
                              c: m + xi * mStep, ldc: ld, split: false)
                    }
                    outputTransform(tile, m, channels: cout, band: band, tilesX: tilesX, ld: ld, out: out, planeStride: band.area)
                    epilogue(band, out)
                    y += rows
                }
            }
        }
    }

    /// The tile-local mode: bands as large as the band budget allows for the output, cut into chunks of
    /// `chunkRows` tile rows dealt round-robin to the workers, each with its own V and M.
    static func runTileLocal(_ weights: WinogradWeights, tile: Tile, cin: Int, cout: Int, input: UnsafePointer<Float>,
                             height h: Int, width w: Int, rect: PixelRect, chunkRows: Int, workers: Int,
                             scratch: EngineScratch, epilogue: (PixelRect, UnsafePointer<Float>) -> Void) {
        let ts = tile.size, points = tile.points
        let rw = rect.width, tilesX = (rw + ts - 1) / ts, allTileRows = (rect.height + ts - 1) / ts
        let ld = tileStride(chunkRows * tilesX)
        let vStep = pointStride(cin, ld), mStep = pointStride(cout, ld)
        let perBand = EngineScratch.bandBudget / (ts * cout * rw) / chunkRows * chunkRows
        let bandTileRows = max(chunkRows, min(allTileRows, perBand))
        scratch.reserve(columns: workers * points * vStep, product: cout * ts * bandTileRows * rw,
                        transformed: workers * points * mStep)
        weights.transformed(tile).withUnsafeBufferPointer { ub in
            scratch.withWinogradBuffers { vAll, out, mAll in
                let u = ub.baseAddress!
                var y = rect.y0
                while y < rect.y1 {
                    let rows = min(ts * bandTileRows, rect.y1 - y)
                    let band = PixelRect(y0: y, y1: y + rows, x0: rect.x0, x1: rect.x1)
                    let chunks = ((rows + ts - 1) / ts + chunkRows - 1) / chunkRows
                    let active = min(workers, chunks)
                    Parallel.forEach(active) { t in
                        let v = vAll + t * points * vStep, m = mAll + t * points * mStep
                        var k = t
                        while k < chunks {
                            let cy0 = y + ts * k * chunkRows
                            let chunk = PixelRect(y0: cy0, y1: min(band.y1, cy0 + ts * chunkRows), x0: rect.x0, x1: rect.x1)
                            let tiles = (chunk.height + ts - 1) / ts * tilesX
                            inputTransform(tile, input, channels: cin, height: h, width: w, band: chunk, tilesX: tilesX, ld: ld,
                                           v: v, serial: true)
                            for xi in 0..<points {
                                sgemm(m: cout, n: tiles, k: cin, a: u + xi * cout * cin, lda: cin, b: v + xi * vStep, ldb: ld,
                                      c: m + xi * mStep, ldc: ld, split: false)
                            }
                            outputTransform(tile, m, channels: cout, band: chunk, tilesX: tilesX, ld: ld, out: out + (cy0 - y) * rw,
                                            planeStride: band.area, serial: true)
                            k += active
                        }
                    }
                    epilogue(band, out)
                    y += rows
                }
            }
        }
    }

    static func inputTransform(_ tile: Tile, _ x: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int,
                               band: PixelRect, tilesX: Int, ld: Int, v: UnsafeMutablePointer<Float>, serial: Bool = false) {
        let transform = { (channels: Range<Int>) in
            switch tile {
            case .two: inputTransform2(x, channels: channels, cin: cin, height: h, width: w, band: band, tilesX: tilesX, ld: ld, v: v)
            case .four: inputTransform4(x, channels: channels, cin: cin, height: h, width: w, band: band, tilesX: tilesX, ld: ld, v: v)
            }
        }
        if serial { transform(0..<cin) } else { Parallel.forRanges(cin, transform) }
    }

    static func outputTransform(_ tile: Tile, _ m: UnsafePointer<Float>, channels cout: Int, band: PixelRect, tilesX: Int,
                                ld: Int, out: UnsafeMutablePointer<Float>, planeStride: Int, serial: Bool = false) {
        let transform = { (range: Range<Int>) in
            switch tile {
            case .two: outputTransform2(m, channels: range, cout: cout, band: band, tilesX: tilesX, ld: ld, out: out,
                                        planeStride: planeStride)
            case .four: outputTransform4(m, channels: range, cout: cout, band: band, tilesX: tilesX, ld: ld, out: out,
                                         planeStride: planeStride)
            }
        }
        if serial { transform(0..<cout) } else { Parallel.forRanges(cout, transform) }
    }

    /// Row length of a V or M matrix: the tile count plus room for the last 8-wide vector's overhang,
    /// rounded to a cache line.
    static func tileStride(_ tiles: Int) -> Int { (tiles + 7 + 15) / 16 * 16 }

    /// Floats added between consecutive tile points' V (or M) matrices (see `pointStride`).
    static let pointPadding = 16

    /// Distance between consecutive tile points' V (rows = cin) or M (rows = cout) matrices. The transforms
    /// touch all 36 (or 16) points of a tile at once; at rows · ld alone those streams are often a multiple
    /// of 4 KiB apart (128 · 80 floats = 40 KiB) and fight over the same L1 sets, so each point starts one
    /// cache line further on. Measured (`bench synth`, AMD EPYC, OpenBLAS Haswell kernels): the 256² level's
    /// input transform 11 → 7.7 ms per frame, ADE20K ~1% dab 242 → 226 ms, default-model full frame 39 → 32 ms.
    static func pointStride(_ rows: Int, _ ld: Int) -> Int { rows * ld + pointPadding }

    /// U[ξ][o][c] = (G g Gᵀ)[ξ] for the 3×3 kernel g = weight[o, c], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
    static func transformWeights2(_ weight: [Float], outChannels cout: Int, inChannels cin: Int) -> [Float] {
        transformKernels(weight, points: 16, outChannels: cout, inChannels: cin) { g, store in
            // Gg column by column, then each of its rows times Gᵀ.
            let c0 = gTimes(g[0], g[3], g[6]), c1 = gTimes(g[1], g[4], g[7]), c2 = gTimes(g[2], g[5], g[8])
            func storeRow(_ i: Int, _ r: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
                store(4 * i, r.0); store(4 * i + 1, r.1); store(4 * i + 2, r.2); store(4 * i + 3, r.3)
            }
            storeRow(0, gTimes(c0.0, c1.0, c2.0))
            storeRow(1, gTimes(c0.1, c1.1, c2.1))
            storeRow(2, gTimes(c0.2, c1.2, c2.2))
            storeRow(3, gTimes(c0.3, c1.3, c2.3))
        }
    }

    /// G·(a, b, d)ᵀ, for 8 kernels at once.
    @inline(__always)
    static func gTimes(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ d: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        (a, 0.5 * (a + b + d), 0.5 * (a - b + d), d)
    }

    /// Runs `transform(g, store)` for every output channel o and block of up to 8 input channels c..<c+8:
    /// g[k] holds tap k of those kernels (zero in lanes past cin), and store(ξ, value) writes U[ξ][o][c..<c+8].
    /// Eight kernels per vector: training transforms every 3×3 weight on every call, and one kernel at a
    /// time (36 scattered scalar stores each for F(4, 3)) cost 3% of a training step.
    @inline(__always)
    static func transformKernels(_ weight: [Float], points: Int, outChannels cout: Int, inChannels cin: Int,
                                 _ transform: (UnsafePointer<SIMD8<Float>>, (Int, SIMD8<Float>) -> Void) -> Void) -> [Float] {
        let count = points * cout * cin
        var u = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }  // every U entry is stored
        weight.withUnsafeBufferPointer { wb in
            u.withUnsafeMutableBufferPointer { ub in
                let src = wb.baseAddress!, dst = ub.baseAddress!
                Parallel.forEach(cout) { o in
                    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 9) { taps in
                        let g = taps.baseAddress!
                        var c = 0
                        while c < cin {
                            let lanes = min(8, cin - c)
                            for k in 0..<9 {
                                var v = SIMD8<Float>()
                                for l in 0..<lanes { v[l] = src[(o * cin + c + l) * 9 + k] }
                                g[k] = v
                            }
                            transform(UnsafePointer(g)) { point, value in
                                let base = dst + (point * cout + o) * cin + c
                                if lanes == 8 {
                                    UnsafeMutableRawPointer(base).storeBytes(of: value, as: SIMD8<Float>.self)
                                } else {
                                    for l in 0..<lanes { base[l] = value[l] }
                                }
                            }
                            c += 8
                        }
                    }
                }
            }
        }
        return u
    }

    /// The `count` input columns start..<start + count of one row that a chunk of 8 tiles reads: the row itself
    /// where they all lie inside the map, else a copy in `padded` with zeros outside it (the map's zero padding),
    /// so the transforms' wide loads need no bounds tests. Only a row's first and last chunks need the copy.
    @inline(__always)
    static func chunkInput(_ row: UnsafePointer<Float>, width w: Int, from start: Int, count: Int,
                           padded: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if start >= 0 && start + count <= w { return row + start }
        loadPaddedRow(row, width: w, from: start, count: count, into: padded)
        return UnsafePointer(padded)
    }

    /// padded[i] = row[start + i] for i in 0..<count, zero where start + i falls outside 0..<width (the map's
    /// zero padding).
    @inline(__always)
    static func loadPaddedRow(_ row: UnsafePointer<Float>, width w: Int, from start: Int, count: Int,
                              into padded: UnsafeMutablePointer<Float>) {
        let lo = min(count, max(0, -start)), hi = max(lo, min(count, w - start))
        padded.update(repeating: 0, count: lo)
        (padded + lo).update(from: row + start + lo, count: hi - lo)
        (padded + hi).update(repeating: 0, count: count - hi)
    }

    /// V[ξ][c][t] = (Bᵀ d B)[ξ] for the 4×4 input tile d of tile t (row-major over the band's tiles) of channel c,
    /// Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]; zeros outside the map. Tiles may hang over the band's
    /// right and bottom edges: they read real input (or zeros) and their extra outputs are dropped later.
    static func inputTransform2(_ x: UnsafePointer<Float>, channels: Range<Int>, cin: Int, height h: Int, width w: Int,
                                band: PixelRect, tilesX: Int, ld: Int, v: UnsafeMutablePointer<Float>) {
        let tilesY = (band.height + 1) / 2, plane = h * w
        let chunks = (tilesX + 7) / 8, hLen = 8 * chunks
        // Room for one chunk's 18 input columns, zero-padded where they leave the map (see `chunkInput`).
        let padLen = 32
        let vStep = pointStride(cin, ld)
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
                    let row = src + iy * w
                    for k in 0..<chunks {
                        let chunk = chunkInput(row, width: w, from: band.x0 - 1 + 16 * k, count: 18, padded: padded)
                        // Even and odd columns: each tile's four columns d0…d3 at tx and tx + 1.
                        let a = load16(chunk), b = load16(chunk + 2)
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

    /// out[o · planeStride + (y − band.y0) · width + (x − band.x0)] for the band's pixels from the 2×2 tiles Aᵀ M A,
    /// Aᵀ = [1 1 1 0; 0 1 −1 −1].
    static func outputTransform2(_ m: UnsafePointer<Float>, channels range: Range<Int>, cout: Int, band: PixelRect, tilesX: Int,
                                 ld: Int, out: UnsafeMutablePointer<Float>, planeStride area: Int) {
        let tilesY = (band.height + 1) / 2, bw = band.width, rows = band.height
        let mStep = pointStride(cout, ld)
        // Tiles whose two columns both lie inside the band.
        let fullTiles = bw / 2
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

    /// Aᵀ·m on column b of 8 tiles: (m0 + m1 + m2, m1 − m2 − m3) with m_a = M[4a + b].
    @inline(__always)
    static func columnPass(_ p: UnsafePointer<Float>, _ mStep: Int, _ b: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        let m0 = load8(p + b * mStep), m1 = load8(p + (4 + b) * mStep)
        let m2 = load8(p + (8 + b) * mStep), m3 = load8(p + (12 + b) * mStep)
        return (m0 + m1 + m2, m1 - m2 - m3)
    }

    // MARK: F(4×4, 3×3)

    /// U[ξ][o][c] = (G g Gᵀ)[ξ], 36 points, for G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1].
    static func transformWeights4(_ weight: [Float], outChannels cout: Int, inChannels cin: Int) -> [Float] {
        transformKernels(weight, points: 36, outChannels: cout, inChannels: cin) { g, store in
            // Gg column by column (6 × 3), then each of its 6 rows times Gᵀ.
            let c0 = gTimes6(g[0], g[3], g[6]), c1 = gTimes6(g[1], g[4], g[7]), c2 = gTimes6(g[2], g[5], g[8])
            typealias V = SIMD8<Float>
            func storeRow(_ i: Int, _ r: (V, V, V, V, V, V)) {
                store(6 * i, r.0); store(6 * i + 1, r.1); store(6 * i + 2, r.2)
                store(6 * i + 3, r.3); store(6 * i + 4, r.4); store(6 * i + 5, r.5)
            }
            storeRow(0, gTimes6(c0.0, c1.0, c2.0))
            storeRow(1, gTimes6(c0.1, c1.1, c2.1))
            storeRow(2, gTimes6(c0.2, c1.2, c2.2))
            storeRow(3, gTimes6(c0.3, c1.3, c2.3))
            storeRow(4, gTimes6(c0.4, c1.4, c2.4))
            storeRow(5, gTimes6(c0.5, c1.5, c2.5))
        }
    }

    /// G·(a, b, d)ᵀ for F(4, 3), 8 kernels at once. Multiplies by the reciprocals (a division costs as
    /// much as ten multiplications); ⅙, 1⁄12 and 1⁄24 are then rounded once more, far below the
    /// transforms' own rounding.
    @inline(__always)
    static func gTimes6(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ d: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let sixth: Float = 1.0 / 6, twelfth: Float = 1.0 / 12, twentyFourth: Float = 1.0 / 24
        let outer = a * twentyFourth + d * sixth, middle = b * twelfth
        return (a * 0.25, -(a + b + d) * sixth, -(a - b + d) * sixth, outer + middle, outer - middle, d)
    }

    /// Bᵀ·d for 8 tiles at once, Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0;
    /// 0 4 0 −5 0 1].
    @inline(__always)
    static func bTranspose6(_ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>,
                            _ d4: SIMD8<Float>, _ d5: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let four: SIMD8<Float> = .init(repeating: 4), five: SIMD8<Float> = .init(repeating: 5), two: SIMD8<Float> = .init(repeating: 2)
        let s = d4 - d2
        return (four * d0 - five * d2 + d4,
                d3 + d4 - four * (d1 + d2),
                four * (d1 - d2) - d3 + d4,
                two * (d3 - d1) + s,
                two * (d1 - d3) + s,
                four * d1 - five * d3 + d5)
    }

    /// V[ξ][c][t] = (Bᵀ d B)[ξ] for the 6×6 input tiles of F(4, 3) (same layout and overhang rules as F(2, 3)).
    static func inputTransform4(_ x: UnsafePointer<Float>, channels: Range<Int>, cin: Int, height h: Int, width w: Int,
                                band: PixelRect, tilesX: Int, ld: Int, v: UnsafeMutablePointer<Float>) {
        let tilesY = (band.height + 3) / 4, plane = h * w
        let chunks = (tilesX + 7) / 8, hLen = 8 * chunks
        // Room for one chunk's 36 input columns, zero-padded where they leave the map (see `chunkInput`).
        let padLen = 48
        let vStep = pointStride(cin, ld)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: padLen + 8 * 6 * hLen) { tmp in
            let padded = tmp.baseAddress!
            // The horizontal pass (d·B) of the last input rows, each [6][hLen], in 8 slots: tile rows step by 4
            // input rows and read 6, so each row is transformed once.
            let ring = padded + padLen
            for c in channels {
                let src = x + c * plane
                func horizontal(_ k: Int) {
                    let dst = ring + (k & 7) * 6 * hLen, iy = band.y0 - 1 + k
                    if iy < 0 || iy >= h {
                        dst.update(repeating: 0, count: 6 * hLen)
                        return
                    }
                    let row = src + iy * w
                    for k in 0..<chunks {
                        let chunk = chunkInput(row, width: w, from: band.x0 - 1 + 32 * k, count: 36, padded: padded)
                        // Columns 4·tx + j of 8 tiles: every fourth element, split out of 32-wide loads.
                        let a = load32(chunk), b = load32(chunk + 4)
                        let ae = a.evenHalf, ao = a.oddHalf, be = b.evenHalf, bo = b.oddHalf
                        let r = bTranspose6(ae.evenHalf, ao.evenHalf, ae.oddHalf, ao.oddHalf, be.evenHalf, bo.evenHalf)
                        let p = dst + 8 * k
                        store8(r.0, p)
                        store8(r.1, p + hLen)
                        store8(r.2, p + 2 * hLen)
                        store8(r.3, p + 3 * hLen)
                        store8(r.4, p + 4 * hLen)
                        store8(r.5, p + 5 * hLen)
                    }
                }
                horizontal(0)
                horizontal(1)
                for ty in 0..<tilesY {
                    for k in (4 * ty + 2)...(4 * ty + 5) { horizontal(k) }
                    func slot(_ i: Int) -> UnsafeMutablePointer<Float> { ring + ((4 * ty + i) & 7) * 6 * hLen }
                    let r0 = slot(0), r1 = slot(1), r2 = slot(2), r3 = slot(3), r4 = slot(4), r5 = slot(5)
                    let dst = v + c * ld + ty * tilesX
                    for k in 0..<chunks {
                        let p = dst + 8 * k
                        for b in 0..<6 {
                            let o = b * hLen + 8 * k
                            let r = bTranspose6(load8(r0 + o), load8(r1 + o), load8(r2 + o), load8(r3 + o), load8(r4 + o), load8(r5 + o))
                            store8(r.0, p + b * vStep)
                            store8(r.1, p + (6 + b) * vStep)
                            store8(r.2, p + (12 + b) * vStep)
                            store8(r.3, p + (18 + b) * vStep)
                            store8(r.4, p + (24 + b) * vStep)
                            store8(r.5, p + (30 + b) * vStep)
                        }
                    }
                }
            }
        }
    }

    /// Aᵀ·m for 8 tiles, Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
    @inline(__always)
    static func aTranspose6(_ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>,
                            _ m4: SIMD8<Float>, _ m5: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4
        let two: SIMD8<Float> = .init(repeating: 2), four: SIMD8<Float> = .init(repeating: 4), eight: SIMD8<Float> = .init(repeating: 8)
        return (m0 + p12 + p34, d12 + two * d34, p12 + four * p34, d12 + eight * d34 + m5)
    }

    /// The 4×4 output tiles Aᵀ M A of F(4, 3), written like `outputTransform2`.
    static func outputTransform4(_ m: UnsafePointer<Float>, channels range: Range<Int>, cout: Int, band: PixelRect, tilesX: Int,
                                 ld: Int, out: UnsafeMutablePointer<Float>, planeStride area: Int) {
        let tilesY = (band.height + 3) / 4, bw = band.width, rows = band.height
        let mStep = pointStride(cout, ld)
        let fullTiles = bw / 4
        for o in range {
            let src = m + o * ld
            for ty in 0..<tilesY {
                let top = out + o * area + 4 * ty * bw
                let rowsHere = min(4, rows - 4 * ty)
                var tx = 0
                while tx < tilesX {
                    let p = src + ty * tilesX + tx
                    // Vertical pass (Aᵀ·) on each of the six columns: s[b] = 4 partial rows.
                    func column(_ b: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                        aTranspose6(load8(p + b * mStep), load8(p + (6 + b) * mStep), load8(p + (12 + b) * mStep),
                                    load8(p + (18 + b) * mStep), load8(p + (24 + b) * mStep), load8(p + (30 + b) * mStep))
                    }
                    let s0 = column(0), s1 = column(1), s2 = column(2), s3 = column(3), s4 = column(4), s5 = column(5)
                    // Horizontal pass (·A) per output row i.
                    let y0 = aTranspose6(s0.0, s1.0, s2.0, s3.0, s4.0, s5.0)
                    let y1 = aTranspose6(s0.1, s1.1, s2.1, s3.1, s4.1, s5.1)
                    let y2 = aTranspose6(s0.2, s1.2, s2.2, s3.2, s4.2, s5.2)
                    let y3 = aTranspose6(s0.3, s1.3, s2.3, s3.3, s4.3, s5.3)
                    let lanes = min(8, tilesX - tx)
                    let whole = tx + 8 <= fullTiles
                    for i in 0..<rowsHere {
                        let y = i == 0 ? y0 : i == 1 ? y1 : i == 2 ? y2 : y3
                        let row = top + i * bw + 4 * tx
                        if whole {
                            for l in 0..<8 {
                                row[4 * l] = y.0[l]
                                row[4 * l + 1] = y.1[l]
                                row[4 * l + 2] = y.2[l]
                                row[4 * l + 3] = y.3[l]
                            }
                        } else {
                            for l in 0..<lanes {
                                let col = 4 * (tx + l)
                                if col < bw { row[4 * l] = y.0[l] }
                                if col + 1 < bw { row[4 * l + 1] = y.1[l] }
                                if col + 2 < bw { row[4 * l + 2] = y.2[l] }
                                if col + 3 < bw { row[4 * l + 3] = y.3[l] }
                            }
                        }
                    }
                    tx += 8
                }
            }
        }
    }

    @inline(__always)
    static func load32(_ p: UnsafePointer<Float>) -> SIMD32<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD32<Float>.self)
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

/// A 3×3 conv's weights in the Winograd domain, [points][out][in] per tile size, computed on the first run
/// with that tile size, so convs that never take a path (small rectangles only, narrow layers) cost no memory.
final class WinogradWeights {
    private let weight: [Float]
    private let outChannels: Int, inChannels: Int
    private var two: [Float]?
    private var four: [Float]?

    init(weight: [Float], outChannels: Int, inChannels: Int) {
        self.weight = weight
        self.outChannels = outChannels
        self.inChannels = inChannels
    }

    func transformed(_ tile: WinogradConv.Tile) -> [Float] {
        switch tile {
        case .two:
            if let two { return two }
            let u = WinogradConv.transformWeights2(weight, outChannels: outChannels, inChannels: inChannels)
            two = u
            return u
        case .four:
            if let four { return four }
            let u = WinogradConv.transformWeights4(weight, outChannels: outChannels, inChannels: inChannels)
            four = u
            return u
        }
    }
}
