import Foundation
import XCTest
@testable import SpadeModel

/// Random styles from a style bank: blends of two of its codes, reproducible from a seed, and bank files that
/// are refused with the file and the problem named.
final class StyleBankTests: XCTestCase {
    func tempPath(_ name: String) -> String {
        NSTemporaryDirectory() + "spadepaint-stylebank-\(ProcessInfo.processInfo.processIdentifier)-\(name)"
    }

    func testRandomStylesBlendTwoCodes() {
        // Codes e0, e1, e2: a blend of two has non-negative entries summing to 1 with at most two non-zero.
        let bank = StyleBank(codes: Tensor(shape: [3, 3], data: [1, 0, 0, 0, 1, 0, 0, 0, 1]))
        var rng = RandomGenerator(seed: 5)
        let z = bank.sample(batch: 200, rng: &rng)
        XCTAssertEqual(z.shape, [200, 3])
        var pairs = Set<[Int]>()
        for row in 0..<200 {
            let v = Array(z.data[(row * 3)..<(row * 3 + 3)])
            XCTAssertTrue(v.allSatisfy { $0 >= 0 }, "row \(row): \(v)")
            XCTAssertEqual(v.reduce(0, +), 1, accuracy: 1e-6, "row \(row): \(v)")
            XCTAssertLessThanOrEqual(v.filter { $0 > 1e-6 }.count, 2, "row \(row): \(v)")
            pairs.insert(v.indices.filter { v[$0] > 0.05 })
        }
        XCTAssertTrue(pairs.contains([0, 1]) && pairs.contains([0, 2]) && pairs.contains([1, 2]), "every pair of codes is drawn: \(pairs)")

        var again = RandomGenerator(seed: 5), other = RandomGenerator(seed: 6)
        XCTAssertEqual(bank.sample(batch: 200, rng: &again).data, z.data, "the same seed gives the same styles")
        XCTAssertNotEqual(bank.sample(batch: 200, rng: &other).data, z.data)
    }

    func testABankOfOneCodeAlwaysGivesThatCode() {
        let bank = StyleBank(codes: Tensor(shape: [1, 4], data: [0.5, -1, 2, 0]))
        var rng = RandomGenerator(seed: 1)
        XCTAssertEqual(bank.sample(batch: 3, rng: &rng).data, [Float](repeating: 0, count: 3).flatMap { _ in [0.5, -1, 2, 0] })
    }

    func testFilesRoundTripAndBadOnesAreNamed() throws {
        let path = tempPath("bank.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bank = StyleBank(codes: Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
        var writer = SafeTensorsWriter()
        try bank.add(to: &writer)
        try writer.write(to: path)
        XCTAssertEqual(try StyleBank.load(path: path, zDim: 3), bank)

        func refused(_ write: (inout SafeTensorsWriter) throws -> Void, zDim: Int = 3, saying words: String) throws {
            var w = SafeTensorsWriter()
            try write(&w)
            try w.write(to: path)
            XCTAssertThrowsError(try StyleBank.load(path: path, zDim: zDim)) { error in
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains(words), "\(error)")
            }
        }
        try refused({ try bank.add(to: &$0) }, zDim: 4, saying: "[N, 4]")
        try refused({ try $0.add("codes", floats: [1, 2, 3], shape: [1, 3]) }, saying: "no tensor 'z'")
        try refused({ try $0.add("z", floats: [], shape: [0, 3]) }, saying: "shape [0, 3]")
        try refused({ try $0.add("z", floats: [1, .nan, 3], shape: [1, 3]) }, saying: "NaN")

        // A single photo's style file from `encode` ([1, z_dim], or a bare [z_dim]) is a bank of one.
        var single = SafeTensorsWriter()
        try single.add("z", floats: [7, 8, 9], shape: [3])
        try single.write(to: path)
        XCTAssertEqual(try StyleBank.load(path: path, zDim: 3).codes.shape, [1, 3])
    }

    func testTheBankOfAModelSitsBesideIt() {
        XCTAssertEqual(StyleBank.companionPath(ofCheckpoint: "Checkpoints/landscape.safetensors"),
                       "Checkpoints/landscape-styles.safetensors")
        XCTAssertEqual(StyleBank.companionPath(ofCheckpoint: "runs/a/model"), "runs/a/model-styles.safetensors")
    }
}
