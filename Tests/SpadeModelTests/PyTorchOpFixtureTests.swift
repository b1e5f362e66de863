import Foundation
import XCTest
@testable import SpadeModel

/// Our ops against PyTorch's outputs, stored by `Tests/fixtures/make_op_fixtures.py` in
/// `Fixtures/ops/*.safetensors` (regenerate with `make fixtures`; these tests never need PyTorch).
/// Criterion: |ours − PyTorch| ≤ 1e-5 · max(1, |PyTorch|) for every value; failures name the worst.
final class PyTorchOpFixtureTests: XCTestCase {
    static let tolerance = 1e-5

    func testConv2dMatchesPyTorch() throws {
        let fixture = try OpFixture("conv2d")
        for name in fixture.cases {
            let bias = fixture.contains("\(name).bias") ? try fixture.tensor("\(name).bias") : nil
            let y = Conv2d.forward(try fixture.tensor("\(name).x"), weight: try fixture.tensor("\(name).weight"), bias: bias,
                                   stride: try fixture.int(name, "stride"), padding: try fixture.int(name, "padding"))
            try fixture.assertMatches(y, "\(name).y")
        }
        XCTAssertEqual(fixture.cases.count, 8)
    }

    func testBatchNormMatchesPyTorch() throws {
        let fixture = try OpFixture("batch_norm")
        for name in fixture.cases {
            let x = try fixture.tensor("\(name).x")
            let affine = try fixture.int(name, "affine") == 1
            let weight = affine ? try fixture.tensor("\(name).weight") : nil
            let bias = affine ? try fixture.tensor("\(name).bias") : nil
            var runningMean = try fixture.tensor("\(name).running_mean")
            var runningVar = try fixture.tensor("\(name).running_var")
            let y: Tensor
            if try fixture.int(name, "training") == 1 {
                y = BatchNorm.trainForward(x, weight: weight, bias: bias, runningMean: &runningMean, runningVar: &runningVar).0
            } else {
                y = BatchNorm.evalForward(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias)
            }
            try fixture.assertMatches(y, "\(name).y")
            try fixture.assertMatches(runningMean, "\(name).running_mean_after")
            try fixture.assertMatches(runningVar, "\(name).running_var_after")
        }
        XCTAssertEqual(Set(fixture.cases), ["train_affine", "eval_affine", "train_plain", "eval_plain"])
    }

    func testInstanceNormMatchesPyTorch() throws {
        let fixture = try OpFixture("instance_norm")
        for name in fixture.cases {
            try fixture.assertMatches(InstanceNorm.forward(try fixture.tensor("\(name).x")).0, "\(name).y")
        }
        XCTAssertEqual(fixture.cases.count, 3)
    }

    func testNearestResizeMatchesPyTorch() throws {
        let fixture = try OpFixture("nearest")
        for name in fixture.cases {
            let x = try fixture.tensor("\(name).x")
            let y = name == "upsample2x"
                ? Resample.upsample2x(x)
                : Resample.nearest(x, height: try fixture.int(name, "height"), width: try fixture.int(name, "width"))
            try fixture.assertMatches(y, "\(name).y", tolerance: 0)
        }
        XCTAssertTrue(fixture.cases.contains("26x39_to_22x33"), "the case where float32 and exact index rules differ")
    }

    func testBilinearResizeMatchesPyTorch() throws {
        let fixture = try OpFixture("bilinear")
        for name in fixture.cases {
            let y = Resample.bilinear(try fixture.tensor("\(name).x"), height: try fixture.int(name, "height"),
                                      width: try fixture.int(name, "width"))
            try fixture.assertMatches(y, "\(name).y")
        }
        XCTAssertEqual(fixture.cases.count, 6)
    }

    func testAvgPoolMatchesPyTorch() throws {
        let fixture = try OpFixture("avg_pool")
        for name in fixture.cases {
            try fixture.assertMatches(Resample.avgPool3x3s2(try fixture.tensor("\(name).x")), "\(name).y")
        }
        XCTAssertEqual(fixture.cases.count, 5)
    }

    func testMaxPoolMatchesPyTorch() throws {
        let fixture = try OpFixture("max_pool")
        for name in fixture.cases {
            try fixture.assertMatches(MaxPool.forward2x2(try fixture.tensor("\(name).x")).0, "\(name).y", tolerance: 0)
        }
        XCTAssertEqual(fixture.cases.count, 2)
    }

    /// `torch.nn.utils.spectral_norm` on a Conv2d, through our Conv2dLayer: state_dict names and order,
    /// two training forwards (each one power iteration on u, v), then an eval forward with stored u, v.
    func testSpectralNormConvMatchesPyTorch() throws {
        let fixture = try OpFixture("spectral_norm")
        var rng = RandomGenerator(seed: 1)
        for name in fixture.cases {
            let weightOrig = try fixture.tensor("\(name).initial.weight_orig")
            let s = weightOrig.shape
            let hasBias = try fixture.int(name, "bias") == 1
            let layer = Conv2dLayer(s[1], s[0], kernel: s[2], stride: try fixture.int(name, "stride"),
                                    padding: try fixture.int(name, "padding"), bias: hasBias, spectral: true, rng: &rng)
            let entries = layer.stateEntries()
            XCTAssertEqual(entries.map { $0.0 }.joined(separator: "|"), try fixture.setting(name, "state_dict"),
                           "\(name): state_dict keys and order as PyTorch")
            for (key, entry) in entries {
                let t = try fixture.tensor("\(name).initial.\(key)")
                XCTAssertEqual(entry.tensor.shape, t.shape, "\(name).\(key) shape")
                entry.assign(t)
            }
            let x = try fixture.tensor("\(name).x")
            for step in 1...2 {
                let y = layer.forward(x, training: true)
                try fixture.assertMatches(layer.u!.value, "\(name).train\(step).weight_u")
                try fixture.assertMatches(layer.v!.value, "\(name).train\(step).weight_v")
                try fixture.assertMatches(layer.effectiveWeight(training: false).0, "\(name).train\(step).weight")
                try fixture.assertMatches(y, "\(name).train\(step).y")
            }
            let u = layer.u!.value, v = layer.v!.value
            try fixture.assertMatches(layer.forward(x, training: false), "\(name).eval.y")
            try fixture.assertMatches(layer.effectiveWeight(training: false).0, "\(name).eval.weight")
            XCTAssertEqual(layer.u!.value, u, "\(name): eval forward must not iterate")
            XCTAssertEqual(layer.v!.value, v, "\(name): eval forward must not iterate")
        }
        XCTAssertEqual(fixture.cases.count, 2)
    }
}

/// One fixture file: its cases (metadata `cases`), each case's settings ("key=value,…") and tensors.
struct OpFixture {
    let file: SafeTensorsFile
    let cases: [String]

    init(_ name: String) throws {
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures/ops") else {
            throw FixtureError("Fixtures/ops/\(name).safetensors is missing from the test bundle (run `make fixtures`)")
        }
        file = try SafeTensorsFile(path: url.path)
        guard let list = file.metadata["cases"] else { throw FixtureError("\(url.path): no 'cases' in the metadata") }
        cases = list.split(separator: ",").map(String.init)
    }

    func contains(_ name: String) -> Bool { file.contains(name) }

    func tensor(_ name: String) throws -> Tensor {
        Tensor(shape: try file.shape(name), data: try file.floats(name))
    }

    func setting(_ caseName: String, _ key: String) throws -> String {
        let pairs = (file.metadata[caseName] ?? "").split(separator: ",").map { $0.split(separator: "=", maxSplits: 1) }
        guard let pair = pairs.first(where: { $0.count == 2 && $0[0] == key }) else {
            throw FixtureError("\(file.path): case \(caseName) has no setting '\(key)'")
        }
        return String(pair[1])
    }

    func int(_ caseName: String, _ key: String) throws -> Int {
        guard let value = Int(try setting(caseName, key)) else {
            throw FixtureError("\(file.path): case \(caseName) setting '\(key)' is not an integer")
        }
        return value
    }

    /// Shape equality and |ours − theirs| ≤ tolerance · max(1, |theirs|) throughout.
    func assertMatches(_ ours: Tensor, _ name: String, tolerance: Double = PyTorchOpFixtureTests.tolerance,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let theirs = try tensor(name)
        XCTAssertEqual(ours.shape, theirs.shape, "\(name): shape", file: file, line: line)
        guard ours.shape == theirs.shape else { return }
        assertClose(ours, theirs.doubles, "PyTorch \(name)", tolerance: tolerance, file: file, line: line)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
