import Foundation
import XCTest
@testable import SpadeModel

/// Checkpoint loading is strict and all-or-nothing; saving round-trips every tensor and dtype.
final class StateDictTests: XCTestCase {
    let config = SPADEConfig(labelNC: 3, containDontcareLabel: true, noInstance: true, ngf: 2, cropSize: 32,
                             normG: "spectralspadebatch3x3", spadeHidden: 4)

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spadepaint-statedict-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func makeGenerator(seed: UInt64) throws -> SPADEGenerator {
        var rng = RandomGenerator(seed: seed)
        let g = try SPADEGenerator(config: config, rng: &rng)
        // Non-default buffers so that a round trip is visible.
        for (_, entry) in g.stateEntries() {
            if case .buffer(let b) = entry { for i in 0..<b.value.count { b.value.data[i] += b.isInteger ? 7 : 0.25 } }
        }
        return g
    }

    /// Writes the generator's state with one tensor changed by `edit` (nil: left out).
    func writeEdited(_ g: SPADEGenerator, to path: String, skip: String? = nil,
                     replace: (String, (inout SafeTensorsWriter) throws -> Void)? = nil) throws {
        var writer = SafeTensorsWriter(metadata: [:])
        for (name, entry) in g.stateEntries() {
            if name == skip { continue }
            if let replace, replace.0 == name { try replace.1(&writer); continue }
            let t = entry.tensor
            if case .buffer(let b) = entry, b.isInteger {
                try writer.add(name, int64s: t.data.map { Int64($0) }, shape: t.shape)
            } else {
                try writer.add(name, floats: t.data, shape: t.shape)
            }
        }
        try writer.write(to: path)
    }

    func testRoundTripKeepsEveryEntryAndDtype() throws {
        let a = try makeGenerator(seed: 1), b = try makeGenerator(seed: 2)
        let path = temporaryPath("roundtrip.safetensors")
        try GeneratorCheckpoint.save(a, palette: "landscape", to: path)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.names, a.stateEntries().map(\.0), "tensors are written in state-dict order")
        XCTAssertEqual(try file.dtype("head_0.norm_0.param_free_norm.num_batches_tracked"), .int64)
        XCTAssertEqual(try file.shape("head_0.norm_0.param_free_norm.num_batches_tracked"), [])
        XCTAssertEqual(try file.dtype("head_0.conv_0.weight_orig"), .float32)
        try StateDict.load(b, from: file)
        for ((name, ea), (_, eb)) in zip(a.stateEntries(), b.stateEntries()) {
            XCTAssertEqual(ea.tensor, eb.tensor, name)
        }
        let loaded = try GeneratorCheckpoint.load(path: path)
        XCTAssertEqual(loaded.palette, "landscape")
        XCTAssertEqual(loaded.generator.config, config)
    }

    func testHalfPrecisionIsAccepted() throws {
        let a = try makeGenerator(seed: 3), b = try makeGenerator(seed: 4)
        let path = temporaryPath("half.safetensors")
        let weight = a.convImg.weight.value
        try writeEdited(a, to: path, replace: ("conv_img.weight", { w in
            try w.add("conv_img.weight", floats: weight.data, shape: weight.shape, as: .bfloat16)
        }))
        try StateDict.load(b, from: SafeTensorsFile(path: path))
        for i in 0..<weight.count {
            XCTAssertEqual(b.convImg.weight.value.data[i], weight.data[i], accuracy: abs(weight.data[i]) / 128 + 1e-30)
        }
    }

    /// Every failure names the tensor, and leaves the target exactly as it was.
    func assertRejected(_ path: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let target = try makeGenerator(seed: 99)
        let before = target.stateEntries().map { $0.1.tensor }
        XCTAssertThrowsError(try StateDict.load(target, from: SafeTensorsFile(path: path)), file: file, line: line) { error in
            let text = "\(error)"
            for m in mentions { XCTAssertTrue(text.contains(m), "'\(text)' should mention '\(m)'", file: file, line: line) }
            XCTAssertTrue(text.contains(path), "'\(text)' should name the file", file: file, line: line)
        }
        XCTAssertEqual(target.stateEntries().map { $0.1.tensor }, before, "nothing may be half-loaded", file: file, line: line)
    }

    func testMissingTensorIsNamed() throws {
        let path = temporaryPath("missing.safetensors")
        // The last entry is missing: every earlier one validates, and still nothing may be assigned.
        try writeEdited(try makeGenerator(seed: 5), to: path, skip: "conv_img.bias")
        try assertRejected(path, mentions: ["missing", "conv_img.bias"])
    }

    func testWrongShapeIsNamed() throws {
        let path = temporaryPath("shape.safetensors")
        try writeEdited(try makeGenerator(seed: 6), to: path, replace: ("up_3.conv_1.weight_v", { w in
            try w.add("up_3.conv_1.weight_v", floats: [Float](repeating: 0.1, count: 5), shape: [5])
        }))
        try assertRejected(path, mentions: ["up_3.conv_1.weight_v", "[5]"])
    }

    func testWrongDtypeIsNamed() throws {
        let path = temporaryPath("dtype.safetensors")
        try writeEdited(try makeGenerator(seed: 7), to: path, replace: ("up_2.norm_1.param_free_norm.num_batches_tracked", { w in
            try w.add("up_2.norm_1.param_free_norm.num_batches_tracked", floats: [0], shape: [])
        }))
        try assertRejected(path, mentions: ["up_2.norm_1.param_free_norm.num_batches_tracked", "F32", "I64"])
        let path2 = temporaryPath("dtype2.safetensors")
        try writeEdited(try makeGenerator(seed: 7), to: path2, replace: ("fc.bias", { w in
            try w.add("fc.bias", int64s: [Int64](repeating: 0, count: 32), shape: [32])
        }))
        try assertRejected(path2, mentions: ["fc.bias", "I64"])
    }

    func testUnexpectedTensorIsNamed() throws {
        let path = temporaryPath("unexpected.safetensors")
        try writeEdited(try makeGenerator(seed: 8), to: path, replace: ("conv_img.bias", { w in
            try w.add("conv_img.bias", floats: [0, 0, 0], shape: [3])
            try w.add("up_4.conv_0.bias", floats: [0], shape: [1])
        }))
        try assertRejected(path, mentions: ["unexpected", "up_4.conv_0.bias"])
    }

    func testCheckpointWithoutConfigNeedsOne() throws {
        let path = temporaryPath("noconfig.safetensors")
        try writeEdited(try makeGenerator(seed: 9), to: path)
        XCTAssertThrowsError(try GeneratorCheckpoint.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("spade_config"), "\(error)")
        }
        XCTAssertNoThrow(try GeneratorCheckpoint.load(path: path, config: config))
    }
}
