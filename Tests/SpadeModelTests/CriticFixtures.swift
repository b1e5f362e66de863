import Foundation
import XCTest
@testable import SpadeModel

/// Reads the PyTorch parity fixtures (safetensors, F32 only) committed under Fixtures/critic.
struct CriticFixture {
    let name: String
    let tensors: [String: Tensor]

    init(_ name: String) throws {
        self.name = name
        guard let url = Bundle.module.url(forResource: "Fixtures/critic/\(name)", withExtension: "safetensors") else {
            throw NSError(domain: "fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "fixture \(name) not bundled"])
        }
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + headerLength)) as! [String: Any]
        var tensors: [String: Tensor] = [:]
        for (key, value) in header where key != "__metadata__" {
            let info = value as! [String: Any]
            precondition(info["dtype"] as! String == "F32", "fixture \(name): \(key) is not F32")
            let shape = (info["shape"] as! [Int])
            let offsets = info["data_offsets"] as! [Int]
            let bytes = data.subdata(in: 8 + headerLength + offsets[0]..<8 + headerLength + offsets[1])
            let floats = bytes.withUnsafeBytes { raw in
                (0..<raw.count / 4).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
            }
            tensors[key] = Tensor(shape: shape, data: floats)
        }
        self.tensors = tensors
    }

    subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else { fatalError("fixture \(name): no tensor \(key)") }
        return t
    }

    func scalar(_ key: String) -> Float { self[key].data[0] }

    /// Assigns `prefix.<name>` to every state entry of `module` (shapes must agree).
    func load(_ module: Module, prefix: String) {
        for (key, entry) in module.stateEntries() {
            let t = self["\(prefix).\(key)"]
            precondition(t.count == entry.tensor.count, "fixture \(name): \(prefix).\(key) has shape \(t.shape), module wants \(entry.tensor.shape)")
            entry.assign(t.reshaped(entry.tensor.shape))
        }
    }
}

/// max |a − b|.
func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "maxAbsDiff: \(a.shape) vs \(b.shape)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
    return m
}

/// max |a − b| / max |b|: the error relative to the tensor's scale.
func relativeDiff(_ a: Tensor, _ b: Tensor) -> Float {
    maxAbsDiff(a, b) / max(b.maxAbs(), 1e-12)
}

func assertClose(_ a: Tensor, _ b: Tensor, abs tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
    let d = maxAbsDiff(a, b)
    XCTAssertLessThanOrEqual(d, tol, "\(what): max abs diff \(d)", file: file, line: line)
}

func assertRelClose(_ a: Tensor, _ b: Tensor, rel tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    let d = relativeDiff(a, b)
    XCTAssertLessThanOrEqual(d, tol, "\(what): relative diff \(d)", file: file, line: line)
}
