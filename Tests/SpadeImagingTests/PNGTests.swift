import XCTest
@testable import SpadeImaging

final class PNGTests: XCTestCase {
    // MARK: writing and reading back

    func testRGBRoundTripIsExact() throws {
        let dir = try makeTemporaryDirectory(self)
        let image = gradientImage(width: 37, height: 23)
        try writePNG(image, to: dir + "/a.png")
        XCTAssertEqual(try readRGB(dir + "/a.png"), image)
        let info = try readImageInfo(dir + "/a.png")
        XCTAssertEqual(info, ImageInfo(format: .png, width: 37, height: 23, layout: .rgb, bitDepth: 8))
    }

    func testGrayLabelRoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        let labels = LabelMap(width: 5, height: 3, labels: [0, 1, 2, 3, 4, 250, 251, 252, 253, 254, 255, 7, 8, 9, 10])
        try writeLabelPNG(labels, to: dir + "/l.png", palette: nil)
        XCTAssertEqual(try readImageInfo(dir + "/l.png").layout, .gray)
        XCTAssertEqual(try readLabelMap(dir + "/l.png", palette: nil), labels)
        // As a picture, gray values become equal R, G, B.
        let rgb = try readRGB(dir + "/l.png")
        XCTAssertEqual(rgb[4, 0], RGBColour(4, 4, 4))
        XCTAssertEqual(rgb[0, 2], RGBColour(255, 255, 255))
    }

    func testPaletteLabelRoundTripStoresIndicesAndClassColours() throws {
        let dir = try makeTemporaryDirectory(self)
        let palette = try landscapePalette()
        let labels = LabelMap(width: 4, height: 4, labels: (0..<16).map { UInt8($0 % palette.count) })
        try writeLabelPNG(labels, to: dir + "/p.png", palette: palette)
        XCTAssertEqual(try readImageInfo(dir + "/p.png").layout, .indexed)
        // Indices come back as indices, not colours ...
        XCTAssertEqual(try readLabelMap(dir + "/p.png", palette: nil), labels)
        XCTAssertEqual(try readLabelMap(dir + "/p.png", palette: palette), labels)
        // ... and an image viewer sees the class colours.
        let rgb = try readRGB(dir + "/p.png")
        for y in 0..<4 { for x in 0..<4 { XCTAssertEqual(rgb[x, y], palette.colours[Int(labels[x, y])]) } }
    }

    func testPaletteWriteRefusesLabelsOutsideThePalette() throws {
        let dir = try makeTemporaryDirectory(self)
        let palette = try landscapePalette()
        let labels = LabelMap(width: 3, height: 1, labels: [0, 15, 1])
        let error = assertImagingError(try writeLabelPNG(labels, to: dir + "/bad.png", palette: palette))
        XCTAssertEqual(error, .labelNotInPalette(path: dir + "/bad.png", x: 1, y: 0, value: 15, palette: "landscape", count: 15))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.png"))
    }

    func testDontcareValueSurvivesPaletteWrite() throws {
        let dir = try makeTemporaryDirectory(self)
        let palette = try Palette(parsing: "@dontcare 255\n0 #000000 - a\n1 #FFFFFF - b\n", source: "two")
        let labels = LabelMap(width: 3, height: 1, labels: [0, 255, 1])
        try writeLabelPNG(labels, to: dir + "/d.png", palette: palette)
        XCTAssertEqual(try readLabelMap(dir + "/d.png", palette: palette), labels)
    }

    func testColourLabelMapIsMappedThroughThePalette() throws {
        let dir = try makeTemporaryDirectory(self)
        let palette = try landscapePalette()
        var image = RGBImage(width: 3, height: 2)
        let classes: [Int] = [0, 2, 11, 12, 6, 14]
        for (p, c) in classes.enumerated() { image[p % 3, p / 3] = palette.colours[c] }
        try writePNG(image, to: dir + "/colour.png")
        XCTAssertEqual(try readLabelMap(dir + "/colour.png", palette: palette).labels, classes.map(UInt8.init))
        XCTAssertEqual(assertImagingError(try readLabelMap(dir + "/colour.png", palette: nil)),
                       .paletteRequired(path: dir + "/colour.png"))

        image[2, 1] = RGBColour(1, 2, 3)
        try writePNG(image, to: dir + "/off.png")
        let error = assertImagingError(try readLabelMap(dir + "/off.png", palette: palette))
        XCTAssertEqual(error, .colourNotInPalette(path: dir + "/off.png", x: 2, y: 1, colour: RGBColour(1, 2, 3), palette: "landscape"))
        XCTAssertEqual(error?.description,
                       "\(dir)/off.png: colour #010203 at (2, 1) is not a class colour of palette 'landscape'")
    }

    func testRGBALabelMapIgnoresAlpha() throws {
        let palette = try landscapePalette()
        let sky = palette.colours[0], tree = palette.colours[12]
        let png = makePNG(width: 2, height: 1, colorType: 6, bitDepth: 8,
                          samples: [Int(sky.r), Int(sky.g), Int(sky.b), 0, Int(tree.r), Int(tree.g), Int(tree.b), 255])
        XCTAssertEqual(try decodeLabelMap(png, name: "rgba.png", palette: palette).labels, [0, 12])
    }

    func testGrayLabelsOutsideThePaletteAreRefusedWhenAPaletteIsGiven() throws {
        let palette = try landscapePalette()
        let png = makePNG(width: 2, height: 2, colorType: 0, bitDepth: 8, samples: [0, 1, 2, 200])
        XCTAssertEqual(try decodeLabelMap(png, name: "g.png", palette: nil).labels, [0, 1, 2, 200])
        XCTAssertEqual(assertImagingError(try decodeLabelMap(png, name: "g.png", palette: palette)),
                       .labelNotInPalette(path: "g.png", x: 1, y: 1, value: 200, palette: "landscape", count: 15))
    }

    // MARK: every colour type and bit depth (files made by an independent encoder)

    func testGrayAtEveryBitDepth() throws {
        for depth in [1, 2, 4, 8, 16] {
            let maxValue = (1 << depth) - 1
            let samples = (0..<15).map { $0 * maxValue / 14 }
            let png = makePNG(width: 5, height: 3, colorType: 0, bitDepth: depth, samples: samples)
            let info = try readInfo(png, name: "g").0
            XCTAssertEqual(info.bitDepth, depth)
            let rgb = try decodeRGB(png, name: "g\(depth).png")
            for (p, v) in samples.enumerated() {
                let expected = UInt8((v * 255 + maxValue / 2) / maxValue)
                XCTAssertEqual(rgb.pixels[3 * p], expected, "depth \(depth) pixel \(p)")
                XCTAssertEqual(rgb.pixels[3 * p + 2], expected)
            }
            if depth <= 8 {
                // As labels, the stored values themselves (a 2-bit map holds classes 0…3).
                XCTAssertEqual(try decodeLabelMap(png, name: "g", palette: nil).labels, samples.map(UInt8.init), "depth \(depth)")
            }
        }
    }

    func testSixteenBitGrayLabels() throws {
        let png = makePNG(width: 3, height: 1, colorType: 0, bitDepth: 16, samples: [0, 14, 255])
        XCTAssertEqual(try decodeLabelMap(png, name: "l16.png", palette: nil).labels, [0, 14, 255])
        let big = makePNG(width: 3, height: 1, colorType: 0, bitDepth: 16, samples: [0, 300, 1])
        let error = assertImagingError(try decodeLabelMap(big, name: "labels/a.png", palette: nil))
        XCTAssertEqual(error, .labelOutOfRange(path: "labels/a.png", x: 1, y: 0, value: 300))
        XCTAssertTrue(error!.description.contains("300"))
    }

    func testSixteenBitRGBAIsScaledAndAlphaDropped() throws {
        let png = makePNG(width: 2, height: 1, colorType: 6, bitDepth: 16,
                          samples: [65535, 0, 32768, 0, 257, 514, 771, 65535])
        let rgb = try decodeRGB(png, name: "rgba16.png")
        XCTAssertEqual(rgb.pixels, [255, 0, 128, 1, 2, 3])
        XCTAssertEqual(try readInfo(png, name: "x").0.layout, .rgba)
    }

    func testGrayAlphaAndRGBA8() throws {
        let ga = makePNG(width: 2, height: 1, colorType: 4, bitDepth: 8, samples: [10, 0, 200, 255])
        XCTAssertEqual(try decodeRGB(ga, name: "ga.png").pixels, [10, 10, 10, 200, 200, 200])
        XCTAssertEqual(try decodeLabelMap(ga, name: "ga.png", palette: nil).labels, [10, 200])
        let rgba = makePNG(width: 1, height: 2, colorType: 6, bitDepth: 8, samples: [1, 2, 3, 0, 4, 5, 6, 128])
        XCTAssertEqual(try decodeRGB(rgba, name: "rgba.png").pixels, [1, 2, 3, 4, 5, 6])
    }

    func testPaletteImagesAtSubByteDepths() throws {
        let colours = [RGBColour(255, 0, 0), RGBColour(0, 255, 0), RGBColour(0, 0, 255), RGBColour(9, 9, 9)]
        for depth in [1, 2, 4, 8] {
            let used = min(colours.count, 1 << depth)
            let indices = (0..<10).map { $0 % used }
            let png = makePNG(width: 5, height: 2, colorType: 3, bitDepth: depth, samples: indices,
                              palette: Array(colours[0..<used]), transparency: [0])
            XCTAssertEqual(try decodeLabelMap(png, name: "p", palette: nil).labels, indices.map(UInt8.init), "depth \(depth)")
            let rgb = try decodeRGB(png, name: "p")
            for (p, i) in indices.enumerated() { XCTAssertEqual(rgb[p % 5, p / 5], colours[i]) }
        }
    }

    func testInterlacedPNGs() throws {
        // Odd sizes leave some Adam7 passes empty; every layout must still come back pixel for pixel.
        for (width, height) in [(11, 7), (1, 1), (3, 9)] {
            let rgb = (0..<(width * height * 3)).map { ($0 * 29) % 256 }
            let png = makePNG(width: width, height: height, colorType: 2, bitDepth: 8, samples: rgb, interlaced: true)
            XCTAssertEqual(try decodeRGB(png, name: "i.png").pixels, rgb.map(UInt8.init), "\(width)×\(height)")
            let gray2 = (0..<(width * height)).map { $0 % 4 }
            let packed = makePNG(width: width, height: height, colorType: 0, bitDepth: 2, samples: gray2, interlaced: true)
            XCTAssertEqual(try decodeLabelMap(packed, name: "i2.png", palette: nil).labels, gray2.map(UInt8.init))
            let gray16 = (0..<(width * height)).map { $0 * 3 }
            let deep = makePNG(width: width, height: height, colorType: 0, bitDepth: 16, samples: gray16, interlaced: true)
            XCTAssertEqual(try decodeLabelMap(deep, name: "i16.png", palette: nil).labels, gray16.map(UInt8.init))
        }
    }

    func testPaletteIndexBeyondPLTEIsAnError() throws {
        let png = makePNG(width: 2, height: 1, colorType: 3, bitDepth: 8, samples: [0, 5], palette: [RGBColour(1, 1, 1)])
        let error = assertImagingError(try decodeRGB(png, name: "short-plte.png"))
        guard case let .corrupt(path, format, detail)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(path, "short-plte.png")
        XCTAssertEqual(format, "PNG")
        XCTAssertTrue(detail.contains("palette index 5"), detail)
    }

    // MARK: bad input: errors, never crashes

    func testMissingFileAndDirectory() throws {
        let dir = try makeTemporaryDirectory(self)
        guard case let .unreadable(path, reason)? = assertImagingError(try readRGB(dir + "/none.png")) else {
            return XCTFail("expected unreadable")
        }
        XCTAssertEqual(path, dir + "/none.png")
        XCTAssertTrue(reason.contains("No such file"), reason)
        guard case .unreadable? = assertImagingError(try readLabelMap(dir, palette: nil)) else { return XCTFail() }
    }

    func testGarbageAndEmptyFiles() throws {
        XCTAssertEqual(assertImagingError(try decodeRGB(Array("hello, not an image".utf8), name: "g.png")),
                       .unknownFormat(path: "g.png"))
        XCTAssertEqual(assertImagingError(try decodeRGB([], name: "empty.png")),
                       .truncated(path: "empty.png", format: "image", detail: "the file is empty"))
        // A PNG signature followed by garbage.
        let fake = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<64).map { UInt8($0 * 37 & 0xFF) }
        guard case .corrupt(path: "fake.png", format: "PNG", _)? = assertImagingError(try decodeRGB(fake, name: "fake.png")) else {
            return XCTFail("expected corrupt")
        }
    }

    func testEveryTruncationOfAPNGIsATruncatedError() throws {
        let png = try encodePNG(gradientImage(width: 16, height: 9))
        for cut in 1..<png.count {
            let error = assertImagingError(try decodeRGB(Array(png[0..<cut]), name: "labels/a.png"))
            guard case .truncated(path: "labels/a.png", format: "PNG", _)? = error else {
                return XCTFail("cut at \(cut) of \(png.count): \(String(describing: error))")
            }
        }
        XCTAssertTrue(assertImagingError(try decodeRGB(Array(png[0..<60]), name: "labels/a.png"))!
            .description.hasPrefix("labels/a.png: truncated PNG ("))
    }

    func testDamagedPNGsNeverCrash() throws {
        let png = try encodePNG(gradientImage(width: 20, height: 20))
        var generator = SystemRandomNumberGenerator()
        var failures = 0
        for _ in 0..<300 {
            var damaged = png
            for _ in 0..<3 { damaged[Int.random(in: 8..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            do { _ = try decodeRGB(damaged, name: "d.png") } catch is ImagingError { failures += 1 }
        }
        // CRCs catch nearly every change in critical chunks.
        XCTAssertGreaterThan(failures, 250)
    }

    func testHugeHeaderIsRefusedBeforeDecoding() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeBytes(makeHeaderOnlyPNG(width: 100_000, height: 100_000), to: dir + "/huge.png")
        let error = assertImagingError(try readRGB(dir + "/huge.png"))
        XCTAssertEqual(error, .tooLarge(path: dir + "/huge.png", width: 100_000, height: 100_000, maxPixels: defaultMaxPixels))
        XCTAssertTrue(error!.description.contains("100000×100000"), error!.description)
        XCTAssertEqual(assertImagingError(try readLabelMap(dir + "/huge.png", palette: nil)),
                       .tooLarge(path: dir + "/huge.png", width: 100_000, height: 100_000, maxPixels: defaultMaxPixels))
        // The header alone can still be inspected.
        XCTAssertEqual(try readImageInfo(dir + "/huge.png").width, 100_000)
    }

    func testHeaderInfoBehindALargeTextChunk() throws {
        // 300 KB of metadata before the image data: more than readImageInfo's first read.
        let dir = try makeTemporaryDirectory(self)
        let png = makePNG(width: 3, height: 2, colorType: 0, bitDepth: 8, samples: [1, 2, 3, 4, 5, 6])
        let text = pngChunk("tEXt", Array("Comment".utf8) + [0] + [UInt8](repeating: 0x41, count: 300_000))
        try writeBytes(Array(png[0..<33]) + text + Array(png[33...]), to: dir + "/meta.png")
        XCTAssertEqual(try readImageInfo(dir + "/meta.png"), ImageInfo(format: .png, width: 3, height: 2, layout: .gray, bitDepth: 8))
        XCTAssertEqual(try readLabelMap(dir + "/meta.png", palette: nil).labels, [1, 2, 3, 4, 5, 6])
    }

    func testPixelLimitIsConfigurable() throws {
        let png = try encodePNG(gradientImage(width: 10, height: 10))
        XCTAssertEqual(assertImagingError(try decodeRGB(png, name: "x.png", maxPixels: 99)),
                       .tooLarge(path: "x.png", width: 10, height: 10, maxPixels: 99))
        XCTAssertNoThrow(try decodeRGB(png, name: "x.png", maxPixels: 100))
    }

    // MARK: atomic writes

    func testWriteReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        try writePNG(gradientImage(width: 4, height: 4), to: dir + "/out.png")
        try writePNG(gradientImage(width: 8, height: 2), to: dir + "/out.png")
        XCTAssertEqual(try readRGB(dir + "/out.png").width, 8)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.png"])
    }

    func testWriteIntoMissingDirectoryNamesTheFile() throws {
        let dir = try makeTemporaryDirectory(self)
        guard case let .unwritable(path, reason)? = assertImagingError(try writePNG(gradientImage(width: 2, height: 2),
                                                                                    to: dir + "/no/such/x.png")) else {
            return XCTFail("expected unwritable")
        }
        XCTAssertEqual(path, dir + "/no/such/x.png")
        XCTAssertTrue(reason.contains("No such file"), reason)
    }

    func testEmptyImageCannotBeEncoded() throws {
        XCTAssertNotNil(assertImagingError(try encodePNG(RGBImage(width: 0, height: 5))))
    }
}

final class InstanceMapTests: XCTestCase {
    func testSixteenBitIdsAreKeptWhole() throws {
        let dir = try makeTemporaryDirectory(self)
        // Cityscapes instance ids: class id · 1000 + instance number.
        let ids = [26000, 26001, 7, 24000, 65535, 0]
        try writeBytes(makePNG(width: 3, height: 2, colorType: 0, bitDepth: 16, samples: ids), to: dir + "/inst.png")
        XCTAssertEqual(try readInstanceMap(dir + "/inst.png"), InstanceMap(width: 3, height: 2, ids: ids.map(Int32.init)))
    }

    func testEightBitGrayAndPaletteIds() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeLabelPNG(LabelMap(width: 2, height: 2, labels: [0, 5, 5, 255]), to: dir + "/gray.png", palette: nil)
        XCTAssertEqual(try readInstanceMap(dir + "/gray.png").ids, [0, 5, 5, 255])
        try writeBytes(makePNG(width: 2, height: 1, colorType: 3, bitDepth: 8, samples: [1, 0],
                               palette: [RGBColour(9, 9, 9), RGBColour(8, 8, 8)]), to: dir + "/pal.png")
        XCTAssertEqual(try readInstanceMap(dir + "/pal.png").ids, [1, 0])
    }

    func testColourAndJPEGInstanceMapsAreRefused() throws {
        let dir = try makeTemporaryDirectory(self)
        try writePNG(gradientImage(width: 2, height: 2), to: dir + "/rgb.png")
        guard case .unsupported(path: dir + "/rgb.png", _)? = assertImagingError(try readInstanceMap(dir + "/rgb.png")) else {
            return XCTFail("expected unsupported")
        }
        try writeJPEG(gradientImage(width: 8, height: 8), to: dir + "/inst.jpg")
        guard case .unsupported(path: dir + "/inst.jpg", _)? = assertImagingError(try readInstanceMap(dir + "/inst.jpg")) else {
            return XCTFail("expected unsupported")
        }
        guard case .unreadable(path: dir + "/none.png", _)? = assertImagingError(try readInstanceMap(dir + "/none.png")) else {
            return XCTFail("expected unreadable")
        }
    }
}
