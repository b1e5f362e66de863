import CImagingGlue

private func encodeChecked(_ name: String, _ format: String,
                           _ call: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>,
                                    UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> [UInt8] {
    var output: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    var message = [CChar](repeating: 0, count: 512)
    let status = message.withUnsafeMutableBufferPointer { call(&output, &size, $0.baseAddress!, $0.count) }
    defer { sp_free(output) }
    guard status == Int32(SP_OK), let output else {
        throw ImagingError.unwritable(path: name, reason: "\(format) encoder: \(String(cString: message))")
    }
    return Array(UnsafeBufferPointer(start: output, count: size))
}

private func checkSize(_ width: Int, _ height: Int, name: String) throws {
    // PNG and JPEG both need at least one pixel; JPEG caps each side at 65535.
    guard width > 0, height > 0, width <= 65535, height <= 65535 else {
        throw ImagingError.invalidImage(path: name, detail: "cannot encode \(width)×\(height) pixels")
    }
}

/// The PNG encoding of an RGB picture (8-bit RGB, colour type 2).
public func encodePNG(_ image: RGBImage, name: String = "<memory>") throws -> [UInt8] {
    try checkSize(image.width, image.height, name: name)
    return try encodeChecked(name, "PNG") {
        sp_png_write(UInt32(image.width), UInt32(image.height), 2, image.pixels, nil, 0, $0, $1, $2, $3)
    }
}

/// The PNG encoding of a label map: a palette PNG whose PLTE holds the palette's class colours (so that image
/// viewers show the classes in colour while the file still stores the indices), or 8-bit gray without a
/// palette. With a palette, every label must be one of its classes or its `dontcare` value.
public func encodeLabelPNG(_ labels: LabelMap, palette: Palette?, name: String = "<memory>") throws -> [UInt8] {
    try checkSize(labels.width, labels.height, name: name)
    guard let palette else {
        return try encodeChecked(name, "PNG") {
            sp_png_write(UInt32(labels.width), UInt32(labels.height), 0, labels.labels, nil, 0, $0, $1, $2, $3)
        }
    }
    var highest = 0
    for (p, label) in labels.labels.enumerated() {
        guard palette.allows(label) else {
            throw ImagingError.labelNotInPalette(path: name, x: p % labels.width, y: p / labels.width,
                                                 value: Int(label), palette: palette.name, count: palette.count)
        }
        highest = max(highest, Int(label))
    }
    // The PLTE must cover every index in the file; a dontcare value beyond the classes gets black entries.
    var plte = [UInt8](repeating: 0, count: 3 * max(palette.count, highest + 1))
    for (i, colour) in palette.colours.enumerated() {
        plte[3 * i] = colour.r
        plte[3 * i + 1] = colour.g
        plte[3 * i + 2] = colour.b
    }
    let entries = Int32(plte.count / 3)
    return try encodeChecked(name, "PNG") {
        sp_png_write(UInt32(labels.width), UInt32(labels.height), 3, labels.labels, plte, entries, $0, $1, $2, $3)
    }
}

/// The JPEG encoding of a picture at `quality` 1…100 (libjpeg's scale; 4:2:0 chroma subsampling).
public func encodeJPEG(_ image: RGBImage, quality: Int = 95, name: String = "<memory>") throws -> [UInt8] {
    try encodeJPEG(samples: image.pixels, width: image.width, height: image.height, components: 3,
                   quality: quality, name: name)
}

/// Any of 1 (gray), 3 (RGB) or 4 (CMYK) components; the tests use this to make gray and CMYK files.
func encodeJPEG(samples: [UInt8], width: Int, height: Int, components: Int, quality: Int, name: String) throws -> [UInt8] {
    try checkSize(width, height, name: name)
    precondition([1, 3, 4].contains(components) && samples.count == width * height * components)
    let clamped = Int32(min(max(quality, 1), 100))
    return try encodeChecked(name, "JPEG") {
        sp_jpeg_write(UInt32(width), UInt32(height), Int32(components), samples, clamped, $0, $1, $2, $3)
    }
}

/// Writes `image` as an 8-bit RGB PNG, atomically (temporary file in the same directory, then rename).
public func writePNG(_ image: RGBImage, to path: String) throws {
    try FileIO.writeAtomically(encodePNG(image, name: path), to: path)
}

/// Writes `labels` as a palette PNG built from `palette`, or as 8-bit gray when `palette` is nil; atomically.
public func writeLabelPNG(_ labels: LabelMap, to path: String, palette: Palette?) throws {
    try FileIO.writeAtomically(encodeLabelPNG(labels, palette: palette, name: path), to: path)
}

/// Writes `image` as a JPEG at `quality` 1…100, atomically.
public func writeJPEG(_ image: RGBImage, to path: String, quality: Int = 95) throws {
    try FileIO.writeAtomically(encodeJPEG(image, quality: quality, name: path), to: path)
}
