import Foundation

/// Per-class colour statistics of an 8-bit RGB picture: for each class, its pixel count and the mean and
/// standard deviation of R, G and B (0–255 scale).
public struct ClassColourStatistics: Equatable {
    public let classes: Int
    public private(set) var counts: [Int]
    /// [class][channel]
    public private(set) var means: [[Float]]
    public private(set) var deviations: [[Float]]

    /// `rgb`: interleaved R, G, B, row-major; `labels`: one class per pixel. Labels ≥ `classes` (e.g. 255,
    /// don't care) are not counted.
    public init(rgb: [UInt8], labels: [UInt8], classes: Int) {
        precondition(rgb.count == labels.count * 3, "ClassColourStatistics: \(rgb.count / 3) pixels, \(labels.count) labels")
        self.classes = classes
        var n = [Int](repeating: 0, count: classes)
        var sum = [Double](repeating: 0, count: classes * 3), squares = sum
        for (i, label) in labels.enumerated() where Int(label) < classes {
            let c = Int(label)
            n[c] += 1
            for ch in 0..<3 {
                let v = Double(rgb[i * 3 + ch])
                sum[c * 3 + ch] += v
                squares[c * 3 + ch] += v * v
            }
        }
        counts = n
        means = (0..<classes).map { c in (0..<3).map { ch in n[c] == 0 ? 0 : Float(sum[c * 3 + ch] / Double(n[c])) } }
        deviations = (0..<classes).map { c in
            (0..<3).map { ch in
                guard n[c] > 0 else { return 0 }
                let mean = sum[c * 3 + ch] / Double(n[c])
                return Float(max(0, squares[c * 3 + ch] / Double(n[c]) - mean * mean).squareRoot())
            }
        }
    }

    /// Statistics as stored (e.g. in a style file): `counts` per class, `means` and `deviations` per class and
    /// channel. Nil when the arrays do not describe `counts.count` classes or hold negative or non-finite values.
    public init?(counts: [Int], means: [[Float]], deviations: [[Float]]) {
        guard means.count == counts.count, deviations.count == counts.count, counts.allSatisfy({ $0 >= 0 }),
              (means + deviations).allSatisfy({ $0.count == 3 && $0.allSatisfy { $0.isFinite && $0 >= 0 } }) else { return nil }
        classes = counts.count
        self.counts = counts
        self.means = means
        self.deviations = deviations
    }

    public var pixelCount: Int { counts.reduce(0, +) }
}

/// Semantic colour transfer from a style reference (not in the reference implementation).
///
/// The style encoder of a small model trained on a few thousand pictures passes only part of a photo's look
/// on. This stage makes `--style` follow the photo's colours closely: the photo is labelled by a segmenter,
/// and every class of the generated picture gets the mean colour and the spread of the same class in the
/// photo (sky gets the photo's sky, grass its grass), the way Reinhard et al.'s colour transfer does for whole
/// pictures.
/// Texture and shading stay the generator's. Classes the photo lacks are moved by the average shift of those
/// it has (pixel-weighted), so they take its light and colour cast.
public struct ReferenceColourMatch: Equatable {
    public let reference: ClassColourStatistics

    /// A class must cover at least this share of the reference for its colours to be taken.
    public static let minimumShare = 0.005
    /// How far a class's spread (the mean of its channels' standard deviations) may be widened or narrowed:
    /// the generator's texture stays visible, and its artefacts are not blown up.
    public static let spreadRatio: ClosedRange<Float> = 0.5...2

    public init(reference: ClassColourStatistics) {
        self.reference = reference
    }

    /// Labels `rgb` (8-bit, interleaved, `width`×`height`) with `segmenter` and takes its class colours.
    /// Large photos are first resized so that the longer side is at most `workingSide` pixels.
    public init(referenceRGB rgb: [UInt8], width: Int, height: Int, segmenter: Segmenter, workingSide: Int = 256) {
        precondition(rgb.count == width * height * 3, "ReferenceColourMatch: \(rgb.count) bytes for \(width)x\(height)")
        let plane = width * height
        var picture = Tensor(shape: [1, 3, height, width])
        for i in 0..<plane {
            for ch in 0..<3 { picture.data[ch * plane + i] = Float(rgb[i * 3 + ch]) / 255 * 2 - 1 }
        }
        let scale = min(1, Double(workingSide) / Double(max(width, height)))
        let w = max(1, Int((Double(width) * scale).rounded())), h = max(1, Int((Double(height) * scale).rounded()))
        let small = Segmenter.resizePictures(picture, height: h, width: w)
        let labels = segmenter.segment(small, height: h, width: w).labels[0]
        let smallRGB = (w == width && h == height) ? rgb : GeneratorOutput.rgbBytes(small)
        self.init(reference: ClassColourStatistics(rgb: smallRGB, labels: labels, classes: segmenter.config.classes))
    }

    /// Whether the reference has enough pixels of class `c` to lend it its colours.
    public func takes(_ c: Int) -> Bool {
        c < reference.classes && Double(reference.counts[c]) >= Self.minimumShare * Double(max(1, reference.pixelCount))
    }

    /// `rgb` (8-bit, interleaved) recoloured class by class; `labels` has one class per pixel of the picture.
    public func apply(rgb: [UInt8], labels: [UInt8]) -> [UInt8] {
        let picture = ClassColourStatistics(rgb: rgb, labels: labels, classes: reference.classes)
        // Per class: out = mean_ref + (x - mean_pic) * scale, per channel.
        var offset = [[Float]](repeating: [0, 0, 0], count: reference.classes)
        var scale = [Float](repeating: 1, count: reference.classes)
        var castSum: [Double] = [0, 0, 0], castWeight = 0.0
        for c in 0..<reference.classes where picture.counts[c] > 0 && takes(c) {
            // One scale for all three channels: scaling them apart turns bright grey artefacts into rainbows.
            let spread = picture.deviations[c].reduce(0, +) / 3, wanted = reference.deviations[c].reduce(0, +) / 3
            let s = spread > 0.5 ? min(max(wanted / spread, Self.spreadRatio.lowerBound), Self.spreadRatio.upperBound) : 1
            scale[c] = s
            for ch in 0..<3 {
                offset[c][ch] = reference.means[c][ch] - picture.means[c][ch] * s
                castSum[ch] += Double(picture.counts[c]) * Double(reference.means[c][ch] - picture.means[c][ch])
            }
            castWeight += Double(picture.counts[c])
        }
        let cast = castWeight > 0 ? castSum.map { Float($0 / castWeight) } : [0, 0, 0]
        for c in 0..<reference.classes where !takes(c) { offset[c] = cast }
        var out = rgb
        for (i, label) in labels.enumerated() {
            let c = Int(label)
            let (o, s) = c < reference.classes ? (offset[c], scale[c]) : (cast, 1)
            for ch in 0..<3 {
                let v = Float(rgb[i * 3 + ch]) * s + o[ch]
                out[i * 3 + ch] = UInt8(min(max(v.rounded(), 0), 255))
            }
        }
        return out
    }

    // MARK: Saved with a style code

    /// Names of the statistics in a style file (`spadepaint encode`), next to `z`.
    public static let countName = "class_colour_count", meanName = "class_colour_mean", deviationName = "class_colour_deviation"

    /// Adds the reference's statistics to a style file being written.
    public func add(to writer: inout SafeTensorsWriter) throws {
        try writer.add(Self.countName, int64s: reference.counts.map(Int64.init), shape: [reference.classes])
        try writer.add(Self.meanName, floats: reference.means.flatMap { $0 }, shape: [reference.classes, 3])
        try writer.add(Self.deviationName, floats: reference.deviations.flatMap { $0 }, shape: [reference.classes, 3])
    }

    /// The colour match stored in a style file; nil when it holds none (a plain z). A partial or malformed
    /// set of statistics is an error naming the file.
    public static func stored(in file: SafeTensorsFile) throws -> ReferenceColourMatch? {
        let names = [countName, meanName, deviationName]
        let present = names.filter(file.contains)
        if present.isEmpty { return nil }
        func fail(_ problem: String) -> CheckpointError { CheckpointError(file: file.path, problem: problem) }
        guard present.count == names.count else {
            throw fail("holds \(present.joined(separator: ", ")) but not \(names.filter { !present.contains($0) }.joined(separator: ", "))")
        }
        let counts = try file.int64s(countName)
        let classes = counts.count
        guard try file.shape(countName) == [classes], try file.shape(meanName) == [classes, 3],
              try file.shape(deviationName) == [classes, 3] else {
            throw fail("class colour statistics need shapes [C], [C, 3], [C, 3]")
        }
        let means = try file.floats(meanName), deviations = try file.floats(deviationName)
        guard counts.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }),
              let statistics = ClassColourStatistics(counts: counts.map { Int($0) },
                                                     means: (0..<classes).map { Array(means[$0 * 3..<$0 * 3 + 3]) },
                                                     deviations: (0..<classes).map { Array(deviations[$0 * 3..<$0 * 3 + 3]) }) else {
            throw fail("class colour statistics hold negative or non-finite values")
        }
        return ReferenceColourMatch(reference: statistics)
    }

    /// Labels of a `width`×`height` map resized to `outWidth`×`outHeight` by nearest neighbour (as the
    /// generator resizes its label input), so a picture's pixels can be matched to their classes.
    public static func labels(_ labels: [UInt8], width: Int, height: Int, toWidth outWidth: Int, toHeight outHeight: Int) -> [UInt8] {
        if width == outWidth && height == outHeight { return labels }
        var out = [UInt8](repeating: 0, count: outWidth * outHeight)
        for y in 0..<outHeight {
            let sy = Resample.nearestSourceIndex(y, inSize: height, outSize: outHeight)
            for x in 0..<outWidth {
                out[y * outWidth + x] = labels[sy * width + Resample.nearestSourceIndex(x, inSize: width, outSize: outWidth)]
            }
        }
        return out
    }
}
