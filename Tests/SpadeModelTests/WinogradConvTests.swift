import XCTest
@testable import SpadeModel

/// The Winograd F(2×2, 3×3) rectangle conv against a direct conv computed in double precision, on the
/// shapes the engine hands it: odd and even rectangles, rectangles touching every border of the map,
/// one-row and one-column strips, one band or many; and `RectConv` choosing it only for wide convs.
final class WinogradConvTests: XCTestCase {
    /// The conv without bias at output channel o, pixel (y, x), zero padding 1.
    static func direct(_ x: [Float], _ weight: [Float], cin: Int, cout: Int, height h: Int, width w: Int) -> [Double] {
        var out = [Double](repeating: 0, count: cout * h * w)
        for o in 0..<cout {
            for y in 0..<h {
                for xx in 0..<w {
                    var s = 0.0
                    for c in 0..<cin {
                        for i in 0..<3 {
                            let iy = y + i - 1
                            if iy < 0 || iy >= h { continue }
                            for j in 0..<3 {
                                let ix = xx + j - 1
                                if ix < 0 || ix >= w { continue }
                                s += Double(weight[((o * cin + c) * 3 + i) * 3 + j]) * Double(x[(c * h + iy) * w + ix])
                            }
                        }
                    }
                    out[(o * h + y) * w + xx] = s
                }
            }
        }
        return out
    }

    /// Runs `body` (a rect conv) and returns the map it wrote through the epilogue, NaN where it wrote nothing.
    static func collect(cout: Int, height h: Int, width w: Int, tileSize: Int = 2,
                        _ body: (@escaping (PixelRect, UnsafePointer<Float>) -> Void) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: cout * h * w)
        var bandHeights: [Int] = []
        body { band, values in
            bandHeights.append(band.height)
            for o in 0..<cout {
                for y in band.y0..<band.y1 {
                    for x in band.x0..<band.x1 {
                        out[(o * h + y) * w + x] = values[o * band.area + (y - band.y0) * band.width + (x - band.x0)]
                    }
                }
            }
        }
        // All bands but the last hold whole tile rows (F(2, 3): 2 pixels, F(4, 3): 4).
        XCTAssertTrue(bandHeights.dropLast().allSatisfy { $0 % tileSize == 0 }, "band heights \(bandHeights)")
        return out
    }

    /// The largest error inside `rect` (infinite where nothing was written) and the count of values written outside it.
    static func compare(_ got: [Float], _ expected: [Double], channels: Int, height h: Int, width w: Int,
                        rect: PixelRect) -> (worst: Double, outside: Int) {
        var worst = 0.0, outside = 0
        for o in 0..<channels {
            for y in 0..<h {
                for xx in 0..<w {
                    let i = (o * h + y) * w + xx
                    if y >= rect.y0 && y < rect.y1 && xx >= rect.x0 && xx < rect.x1 {
                        worst = max(worst, got[i].isNaN ? .infinity : abs(Double(got[i]) - expected[i]))
                    } else if !got[i].isNaN {
                        outside += 1
                    }
                }
            }
        }
        return (worst, outside)
    }

    func check(cin: Int, cout: Int, height h: Int, width w: Int, rects: [PixelRect], seed: UInt64,
               file: StaticString = #filePath, line: UInt = #line) {
        var rng = RandomGenerator(seed: seed)
        let x = rng.normalTensor([cin, h, w]).data
        let weight = rng.normalTensor([cout, cin, 3, 3]).data
        let expected = Self.direct(x, weight, cin: cin, cout: cout, height: h, width: w)
        let conv = FoldedConv(weight: Tensor(shape: [cout, cin, 3, 3], data: weight), bias: nil)
        // Outputs are sums of 9·cin products of unit normals: allow float rounding on that scale.
        let tolerance = 4e-6 * Double(9 * cin)
        let scratch = EngineScratch()
        let saved = (WinogradConv.chunkFloats, WinogradConv.minimumChunkTiles, WinogradConv.minimumLargeTiles)
        defer { (WinogradConv.chunkFloats, WinogradConv.minimumChunkTiles, WinogradConv.minimumLargeTiles) = saved }
        // Both tile sizes, and both ways of sharing the work: channel-wide, and tile-local in one-tile-row
        // chunks (rectangles with at least two chunks per worker take it).
        for (large, tileLocal) in [(false, false), (false, true), (true, false), (true, true)] {
          WinogradConv.minimumLargeTiles = large ? 0 : Int.max
          (WinogradConv.chunkFloats, WinogradConv.minimumChunkTiles) = tileLocal ? (1, 1) : (saved.0, saved.1)
          for rect in rects {
            XCTAssertEqual(WinogradConv.tile(for: rect), large ? .four : .two)
            let got = x.withUnsafeBufferPointer { xb in
                Self.collect(cout: cout, height: h, width: w, tileSize: large ? 4 : 2) { epilogue in
                    WinogradConv.run(conv, input: xb.baseAddress!, height: h, width: w, rect: rect, scratch: scratch,
                                     epilogue: epilogue)
                }
            }
            let (worst, outside) = Self.compare(got, expected, channels: cout, height: h, width: w, rect: rect)
            XCTAssertLessThanOrEqual(worst, tolerance, "\(cin)→\(cout) on \(h)x\(w), rect \(rect), F(\(large ? 4 : 2), 3), tile-local \(tileLocal)",
                                     file: file, line: line)
            XCTAssertEqual(outside, 0, "wrote outside \(rect), F(\(large ? 4 : 2), 3), tile-local \(tileLocal)", file: file, line: line)
          }
        }
    }

    /// Rectangles on an h × w map: the whole map, each border and corner, odd and even sizes, one-row and
    /// one-column strips, a single pixel.
    static func rects(height h: Int, width w: Int) -> [PixelRect] {
        precondition(h >= 9 && w >= 10)
        return [
            .full(height: h, width: w),
            PixelRect(y0: 0, y1: 3, x0: 0, x1: 5),                 // top-left corner, odd × odd
            PixelRect(y0: h - 4, y1: h, x0: w - 6, x1: w),         // bottom-right corner, even × even
            PixelRect(y0: 0, y1: h, x0: w - 3, x1: w),             // right edge, full height
            PixelRect(y0: h - 1, y1: h, x0: 0, x1: w),             // bottom row
            PixelRect(y0: 0, y1: 1, x0: 2, x1: w - 1),             // top row
            PixelRect(y0: 2, y1: h - 1, x0: 0, x1: 1),             // left column
            PixelRect(y0: 3, y1: 8, x0: 4, x1: min(11, w - 1)),     // interior, odd × odd
            PixelRect(y0: 5, y1: 6, x0: 7, x1: 8),                 // one pixel
        ]
    }

    func testMatchesDirectConvOnRectangles() {
        check(cin: 5, cout: 7, height: 11, width: 17, rects: Self.rects(height: 11, width: 17), seed: 1)
        check(cin: 16, cout: 9, height: 12, width: 10, rects: Self.rects(height: 12, width: 10), seed: 2)
        // Wider than one 8-tile vector per row, odd width.
        check(cin: 3, cout: 4, height: 9, width: 37, rects: Self.rects(height: 9, width: 37), seed: 3)
    }

    /// A tiny band budget forces one tile row (two output rows) per band.
    func testMatchesDirectConvInManyBands() {
        let saved = EngineScratch.bandBudget
        defer { EngineScratch.bandBudget = saved }
        EngineScratch.bandBudget = 500
        check(cin: 5, cout: 7, height: 11, width: 17, rects: Self.rects(height: 11, width: 17), seed: 4)
        EngineScratch.bandBudget = 16 * 7 * 9 * 3   // three tile rows of the full width
        check(cin: 5, cout: 7, height: 11, width: 17, rects: Self.rects(height: 11, width: 17), seed: 5)
    }

    /// RectConv takes the Winograd path only for 3×3 convs with enough input channels over enough pixels, and
    /// both paths agree.
    func testRectConvChoosesWinogradForWideConvsOnly() {
        let narrow = WinogradConv.minimumChannels - 1, wide = WinogradConv.minimumChannels
        var rng = RandomGenerator(seed: 7)
        let h = 9, w = 10
        for (cin, cout) in [(narrow, wide), (wide, narrow), (wide, 3), (2 * wide, 2 * wide)] {
            let x = rng.normalTensor([cin, h, w]).data
            let weight = rng.normalTensor([cout, cin, 3, 3]).data
            let conv = FoldedConv(weight: Tensor(shape: [cout, cin, 3, 3], data: weight), bias: nil)
            let expected = Self.direct(x, weight, cin: cin, cout: cout, height: h, width: w)
            for rect in [PixelRect.full(height: h, width: w), PixelRect(y0: 4, y1: 6, x0: 3, x1: 5)] {
                let winograd = WinogradConv.applies(to: conv, rect: rect)
                XCTAssertEqual(winograd, cin >= wide && rect.area >= WinogradConv.minimumArea, "\(cin)→\(cout) over \(rect)")
                let got = x.withUnsafeBufferPointer { xb in
                    Self.collect(cout: cout, height: h, width: w) { epilogue in
                        RectConv.run(conv, input: xb.baseAddress!, height: h, width: w, rect: rect, scratch: EngineScratch(),
                                     epilogue: epilogue)
                    }
                }
                var worst = 0.0
                for o in 0..<cout {
                    for y in rect.y0..<rect.y1 {
                        for xx in rect.x0..<rect.x1 {
                            let i = (o * h + y) * w + xx
                            worst = max(worst, got[i].isNaN ? .infinity : abs(Double(got[i]) - expected[i]))
                        }
                    }
                }
                XCTAssertLessThanOrEqual(worst, 2e-6 * Double(9 * cin), "\(cin)→\(cout) over \(rect), winograd \(winograd)")
            }
        }
        // 1×1 convs never take it.
        let pointwise = FoldedConv(weight: Tensor(shape: [wide, wide, 1, 1], data: [Float](repeating: 1, count: wide * wide)), bias: nil)
        XCTAssertFalse(WinogradConv.applies(to: pointwise, rect: .full(height: 64, width: 64)))
    }
}
