import Foundation
import XCTest
@testable import SpadeModel

final class SafeTensorsTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "safetensors-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func path(_ name: String) -> String { "\(directory!)/\(name)" }

    private func roundTrip(_ writer: SafeTensorsWriter, file: String = "t.safetensors") throws -> SafeTensorsFile {
        try writer.write(to: path(file))
        return try SafeTensorsFile.open(path: path(file))
    }

    /// Bit-exact comparison, so NaN, -0.0 and the exact rounded values are checked.
    private func assertBits(_ actual: [Float], _ expected: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() where !(a.isNaN && e.isNaN) {
            XCTAssertEqual(a.bitPattern, e.bitPattern, "element \(i): \(a) != \(e)", file: file, line: line)
        }
        for (i, (a, e)) in zip(actual, expected).enumerated() where e.isNaN {
            XCTAssertTrue(a.isNaN, "element \(i) should be NaN, is \(a)", file: file, line: line)
        }
    }

    // MARK: - Round trips

    func testFloat32RoundTripIsBitExactIncludingSpecialValues() throws {
        let values: [Float] = [0, -0.0, 1, -1.5, .pi, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               .leastNonzeroMagnitude, .leastNormalMagnitude, .infinity, -.infinity, .nan]
        var writer = SafeTensorsWriter()
        try writer.add("w", floats: values, shape: [3, 4])
        let file = try roundTrip(writer)
        XCTAssertEqual(try file.dtype("w"), .float32)
        XCTAssertEqual(try file.shape("w"), [3, 4])
        assertBits(try file.floats("w"), values)
    }

    func testFloat16StorageRoundsToNearestEvenWithSubnormalsInfinityAndNaN() throws {
        let minSubnormal = Float(sign: .plus, exponent: -24, significand: 1)
        let cases: [(input: Float, stored: Float)] = [
            (1, 1), (-2.5, -2.5), (-0.0, -0.0),
            (65504, 65504),                              // largest finite half
            (65519.99, 65504),                           // just below the rounding boundary
            (65520, .infinity),                          // the boundary itself rounds to infinity
            (1e10, .infinity), (-1e10, -.infinity),
            (1 + 0x1p-11, 1),                            // tie: rounds to the even neighbour (down)
            (1 + 3 * 0x1p-11, 1 + 0x1p-9),               // tie: rounds to the even neighbour (up)
            (1 + 0x1p-11 + 0x1p-20, 1 + 0x1p-10),        // just above a tie rounds up
            (minSubnormal, minSubnormal),                // smallest subnormal half is exact
            (0.5 * minSubnormal, 0),                     // tie between 0 and the smallest subnormal: even is 0
            (1.5 * minSubnormal, 2 * minSubnormal),      // tie between 1 and 2 subnormal steps: even is 2
            (0x1p-14, 0x1p-14),                          // smallest normal half
            (1e-9, 0),
            (.infinity, .infinity), (-.infinity, -.infinity), (.nan, .nan),
        ]
        var writer = SafeTensorsWriter()
        try writer.add("h", floats: cases.map(\.input), shape: [cases.count], as: .float16)
        let file = try roundTrip(writer)
        XCTAssertEqual(try file.dtype("h"), .float16)
        assertBits(try file.floats("h"), cases.map(\.stored))
        // The bytes are IEEE half, little-endian: 1.0 is 0x3C00.
        XCTAssertEqual(Array(try file.bytes("h").prefix(2)), [0x00, 0x3C])
    }

    func testBFloat16StorageRoundsToNearestEvenAndKeepsNaN() throws {
        let cases: [(input: Float, stored: Float)] = [
            (1, 1), (-1.5, -1.5), (-0.0, -0.0),
            (1 + 0x1p-8, 1),                             // tie: down to even
            (1 + 3 * 0x1p-8, 1 + 0x1p-6),                // tie: up to even
            (1 + 0x1p-8 + 0x1p-20, 1 + 0x1p-7),          // above the tie: up
            (.greatestFiniteMagnitude, .infinity),       // rounds past the largest bfloat16
            (Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x0001_0000)), // subnormal, exact
            (.infinity, .infinity), (-.infinity, -.infinity),
            (.nan, .nan),
            (Float(bitPattern: 0x7F80_0001), .nan),      // NaN with only low payload bits must not become inf
        ]
        var writer = SafeTensorsWriter()
        try writer.add("b", floats: cases.map(\.input), shape: [cases.count], as: .bfloat16)
        let file = try roundTrip(writer)
        XCTAssertEqual(try file.dtype("b"), .bfloat16)
        assertBits(try file.floats("b"), cases.map(\.stored))
    }

    func testEveryFloat16BitPatternDecodesLikeSwiftFloat16() throws {
        // Files from elsewhere can hold any pattern; the decoder must agree with IEEE for all of them.
        let patterns = (0...UInt16.max).map { $0 }
        var raw: [UInt8] = []
        for p in patterns { raw += [UInt8(p & 0xFF), UInt8(p >> 8)] }
        let file = try writeRaw(header: #"{"x":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}"#, data: raw)
        let decoded = try SafeTensorsFile.open(path: file).floats("x")
        assertBits(decoded, patterns.map { Float(Float16(bitPattern: $0)) })
    }

    func testLargeHalfTensorsCrossTheChunkBoundaries() throws {
        // More than one 1 Mi-element chunk in both the writer and the reader. Values are exact in
        // their storage type and repeat with a prime period, so a chunk written or read at the wrong
        // place cannot go unnoticed.
        let count = (1 << 20) * 2 + 3
        let halves = (0..<count).map { Float(Float16(bitPattern: UInt16($0 % 30011))) }
        let bfloats = (0..<count).map { Float(bitPattern: (0x3000 + UInt32($0 % 16381)) << 16) }
        var writer = SafeTensorsWriter()
        try writer.add("f16", floats: halves, shape: [count], as: .float16)
        try writer.add("bf16", floats: bfloats, shape: [count], as: .bfloat16)
        try writer.add("f32", floats: bfloats, shape: [count])
        let file = try roundTrip(writer)
        // Compared as a whole: a failure message listing two million floats would help no one.
        XCTAssertTrue(try file.floats("f16") == halves)
        XCTAssertTrue(try file.floats("bf16") == bfloats)
        XCTAssertTrue(try file.floats("f32") == bfloats)
    }

    func testInt64ScalarEmptyTensorsAndMetadataRoundTrip() throws {
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "spadepaint": "0.1.0"])
        writer.metadata["note"] = "café \"quoted\" \\ \n line"
        try writer.add("bn.num_batches_tracked", int64s: [1234], shape: [])
        try writer.add("ints", int64s: [.min, -1, 0, .max], shape: [2, 2])
        try writer.add("empty", floats: [], shape: [0])
        try writer.add("empty3d", floats: [], shape: [2, 0, 3], as: .float16)
        try writer.add("noInts", int64s: [], shape: [0])
        let file = try roundTrip(writer)
        XCTAssertEqual(file.metadata, ["format": "pt", "spadepaint": "0.1.0", "note": "café \"quoted\" \\ \n line"])
        XCTAssertEqual(try file.shape("bn.num_batches_tracked"), [])
        XCTAssertEqual(try file.dtype("bn.num_batches_tracked"), .int64)
        XCTAssertEqual(try file.int64s("bn.num_batches_tracked"), [1234])
        XCTAssertEqual(try file.int64s("ints"), [.min, -1, 0, .max])
        XCTAssertEqual(try file.shape("empty"), [0])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(try file.shape("empty3d"), [2, 0, 3])
        XCTAssertEqual(try file.floats("empty3d"), [])
        XCTAssertEqual(try file.int64s("noInts"), [])
    }

    func testNamesKeepInsertionOrderAndSortedNamesAreSorted() throws {
        var writer = SafeTensorsWriter()
        for name in ["z.weight", "a.bias", "m", "a.Weight"] {
            try writer.add(name, floats: [1], shape: [1])
        }
        let file = try roundTrip(writer)
        XCTAssertEqual(file.names, ["z.weight", "a.bias", "m", "a.Weight"])
        XCTAssertEqual(file.sortedNames, ["a.Weight", "a.bias", "m", "z.weight"])
        XCTAssertTrue(file.contains("m"))
        XCTAssertFalse(file.contains("missing"))
    }

    func testNamesNeedingEscapesRoundTrip() throws {
        let name = "a\"b\\c\n\u{1}é/😀"
        var writer = SafeTensorsWriter()
        try writer.add(name, floats: [2], shape: [1])
        let bytes = writer.serialized()
        // Escaped the way serde_json (Python safetensors) writes it: no escape for '/' or non-ASCII.
        let expected = Array(#""a\"b\\c\n\u0001é/😀""#.utf8)
        XCTAssertNotNil(bytes.firstRange(of: expected), "header: \(String(decoding: bytes, as: UTF8.self))")
        let file = try roundTrip(writer)
        XCTAssertEqual(file.names, [name])
        XCTAssertEqual(try file.floats(name), [2])
    }

    func testSameInputGivesSameBytesAndWriteMatchesSerialized() throws {
        func make() throws -> SafeTensorsWriter {
            var writer = SafeTensorsWriter(metadata: ["b": "2", "a": "1", "c": "3"])
            try writer.add("x", floats: [1, 2, 3], shape: [3], as: .float16)
            try writer.add("y", floats: [4], shape: [1, 1])
            try writer.add("n", int64s: [5], shape: [])
            return writer
        }
        let first = try make().serialized()
        XCTAssertEqual(first, try make().serialized())
        try make().write(to: path("x.safetensors"))
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path("x.safetensors")))), first)
        // Data buffer starts 8-byte aligned.
        let headerLength = Int(first[0]) | Int(first[1]) << 8
        XCTAssertEqual((8 + headerLength) % 8, 0)
    }

    // MARK: - Byte-level compatibility

    func testWriterProducesExactlyTheHandcraftedBytes() throws {
        var writer = SafeTensorsWriter(metadata: ["k": "v"])
        try writer.add("w", floats: [1.0, -2.0], shape: [2])
        try writer.add("h", floats: [-1.5], shape: [1, 1], as: .bfloat16)
        try writer.add("n", int64s: [7], shape: [])
        let json = #"{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"BF16","shape":[1,1],"data_offsets":[8,10]},"n":{"dtype":"I64","shape":[],"data_offsets":[10,18]}}  "#
        XCTAssertEqual(json.utf8.count, 192)
        let expected: [UInt8] = [0xC0, 0, 0, 0, 0, 0, 0, 0] + Array(json.utf8) + [
            0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, // w: 1.0, -2.0 as little-endian F32
            0xC0, 0xBF,                                     // h: -1.5 as BF16 0xBFC0
            0x07, 0, 0, 0, 0, 0, 0, 0,                      // n: 7 as I64
        ]
        XCTAssertEqual(writer.serialized(), expected)
    }

    /// The fixture was written by Python `safetensors` 0.8.0 (`safetensors.numpy.save_file`):
    ///
    ///     t = {"conv.weight": np.array([[0.5, -1.25], [3.0, 1e-3]], np.float32),
    ///          "conv.bias": np.array([-0.0, 65504.0], np.float32),
    ///          "bn.num_batches_tracked": np.array(1234567890123, np.int64),
    ///          "half": np.array([1.0, -2.5, 6.1035156e-05, 5.9604645e-08, np.inf], np.float16),
    ///          "empty": np.zeros((0, 3), np.float32)}
    ///     save_file(t, "python-safetensors-0.8.0.safetensors", metadata={"format": "pt"})
    private func pythonFixturePath() throws -> String {
        try XCTUnwrap(Bundle.module.path(forResource: "python-safetensors-0.8.0", ofType: "safetensors", inDirectory: "Fixtures"))
    }

    func testReadsFileWrittenByPythonSafetensors() throws {
        let file = try SafeTensorsFile.open(path: try pythonFixturePath())
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.names, ["bn.num_batches_tracked", "conv.bias", "conv.weight", "empty", "half"])
        XCTAssertEqual(try file.int64s("bn.num_batches_tracked"), [1_234_567_890_123])
        XCTAssertEqual(try file.shape("bn.num_batches_tracked"), [])
        assertBits(try file.floats("conv.bias"), [-0.0, 65504])
        XCTAssertEqual(try file.shape("conv.weight"), [2, 2])
        XCTAssertEqual(try file.floats("conv.weight"), [0.5, -1.25, 3.0, 1e-3])
        XCTAssertEqual(try file.shape("empty"), [0, 3])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(try file.dtype("half"), .float16)
        XCTAssertEqual(try file.floats("half"), [1.0, -2.5, 0x1p-14, 0x1p-24, .infinity])
    }

    func testWriterReproducesPythonSafetensorsBytesExactly() throws {
        // Python orders tensors by alignment, then name; added in that order, our bytes are theirs.
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        try writer.add("bn.num_batches_tracked", int64s: [1_234_567_890_123], shape: [])
        try writer.add("conv.bias", floats: [-0.0, 65504], shape: [2])
        try writer.add("conv.weight", floats: [0.5, -1.25, 3.0, 1e-3], shape: [2, 2])
        try writer.add("empty", floats: [], shape: [0, 3])
        try writer.add("half", floats: [1.0, -2.5, 6.1035156e-05, 5.9604645e-08, .infinity], shape: [5], as: .float16)
        let python = try Data(contentsOf: URL(fileURLWithPath: try pythonFixturePath()))
        XCTAssertEqual(writer.serialized(), Array(python))
    }

    // MARK: - Writer misuse

    func testWriterRejectsBadTensors() throws {
        var writer = SafeTensorsWriter()
        try writer.add("a", floats: [1, 2], shape: [2])
        assertError(try writer.add("a", floats: [1], shape: [1]), contains: "duplicate tensor name 'a'")
        assertError(try writer.add("b", floats: [1, 2, 3], shape: [2, 2]), contains: "holds 4 elements but 3 values")
        assertError(try writer.add("c", floats: [], shape: [-1]), contains: "negative dimension")
        assertError(try writer.add("d", int64s: [1], shape: [Int.max, 4]), contains: "overflow")
        assertError(try writer.add("e", floats: [1], shape: [1], as: .int64), contains: "F32, F16 or BF16")
        assertError(try writer.add("__metadata__", floats: [1], shape: [1]), contains: "reserved")
        XCTAssertEqual(writer.names, ["a"])
    }

    // MARK: - Hostile files

    /// Writes a file from a header (padded like a real file) and data; `headerLength` overrides the
    /// length field to lie about the header.
    private func writeRaw(header: String, data: [UInt8] = [], headerLength: UInt64? = nil, name: String = "bad.safetensors") throws -> String {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return try writeRaw(bytes: withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian, Array.init) + json + data, name: name)
    }

    private func writeRaw(bytes: [UInt8], name: String = "bad.safetensors") throws -> String {
        let file = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    private func assertError<T>(_ expression: @autoclosure () throws -> T, contains expected: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            XCTAssertTrue(error is SafeTensorsError, "unexpected error type: \(error)", file: file, line: line)
            XCTAssertTrue(message.contains(expected), "message '\(message)' lacks '\(expected)'", file: file, line: line)
        }
    }

    /// Opening must fail with a message that names the file and the problem.
    private func assertOpenFails(_ file: String, _ expected: String, line: UInt = #line) {
        assertError(try SafeTensorsFile.open(path: file), contains: "\(file): ", line: line)
        assertError(try SafeTensorsFile.open(path: file), contains: expected, line: line)
    }

    func testRejectsFilesTooShortForTheLengthField() throws {
        assertOpenFails(try writeRaw(bytes: []), "file is 0 bytes, too short")
        assertOpenFails(try writeRaw(bytes: [1, 0, 0]), "file is 3 bytes, too short")
        assertError(try SafeTensorsFile.open(path: path("does-not-exist")), contains: "does-not-exist: cannot open: No such file")
        assertError(try SafeTensorsFile.open(path: directory), contains: "not a regular file")
    }

    func testRejectsHugeOrLyingHeaderLengthWithoutAllocating() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        assertOpenFails(try writeRaw(header: header, data: [0, 0, 0, 0], headerLength: .max),
                        "header length 18446744073709551615 exceeds the limit of 100000000 bytes")
        assertOpenFails(try writeRaw(header: header, data: [0, 0, 0, 0], headerLength: 200_000_000),
                        "exceeds the limit")
        assertOpenFails(try writeRaw(header: header, data: [0, 0, 0, 0], headerLength: 1000),
                        "header length 1000 runs past the end of the file (68 bytes)")
    }

    func testRejectsTruncatedFile() throws {
        var writer = SafeTensorsWriter()
        try writer.add("fc.weight", floats: [1, 2, 3, 4], shape: [4])
        let full = writer.serialized()
        assertOpenFails(try writeRaw(bytes: Array(full.dropLast(3))), "tensor 'fc.weight' data_offsets [0, 16] past end of data (13 bytes)")
        assertOpenFails(try writeRaw(bytes: Array(full.prefix(20))), "runs past the end of the file (20 bytes)")
    }

    func testRejectsInvalidJSONAndNonUTF8() throws {
        assertOpenFails(try writeRaw(header: #"{"a":"#), "header is not valid JSON: unexpected end of JSON")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32",}}"#), "header is not valid JSON")
        assertOpenFails(try writeRaw(header: #"{"a" 1}"#), "expected ':'")
        assertOpenFails(try writeRaw(header: #"[1,2]"#), "header is an array, expected a JSON object")
        assertOpenFails(try writeRaw(header: ""), "header is not valid JSON: unexpected end of JSON")
        assertOpenFails(try writeRaw(header: #"{}{}"#), "unexpected data after the end")
        assertOpenFails(try writeRaw(header: #"{"\ud800":1}"#), "unpaired surrogate")
        let badUTF8: [UInt8] = Array(#"{"a"#.utf8) + [0xC3, 0x28] + Array(#"":{}}"#.utf8)
        var padded = badUTF8
        while padded.count % 8 != 0 { padded.append(0x20) }
        assertOpenFails(try writeRaw(bytes: withUnsafeBytes(of: UInt64(padded.count).littleEndian, Array.init) + padded),
                        "string is not valid UTF-8")
        // Hostile nesting must not exhaust the stack.
        assertOpenFails(try writeRaw(header: String(repeating: "[", count: 100_000)), "nested more than 64 levels")
    }

    func testRejectsOffsetsPastTheEndReversedOrOverlapping() throws {
        assertOpenFails(try writeRaw(header: #"{"fc.weight":{"dtype":"F32","shape":[24999999],"data_offsets":[0,99999996]}}"#, data: [UInt8](repeating: 0, count: 16)),
                        "tensor 'fc.weight' data_offsets [0, 99999996] past end of data (16 bytes)")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [UInt8](repeating: 0, count: 8)),
                        "tensor 'a' data_offsets [8, 4] are reversed")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: [UInt8](repeating: 0, count: 12)),
                        "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                        "data bytes 0..<4 belong to no tensor")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 12)),
                        "data bytes 4..<12 after the last tensor belong to no tensor")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: [UInt8](repeating: 0, count: 4)),
                        "must hold exactly two numbers")
    }

    func testRejectsNegativeAndOverflowingNumbers() throws {
        let data = [UInt8](repeating: 0, count: 8)
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: data),
                        "tensor 'a' data_offsets contains negative value -8")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: data),
                        "tensor 'a' shape contains negative value -2")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999999]}}"#, data: data),
                        "data_offsets value 99999999999999999999999 is not a non-negative integer in range")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: data),
                        "shape value 2.5 is not a non-negative integer")
        // The element count overflows Int; then a count that fits but whose byte size does not.
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, data: data),
                        "has too many elements (overflow)")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,8]}}"#, data: data),
                        "too large for F32 (byte count overflows)")
        // A product that wraps to exactly the right byte count without overflow checks.
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"I64","shape":[2305843009213693953],"data_offsets":[0,8]}}"#, data: data),
                        "byte count overflows")
    }

    func testRejectsShapeThatDoesNotMatchItsBytes() throws {
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                        "tensor 'a' shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"I64","shape":[],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 4)),
                        "tensor 'a' shape [] of I64 needs 8 bytes")
    }

    func testRejectsUnknownDtypeDuplicatesAndMalformedEntries() throws {
        let data = [UInt8](repeating: 0, count: 4)
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#, data: data),
                        "tensor 'a' has unknown dtype 'F99'")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data),
                        "duplicate tensor name 'a'")
        assertOpenFails(try writeRaw(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: data), "tensor 'a' has no dtype")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: data), "tensor 'a' has no shape")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: data), "tensor 'a' has no data_offsets")
        assertOpenFails(try writeRaw(header: #"{"a":[1]}"#, data: data), "tensor 'a' is an array, expected an object")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: data), "dtype is a number, expected a string")
        assertOpenFails(try writeRaw(header: #"{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: data), "shape is a string, expected an array")
        assertOpenFails(try writeRaw(header: #"{"__metadata__":{"epoch":3}}"#), "__metadata__ entry 'epoch' is a number, expected a string")
        assertOpenFails(try writeRaw(header: #"{"__metadata__":"x"}"#), "__metadata__ is a string, expected an object")
    }

    func testAcceptsUnpaddedHeaderAndNoTensors() throws {
        // Other writers may skip the padding; nothing in the format requires it.
        let json = Array(#"{"__metadata__":{"a":"b"}}"#.utf8)
        let file = try writeRaw(bytes: withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json)
        let opened = try SafeTensorsFile.open(path: file)
        XCTAssertEqual(opened.names, [])
        XCTAssertEqual(opened.metadata, ["a": "b"])
    }

    func testAccessorsRejectMissingNamesAndWrongDtypes() throws {
        var writer = SafeTensorsWriter()
        try writer.add("f", floats: [1], shape: [1])
        try writer.add("i", int64s: [1], shape: [1])
        let file = try roundTrip(writer, file: "model.safetensors")
        assertError(try file.floats("nope"), contains: "model.safetensors: no tensor named 'nope'")
        assertError(try file.floats("i"), contains: "tensor 'i' has dtype I64; floats() reads")
        assertError(try file.int64s("f"), contains: "tensor 'f' has dtype F32; int64s() reads")
        XCTAssertEqual(try file.bytes("i"), [1, 0, 0, 0, 0, 0, 0, 0])
    }

    func testReadsOtherDtypesPythonWrites() throws {
        // F64 and I32 appear in checkpoints saved without care; they convert on read.
        var data: [UInt8] = withUnsafeBytes(of: (-0.25).bitPattern.littleEndian, Array.init)
        data += withUnsafeBytes(of: Int32(-7).littleEndian, Array.init)
        data += [1, 2]
        let file = try SafeTensorsFile.open(path: try writeRaw(
            header: #"{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"i":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"u":{"dtype":"U8","shape":[2],"data_offsets":[12,14]}}"#,
            data: data))
        XCTAssertEqual(try file.floats("d"), [-0.25])
        XCTAssertEqual(try file.int64s("i"), [-7])
        XCTAssertEqual(try file.dtype("u"), .uint8)
        XCTAssertEqual(try file.bytes("u"), [1, 2])
    }

    func testOpenFileKeepsReadingTheVersionItOpenedAfterAtomicReplace() throws {
        var old = SafeTensorsWriter()
        try old.add("w", floats: [1, 2], shape: [2])
        try old.write(to: path("m.safetensors"))
        let opened = try SafeTensorsFile.open(path: path("m.safetensors"))
        var new = SafeTensorsWriter()
        try new.add("w", floats: [3, 4, 5], shape: [3])
        try new.write(to: path("m.safetensors"))
        XCTAssertEqual(try opened.floats("w"), [1, 2])
        XCTAssertEqual(try SafeTensorsFile.open(path: path("m.safetensors")).floats("w"), [3, 4, 5])
    }
}
