import Foundation
import SpadeImaging

/// Reading and writing the painter's files: label maps (index PNG plus a palette-colour PNG),
/// pictures, and the autosave. All writes are atomic (SpadeImaging writes a temporary file and
/// renames it), so a crash never leaves half a file.
public enum LabelFiles {
    /// Loads a label map (gray or palette-type index PNG, or an RGB PNG in the palette's colours),
    /// of any size, onto a canvas of the given size by nearest neighbour (pixel centres).
    /// A "don't care" value becomes the background class: the canvas holds only real classes.
    public static func loadCanvas(path: String, palette: Palette, width: Int, height: Int) throws -> LabelCanvas {
        let map = try readLabelMap(path, palette: palette)
        guard map.width > 0, map.height > 0 else {
            throw PainterSetupError("\(path): the label map is empty")
        }
        let resized = resizeNearest(map, width: width, height: height, rule: .pixelCenter)
        let background = UInt8(palette.background)
        let labels = resized.labels.map { Int($0) < palette.count ? $0 : background }
        return LabelCanvas(width: width, height: height, labels: labels)
    }

    /// The palette-colour companion of an index file: `map.png` → `map.colour.png`.
    public static func colourPath(for indexPath: String) -> String {
        let url = URL(fileURLWithPath: indexPath)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? indexPath : String(indexPath.dropLast(ext.count + 1))
        return stem + ".colour.png"
    }

    /// Writes the canvas at model resolution (each canvas pixel as a factor×factor block):
    /// the index PNG at `path` (palette type: stores class indices, shows class colours) and the
    /// RGB palette-colour PNG beside it. Returns the colour file's path.
    @discardableResult
    public static func saveLabelMap(_ canvas: LabelCanvas, factor: Int, palette: Palette, to path: String) throws -> String {
        let map = LabelMap(width: canvas.width * factor, height: canvas.height * factor,
                           labels: canvas.upsampled(by: factor))
        try writeLabelPNG(map, to: path, palette: palette)
        let colour = colourPath(for: path)
        try writePNG(palette.colourImage(map), to: colour)
        return colour
    }
}

/// The autosave: the canvas written after every change, so a crash or a killed terminal loses
/// nothing. A small sidecar file names the label map it was painted from, so starting again on
/// the same file (or on none) restores it; a clean exit deletes both.
public struct Autosave {
    public let path: String
    public var sourcePath: String { path + ".source" }

    public init(path: String) { self.path = path }

    /// `$XDG_STATE_HOME/spadepaint/autosave.png`, else `~/.local/state/spadepaint/autosave.png`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/spadepaint/autosave.png" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/state/spadepaint/autosave.png"
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// The label map path recorded with the autosave ("" when the work started from the default canvas).
    public func recordedSource() -> String? {
        guard let data = FileManager.default.contents(atPath: sourcePath) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    public func write(_ canvas: LabelCanvas, palette: Palette, source: String?) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let map = LabelMap(width: canvas.width, height: canvas.height, labels: canvas.labels)
        try writeLabelPNG(map, to: path, palette: palette)
        try FileIO.writeAtomically(Array((source ?? "").utf8), to: sourcePath)
    }

    public func load(palette: Palette, width: Int, height: Int) throws -> LabelCanvas {
        try LabelFiles.loadCanvas(path: path, palette: palette, width: width, height: height)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: sourcePath)
    }
}
