/// An instance-id map (Cityscapes `*_instanceIds.png`, COCO instance PNGs): one id per pixel, 8 or 16 bit.
public struct InstanceMap: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var ids: [Int32]
}

/// Reads a gray (8- or 16-bit) or palette-index PNG as instance ids; only boundaries between ids matter.
public func readInstanceMap(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> InstanceMap {
    let bytes = try FileIO.read(path)
    if try sniffFormat(bytes, name: path) == .jpeg {
        throw ImagingError.unsupported(path: path, detail: "a JPEG cannot hold an instance map (lossy); use PNG")
    }
    let image = try decode(bytes, name: path, maxPixels: maxPixels)
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
