import XCTest
@testable import SpadeImaging

/// Resize results pinned to Pillow 13.0 and PyTorch 2.15 outputs, printed by
/// `Tests/fixtures/imaging_resize_reference.py` for the same input pattern.
final class ResizeReferenceTests: XCTestCase {
    /// The deterministic input picture shared with the Python script.
    private func patternImage(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 { pixels.append(UInt8((x * 37 + y * 91 + c * 53 + (x * y % 17) * 7) % 256)) }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }

    private func indexHash(_ indices: [Int]) -> UInt64 {
        fnv1a(indices.flatMap { v in (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } })
    }

    func testBicubicIsBitExactWithPillow() {
        let cases: [(Int, Int, Int, Int, UInt64, [UInt8])] = [
            (13, 9, 5, 4, 0x8C83_7132_829D_249A, [101, 130, 143, 123, 136, 147, 124, 125, 132, 97, 112, 139]),
            (7, 5, 16, 11, 0xBF09_8353_DE88_24A7, [0, 41, 94, 0, 49, 101, 10, 63, 115, 29, 82, 135]),
            (13, 9, 13, 4, 0x5D0F_0226_A32C_E3D7, [73, 126, 129, 115, 118, 178, 106, 167, 106, 156, 94, 151]),
            (13, 9, 6, 9, 0xBA51_BE8A_6F75_7AD6, [23, 76, 129, 100, 161, 216, 188, 175, 110, 66, 53, 105]),
            (300, 200, 256, 256, 0x3395_9EC0_F6A1_C5A9, [0, 52, 104, 41, 94, 151, 84, 143, 204, 136, 194, 255]),
            (640, 427, 256, 256, 0x61E5_0AA5_E87D_9B7C, [77, 126, 154, 126, 139, 153, 124, 128, 131, 103, 116, 137]),
        ]
        for (w, h, ow, oh, hash, first) in cases {
            let out = resize(patternImage(width: w, height: h), width: ow, height: oh, filter: .bicubic)
            XCTAssertEqual(Array(out.pixels.prefix(12)), first, "\(w)×\(h) → \(ow)×\(oh)")
            XCTAssertEqual(fnv1a(out.pixels), hash, "\(w)×\(h) → \(ow)×\(oh)")
        }
    }

    func testPixelCenterNearestMatchesPillow() {
        let short: [(Int, Int, [Int])] = [
            (5, 3, [0, 2, 4]), (3, 7, [0, 0, 1, 1, 1, 2, 2]), (256, 7, [18, 54, 91, 127, 164, 201, 237]),
            (10, 30, (0..<30).map { $0 / 3 }),
        ]
        for (n, m, expected) in short {
            XCTAssertEqual(nearestSourceIndices(input: n, output: m, rule: .pixelCenter), expected, "\(n) → \(m)")
        }
        let hashed: [(Int, Int, UInt64)] = [
            (256, 100, 0x75B0_06CD_9A24_AAFA), (1000, 999, 0x3D15_F334_34D0_CF3E), (257, 256, 0x726C_CCA1_5BDC_EAFA),
        ]
        for (n, m, hash) in hashed {
            XCTAssertEqual(indexHash(nearestSourceIndices(input: n, output: m, rule: .pixelCenter)), hash, "\(n) → \(m)")
        }
    }

    func testLegacyNearestMatchesPyTorch() {
        let short: [(Int, Int, [Int])] = [
            (5, 3, [0, 1, 3]), (3, 7, [0, 0, 0, 1, 1, 2, 2]), (256, 7, [0, 36, 73, 109, 146, 182, 219]),
            (10, 30, (0..<30).map { $0 / 3 }), (7, 14, (0..<14).map { $0 / 2 }),
        ]
        for (n, m, expected) in short {
            XCTAssertEqual(nearestSourceIndices(input: n, output: m, rule: .pytorchLegacy), expected, "\(n) → \(m)")
        }
        let hashed: [(Int, Int, UInt64)] = [
            (256, 100, 0x4609_F38D_5154_0065), (1000, 999, 0x6972_6190_7BEF_5673), (257, 256, 0x8084_B7F6_C938_AF25),
        ]
        for (n, m, hash) in hashed {
            XCTAssertEqual(indexHash(nearestSourceIndices(input: n, output: m, rule: .pytorchLegacy)), hash, "\(n) → \(m)")
        }
    }

    func testBilinearAndAreaMatchPyTorch() {
        let cases: [(PhotoFilter, Int, Int, Int, Int, Double, [Float])] = [
            (.bilinear, 13, 9, 5, 4, 7476.9000, [89.974998, 142.974991, 195.975006, 133.550018, 90.549988, 143.549988]),
            (.bilinear, 7, 5, 16, 11, 69462.0683, [0, 53, 106, 5.78125, 58.78125, 111.78125]),
            (.bilinear, 300, 200, 256, 256, 25092058.4122, [3.179688, 56.179688, 109.179688, 46.539062, 99.539062, 152.539062]),
            (.area, 13, 9, 5, 4, 7601.7777, [106.555550, 131.111115, 127.222221, 117, 148.666672, 137.666672]),
            (.area, 7, 5, 16, 11, 69334.7500, [0, 53, 106, 0, 53, 106]),
            (.area, 300, 200, 256, 256, 25085639.0808, [18.5, 71.5, 124.5, 55.5, 108.5, 161.5]),
        ]
        for (filter, w, h, ow, oh, sum, first) in cases {
            let input = patternImage(width: w, height: h).pixels.map(Float.init)
            let out = filter == .bilinear
                ? resizeBilinear(input, width: w, height: h, channels: 3, toWidth: ow, toHeight: oh)
                : resizeArea(input, width: w, height: h, channels: 3, toWidth: ow, toHeight: oh)
            for (a, b) in zip(out.prefix(6), first) { XCTAssertEqual(a, b, accuracy: 1e-3, "\(filter) \(w)×\(h) → \(ow)×\(oh)") }
            XCTAssertEqual(out.reduce(0.0) { $0 + Double($1) }, sum, accuracy: sum * 1e-6, "\(filter) \(w)×\(h) → \(ow)×\(oh)")
        }
    }
}
