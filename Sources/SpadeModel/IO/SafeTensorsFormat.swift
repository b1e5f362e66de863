import Foundation

// The safetensors layout (https://github.com/huggingface/safetensors):
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a UTF-8 JSON object: {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets"}, ...}
//   rest      the data buffer; each tensor's data_offsets [begin, end) are relative to its start,
//             little-endian, row-major. The tensors must cover the buffer exactly, without holes.

/// Element types named by the safetensors format. Reading accepts all of them (a file can be listed
/// whatever it holds); converting to Swift arrays supports the types the model uses.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case float8E5M2 = "F8_E5M2"
    case float8E4M3 = "F8_E4M3"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E5M2, .float8E4M3: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }
}

/// A malformed or unreadable safetensors file, or a bad request to the reader or writer.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file concerned, as the caller named it; nil for problems not tied to a file
    /// (e.g. adding a tensor whose shape does not match its values).
    public let file: String?
    /// What is wrong, e.g. "tensor 'fc.weight' data_offsets [0, 99999999] past end of data (1234 bytes)".
    public let problem: String

    public init(file: String?, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String {
        file.map { "\($0): \(problem)" } ?? problem
    }
}

extension SafeTensorsError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Where one tensor lives in a file and what it holds.
public struct SafeTensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Row-major dimensions; `[]` is a scalar (one element).
    public let shape: [Int]
    /// The product of `shape`.
    public let elementCount: Int
    /// Byte range inside the data buffer (the header's `data_offsets`).
    public let dataOffsets: Range<Int>
}

enum SafeTensorsLimits {
    /// Headers larger than this are refused before anything is allocated (the reference
    /// implementation uses the same limit).
    static let maximumHeaderLength = 100_000_000
}

/// Formats a shape or offsets for messages as the header spells them: "[2, 3]".
func safeTensorsList(_ values: [Int]) -> String {
    "[" + values.map(String.init).joined(separator: ", ") + "]"
}
