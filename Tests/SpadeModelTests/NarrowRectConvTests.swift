import XCTest
@testable import SpadeModel

/// The few-output rectangle conv (conv_img) against a direct double-precision conv, on the rectangles the
/// engine hands it (whole map, borders, corners, strips, one pixel), in one band or many.
final class NarrowRectConvTests: XCTestCase {
    func check(cin: Int, cout: Int, height h: Int, width w: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = RandomGenerator(seed: seed)
        let x = rng.normalTensor([cin, h, w]).data
        let weight = rng.normalTensor([cout, cin, 3, 3]).data
        let expected = WinogradConvTests.direct(x, weight, cin: cin, cout: cout, height: h, width: w)
        let conv = FoldedConv(weight: Tensor(shape: [cout, cin, 3, 3], data: weight), bias: nil)
        XCTAssertNotNil(conv.narrow, "\(cin)→\(cout) should take the narrow path", file: file, line: line)
        let scratch = EngineScratch()
        for rect in WinogradConvTests.rects(height: h, width: w) {
            let got = x.withUnsafeBufferPointer { xb in
                WinogradConvTests.collect(cout: cout, height: h, width: w, tileSize: 1) { epilogue in
                    RectConv.run(conv, input: xb.baseAddress!, height: h, width: w, rect: rect, scratch: scratch, epilogue: epilogue)
                }
            }
            let (worst, outside) = WinogradConvTests.compare(got, expected, channels: cout, height: h, width: w, rect: rect)
            XCTAssertLessThanOrEqual(worst, 4e-6 * Double(9 * cin), "\(cin)→\(cout) on \(h)x\(w), rect \(rect)", file: file, line: line)
            XCTAssertEqual(outside, 0, "wrote outside \(rect)", file: file, line: line)
        }
    }

    func testMatchesDirectConvOnRectangles() {
        check(cin: 64, cout: 3, height: 11, width: 17, seed: 1)
        check(cin: 16, cout: 3, height: 12, width: 10, seed: 2)
        check(cin: 5, cout: 1, height: 9, width: 37, seed: 3)
    }

    /// A tiny band budget makes every band one or two output rows.
    func testMatchesDirectConvInManyBands() {
        let saved = EngineScratch.bandBudget
        defer { EngineScratch.bandBudget = saved }
        EngineScratch.bandBudget = 500
        check(cin: 16, cout: 3, height: 11, width: 17, seed: 4)
        EngineScratch.bandBudget = 27 * 17 * 4
        check(cin: 16, cout: 3, height: 11, width: 17, seed: 5)
    }

    /// Wide outputs keep the other paths.
    func testOnlyFewOutputConvsTakeIt() {
        var rng = RandomGenerator(seed: 6)
        for (cout, narrow) in [(1, true), (3, true), (4, false), (64, false)] {
            let conv = FoldedConv(weight: rng.normalTensor([cout, 16, 3, 3]), bias: nil)
            XCTAssertEqual(conv.narrow != nil, narrow, "16→\(cout)")
        }
        XCTAssertNil(FoldedConv(weight: rng.normalTensor([3, 16, 1, 1]), bias: nil).narrow, "1×1 convs have no taps to shift")
    }
}
