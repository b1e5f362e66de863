/// An instance-id map (Cityscapes `*_instanceIds.png`, COCO instance PNGs): one id per pixel, 8 or 16 bit.
public struct InstanceMap: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var ids: [Int32]
}

/// Reads a gray (8- or 16-bit) or palette-index PNG as instance ids; only boundaries between ids matter.
public func readInstanceMap(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> InstanceMap {
    let image = try decodeIndexPNG(FileIO.read(path), name: path, maxPixels: maxPixels, holding: "an instance map")
    switch image.info.layout {
    case .gray, .grayAlpha, .indexed:
        let stride = image.info.layout == .grayAlpha ? 2 : 1
        let count = image.width * image.height
        let ids: [Int32] = image.info.bitDepth == 16
            ? (0..<count).map { Int32(image.samples16[$0 * stride]) }
            : (0..<count).map { Int32(image.samples8[$0 * stride]) }
        return InstanceMap(width: image.width, height: image.height, ids: ids)
    default:
        throw ImagingError.unsupported(path: path, detail: "instance maps must be gray or palette PNGs, not \(image.info.layout.rawValue)")
    }
}
