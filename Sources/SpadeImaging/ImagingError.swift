import Foundation

/// Every failure of SpadeImaging. Each message starts with the file (or palette) it concerns, so that a
/// user reading `labels/a.png: truncated PNG (…)` knows which file to look at and what is wrong with it.
public enum ImagingError: Error, Equatable, LocalizedError, CustomStringConvertible {
    /// The file could not be opened or read (missing, a directory, no permission, …).
    case unreadable(path: String, reason: String)
    /// The file (or its temporary sibling) could not be written or renamed into place.
    case unwritable(path: String, reason: String)
    /// The bytes are neither PNG nor JPEG.
    case unknownFormat(path: String)
    /// The data ends before the image does.
    case truncated(path: String, format: String, detail: String)
    /// The data is damaged or not valid for its format.
    case corrupt(path: String, format: String, detail: String)
    /// A valid file this reader does not handle (CMYK JPEG, a JPEG as a label map, …).
    case unsupported(path: String, detail: String)
    /// The header announces more pixels than the caller allows; refused before any pixel buffer exists.
    case tooLarge(path: String, width: Int, height: Int, maxPixels: Int)
    /// A 16-bit gray label map holds a value that does not fit a class index.
    case labelOutOfRange(path: String, x: Int, y: Int, value: Int)
    /// A label value that the palette has no class for.
    case labelNotInPalette(path: String, x: Int, y: Int, value: Int, palette: String, count: Int)
    /// A colour label map has a pixel whose colour is no class colour of the palette.
    case colourNotInPalette(path: String, x: Int, y: Int, colour: RGBColour, palette: String)
    /// A colour label map was read without a palette to translate its colours.
    case paletteRequired(path: String)
    /// Pixel buffer and dimensions disagree, or dimensions are not positive (a caller's image, not a file).
    case invalidImage(path: String, detail: String)
    /// A palette file line that does not follow the format (`line` is 1-based; 0 = the file as a whole).
    case paletteSyntax(path: String, line: Int, detail: String)
    /// No palette file of that name in any of the searched directories.
    case paletteNotFound(name: String, searched: [String])

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read (\(reason))"
        case let .unwritable(path, reason): return "\(path): cannot write (\(reason))"
        case let .unknownFormat(path): return "\(path): not a PNG or JPEG file"
        case let .truncated(path, format, detail): return "\(path): truncated \(format) (\(detail))"
        case let .corrupt(path, format, detail): return "\(path): corrupt \(format) (\(detail))"
        case let .unsupported(path, detail): return "\(path): unsupported image (\(detail))"
        case let .tooLarge(path, width, height, maxPixels):
            return "\(path): image is \(width)×\(height) = \(width * height) pixels, more than the limit of \(maxPixels)"
        case let .labelOutOfRange(path, x, y, value):
            return "\(path): label value \(value) at (\(x), \(y)) does not fit a class index (0…255)"
        case let .labelNotInPalette(path, x, y, value, palette, count):
            return "\(path): label \(value) at (\(x), \(y)) is not a class of palette '\(palette)' (\(count) classes: 0…\(count - 1))"
        case let .colourNotInPalette(path, x, y, colour, palette):
            return "\(path): colour \(colour) at (\(x), \(y)) is not a class colour of palette '\(palette)'"
        case let .paletteRequired(path):
            return "\(path): a colour (RGB) label map needs a palette to map its colours to classes"
        case let .invalidImage(path, detail): return "\(path): invalid image (\(detail))"
        case let .paletteSyntax(path, line, detail):
            return line > 0 ? "\(path):\(line): \(detail)" : "\(path): \(detail)"
        case let .paletteNotFound(name, searched):
            return "palette '\(name)' not found (looked in: \(searched.isEmpty ? "no directories" : searched.joined(separator: ", ")))"
        }
    }

    public var errorDescription: String? { description }
}
