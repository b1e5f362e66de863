import Dispatch
import Foundation
import SpadeImaging
import SpadeModel

/// One problem found by the validation pass, with the file it concerns.
public struct DatasetProblem: Equatable, Sendable, CustomStringConvertible {
    public var pair: String
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// A decoded, preprocessed training example.
public struct Sample {
    /// [3, H, W] in [-1, 1].
    public var image: Tensor
    /// H × W raw label values (validated).
    public var labels: [UInt8]
    public var instances: [Int]?
}

extension SPADEConfig {
    /// Whether a raw label value has a channel: a class index, or 255 when the model has a don't-care channel.
    public func accepts(label value: UInt8) -> Bool {
        Int(value) < labelChannels || (containDontcareLabel && value == 255)
    }
}

/// A dataset of photo/label pairs in one of the known layouts, with the preprocessing the model needs.
public final class PairedDataset: @unchecked Sendable {
    public let root: String
    public let format: DatasetFormat
    public private(set) var pairs: [DatasetPair]
    /// The model the data feeds: its label channels decide which label values are valid.
    public let config: SPADEConfig
    public let preprocessing: Preprocessing
    /// Used to read colour label PNGs; index and gray PNGs are read as they are.
    public let palette: Palette?

    public init(root: String, format: DatasetFormat = .auto, split: String = "train", config: SPADEConfig,
                preprocessing: Preprocessing, palette: Palette?) throws {
        (self.format, self.pairs) = try DatasetLayout.discover(root, format: format, split: split)
        self.root = root
        self.config = config
        self.preprocessing = preprocessing
        self.palette = palette
    }

    public var count: Int { pairs.count }

    /// Reads every pair once and reports everything wrong: a missing partner, an unreadable file, a label
    /// map whose size differs from its photo, label values the model has no channel for.
    public func validate() -> [DatasetProblem] {
        var found = [[DatasetProblem]](repeating: [], count: pairs.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: pairs.count) { i in
            let problems = self.problems(of: self.pairs[i])
            lock.lock(); found[i] = problems; lock.unlock()
        }
        return found.flatMap { $0 }
    }

    /// Drops the pairs that have problems (`--skip-bad`).
    public func removePairs(with problems: [DatasetProblem]) {
        let bad = Set(problems.map { $0.pair })
        pairs.removeAll { bad.contains($0.name) }
    }

    func problems(of pair: DatasetPair) -> [DatasetProblem] {
        var out: [DatasetProblem] = []
        func report(_ file: String, _ message: String) { out.append(DatasetProblem(pair: pair.name, file: file, message: message)) }
        if pair.image.isEmpty {
            report(pair.label, "label map has no photo (expected a photo named \(pair.name).png/.jpg)")
            return out
        }
        if !FileManager.default.fileExists(atPath: pair.label) {
            report(pair.image, "photo has no label map (expected \(pair.label))")
            return out
        }
        var imageSize: (Int, Int)?
        do {
            let info = try readImageInfo(pair.image)
            imageSize = (info.width, info.height)
            _ = try readRGB(pair.image)
        } catch {
            report(pair.image, "unreadable photo: \(error)")
        }
        do {
            let labels = try readLabelMap(pair.label, palette: palette)
            if let (w, h) = imageSize, (w, h) != (labels.width, labels.height) {
                report(pair.label, "label map is \(labels.width)×\(labels.height) but its photo is \(w)×\(h)")
            }
            if let bad = labels.labels.firstIndex(where: { !config.accepts(label: $0) }) {
                let value = labels.labels[bad]
                report(pair.label, "label value \(value) at (x \(bad % labels.width), y \(bad / labels.width)) is outside the " +
                       "\(config.labelChannels) classes of the model" + (config.containDontcareLabel ? " (and is not the dontcare value 255)" : ""))
            }
        } catch {
            report(pair.label, "unreadable label map: \(error)")
        }
        if !config.noInstance, let instance = pair.instance {
            do { _ = try readInstanceMap(instance) } catch { report(instance, "unreadable instance map: \(error)") }
        }
        return out
    }

    /// Loads, resizes, crops and flips pair `index` with the given random choice.
    public func sample(_ index: Int, choice: Preprocessing.Choice) throws -> Sample {
        let pair = pairs[index]
        let photo = try readRGB(pair.image)
        let labelMap = try readLabelMap(pair.label, palette: palette)
        guard photo.width == labelMap.width && photo.height == labelMap.height else {
            throw DatasetLayoutError(description: "\(pair.label): label map is \(labelMap.width)×\(labelMap.height) but its photo is \(photo.width)×\(photo.height)")
        }
        if let bad = labelMap.labels.first(where: { !config.accepts(label: $0) }) {
            throw DatasetLayoutError(description: "\(pair.label): label value \(bad) is outside the model's classes")
        }
        let resizedPhoto = preprocessing.resize(photo: photo)
        let resizedLabels = preprocessing.resize(labels: labelMap)
        let (w, h) = preprocessing.resizedSize
        var planes = Tensor(shape: [3, h, w])
        planes.withMutablePointer { p in
            resizedPhoto.pixels.withUnsafeBufferPointer { px in
                for i in 0..<(w * h) {
                    for c in 0..<3 { p[c * w * h + i] = Float(px[3 * i + c]) / 127.5 - 1 }
                }
            }
        }
        let image = preprocessing.cropAndFlip(planes, choice: choice)
        let labelPlane = Tensor(shape: [1, h, w], data: resizedLabels.labels.map { Float($0) })
        let labels = preprocessing.cropAndFlip(labelPlane, choice: choice).data.map { UInt8($0) }
        var instances: [Int]?
        if !config.noInstance {
            if let path = pair.instance {
                let map = try readInstanceMap(path)
                // Ids may exceed 255, so they are resized through a LabelMap-free nearest lookup.
                let ids = InstanceResize.nearest(map, width: w, height: h)
                let plane = Tensor(shape: [1, h, w], data: ids.map { Float($0) })
                instances = preprocessing.cropAndFlip(plane, choice: choice).data.map { Int($0) }
            } else {
                // Without an instance map the label map stands in (edges between classes), as COCO's maps are built.
                instances = labels.map { Int($0) }
            }
        }
        return Sample(image: image, labels: labels, instances: instances)
    }
}

/// Nearest resizing of instance ids with the same pixel-centre rule as the label maps.
enum InstanceResize {
    static func nearest(_ map: InstanceMap, width: Int, height: Int) -> [Int32] {
        if map.width == width && map.height == height { return map.ids }
        var out = [Int32](repeating: 0, count: width * height)
        for y in 0..<height {
            let sy = min(map.height - 1, Int((Double(y) + 0.5) * Double(map.height) / Double(height)))
            for x in 0..<width {
                let sx = min(map.width - 1, Int((Double(x) + 0.5) * Double(map.width) / Double(width)))
                out[y * width + x] = map.ids[sy * map.width + sx]
            }
        }
        return out
    }
}
