/// Reads the PNG or JPEG picture at `path` (format found from the bytes, not the name) as 8-bit RGB.
///
/// Gray becomes R = G = B (1/2/4-bit gray scaled to 0…255), palette PNGs are looked up in their PLTE,
/// 16-bit samples are scaled to 8 bits with rounding (v · 255 / 65535), and **alpha is dropped**
/// (not composited): the colour channels are kept as stored, like PIL's `convert("RGB")` that the
/// reference data loader uses. CMYK JPEGs are refused. EXIF orientation is not applied (neither does
/// PIL's `Image.open`), so pixels come out in stored order.
/// - Parameter maxPixels: files whose header announces more pixels are refused before decoding.
public func readRGB(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
    try decodeRGB(FileIO.read(path), name: path, maxPixels: maxPixels)
}

/// `readRGB` for bytes already in memory; `name` is what error messages call them.
public func decodeRGB(_ bytes: [UInt8], name: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
    let image = try decode(bytes, name: name, maxPixels: maxPixels)
    // The common case (8-bit RGB PNG, every colour JPEG) is already in the right layout.
    if image.info.layout == .rgb && image.info.bitDepth == 8 {
        return RGBImage(width: image.width, height: image.height, pixels: image.samples8)
    }
    let pixelCount = image.width * image.height
    var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
    switch image.info.layout {
    case .gray, .grayAlpha:
        let stride = image.info.layout.channels
        let gray = eightBitSamples(image)
        for p in 0..<pixelCount {
            let v = gray[p * stride]
            rgb[3 * p] = v
            rgb[3 * p + 1] = v
            rgb[3 * p + 2] = v
        }
    case .rgb, .rgba:
        let stride = image.info.layout.channels
        let samples = eightBitSamples(image)
        for p in 0..<pixelCount {
            rgb[3 * p] = samples[p * stride]
            rgb[3 * p + 1] = samples[p * stride + 1]
            rgb[3 * p + 2] = samples[p * stride + 2]
        }
    case .indexed:
        let palette = image.palette
        for p in 0..<pixelCount {
            let index = Int(image.samples8[p])
            guard index < palette.count else {
                throw ImagingError.corrupt(path: name, format: "PNG", detail:
                    "palette index \(index) at (\(p % image.width), \(p / image.width)) but the PLTE has \(palette.count) colours")
            }
            let colour = palette[index]
            rgb[3 * p] = colour.r
            rgb[3 * p + 1] = colour.g
            rgb[3 * p + 2] = colour.b
        }
    case .cmyk:
        throw ImagingError.unsupported(path: name, detail: "CMYK JPEG; convert it to RGB first")
    }
    return RGBImage(width: image.width, height: image.height, pixels: rgb)
}

/// The samples of a gray/RGB image scaled to 0…255 (16-bit rounded, 1/2/4-bit stretched); layout kept.
private func eightBitSamples(_ image: DecodedImage) -> [UInt8] {
    if image.info.bitDepth == 16 {
        return image.samples16.map { UInt8((UInt32($0) * 255 + 32767) / 65535) }
    }
    if image.info.bitDepth < 8 {
        let scale = UInt8(255 / ((1 << image.info.bitDepth) - 1))
        return image.samples8.map { $0 * scale }
    }
    return image.samples8
}

/// Reads the label map at `path`: one class index per pixel.
///
/// - gray PNG (any bit depth; gray+alpha ignores alpha): the values are the indices. A 16-bit value above 255
///   is an error naming it.
/// - palette PNG: the palette *indices* (not their colours).
/// - RGB/RGBA PNG (colour-coded annotations): each colour is mapped to the class of `palette` with that colour;
///   an error names the first pixel whose colour is not in the palette, and `palette` is then required.
/// - JPEG is refused: lossy compression changes label colours and values.
///
/// When a palette is given, every index must be one of its classes (or its `dontcare` value).
public func readLabelMap(_ path: String, palette: Palette?, maxPixels: Int = defaultMaxPixels) throws -> LabelMap {
    try decodeLabelMap(FileIO.read(path), name: path, palette: palette, maxPixels: maxPixels)
}

/// `readLabelMap` for bytes already in memory; `name` is what error messages call them.
public func decodeLabelMap(_ bytes: [UInt8], name: String, palette: Palette?,
                           maxPixels: Int = defaultMaxPixels) throws -> LabelMap {
    let image = try decodeIndexPNG(bytes, name: name, maxPixels: maxPixels, holding: "a label map")
    let pixelCount = image.width * image.height
    let stride = image.info.layout.channels
    var labels = [UInt8](repeating: 0, count: pixelCount)
    switch image.info.layout {
    case .gray, .grayAlpha, .indexed:
        if image.info.bitDepth == 16 {
            for p in 0..<pixelCount {
                let value = image.samples16[p * stride]
                guard value <= 255 else {
                    throw ImagingError.labelOutOfRange(path: name, x: p % image.width, y: p / image.width, value: Int(value))
                }
                labels[p] = UInt8(value)
            }
        } else if stride == 1 {
            labels = image.samples8
        } else {
            for p in 0..<pixelCount { labels[p] = image.samples8[p * stride] }
        }
        if let palette {
            for p in 0..<pixelCount where !palette.allows(labels[p]) {
                throw ImagingError.labelNotInPalette(path: name, x: p % image.width, y: p / image.width,
                                                     value: Int(labels[p]), palette: palette.name, count: palette.count)
            }
        }
    case .rgb, .rgba:
        guard let palette else { throw ImagingError.paletteRequired(path: name) }
        let samples = eightBitSamples(image)
        // Neighbouring pixels mostly share a class; remembering the last colour skips most lookups.
        var lastColour: UInt32 = .max
        var lastIndex: UInt8 = 0
        for p in 0..<pixelCount {
            let colour = RGBColour(samples[p * stride], samples[p * stride + 1], samples[p * stride + 2])
            if colour.packed != lastColour {
                guard let index = palette.index(of: colour) else {
                    throw ImagingError.colourNotInPalette(path: name, x: p % image.width, y: p / image.width,
                                                          colour: colour, palette: palette.name)
                }
                lastColour = colour.packed
                lastIndex = index
            }
            labels[p] = lastIndex
        }
    case .cmyk:
        throw ImagingError.unsupported(path: name, detail: "CMYK JPEG")
    }
    return LabelMap(width: image.width, height: image.height, labels: labels)
}

/// Decodes a PNG whose values are indices (classes, instances); JPEG is refused because lossy compression
/// changes the values.
func decodeIndexPNG(_ bytes: [UInt8], name: String, maxPixels: Int, holding what: String) throws -> DecodedImage {
    if try sniffFormat(bytes, name: name) == .jpeg {
        throw ImagingError.unsupported(path: name, detail: "a JPEG cannot hold \(what) (lossy); use PNG")
    }
    return try decode(bytes, name: name, maxPixels: maxPixels)
}
