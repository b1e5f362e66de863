import Foundation

/// One training example on disk: a photo, its label map and (for datasets with instances) an instance map.
public struct DatasetPair: Equatable, Sendable {
    public var name: String
    public var image: String
    public var label: String
    public var instance: String?
}

/// The dataset layouts `spadepaint train --format` understands.
public enum DatasetFormat: String, CaseIterable, Sendable {
    case auto
    /// `images/` + `labels/` (+ optional `instances/`), same base names.
    case pairs
    /// `ADEChallengeData2016/images/{training,validation}` + `annotations/…` (raw values 0…150).
    case ade20k
    /// `leftImg8bit/<split>/<city>/*_leftImg8bit.png` + `gtFine/<split>/<city>/*_gtFine_labelIds.png` (+ `_instanceIds`).
    case cityscapes
    /// COCO-Stuff: `train2017/` or `images/train2017/` + `stuffthingmaps_trainval2017/train2017/` (+ optional instances).
    case cocostuff
}

public struct DatasetLayoutError: Error, LocalizedError, CustomStringConvertible {
    public var description: String
    public var errorDescription: String? { description }
}

/// Finds the pairs of a dataset directory in one of the known layouts.
public enum DatasetLayout {
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Lists the pairs for `split` ("train" or "val"); `auto` detects the layout from the directory tree.
    public static func discover(_ root: String, format: DatasetFormat = .auto, split: String = "train") throws -> (DatasetFormat, [DatasetPair]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetLayoutError(description: "\(root): no such dataset directory")
        }
        let resolved = format == .auto ? try detect(root) : format
        let pairs: [DatasetPair]
        switch resolved {
        case .auto, .pairs: pairs = try pairsLayout(root)
        case .ade20k: pairs = try ade20k(root, split: split)
        case .cityscapes: pairs = try cityscapes(root, split: split)
        case .cocostuff: pairs = try cocoStuff(root, split: split)
        }
        if pairs.isEmpty {
            throw DatasetLayoutError(description: "\(root): no image/label pairs found in the \(resolved.rawValue) layout")
        }
        return (resolved, pairs)
    }

    public static func detect(_ root: String) throws -> DatasetFormat {
        let fm = FileManager.default
        func exists(_ p: String) -> Bool { fm.fileExists(atPath: (root as NSString).appendingPathComponent(p)) }
        if exists("images") && exists("labels") { return .pairs }
        if exists("ADEChallengeData2016") || (exists("images/training") && exists("annotations/training")) { return .ade20k }
        if exists("leftImg8bit") && exists("gtFine") { return .cityscapes }
        if exists("stuffthingmaps_trainval2017") || exists("stuffthingmaps") { return .cocostuff }
        throw DatasetLayoutError(description: """
            \(root): unknown dataset layout; expected images/ + labels/ (pairs), ADEChallengeData2016/ (ade20k), \
            leftImg8bit/ + gtFine/ (cityscapes) or stuffthingmaps_trainval2017/ (cocostuff); or pass --format
            """)
    }

    /// Files directly in `dir` with one of `extensions`, by base name (without extension).
    static func filesByStem(_ dir: String, extensions: Set<String>) -> [String: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var result: [String: String] = [:]
        for name in names where extensions.contains((name as NSString).pathExtension.lowercased()) {
            let stem = (name as NSString).deletingPathExtension
            result[stem] = (dir as NSString).appendingPathComponent(name)
        }
        return result
    }

    /// Files below `dir` (recursively) whose name ends with `suffix`, keyed by the name with the suffix removed.
    static func filesBySuffix(_ dir: String, suffix: String) -> [String: String] {
        var result: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return result }
        for case let relative as String in walker where relative.hasSuffix(suffix) {
            let base = (relative as NSString).lastPathComponent
            result[String(base.dropLast(suffix.count))] = (dir as NSString).appendingPathComponent(relative)
        }
        return result
    }

    /// Pairs images with labels by key. Images without labels are reported by the validator, not here:
    /// a missing partner becomes a pair whose label path does not exist.
    static func match(images: [String: String], labels: [String: String], instances: [String: String]? = nil,
                      labelDir: String, labelExtension: String = "png") -> [DatasetPair] {
        var keys = Set(images.keys)
        keys.formUnion(labels.keys)
        return keys.sorted().map { key in
            DatasetPair(name: key,
                        image: images[key] ?? "",
                        label: labels[key] ?? (labelDir as NSString).appendingPathComponent("\(key).\(labelExtension)"),
                        instance: instances?[key])
        }
    }

    static func pairsLayout(_ root: String) throws -> [DatasetPair] {
        let imageDir = (root as NSString).appendingPathComponent("images")
        let labelDir = (root as NSString).appendingPathComponent("labels")
        let instanceDir = (root as NSString).appendingPathComponent("instances")
        let instances = FileManager.default.fileExists(atPath: instanceDir) ? filesByStem(instanceDir, extensions: ["png"]) : nil
        return match(images: filesByStem(imageDir, extensions: imageExtensions),
                     labels: filesByStem(labelDir, extensions: ["png"]), instances: instances, labelDir: labelDir)
    }

    static func ade20k(_ root: String, split: String) throws -> [DatasetPair] {
        var base = root
        let nested = (root as NSString).appendingPathComponent("ADEChallengeData2016")
        if FileManager.default.fileExists(atPath: nested) { base = nested }
        let phase = split == "train" ? "training" : "validation"
        let imageDir = (base as NSString).appendingPathComponent("images/\(phase)")
        let labelDir = (base as NSString).appendingPathComponent("annotations/\(phase)")
        return match(images: filesByStem(imageDir, extensions: imageExtensions),
                     labels: filesByStem(labelDir, extensions: ["png"]), labelDir: labelDir)
    }

    static func cityscapes(_ root: String, split: String) throws -> [DatasetPair] {
        let imageDir = (root as NSString).appendingPathComponent("leftImg8bit/\(split)")
        let labelDir = (root as NSString).appendingPathComponent("gtFine/\(split)")
        let images = filesBySuffix(imageDir, suffix: "_leftImg8bit.png")
        let labels = filesBySuffix(labelDir, suffix: "_gtFine_labelIds.png")
        let instances = filesBySuffix(labelDir, suffix: "_gtFine_instanceIds.png")
        return match(images: images, labels: labels, instances: instances, labelDir: labelDir,
                     labelExtension: "_gtFine_labelIds.png")
    }

    static func cocoStuff(_ root: String, split: String) throws -> [DatasetPair] {
        let year = split == "train" ? "train2017" : "val2017"
        let fm = FileManager.default
        func firstExisting(_ candidates: [String]) -> String? {
            candidates.map { (root as NSString).appendingPathComponent($0) }.first { fm.fileExists(atPath: $0) }
        }
        guard let imageDir = firstExisting([year, "images/\(year)"]) else {
            throw DatasetLayoutError(description: "\(root): COCO-Stuff layout needs \(year)/ or images/\(year)/")
        }
        guard let labelDir = firstExisting(["stuffthingmaps_trainval2017/\(year)", "stuffthingmaps/\(year)"]) else {
            throw DatasetLayoutError(description: "\(root): COCO-Stuff layout needs stuffthingmaps_trainval2017/\(year)/")
        }
        let instanceDir = firstExisting(["instances/\(year)", "\(year)_inst"])
        return match(images: filesByStem(imageDir, extensions: imageExtensions),
                     labels: filesByStem(labelDir, extensions: ["png"]),
                     instances: instanceDir.map { filesByStem($0, extensions: ["png"]) }, labelDir: labelDir)
    }
}
