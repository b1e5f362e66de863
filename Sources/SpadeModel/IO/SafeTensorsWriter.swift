import Foundation

/// Builds a safetensors file from named arrays and writes it atomically.
///
/// Tensors appear in the header and the data buffer in the order they were added, metadata keys
/// in sorted order, so the same input always gives the same bytes. The header is padded with spaces
/// so the data buffer starts 8-byte aligned, as Python's `safetensors` does; tensors follow each
/// other without gaps because the format forbids holes in the buffer. For tensors added in the
/// order Python's writer uses (alignment descending, then name) the bytes are identical to its output.
public struct SafeTensorsWriter: Sendable {
    private enum Values {
        case floats([Float])
        case int64s([Int64])
    }

    private struct Entry {
        let name: String
        let dtype: SafeTensorsDType
        let shape: [Int]
        let values: Values
        var byteCount: Int {
            switch values {
            case .floats(let v): return v.count * dtype.size
            case .int64s(let v): return v.count * dtype.size
            }
        }
    }

    /// Written as the header's `__metadata__` map (omitted when empty).
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var usedNames = Set<String>()

    /// Names in the order they were added.
    public var names: [String] { entries.map(\.name) }

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a float tensor, stored as `dtype` (F32, F16 or BF16; the latter two round to nearest even).
    public mutating func add(_ name: String, floats: [Float], shape: [Int], as dtype: SafeTensorsDType = .float32) throws {
        guard [.float32, .float16, .bfloat16].contains(dtype) else {
            throw SafeTensorsError(file: nil, problem: "tensor '\(name)': floats can be stored as F32, F16 or BF16, not \(dtype.rawValue)")
        }
        try checkNew(name, count: floats.count, shape: shape)
        entries.append(Entry(name: name, dtype: dtype, shape: shape, values: .floats(floats)))
    }

    /// Adds an I64 tensor (e.g. BatchNorm's `num_batches_tracked`, a scalar with shape `[]`).
    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) throws {
        try checkNew(name, count: int64s.count, shape: shape)
        entries.append(Entry(name: name, dtype: .int64, shape: shape, values: .int64s(int64s)))
    }

    private mutating func checkNew(_ name: String, count: Int, shape: [Int]) throws {
        guard name != "__metadata__" else {
            throw SafeTensorsError(file: nil, problem: "'__metadata__' is reserved and cannot name a tensor")
        }
        guard !usedNames.contains(name) else {
            throw SafeTensorsError(file: nil, problem: "duplicate tensor name '\(name)'")
        }
        var elements = 1
        for dimension in shape {
            guard dimension >= 0 else {
                throw SafeTensorsError(file: nil, problem: "tensor '\(name)' shape \(safeTensorsList(shape)) has a negative dimension")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw SafeTensorsError(file: nil, problem: "tensor '\(name)' shape \(safeTensorsList(shape)) has too many elements (overflow)")
            }
            elements = product
        }
        guard elements == count else {
            throw SafeTensorsError(file: nil, problem: "tensor '\(name)' shape \(safeTensorsList(shape)) holds \(elements) elements but \(count) values were given")
        }
        usedNames.insert(name)
    }

    /// The complete file contents.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(header().count + entries.reduce(0) { $0 + $1.byteCount })
        emit { out.append(contentsOf: $0) }
        return out
    }

    /// Writes the file atomically (temporary file, fsync, rename), streaming the data so that memory
    /// use stays small next to the arrays already held. Throws `AtomicFileError` on I/O failure.
    public func write(to path: String) throws {
        try AtomicFile.write(to: path) { stream in
            try emit { try stream.write($0) }
        }
    }

    // MARK: - Encoding

    /// The 8-byte length followed by the space-padded JSON header.
    private func header() -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func separator() {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            SafeTensorsJSONWriter.appendString("__metadata__", to: &json)
            json.append(contentsOf: Array(":{".utf8))
            for (i, key) in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                SafeTensorsJSONWriter.appendString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                SafeTensorsJSONWriter.appendString(metadata[key]!, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for entry in entries {
            separator()
            SafeTensorsJSONWriter.appendString(entry.name, to: &json)
            json.append(contentsOf: Array(":{\"dtype\":".utf8))
            SafeTensorsJSONWriter.appendString(entry.dtype.rawValue, to: &json)
            json.append(contentsOf: Array(",\"shape\":".utf8))
            SafeTensorsJSONWriter.appendIntegers(entry.shape, to: &json)
            json.append(contentsOf: Array(",\"data_offsets\":".utf8))
            SafeTensorsJSONWriter.appendIntegers([offset, offset + entry.byteCount], to: &json)
            json.append(UInt8(ascii: "}"))
            offset += entry.byteCount
        }
        json.append(UInt8(ascii: "}"))
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }

        var out = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        out.append(contentsOf: json)
        return out
    }

    /// Feeds the file's bytes to `sink` in pieces of at most a few MiB.
    private func emit(_ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try header().withUnsafeBytes(sink)
        let chunkElements = 1 << 20
        for entry in entries {
            switch (entry.values, entry.dtype) {
            case (.floats(let values), .float32):
                try emitConverted(values, chunk: chunkElements, as: UInt32.self, sink) { $0.bitPattern }
            case (.floats(let values), .float16):
                try emitConverted(values, chunk: chunkElements, as: UInt16.self, sink) { HalfPrecision.float16Bits($0) }
            case (.floats(let values), _):
                try emitConverted(values, chunk: chunkElements, as: UInt16.self, sink) { HalfPrecision.bfloat16Bits($0) }
            case (.int64s(let values), _):
                try emitConverted(values, chunk: chunkElements, as: UInt64.self, sink) { UInt64(bitPattern: $0) }
            }
        }
    }

    /// Encodes `values` as little-endian `Bits` a chunk at a time.
    private func emitConverted<Value, Bits: FixedWidthInteger>(
        _ values: [Value], chunk: Int, as: Bits.Type, _ sink: (UnsafeRawBufferPointer) throws -> Void,
        encode: (Value) -> Bits
    ) rethrows {
        var scratch = [Bits](repeating: 0, count: min(chunk, values.count))
        var start = 0
        while start < values.count {
            let n = min(chunk, values.count - start)
            for i in 0..<n { scratch[i] = encode(values[start + i]).littleEndian }
            try scratch.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<(n * MemoryLayout<Bits>.size)])) }
            start += n
        }
    }
}
