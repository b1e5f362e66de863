/// Counts of (true class, predicted class) over labelled pixels, and the segmentation scores derived
/// from them. Pixels whose true label is not a class (e.g. the don't-care value 255) are not counted.
public struct ConfusionMatrix: Equatable, Sendable {
    public let classes: Int
    /// counts[truth · classes + prediction]
    public private(set) var counts: [Int]

    public init(classes: Int) {
        precondition(classes > 0, "confusion matrix: needs at least one class")
        self.classes = classes
        counts = [Int](repeating: 0, count: classes * classes)
    }

    public subscript(truth: Int, prediction: Int) -> Int { counts[truth * classes + prediction] }

    /// Adds one label map and its prediction (same length). A prediction outside the classes is a
    /// precondition failure: it comes from the network, whose outputs are the classes.
    public mutating func add(truth: [UInt8], prediction: [UInt8]) {
        precondition(truth.count == prediction.count,
                     "confusion matrix: \(truth.count) true labels but \(prediction.count) predictions")
        for i in 0..<truth.count {
            let t = Int(truth[i])
            guard t < classes else { continue }
            let p = Int(prediction[i])
            precondition(p < classes, "confusion matrix: predicted class \(p) outside the \(classes) classes")
            counts[t * classes + p] += 1
        }
    }

    public mutating func add(_ other: ConfusionMatrix) {
        precondition(other.classes == classes, "confusion matrix: \(other.classes) classes added to \(classes)")
        for i in 0..<counts.count { counts[i] += other.counts[i] }
    }

    public var total: Int { counts.reduce(0, +) }

    /// Correct pixels / labelled pixels (0 when nothing was counted).
    public var pixelAccuracy: Double {
        let t = total
        guard t > 0 else { return 0 }
        return Double((0..<classes).reduce(0) { $0 + self[$1, $1] }) / Double(t)
    }

    /// Per class: true positives / (true positives + false positives + false negatives), nil for a class that
    /// neither occurs nor is predicted (its IoU is undefined and it does not enter the mean).
    public var intersectionOverUnion: [Double?] {
        (0..<classes).map { k in
            let tp = self[k, k]
            var rowSum = 0, columnSum = 0
            for j in 0..<classes {
                rowSum += self[k, j]
                columnSum += self[j, k]
            }
            let union = rowSum + columnSum - tp
            return union > 0 ? Double(tp) / Double(union) : nil
        }
    }

    /// Mean IoU over the classes with a defined IoU (0 when none).
    public var meanIoU: Double {
        let defined = intersectionOverUnion.compactMap { $0 }
        return defined.isEmpty ? 0 : defined.reduce(0, +) / Double(defined.count)
    }

    /// Labelled pixels of each true class.
    public var support: [Int] {
        (0..<classes).map { k in (0..<classes).reduce(0) { $0 + self[k, $1] } }
    }
}
