/// Scratch memory reused by every layer of the engine, so a frame allocates nothing per layer.
final class EngineScratch {
    private(set) var columns: [Float] = []
    private(set) var product: [Float] = []
    /// The Winograd path's GEMM outputs (its inputs go to `columns`, its output tiles to `product`).
    private(set) var transformed: [Float] = []

    /// Floats per buffer: bounds the im2col band (and the GEMM output band) to 48 MB each; few, wide bands
    /// keep the number of thread hand-offs per frame low. Tests shrink it to exercise many bands.
    nonisolated(unsafe) static var bandBudget = 12 << 20

    func reserve(columns c: Int, product p: Int, transformed t: Int = 0) {
        if columns.count < c { columns = [Float](repeating: 0, count: c) }
        if product.count < p { product = [Float](repeating: 0, count: p) }
        if transformed.count < t { transformed = [Float](repeating: 0, count: t) }
    }

    func withBuffers<R>(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> R) -> R {
        columns.withUnsafeMutableBufferPointer { cb in
            product.withUnsafeMutableBufferPointer { pb in body(cb.baseAddress!, pb.baseAddress!) }
        }
    }

    /// (columns, product, transformed).
    func withWinogradBuffers<R>(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> R) -> R {
        withBuffers { c, p in transformed.withUnsafeMutableBufferPointer { tb in body(c, p, tb.baseAddress!) } }
    }
}

/// A stride-1 same-padded convolution evaluated only on the output pixels of a rectangle: im2col over
/// the input window that rectangle needs (zero padding at the map's border), one GEMM per band of rows,
/// and an epilogue that receives each band's raw products (bias not yet added) to fuse the pointwise
/// work that follows the conv (bias, modulation, activation, residual add) into the store. Wide 3×3
/// convs over enough pixels go through `WinogradConv` instead (same epilogue contract).
enum RectConv {
    /// `epilogue(band, values)`: values[o · band.area + (y − band.y0) · band.width + (x − band.x0)] is the
    /// conv without bias at output channel o, pixel (y, x) ∈ band.
    /// Returns the multiply-adds of the direct conv (for throughput figures; the Winograd path does fewer).
    @discardableResult
    static func run(_ conv: FoldedConv, input: UnsafePointer<Float>, height h: Int, width w: Int, rect: PixelRect,
                    scratch: EngineScratch, epilogue: (PixelRect, UnsafePointer<Float>) -> Void) -> Int {
        if rect.isEmpty { return 0 }
        if let regrouped = conv.narrow {
            NarrowRectConv.run(conv, regrouped: regrouped, input: input, height: h, width: w, rect: rect, scratch: scratch,
                               epilogue: epilogue)
            return conv.outChannels * conv.columnRows * rect.area
        }
        if WinogradConv.applies(to: conv, rect: rect) {
            WinogradConv.run(conv, input: input, height: h, width: w, rect: rect, scratch: scratch, epilogue: epilogue)
            return conv.outChannels * conv.columnRows * rect.area
        }
        let rw = rect.width, k = conv.kernel, p = conv.padding
        let cin = conv.inChannels, rowsK = conv.columnRows, o = conv.outChannels
        let perRow = max(rowsK, o) * rw
        let band = max(1, min(rect.height, EngineScratch.bandBudget / perRow))
        // A 1×1 conv over full-width rows reads the input in place: no packing.
        let inPlace = k == 1 && rect.x0 == 0 && rw == w
        scratch.reserve(columns: inPlace ? 0 : rowsK * band * rw, product: o * band * rw)
        conv.weight.withUnsafeBufferPointer { wb in
            scratch.withBuffers { col, product in
                var y = rect.y0
                while y < rect.y1 {
                    let rows = min(band, rect.y1 - y)
                    let bandRect = PixelRect(y0: y, y1: y + rows, x0: rect.x0, x1: rect.x1)
                    let n = rows * rw
                    if inPlace {
                        sgemm(m: o, n: n, k: cin, a: wb.baseAddress!, lda: cin, b: input + y * w, ldb: h * w,
                              c: product, ldc: n)
                    } else {
                        im2col(input, channels: cin, height: h, width: w, kernel: k, padding: p, rect: bandRect, col: col)
                        sgemm(m: o, n: n, k: rowsK, a: wb.baseAddress!, lda: rowsK, b: col, ldb: n, c: product, ldc: n)
                    }
                    epilogue(bandRect, product)
                    y += rows
                }
            }
        }
        return o * rowsK * rect.area
    }

    /// col[(c·k² + i·k + j)][(y − r.y0)·r.width + (x − r.x0)] = x[c, y + i − p, x + j − p] (0 outside).
    static func im2col(_ x: UnsafePointer<Float>, channels: Int, height h: Int, width w: Int, kernel k: Int, padding p: Int,
                       rect r: PixelRect, col: UnsafeMutablePointer<Float>) {
        let rw = r.width, n = r.area
        Parallel.forEach(channels) { c in
            let plane = x + c * h * w
            for i in 0..<k {
                for j in 0..<k {
                    let dst = col + ((c * k + i) * k + j) * n
                    // Columns of the rectangle whose source x is inside the map.
                    let lo = min(rw, max(0, p - j - r.x0)), hi = min(rw, w + p - j - r.x0)
                    for yi in 0..<r.height {
                        let iy = r.y0 + yi + i - p
                        let d = dst + yi * rw
                        if iy < 0 || iy >= h || lo >= hi {
                            for xi in 0..<rw { d[xi] = 0 }
                            continue
                        }
                        let src = plane + iy * w + r.x0 + j - p
                        for xi in 0..<lo { d[xi] = 0 }
                        for xi in lo..<hi { d[xi] = src[xi] }
                        for xi in hi..<rw { d[xi] = 0 }
                    }
                }
            }
        }
    }
}

/// Convs with few outputs (conv_img: 64 → 3 or 16 → 3, 3×3) the way `Conv2dNarrowOutput` runs them in
/// training: im2col's GEMM would have 3 rows, Winograd's 36 GEMMs 3 rows each. Instead one GEMM of the
/// regrouped weight (a row per output and kernel tap) over the input window the rectangle reads, then each
/// output pixel sums its k² taps' products. Same epilogue contract as `RectConv.run`.
enum NarrowRectConv {
    static func applies(outChannels: Int, kernel: Int) -> Bool {
        kernel > 1 && outChannels * kernel * kernel <= 32
    }

    static func run(_ conv: FoldedConv, regrouped: [Float], input: UnsafePointer<Float>, height h: Int, width w: Int,
                    rect: PixelRect, scratch: EngineScratch, epilogue: (PixelRect, UnsafePointer<Float>) -> Void) {
        let k = conv.kernel, taps = k * k, p = conv.padding, cin = conv.inChannels, cout = conv.outChannels
        let rows = cout * taps, rw = rect.width
        // The input columns the rectangle reads; whole rows of the map are read in place.
        let x0 = max(0, rect.x0 - p), x1 = min(w, rect.x1 + p), ww = x1 - x0
        let inPlace = x0 == 0 && x1 == w
        let band = max(1, min(rect.height, EngineScratch.bandBudget / (max(rows, cin) * ww) - 2 * p))
        let windowFloats = (band + 2 * p) * ww
        scratch.reserve(columns: inPlace ? 0 : cin * windowFloats, product: cout * band * rw, transformed: rows * windowFloats)
        regrouped.withUnsafeBufferPointer { wb in
            scratch.withWinogradBuffers { packed, values, products in
                var y = rect.y0
                while y < rect.y1 {
                    let bandRows = min(band, rect.y1 - y)
                    let wy0 = max(0, y - p), wy1 = min(h, y + bandRows + p), n = (wy1 - wy0) * ww
                    var b = input + wy0 * w, ldb = h * w
                    if !inPlace {
                        Parallel.forEach(cin) { c in
                            for yy in wy0..<wy1 {
                                (packed + c * n + (yy - wy0) * ww).update(from: input + c * h * w + yy * w + x0, count: ww)
                            }
                        }
                        b = UnsafePointer(packed)
                        ldb = n
                    }
                    sgemm(m: rows, n: n, k: cin, a: wb.baseAddress!, lda: cin, b: b, ldb: ldb, c: products, ldc: n)
                    Parallel.forEach(cout * bandRows) { job in
                        let o = job / bandRows, yi = job % bandRows, oy = y + yi
                        let dst = values + o * bandRows * rw + yi * rw
                        dst.update(repeating: 0, count: rw)
                        for i in 0..<k {
                            let iy = oy + i - p
                            if iy < 0 || iy >= h { continue }
                            for j in 0..<k {
                                // Output columns whose tap x + j − p lies inside the map (zero padding elsewhere).
                                let lo = max(rect.x0, p - j), hi = min(rect.x1, w + p - j)
                                if lo >= hi { continue }
                                let src = products + (o * taps + i * k + j) * n + (iy - wy0) * ww + (j - p - x0)
                                for x in lo..<hi { dst[x - rect.x0] += src[x] }
                            }
                        }
                    }
                    epilogue(PixelRect(y0: y, y1: y + bandRows, x0: rect.x0, x1: rect.x1), values)
                    y += bandRows
                }
            }
        }
    }
}

/// The same convolution evaluated at an arbitrary list of output pixels (`positions`: y·width + x),
/// for the scattered pixels a uniform-region shortcut leaves to compute. Epilogue values are indexed
/// [o · chunk.count + (n − chunk.lowerBound)] for the list entries n in `chunk`.
enum ListConv {
    @discardableResult
    static func run(_ conv: FoldedConv, input: UnsafePointer<Float>, height h: Int, width w: Int, positions: [Int32],
                    scratch: EngineScratch, epilogue: (Range<Int>, UnsafePointer<Float>) -> Void) -> Int {
        if positions.isEmpty { return 0 }
        let k = conv.kernel, p = conv.padding, cin = conv.inChannels, rowsK = conv.columnRows, o = conv.outChannels
        let chunk = max(1, min(positions.count, EngineScratch.bandBudget / max(rowsK, o)))
        scratch.reserve(columns: rowsK * chunk, product: o * chunk)
        conv.weight.withUnsafeBufferPointer { wb in
            positions.withUnsafeBufferPointer { pb in
                scratch.withBuffers { col, product in
                    var start = 0
                    while start < positions.count {
                        let n = min(chunk, positions.count - start)
                        let pos = pb.baseAddress! + start
                        Parallel.forEach(cin) { c in
                            let plane = input + c * h * w
                            for i in 0..<k {
                                for j in 0..<k {
                                    let dst = col + ((c * k + i) * k + j) * n
                                    for e in 0..<n {
                                        let q = Int(pos[e]), y = q / w + i - p, x = q % w + j - p
                                        dst[e] = (y >= 0 && y < h && x >= 0 && x < w) ? plane[y * w + x] : 0
                                    }
                                }
                            }
                        }
                        sgemm(m: o, n: n, k: rowsK, a: wb.baseAddress!, lda: rowsK, b: col, ldb: n, c: product, ldc: n)
                        epilogue(start..<(start + n), product)
                        start += n
                    }
                }
            }
        }
        return o * rowsK * positions.count
    }
}
