import XCTest
@testable import SpadeImaging

final class JPEGTests: XCTestCase {
    private func meanAbsoluteDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.count)
    }

    func testRGBJPEGDecodesCloseToTheOriginal() throws {
        let dir = try makeTemporaryDirectory(self)
        let image = gradientImage(width: 64, height: 48)
        try writeJPEG(image, to: dir + "/photo.jpg", quality: 95)
        XCTAssertEqual(try readImageInfo(dir + "/photo.jpg"),
                       ImageInfo(format: .jpeg, width: 64, height: 48, layout: .rgb, bitDepth: 8))
        let decoded = try readRGB(dir + "/photo.jpg")
        XCTAssertEqual(decoded.width, 64)
        XCTAssertEqual(decoded.height, 48)
        XCTAssertLessThan(meanAbsoluteDifference(decoded.pixels, image.pixels), 2.0)
        // A strong quality drop must show: the decoder really reads the file's data.
        try writeJPEG(image, to: dir + "/poor.jpg", quality: 5)
        XCTAssertGreaterThan(meanAbsoluteDifference(try readRGB(dir + "/poor.jpg").pixels, image.pixels), 2.0)
    }

    func testFormatIsFoundFromTheBytesNotTheName() throws {
        let dir = try makeTemporaryDirectory(self)
        let image = gradientImage(width: 8, height: 8)
        try writeJPEG(image, to: dir + "/really-a-jpeg.png")
        XCTAssertEqual(try readImageInfo(dir + "/really-a-jpeg.png").format, .jpeg)
        XCTAssertEqual(try readRGB(dir + "/really-a-jpeg.png").width, 8)
    }

    func testGrayJPEGBecomesEqualChannels() throws {
        let samples = (0..<(32 * 16)).map { UInt8(($0 % 32) * 8) }
        let jpeg = try encodeJPEG(samples: samples, width: 32, height: 16, components: 1, quality: 100, name: "g.jpg")
        XCTAssertEqual(try readInfo(jpeg, name: "g.jpg").0.layout, .gray)
        let rgb = try decodeRGB(jpeg, name: "g.jpg")
        for p in 0..<(32 * 16) {
            XCTAssertEqual(rgb.pixels[3 * p], rgb.pixels[3 * p + 1])
            XCTAssertEqual(rgb.pixels[3 * p], rgb.pixels[3 * p + 2])
        }
        XCTAssertLessThan(meanAbsoluteDifference(stride(from: 0, to: rgb.pixels.count, by: 3).map { rgb.pixels[$0] }, samples), 2.0)
    }

    func testCMYKJPEGIsAClearError() throws {
        let jpeg = try encodeJPEG(samples: [UInt8](repeating: 100, count: 8 * 8 * 4), width: 8, height: 8,
                                  components: 4, quality: 90, name: "c.jpg")
        let error = assertImagingError(try decodeRGB(jpeg, name: "photos/cmyk.jpg"))
        XCTAssertEqual(error, .unsupported(path: "photos/cmyk.jpg", detail: "CMYK JPEG; convert it to RGB first"))
        XCTAssertEqual(try readInfo(jpeg, name: "c.jpg").0.layout, .cmyk)
    }

    func testJPEGIsNotALabelMap() throws {
        let jpeg = try encodeJPEG(gradientImage(width: 4, height: 4))
        guard case .unsupported(path: "l.jpg", _)? = assertImagingError(try decodeLabelMap(jpeg, name: "l.jpg", palette: nil)) else {
            return XCTFail("expected unsupported")
        }
    }

    func testEveryTruncationOfAJPEGIsAnError() throws {
        let jpeg = try encodeJPEG(gradientImage(width: 40, height: 24), quality: 90)
        var truncatedCount = 0
        for cut in 1..<jpeg.count {
            let error = assertImagingError(try decodeRGB(Array(jpeg[0..<cut]), name: "photos/a.jpg"))
            switch error {
            case .truncated(path: "photos/a.jpg", format: "JPEG", _)?: truncatedCount += 1
            case .corrupt(path: "photos/a.jpg", format: "JPEG", _)?, .unknownFormat(path: "photos/a.jpg")?: break
            default: return XCTFail("cut at \(cut): \(String(describing: error))")
            }
        }
        // Almost every cut is reported as truncation (the first bytes are not yet recognisably JPEG).
        XCTAssertGreaterThan(truncatedCount, jpeg.count - 10)
        XCTAssertEqual(assertImagingError(try decodeRGB(Array(jpeg[0..<(jpeg.count / 2)]), name: "photos/a.jpg")),
                       .truncated(path: "photos/a.jpg", format: "JPEG", detail: "Premature end of JPEG file"))
    }

    func testCorruptJPEGDataIsAnErrorNotAGreyPicture() throws {
        let jpeg = try encodeJPEG(gradientImage(width: 64, height: 64), quality: 90)
        var generator = SystemRandomNumberGenerator()
        var failures = 0
        for _ in 0..<200 {
            var damaged = jpeg
            for _ in 0..<4 { damaged[Int.random(in: 3..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            do { _ = try decodeRGB(damaged, name: "d.jpg") } catch is ImagingError { failures += 1 }
        }
        XCTAssertGreaterThan(failures, 0)
        // SOI followed by garbage.
        guard case .corrupt(path: "bad.jpg", format: "JPEG", _)? = assertImagingError(
            try decodeRGB([0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0x42, count: 100), name: "bad.jpg")) else {
            return XCTFail("expected corrupt")
        }
    }

    func testHugeJPEGHeaderIsRefused() throws {
        // Patch the SOF0 dimensions of a small JPEG to 60000×60000.
        var jpeg = try encodeJPEG(gradientImage(width: 8, height: 8))
        guard let sof = (0..<(jpeg.count - 1)).first(where: { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }) else {
            return XCTFail("no SOF0 marker")
        }
        jpeg[sof + 5] = 0xEA; jpeg[sof + 6] = 0x60  // height 60000
        jpeg[sof + 7] = 0xEA; jpeg[sof + 8] = 0x60  // width 60000
        XCTAssertEqual(assertImagingError(try decodeRGB(jpeg, name: "big.jpg")),
                       .tooLarge(path: "big.jpg", width: 60000, height: 60000, maxPixels: defaultMaxPixels))
    }
}
