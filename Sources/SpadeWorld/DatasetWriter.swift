import Foundation
import SpadeImaging

/// Writes a synthesized set in the paired-folder layout: `images/NNNNNN.png`, `labels/NNNNNN.png`
/// and `styles.csv`. Pairs are spread over worker threads, but each depends only on (seed, index),
/// so the files are the same for any thread count.
public struct DatasetWriter {
    public var count: Int
    public var seed: UInt64
    public var width: Int, height: Int
    public var threads: Int
    public var style: StyleOverride?
    /// Colours of the label PNGs (palette type); must be the landscape palette.
    public var palette: Palette

    public init(count: Int, seed: UInt64, width: Int, height: Int, threads: Int, palette: Palette, style: StyleOverride? = nil) throws {
        try LandscapeClass.check(palette: palette)
        self.count = count; self.seed = seed; self.width = width; self.height = height
        self.threads = max(1, threads); self.style = style; self.palette = palette
    }

    /// A plain reason a folder cannot be made: the nearest existing ancestor is a file, or not writable.
    static func whyNotCreatable(_ dir: URL) -> String {
        var ancestor = dir.deletingLastPathComponent()
        var isDir: ObjCBool = false
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDir), ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
        }
        if !isDir.boolValue { return "\(ancestor.path) is a file, not a folder" }
        if !FileManager.default.isWritableFile(atPath: ancestor.path) { return "no permission to write in \(ancestor.path)" }
        return "the file system refused"
    }

    public static func fileName(_ index: Int) -> String { String(format: "%06d.png", index) }

    /// Renders and writes every pair; `progress` is called (from worker threads) with the number done.
    public func write(to directory: URL, progress: ((Int) -> Void)? = nil) throws {
        let fm = FileManager.default
        let images = directory.appendingPathComponent("images"), labels = directory.appendingPathComponent("labels")
        for dir in [directory, images, labels] {
            do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw WorldError.cannotWrite(dir.path, "cannot create the folder (\(DatasetWriter.whyNotCreatable(dir)))")
            }
        }
        var styles = [StyleInfo?](repeating: nil, count: count)
        var firstError: Error?
        var next = 0, done = 0
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                lock.lock()
                let index = next
                next += 1
                let stop = firstError != nil
                lock.unlock()
                if index >= count || stop { return }
                let (picture, labelMap, info) = LandscapeSynth.render(index: index, seed: seed, width: width, height: height, style: style)
                let name = DatasetWriter.fileName(index)
                do {
                    try writePNG(picture, to: images.appendingPathComponent(name).path)
                    try writeLabelPNG(labelMap, to: labels.appendingPathComponent(name).path, palette: palette)
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                    return
                }
                lock.lock()
                styles[index] = info
                done += 1
                let d = done
                lock.unlock()
                progress?(d)
            }
        }
        if let e = firstError { throw e }
        var csv = StyleInfo.csvHeader + "\n"
        for (i, s) in styles.enumerated() { csv += s!.csvRow(file: DatasetWriter.fileName(i)) + "\n" }
        try FileIO.writeAtomically(Array(csv.utf8), to: directory.appendingPathComponent("styles.csv").path)
    }
}

public enum WorldError: Error, CustomStringConvertible {
    case cannotWrite(String, String)
    case paletteMismatch(String, String)
    public var description: String {
        switch self {
        case let .cannotWrite(path, why): return "\(path): \(why)"
        case let .paletteMismatch(path, why): return "\(path): not the landscape palette the world renders (\(why))"
        }
    }
}

extension LandscapeClass {
    /// Checks that `palette` has this world's classes at the same indices, so label files view correctly.
    public static func check(palette: Palette) throws {
        guard palette.count >= allCases.count else {
            throw WorldError.paletteMismatch(palette.source, "it has \(palette.count) classes, the world needs \(allCases.count)")
        }
        for c in allCases where palette.names[Int(c.rawValue)].lowercased() != c.name {
            throw WorldError.paletteMismatch(palette.source, "class \(c.rawValue) is '\(palette.names[Int(c.rawValue)])', expected '\(c.name)'")
        }
    }
}
