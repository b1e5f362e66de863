import XCTest
@testable import SpadeImaging

final class ResizeTests: XCTestCase {
    func testPyTorchLegacyNearestIndices() {
        XCTAssertEqual(nearestSourceIndices(input: 5, output: 3, rule: .pytorchLegacy), [0, 1, 3])
        XCTAssertEqual(nearestSourceIndices(input: 3, output: 7, rule: .pytorchLegacy), [0, 0, 0, 1, 1, 2, 2])
        XCTAssertEqual(nearestSourceIndices(input: 2, output: 4, rule: .pytorchLegacy), [0, 0, 1, 1])
        // The generator's first layer samples a 256-pixel map at rows/cols 0, 32, …, 224.
        XCTAssertEqual(nearestSourceIndices(input: 256, output: 8, rule: .pytorchLegacy), stride(from: 0, to: 256, by: 32).map { $0 })
        XCTAssertEqual(nearestSourceIndices(input: 4, output: 4, rule: .pytorchLegacy), [0, 1, 2, 3])
    }

    func testPixelCenterNearestIndices() {
        XCTAssertEqual(nearestSourceIndices(input: 5, output: 3, rule: .pixelCenter), [0, 2, 4])
        XCTAssertEqual(nearestSourceIndices(input: 256, output: 8, rule: .pixelCenter), stride(from: 16, to: 256, by: 32).map { $0 })
        XCTAssertEqual(nearestSourceIndices(input: 2, output: 5, rule: .pixelCenter), [0, 0, 1, 1, 1])
    }

    func testResizeNearestLabelMap() {
        // 4×2 map, labels = 10·row + column.
        let map = LabelMap(width: 4, height: 2, labels: [0, 1, 2, 3, 10, 11, 12, 13])
        XCTAssertEqual(resizeNearest(map, width: 2, height: 1).labels, [0, 2])
        XCTAssertEqual(resizeNearest(map, width: 2, height: 1, rule: .pixelCenter).labels, [11, 13])
        XCTAssertEqual(resizeNearest(map, width: 8, height: 4).labels,
                       [0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3, 10, 10, 11, 11, 12, 12, 13, 13, 10, 10, 11, 11, 12, 12, 13, 13])
    }

    func testBilinearMatchesPyTorchAlignCornersFalse() {
        // Downscale by 2: src = 2·(d + 0.5) − 0.5 = 0.5, 2.5.
        XCTAssertEqual(resizeBilinear([0, 10, 20, 30], width: 4, height: 1, channels: 1, toWidth: 2, toHeight: 1), [5, 25])
        // Upscale by 2: src = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (right neighbour clamped).
        XCTAssertEqual(resizeBilinear([0, 10], width: 2, height: 1, channels: 1, toWidth: 4, toHeight: 1), [0, 2.5, 7.5, 10])
        // 2×2 → 3×3 with two channels: src = (d + 0.5)·2/3 − 0.5 = −1/6 → 0, 0.5, 7/6 → (1, clamped).
        let values: [Float] = [0, 100, 10, 100, 20, 100, 30, 100]  // (v, 100) per pixel; v = 0 10 / 20 30
        let out = resizeBilinear(values, width: 2, height: 2, channels: 2, toWidth: 3, toHeight: 3)
        let expected: [Float] = [0, 5, 10, 10, 15, 20, 20, 25, 30]
        for i in 0..<9 {
            XCTAssertEqual(out[2 * i], expected[i], accuracy: 1e-4)
            XCTAssertEqual(out[2 * i + 1], 100, accuracy: 1e-4)
        }
    }

    func testAreaIsAdaptiveAveragePooling() {
        // Bins floor(i·5/2) ..< ceil((i+1)·5/2): [0, 3) and [2, 5).
        XCTAssertEqual(resizeArea([0, 10, 20, 30, 40], width: 5, height: 1, channels: 1, toWidth: 2, toHeight: 1), [10, 30])
        // Exact 2×2 box means in 2-D.
        let grid: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        XCTAssertEqual(resizeArea(grid, width: 4, height: 4, channels: 1, toWidth: 2, toHeight: 2), [2.5, 4.5, 10.5, 12.5])
    }

    func testRGBImageResizeRoundsAndKeepsChannelsApart() {
        var image = RGBImage(width: 2, height: 1)
        image[0, 0] = RGBColour(0, 255, 1)
        image[1, 0] = RGBColour(255, 0, 2)
        let wide = resize(image, width: 4, height: 1, filter: .bilinear)
        // Weights (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1).
        XCTAssertEqual(wide.pixels, [0, 255, 1, 64, 191, 1, 191, 64, 2, 255, 0, 2])
        let narrow = resize(image, width: 1, height: 1, filter: .area)
        XCTAssertEqual(narrow.pixels, [128, 128, 2])  // 127.5 rounds away from zero, 1.5 → 2
        XCTAssertEqual(resize(image, width: 2, height: 1, filter: .bilinear), image)
    }
}
