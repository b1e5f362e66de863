import Foundation
import XCTest
@testable import SpadeImaging

/// A fresh directory under the system temp dir, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "spadeimaging-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Asserts that `body` throws an ImagingError and returns it (nil after recording a failure).
@discardableResult
func assertImagingError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line)
    -> ImagingError? {
    do {
        _ = try body()
        XCTFail("expected an ImagingError, got a result", file: file, line: line)
    } catch let error as ImagingError {
        return error
    } catch {
        XCTFail("expected an ImagingError, got \(error)", file: file, line: line)
    }
    return nil
}

// MARK: - A PNG writer independent of libpng, for the colour types and bit depths SpadeImaging does not write.

private let crcTable: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
}

func bigEndian32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let typeBytes = Array(type.utf8)
    return bigEndian32(UInt32(data.count)) + typeBytes + data + bigEndian32(crc32(typeBytes + data))
}

/// zlib stream of stored (uncompressed) deflate blocks.
func zlibStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let length = min(65535, data.count - offset)
        let final: UInt8 = offset + length == data.count ? 1 : 0
        out += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
        out += data[offset..<offset + length]
        offset += length
    } while offset < data.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in data {
        a = (a + UInt32(byte)) % 65521
        b = (b + a) % 65521
    }
    return out + bigEndian32(b << 16 | a)
}

/// A PNG from samples (one Int per sample, `channels` per pixel), packed at `bitDepth`, optionally Adam7-interlaced.
func makePNG(width: Int, height: Int, colorType: UInt8, bitDepth: Int, samples: [Int],
             palette: [RGBColour] = [], transparency: [UInt8] = [], interlaced: Bool = false) -> [UInt8] {
    let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(colorType)]!
    precondition(samples.count == width * height * channels)

    func packRow(_ row: [Int]) -> [UInt8] {
        var bytes: [UInt8] = [0]  // filter type None
        switch bitDepth {
        case 16:
            for v in row { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        case 8:
            for v in row { bytes.append(UInt8(v)) }
        default:
            var byte = 0, used = 0
            for v in row {
                byte = byte << bitDepth | v
                used += bitDepth
                if used == 8 { bytes.append(UInt8(byte)); byte = 0; used = 0 }
            }
            if used > 0 { bytes.append(UInt8(byte << (8 - used))) }
        }
        return bytes
    }
    func pixel(_ x: Int, _ y: Int) -> ArraySlice<Int> {
        samples[((y * width + x) * channels)..<((y * width + x + 1) * channels)]
    }

    // Adam7 passes as (x start, y start, x step, y step); a plain image is one pass over everything.
    let passes = interlaced
        ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        : [(0, 0, 1, 1)]
    var raw: [UInt8] = []
    for (x0, y0, dx, dy) in passes where x0 < width && y0 < height {
        for y in stride(from: y0, to: height, by: dy) {
            raw += packRow(stride(from: x0, to: width, by: dx).flatMap { pixel($0, y) })
        }
    }
    let header = bigEndian32(UInt32(width)) + bigEndian32(UInt32(height)) + [UInt8(bitDepth), colorType, 0, 0, interlaced ? 1 : 0]
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", header)
    if !palette.isEmpty { png += pngChunk("PLTE", palette.flatMap { [$0.r, $0.g, $0.b] }) }
    if !transparency.isEmpty { png += pngChunk("tRNS", transparency) }
    return png + pngChunk("IDAT", zlibStored(raw)) + pngChunk("IEND", [])
}

/// A PNG whose IHDR announces `width`×`height` 8-bit RGB pixels but whose IDAT holds a single byte.
func makeHeaderOnlyPNG(width: UInt32, height: UInt32) -> [UInt8] {
    let header = bigEndian32(width) + bigEndian32(height) + [8, 2, 0, 0, 0]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", header)
        + pngChunk("IDAT", zlibStored([0])) + pngChunk("IEND", [])
}

/// A smooth test picture with some detail: distinct values in every channel.
func gradientImage(width: Int, height: Int) -> RGBImage {
    var image = RGBImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            image[x, y] = RGBColour(UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)),
                                    UInt8((x + y) * 127 / max(width + height - 2, 1)))
        }
    }
    return image
}

/// The landscape palette shipped in the repository's Palettes/ folder.
func landscapePalette() throws -> Palette {
    try Palette.load(named: "landscape")
}
