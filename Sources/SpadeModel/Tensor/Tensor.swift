/// A dense float32 tensor with contiguous row-major storage (NCHW for images).
///
/// Value semantics: `data` is a Swift array, so copies are cheap until written (copy on write).
/// Hot loops reach the storage through `withUnsafe…` and never allocate per element.
public struct Tensor: Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor: shape \(shape) holds \(shape.reduce(1, *)) elements, data has \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor whose every element the caller overwrites before reading (e.g. a GEMM output with
    /// beta = 0): skips zero-filling, which was a tenth of a training iteration's time.
    public init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        let count = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    public static func zeros(_ shape: Int...) -> Tensor { Tensor(shape: shape) }
    public static func zeros(like t: Tensor) -> Tensor { Tensor(shape: t.shape) }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The four NCHW dimensions; a shape error names `op` when the tensor is not 4-D.
    @inline(__always)
    public func nchw(_ op: String) -> (n: Int, c: Int, h: Int, w: Int) {
        precondition(shape.count == 4, "\(op): expected an NCHW tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Raw pointers for kernels. The closures must not let the pointer escape.
    @inline(__always)
    public func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    @inline(__always)
    public mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = data.prefix(6).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor\(shape)[\(preview)\(data.count > 6 ? ", …" : "")]"
    }
}

/// Shape checks shared by the ops: messages name the op and both shapes.
@inline(__always)
func checkSameShape(_ op: String, _ a: Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape, "\(op): shapes differ: \(a.shape) vs \(b.shape)")
}
