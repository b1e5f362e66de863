import CImagingGlue

/// The two file formats SpadeImaging reads.
public enum ImageFormat: String, Sendable {
    case png = "PNG"
    case jpeg = "JPEG"
}

/// How a file stores its pixels.
public enum PixelLayout: String, Sendable {
    case gray, grayAlpha, rgb, rgba
    /// Palette PNG: one index per pixel into the file's PLTE.
    case indexed
    /// CMYK or YCCK JPEG (recognised so that the error can say so; not decoded).
    case cmyk

    var channels: Int {
        switch self {
        case .gray, .indexed: return 1
        case .grayAlpha: return 2
        case .rgb: return 3
        case .rgba, .cmyk: return 4
        }
    }
}

/// What a file's header says, read without decoding the pixels.
public struct ImageInfo: Equatable, Sendable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    public var layout: PixelLayout
    /// Bits per sample as stored (1, 2, 4, 8 or 16; always 8 for JPEG).
    public var bitDepth: Int
}

/// Default for every `maxPixels` parameter: 64 megapixels (an 8000×8000 photo). Files announcing more are
/// refused from their header alone, before a pixel buffer is allocated.
public let defaultMaxPixels = 64_000_000

/// The pixels of a file as stored: samples unscaled (a 2-bit gray file holds 0…3), palette indices not
/// looked up. Exactly one of `samples8` (bit depth ≤ 8) and `samples16` (bit depth 16) is filled.
struct DecodedImage {
    var info: ImageInfo
    var samples8: [UInt8] = []
    var samples16: [UInt16] = []
    /// The PLTE of a palette PNG.
    var palette: [RGBColour] = []

    var width: Int { info.width }
    var height: Int { info.height }
}

private let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

func sniffFormat(_ bytes: [UInt8], name: String) throws -> ImageFormat {
    if bytes.isEmpty { throw ImagingError.truncated(path: name, format: "image", detail: "the file is empty") }
    if bytes.starts(with: pngSignature) { return .png }
    if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
    // A file cut inside the 8-byte PNG signature is still recognisably a PNG.
    if bytes.count < 8 && pngSignature.starts(with: bytes) {
        throw ImagingError.truncated(path: name, format: "PNG", detail: "the file ends inside the signature")
    }
    throw ImagingError.unknownFormat(path: name)
}

/// Calls a glue function with a message buffer and turns its status into an `ImagingError`.
private func check(_ name: String, _ format: ImageFormat,
                   _ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
    var message = [CChar](repeating: 0, count: 512)
    let status = message.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
    if status == Int32(SP_OK) { return }
    let detail = String(cString: message)
    if status == Int32(SP_TRUNCATED) {
        throw ImagingError.truncated(path: name, format: format.rawValue, detail: detail)
    }
    throw ImagingError.corrupt(path: name, format: format.rawValue, detail: detail.isEmpty ? "unknown error" : detail)
}

private func pngLayout(colorType: Int32) -> PixelLayout? {
    switch colorType {
    case 0: return .gray
    case 2: return .rgb
    case 3: return .indexed
    case 4: return .grayAlpha
    case 6: return .rgba
    default: return nil
    }
}

/// Reads the header of PNG or JPEG `bytes` (named `name` in errors).
func readInfo(_ bytes: [UInt8], name: String) throws -> (ImageInfo, palette: [RGBColour]) {
    switch try sniffFormat(bytes, name: name) {
    case .png:
        var header = sp_png_info()
        try check(name, .png) { sp_png_read(bytes, bytes.count, &header, nil, 0, $0, $1) }
        guard let layout = pngLayout(colorType: header.color_type) else {
            throw ImagingError.corrupt(path: name, format: "PNG", detail: "colour type \(header.color_type)")
        }
        let palette = withUnsafeBytes(of: header.palette) { raw in
            (0..<Int(header.palette_count)).map { RGBColour(raw[3 * $0], raw[3 * $0 + 1], raw[3 * $0 + 2]) }
        }
        let info = ImageInfo(format: .png, width: Int(header.width), height: Int(header.height),
                             layout: layout, bitDepth: Int(header.bit_depth))
        return (info, palette)
    case .jpeg:
        var header = sp_jpeg_info()
        try check(name, .jpeg) { sp_jpeg_read(bytes, bytes.count, &header, 0, nil, 0, $0, $1) }
        let layout: PixelLayout
        switch header.color_space {
        case Int32(SP_JPEG_GRAY): layout = .gray
        case Int32(SP_JPEG_RGB), Int32(SP_JPEG_YCBCR): layout = .rgb
        case Int32(SP_JPEG_CMYK), Int32(SP_JPEG_YCCK): layout = .cmyk
        default:
            throw ImagingError.unsupported(path: name, detail: "JPEG with \(header.components) components in an unknown colour space")
        }
        let info = ImageInfo(format: .jpeg, width: Int(header.width), height: Int(header.height),
                             layout: layout, bitDepth: 8)
        return (info, [])
    }
}

private func checkLimit(_ info: ImageInfo, name: String, maxPixels: Int) throws {
    if info.width <= 0 || info.height <= 0 {
        throw ImagingError.corrupt(path: name, format: info.format.rawValue,
                                   detail: "header announces \(info.width)×\(info.height) pixels")
    }
    if info.width * info.height > maxPixels {
        throw ImagingError.tooLarge(path: name, width: info.width, height: info.height, maxPixels: maxPixels)
    }
}

/// Decodes PNG or JPEG `bytes`. JPEGs come out as 8-bit gray or RGB; CMYK JPEGs are refused.
/// The size limit is checked against the header before any pixel memory is allocated.
func decode(_ bytes: [UInt8], name: String, maxPixels: Int) throws -> DecodedImage {
    let (info, palette) = try readInfo(bytes, name: name)
    try checkLimit(info, name: name, maxPixels: maxPixels)
    if info.layout == .cmyk { throw ImagingError.unsupported(path: name, detail: "CMYK JPEG; convert it to RGB first") }
    var image = DecodedImage(info: info, palette: palette)
    let sampleCount = info.width * info.height * info.layout.channels
    // The glue decodes the whole file again (the header costs microseconds) into the buffer allocated here.
    func decodePixels(into buffer: UnsafeMutableRawPointer, byteCount: Int) throws {
        switch info.format {
        case .png:
            var header = sp_png_info()
            try check(name, .png) {
                sp_png_read(bytes, bytes.count, &header, buffer.assumingMemoryBound(to: UInt8.self), byteCount, $0, $1)
            }
        case .jpeg:
            var header = sp_jpeg_info()
            try check(name, .jpeg) {
                sp_jpeg_read(bytes, bytes.count, &header, Int32(info.layout.channels),
                             buffer.assumingMemoryBound(to: UInt8.self), byteCount, $0, $1)
            }
        }
    }
    if info.bitDepth == 16 {
        image.samples16 = try [UInt16](unsafeUninitializedCapacity: sampleCount) { buffer, count in
            count = sampleCount
            try decodePixels(into: UnsafeMutableRawPointer(buffer.baseAddress!), byteCount: sampleCount * 2)
        }
    } else {
        image.samples8 = try [UInt8](unsafeUninitializedCapacity: sampleCount) { buffer, count in
            count = sampleCount
            try decodePixels(into: UnsafeMutableRawPointer(buffer.baseAddress!), byteCount: sampleCount)
        }
    }
    return image
}

/// Reads only the header of the PNG or JPEG file at `path`: format, size, layout, bit depth.
/// Reads the first 256 KiB, and the whole file only when its header reaches further (large EXIF/ICC blocks).
public func readImageInfo(_ path: String) throws -> ImageInfo {
    let prefixSize = 256 << 10
    let prefix = try FileIO.read(path, limit: prefixSize)
    do {
        return try readInfo(prefix, name: path).0
    } catch ImagingError.truncated where prefix.count == prefixSize {
        return try readInfo(FileIO.read(path), name: path).0
    }
}
