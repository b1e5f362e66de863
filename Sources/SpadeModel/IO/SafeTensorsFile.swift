import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file opened for reading.
///
/// Opening reads and validates only the header: every offset, length and shape is checked against
/// the file's real size, with overflow-checked arithmetic, before anything is allocated. Tensor
/// data is read on request with positioned reads straight into the returned array, so a 400 MB
/// checkpoint costs one copy from the page cache and no mapping that could fault later.
///
/// The file stays open until this object is released; if it is atomically replaced meanwhile,
/// reads keep seeing the file that was opened. Immutable after opening and read with pread, so one
/// instance can be shared between threads.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The path as given to `open`, used in error messages.
    public let path: String
    /// Tensor names in header order (the order they were written).
    public let names: [String]
    /// The header's `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Size of the whole file in bytes.
    public let fileSize: Int

    private let tensors: [String: SafeTensorInfo]
    private let reader: SafeTensorsPositionedReader
    /// File offset of the data buffer (8 + header length).
    private let dataStart: Int

    /// Tensor names sorted by byte order of their UTF-8 (stable regardless of locale).
    public var sortedNames: [String] { names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    /// Opens and validates `path`; throws `SafeTensorsError` naming the file and the problem.
    public static func open(path: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: path)
    }

    public init(path: String) throws {
        self.path = path
        let fail = { (problem: String) in SafeTensorsError(file: path, problem: problem) }
        reader = try SafeTensorsPositionedReader(path: path)
        fileSize = reader.size

        guard fileSize >= 8 else {
            throw fail("file is \(fileSize) bytes, too short to hold the 8-byte header length")
        }
        var lengthBytes = [UInt8](repeating: 0, count: 8)
        try reader.read(into: &lengthBytes, at: 0)
        let headerLength = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(SafeTensorsLimits.maximumHeaderLength) else {
            throw fail("header length \(headerLength) exceeds the limit of \(SafeTensorsLimits.maximumHeaderLength) bytes")
        }
        guard headerLength <= UInt64(fileSize - 8) else {
            throw fail("header length \(headerLength) runs past the end of the file (\(fileSize) bytes)")
        }
        let headerCount = Int(headerLength)
        dataStart = 8 + headerCount
        let dataLength = fileSize - dataStart

        var headerBytes = [UInt8](repeating: 0, count: headerCount)
        try reader.read(into: &headerBytes, at: 8)
        let header = try Self.parseHeader(headerBytes, fail: fail)

        var names: [String] = []
        var tensors: [String: SafeTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                metadata = try Self.parseMetadata(value, fail: fail)
            } else {
                let info = try Self.parseTensor(name: key, value, dataLength: dataLength, fail: fail)
                names.append(key)
                tensors[key] = info
            }
        }
        try Self.checkCoverage(of: names.map { tensors[$0]! }, dataLength: dataLength, fail: fail)
        self.names = names
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// Dtype, shape and location of `name`.
    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let info = tensors[name] else {
            throw SafeTensorsError(file: path, problem: "no tensor named '\(name)' (the file has \(names.count) tensors)")
        }
        return info
    }

    public func dtype(_ name: String) throws -> SafeTensorsDType { try info(name).dtype }

    public func shape(_ name: String) throws -> [Int] { try info(name).shape }

    /// The tensor's values as Float. F32 is copied as is; F16, BF16 and F64 are converted.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        switch info.dtype {
        case .float32:
            return try readDirect(info, as: Float.self)
        case .float16:
            return try readConverted(info) { HalfPrecision.decodeFloat16($0, count: $1, into: $2) }
        case .bfloat16:
            return try readConverted(info) { HalfPrecision.decodeBFloat16($0, count: $1, into: $2) }
        case .float64:
            return try readConverted(info) { source, count, destination in
                for i in 0..<count {
                    let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    destination[i] = Float(Double(bitPattern: bits))
                }
            }
        default:
            throw SafeTensorsError(file: path, problem: "tensor '\(name)' has dtype \(info.dtype.rawValue); floats() reads F32, F16, BF16 or F64")
        }
    }

    /// The tensor's values as Int64 (I64 as is; I32 widened).
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try info(name)
        switch info.dtype {
        case .int64:
            return try readDirect(info, as: Int64.self)
        case .int32:
            return try readDirect(info, as: Int32.self).map(Int64.init)
        default:
            throw SafeTensorsError(file: path, problem: "tensor '\(name)' has dtype \(info.dtype.rawValue); int64s() reads I64 or I32")
        }
    }

    /// The tensor's raw little-endian bytes, for dtypes without a typed accessor.
    public func bytes(_ name: String) throws -> [UInt8] {
        try readDirect(info(name), as: UInt8.self)
    }

    // MARK: - Reading data

    /// Reads a tensor whose file representation is exactly `[T]` in little-endian order, straight
    /// into the result array (no intermediate copy).
    private func readDirect<T>(_ info: SafeTensorInfo, as type: T.Type) throws -> [T] {
        let count = info.dataOffsets.count / MemoryLayout<T>.stride
        let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try reader.read(into: UnsafeMutableRawBufferPointer(buffer), at: dataStart + info.dataOffsets.lowerBound, file: path)
            initialized = count
        }
        #if _endian(big)
        var swapped = values
        swapped.withUnsafeMutableBytes { raw in
            let size = MemoryLayout<T>.size
            for start in stride(from: 0, to: raw.count, by: size) { raw[start..<(start + size)].reverse() }
        }
        return swapped
        #else
        return values
        #endif
    }

    /// Reads the tensor in chunks of raw bytes and decodes each chunk into the result, so a
    /// converted tensor never needs its raw bytes in memory all at once.
    private func readConverted(
        _ info: SafeTensorInfo,
        decode: (UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void
    ) throws -> [Float] {
        let elementSize = info.dtype.size
        let chunkElements = 1 << 20
        var scratch = [UInt8](repeating: 0, count: min(info.elementCount, chunkElements) * elementSize)
        return try [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
            var done = 0
            while done < info.elementCount {
                let n = min(chunkElements, info.elementCount - done)
                try scratch.withUnsafeMutableBytes { raw in
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: raw[0..<(n * elementSize)])
                    try reader.read(into: chunk, at: dataStart + info.dataOffsets.lowerBound + done * elementSize, file: path)
                    decode(UnsafeRawPointer(chunk.baseAddress!), n, buffer.baseAddress! + done)
                }
                done += n
            }
            initialized = info.elementCount
        }
    }
}

// MARK: - Header validation

extension SafeTensorsFile {
    private static func parseHeader(
        _ bytes: [UInt8], fail: (String) -> SafeTensorsError
    ) throws -> [(key: String, value: SafeTensorsJSON)] {
        let json: SafeTensorsJSON
        do {
            json = try bytes.withUnsafeBufferPointer { try SafeTensorsJSONParser.parse($0) }
        } catch let error as SafeTensorsJSONSyntaxError {
            if let name = error.duplicateKey {
                throw fail("duplicate tensor name '\(name)' in header")
            }
            throw fail("header is not valid JSON: \(error.problem) at byte \(error.offset) of the header")
        }
        guard case .object(let members) = json else {
            throw fail("header is \(json.kindName), expected a JSON object")
        }
        return members
    }

    private static func parseMetadata(
        _ value: SafeTensorsJSON, fail: (String) -> SafeTensorsError
    ) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw fail("__metadata__ is \(value.kindName), expected an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else {
                throw fail("__metadata__ entry '\(key)' is \(value.kindName), expected a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseTensor(
        name: String, _ value: SafeTensorsJSON, dataLength: Int, fail: (String) -> SafeTensorsError
    ) throws -> SafeTensorInfo {
        guard case .object(let members) = value else {
            throw fail("tensor '\(name)' is \(value.kindName), expected an object with dtype, shape and data_offsets")
        }
        func field(_ key: String) throws -> SafeTensorsJSON {
            guard let value = members.first(where: { $0.key == key })?.value else {
                throw fail("tensor '\(name)' has no \(key)")
            }
            return value
        }
        func integers(_ key: String) throws -> [Int] {
            guard case .array(let elements) = try field(key) else {
                throw fail("tensor '\(name)' \(key) is \(try field(key).kindName), expected an array of integers")
            }
            return try elements.map { element in
                switch element {
                case .integer(let v) where v < 0:
                    throw fail("tensor '\(name)' \(key) contains negative value \(v)")
                case .integer(let v):
                    guard let int = Int(exactly: v) else { throw fail("tensor '\(name)' \(key) value \(v) is too large") }
                    return int
                case .otherNumber(let text):
                    throw fail("tensor '\(name)' \(key) value \(text) is not a non-negative integer in range")
                default:
                    throw fail("tensor '\(name)' \(key) contains \(element.kindName), expected integers")
                }
            }
        }

        guard case .string(let dtypeName) = try field("dtype") else {
            throw fail("tensor '\(name)' dtype is \(try field("dtype").kindName), expected a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail("tensor '\(name)' has unknown dtype '\(dtypeName)'")
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else {
            throw fail("tensor '\(name)' data_offsets \(safeTensorsList(offsets)) must hold exactly two numbers [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw fail("tensor '\(name)' data_offsets \(safeTensorsList(offsets)) are reversed (end before begin)")
        }
        guard end <= dataLength else {
            throw fail("tensor '\(name)' data_offsets \(safeTensorsList(offsets)) past end of data (\(dataLength) bytes)")
        }
        var elementCount = 1
        for dimension in shape {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw fail("tensor '\(name)' shape \(safeTensorsList(shape)) has too many elements (overflow)") }
            elementCount = product
        }
        let (byteCount, overflow) = elementCount.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else {
            throw fail("tensor '\(name)' shape \(safeTensorsList(shape)) is too large for \(dtype.rawValue) (byte count overflows)")
        }
        guard byteCount == end - begin else {
            throw fail("tensor '\(name)' shape \(safeTensorsList(shape)) of \(dtype.rawValue) needs \(byteCount) bytes but data_offsets \(safeTensorsList(offsets)) span \(end - begin)")
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, elementCount: elementCount, dataOffsets: begin..<end)
    }

    /// The tensors must tile the data buffer exactly: no overlaps (two names for the same bytes),
    /// no holes and no trailing bytes (room to hide other content), as the reference implementation
    /// requires.
    private static func checkCoverage(
        of tensors: [SafeTensorInfo], dataLength: Int, fail: (String) -> SafeTensorsError
    ) throws {
        let ordered = tensors.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }
        var covered = 0
        var previous: SafeTensorInfo?
        for tensor in ordered {
            let range = tensor.dataOffsets
            if range.lowerBound < covered, let previous {
                throw fail("tensor '\(tensor.name)' data_offsets \(safeTensorsList([range.lowerBound, range.upperBound])) overlap tensor '\(previous.name)' \(safeTensorsList([previous.dataOffsets.lowerBound, previous.dataOffsets.upperBound]))")
            }
            if range.lowerBound > covered {
                throw fail("data bytes \(covered)..<\(range.lowerBound) belong to no tensor (gap before tensor '\(tensor.name)')")
            }
            covered = range.upperBound
            previous = tensor
        }
        if covered != dataLength {
            throw fail("data bytes \(covered)..<\(dataLength) after the last tensor belong to no tensor")
        }
    }
}

/// A read-only file descriptor read with pread, so concurrent readers of one file need no locking.
final class SafeTensorsPositionedReader: @unchecked Sendable {
    let size: Int
    private let descriptor: Int32
    private let path: String

    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SafeTensorsError(file: path, problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw SafeTensorsError(file: path, problem: "cannot stat: \(String(cString: strerror(code)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw SafeTensorsError(file: path, problem: "not a regular file")
        }
        self.descriptor = descriptor
        self.size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    func read(into bytes: inout [UInt8], at offset: Int) throws {
        try bytes.withUnsafeMutableBytes { try read(into: $0, at: offset, file: path) }
    }

    /// Fills `buffer` from `offset`; a short read means the file shrank after it was opened.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, file: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, min(buffer.count - done, 1 << 30), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(file: file, problem: "read failed at byte \(offset + done): \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                throw SafeTensorsError(file: file, problem: "file ended at byte \(offset + done), it was truncated after being opened")
            }
            done += n
        }
    }
}
