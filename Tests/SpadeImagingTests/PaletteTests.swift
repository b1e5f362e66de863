import XCTest
@testable import SpadeImaging

final class PaletteTests: XCTestCase {
    func testLandscapePalette() throws {
        let palette = try landscapePalette()
        XCTAssertEqual(palette.name, "landscape")
        XCTAssertEqual(palette.names, ["sky", "cloud", "mountain", "snow", "rock", "hill", "water", "sea", "river",
                                       "sand", "dirt", "grass", "tree", "bush", "flower"])
        XCTAssertEqual(palette.count, 15)
        XCTAssertEqual(palette.background, 0)
        XCTAssertNil(palette.dontcare)
        XCTAssertEqual(Set(palette.colours).count, 15, "landscape colours must be distinct")
        XCTAssertEqual(palette.keys.compactMap { $0 }.count, 15, "every landscape class has a key")
        XCTAssertEqual(Set(palette.keys).count, 15)
        for (index, colour) in palette.colours.enumerated() { XCTAssertEqual(palette.index(of: colour), UInt8(index)) }
        XCTAssertEqual(palette.index(forKey: "s"), 0)
        XCTAssertEqual(palette.index(named: "Tree"), 12)
        XCTAssertNil(palette.index(of: RGBColour(1, 2, 3)))
    }

    func testColourImageRoundTripsThroughReadLabelMap() throws {
        let dir = try makeTemporaryDirectory(self)
        let palette = try landscapePalette()
        let labels = LabelMap(width: 5, height: 3, labels: (0..<15).map { UInt8(14 - $0) })
        let image = palette.colourImage(labels)
        XCTAssertEqual(image[0, 0], palette.colours[14])
        XCTAssertEqual(image[4, 2], palette.colours[0])
        try writePNG(image, to: dir + "/colour.png")
        XCTAssertEqual(try readLabelMap(dir + "/colour.png", palette: palette), labels)
        // Values that are no class get the `unknown` colour.
        let odd = palette.colourImage(LabelMap(width: 2, height: 1, labels: [1, 255]), unknown: RGBColour(9, 8, 7))
        XCTAssertEqual(odd.pixels, [palette.colours[1].r, palette.colours[1].g, palette.colours[1].b, 9, 8, 7])
    }

    func testFullFormat() throws {
        let text = """
        # a comment line
          @name  my classes   # trailing comment
        @background 2
        @dontcare 255

        1 #00ff00 g grass and meadow   # trailing comment
        0 #0000FF - deep water
        2 #000000 x nothing # at all
        3 #000000 y also black
        """
        let palette = try Palette(parsing: text, source: "p.palette")
        XCTAssertEqual(palette.name, "my classes")
        XCTAssertEqual(palette.names, ["deep water", "grass and meadow", "nothing", "also black"])
        XCTAssertEqual(palette.colours, [RGBColour(0, 0, 255), RGBColour(0, 255, 0), RGBColour(0, 0, 0), RGBColour(0, 0, 0)])
        XCTAssertEqual(palette.keys, [nil, "g", "x", "y"])
        XCTAssertEqual(palette.background, 2)
        XCTAssertEqual(palette.dontcare, 255)
        XCTAssertEqual(palette.source, "p.palette")
        // Shared colours map to the lower index.
        XCTAssertEqual(palette.index(of: RGBColour(0, 0, 0)), 2)
        XCTAssertTrue(palette.allows(255))
        XCTAssertFalse(palette.allows(4))
    }

    func testWindowsLineEndings() throws {
        let palette = try Palette(parsing: "@name crlf\r\n0 #000000 a sky\r\n1 #FFFFFF b cloud\r\n", source: "crlf.palette")
        XCTAssertEqual(palette.names, ["sky", "cloud"])
        XCTAssertEqual(palette.name, "crlf")
        guard let error = syntaxError("0 #000000 a sky\r\n1 #FFFFF b cloud\r\n") else { return }
        XCTAssertEqual(error.line, 2)
    }

    func testBackgroundByNameAndDefaultName() throws {
        let palette = try Palette(parsing: "@background Grass\n0 #000000 - sky\n1 #00FF00 - grass\n", source: "dir/two.palette")
        XCTAssertEqual(palette.background, 1)
        XCTAssertEqual(palette.name, "two")
    }

    private func syntaxError(_ text: String) -> (line: Int, detail: String)? {
        do {
            _ = try Palette(parsing: text, source: "bad.palette")
            XCTFail("expected a syntax error for:\n\(text)")
        } catch let ImagingError.paletteSyntax(path, line, detail) {
            XCTAssertEqual(path, "bad.palette")
            return (line, detail)
        } catch {
            XCTFail("unexpected \(error)")
        }
        return nil
    }

    func testMalformedLinesNameTheLine() {
        let cases: [(String, Int, String)] = [
            ("0 #000000 a sky\nx #FFFFFF b cloud", 2, "INDEX 0…255"),
            ("0 #000000 a sky\n256 #FFFFFF b cloud", 2, "INDEX 0…255"),
            ("0 #00000 a sky", 1, "#RRGGBB"),
            ("0 #GG0000 a sky", 1, "#RRGGBB"),
            ("0 000000 a sky", 1, "#RRGGBB"),
            ("0 #000000 ab sky", 1, "one character"),
            ("0 #000000 a", 1, "no name"),
            ("0 #000000 a sky\n\n0 #FFFFFF b cloud", 3, "already defined on line 1"),
            ("0 #000000 a sky\n1 #FFFFFF a cloud", 2, "key 'a' is already used by class 0 (sky) on line 1"),
            ("0 #000000 a sky\n1 #FFFFFF b Sky", 2, "name 'Sky' is already used"),
            ("@colour red\n0 #000000 a sky", 1, "unknown directive @colour"),
            ("@background\n0 #000000 a sky", 1, "@background needs a value"),
            ("@background 3\n0 #000000 a sky", 1, "not a class"),
            ("@background water\n0 #000000 a sky", 1, "neither a class index nor a class name"),
            ("@dontcare 300\n0 #000000 a sky", 1, "@dontcare needs a label value"),
            ("0 #000000 a sky\n2 #FFFFFF b cloud", 0, "index 1 is missing"),
            ("# only comments\n", 0, "no classes"),
        ]
        for (text, line, fragment) in cases {
            guard let error = syntaxError(text) else { continue }
            XCTAssertEqual(error.line, line, text)
            XCTAssertTrue(error.detail.contains(fragment), "\(error.detail) should contain \(fragment)")
        }
        XCTAssertEqual(ImagingError.paletteSyntax(path: "p.palette", line: 3, detail: "bad").description, "p.palette:3: bad")
    }

    func testLoadingByPathAndName() throws {
        let dir = try makeTemporaryDirectory(self)
        try "0 #102030 q only\n".write(toFile: dir + "/mine.palette", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Palette.load(path: dir + "/mine.palette").names, ["only"])
        // A name with a slash is a path.
        XCTAssertEqual(try Palette.load(named: dir + "/mine.palette").name, "mine")
        // The shipped palettes are found from the test executable or the checkout.
        XCTAssertTrue(Palette.availableNames().contains("landscape"))

        guard case let .paletteNotFound(name, searched)? = assertImagingError(try Palette.load(named: "no-such-palette")) else {
            return XCTFail("expected paletteNotFound")
        }
        XCTAssertEqual(name, "no-such-palette")
        XCTAssertTrue(searched.contains { $0.hasSuffix("/Palettes") }, "\(searched)")

        guard case .unreadable? = assertImagingError(try Palette.load(path: dir + "/missing.palette")) else {
            return XCTFail("expected unreadable")
        }
        try writeBytes([0x30, 0x20, 0xFF, 0xFE], to: dir + "/binary.palette")
        XCTAssertEqual(assertImagingError(try Palette.load(path: dir + "/binary.palette")),
                       .paletteSyntax(path: dir + "/binary.palette", line: 0, detail: "not UTF-8 text"))
    }

    func testEnvironmentDirectoryComesFirst() throws {
        let dir = try makeTemporaryDirectory(self)
        try "@name override\n0 #000000 - one\n".write(toFile: dir + "/landscape.palette", atomically: true, encoding: .utf8)
        setenv("SPADEPAINT_PALETTES", dir, 1)
        defer { unsetenv("SPADEPAINT_PALETTES") }
        XCTAssertEqual(try Palette.load(named: "landscape").name, "override")
        XCTAssertEqual(Palette.searchDirectories().first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path },
                       URL(fileURLWithPath: dir).resolvingSymlinksInPath().path)
    }
}

final class ShippedPaletteTests: XCTestCase {
    func testEveryShippedPaletteParses() throws {
        let names = Palette.availableNames()
        for expected in ["landscape", "ade20k", "cityscapes", "coco-stuff"] { XCTAssertTrue(names.contains(expected), expected) }
        for name in names { XCTAssertNoThrow(try Palette.load(named: name), name) }
    }

    func testADE20KLayout() throws {
        let ade = try Palette.load(named: "ade20k")
        XCTAssertEqual(ade.count, 151)
        XCTAssertEqual(ade.names[0], "other")
        XCTAssertEqual(ade.colours[0], RGBColour(0, 0, 0))
        XCTAssertEqual(ade.names[1], "wall")
        XCTAssertEqual(ade.colours[1], RGBColour(120, 120, 120))
        XCTAssertEqual(ade.names[3], "sky")
        XCTAssertEqual(ade.colours[3], RGBColour(6, 230, 230))
        XCTAssertEqual(ade.names[17], "mountain")
        XCTAssertEqual(ade.names[150], "flag")
        XCTAssertEqual(ade.colours[150], RGBColour(92, 0, 255))
        XCTAssertEqual(ade.background, 0)
        // The one shared colour of color150: road (7) and skyscraper (49) map to road.
        XCTAssertEqual(ade.colours[7], ade.colours[49])
        XCTAssertEqual(ade.index(of: ade.colours[49]), 7)
    }

    func testCityscapesLayout() throws {
        let city = try Palette.load(named: "cityscapes")
        XCTAssertEqual(city.count, 34)
        XCTAssertEqual(city.names[7], "road")
        XCTAssertEqual(city.colours[7], RGBColour(128, 64, 128))
        XCTAssertEqual(city.names[23], "sky")
        XCTAssertEqual(city.colours[23], RGBColour(70, 130, 180))
        XCTAssertEqual(city.names[33], "bicycle")
        XCTAssertEqual(city.index(of: RGBColour(0, 0, 0)), 0)
    }

    func testCOCOStuffLayout() throws {
        let coco = try Palette.load(named: "coco-stuff")
        XCTAssertEqual(coco.count, 182)
        XCTAssertEqual(coco.dontcare, 255)
        XCTAssertEqual(coco.names[0], "person")
        XCTAssertEqual(coco.names[11], "street sign")
        XCTAssertEqual(coco.names[91], "banner")
        XCTAssertEqual(coco.names[156], "sky-other")
        XCTAssertEqual(coco.names[181], "wood")
        XCTAssertEqual(coco.background, 156)
        XCTAssertEqual(Set(coco.colours).count, 182)
        XCTAssertEqual(coco.colours[15], RGBColour(192, 128, 128))  // VOC colormap entry 15
    }
}
