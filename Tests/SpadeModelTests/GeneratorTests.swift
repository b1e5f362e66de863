import Foundation
import XCTest
@testable import SpadeModel

/// Configuration arithmetic, label encoding, initialisation and the full-size parameter counts.
final class GeneratorTests: XCTestCase {
    func testLatentSizesFollowTheReference() {
        XCTAssertTrue(SPADEConfig.ade20k.latentSize == (8, 8))
        XCTAssertTrue(SPADEConfig.ade20k.outputSize == (256, 256))
        XCTAssertEqual(SPADEConfig.ade20k.semanticNC, 151)
        XCTAssertEqual(SPADEConfig.cocoStuff.semanticNC, 184)
        XCTAssertEqual(SPADEConfig.cityscapes.semanticNC, 36)
        XCTAssertTrue(SPADEConfig.cityscapes.latentSize == (4, 8))
        XCTAssertTrue(SPADEConfig.cityscapes.outputSize == (256, 512))
        var c = SPADEConfig.ade20k
        c.cropSize = 300  // sw = 9: the output is 288 wide, not 300
        XCTAssertTrue(c.outputSize == (288, 288))
        // Banker's rounding of sw / aspect: 5 / 2 = 2.5 → 2, 3 / 2 = 1.5 → 2, 7 / 2 = 3.5 → 4.
        for (crop, sh) in [(160, 2), (96, 2), (224, 4)] {
            c.cropSize = crop
            c.aspectRatio = 2
            XCTAssertEqual(c.latentSize.height, sh, "crop \(crop)")
        }
        c = .ade20k
        c.numUpsamplingLayers = .most
        c.cropSize = 512
        XCTAssertTrue(c.latentSize == (4, 4))
        c.cropSize = 64
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("crop_size")) }
    }

    func testNormGParsing() throws {
        func spec(_ s: String) throws -> SPADEConfig.NormSpec {
            var c = SPADEConfig.ade20k
            c.normG = s
            return try c.normSpec()
        }
        XCTAssertEqual(try spec("spectralspadesyncbatch3x3"), .init(spectral: true, kind: .syncbatch, kernel: 3))
        XCTAssertEqual(try spec("spadebatch3x3"), .init(spectral: false, kind: .batch, kernel: 3))
        XCTAssertEqual(try spec("spectralspadeinstance5x5"), .init(spectral: true, kind: .instance, kernel: 5))
        for bad in ["spectralinstance", "spadegroup3x3", "spadebatch", "spadebatch4x4"] {
            XCTAssertThrowsError(try spec(bad), bad) { XCTAssertTrue("\($0)".contains(bad)) }
        }
    }

    func testConfigJSONUsesReferenceOptionNamesAndRoundTrips() throws {
        let json = SPADEConfig.cityscapes.jsonString()
        for key in ["\"label_nc\":35", "\"num_upsampling_layers\":\"more\"", "\"norm_G\":\"spectralspadesyncbatch3x3\"",
                    "\"contain_dontcare_label\":false", "\"aspect_ratio\":2"] {
            XCTAssertTrue(json.contains(key), "\(key) in \(json)")
        }
        XCTAssertEqual(try SPADEConfig.fromJSON(json), .cityscapes)
        // Options the reference defaults may be left out (as a hand-written file would).
        let minimal = try SPADEConfig.fromJSON(#"{"label_nc":150,"contain_dontcare_label":true,"no_instance":true}"#)
        XCTAssertEqual(minimal, .ade20k)
        XCTAssertThrowsError(try SPADEConfig.fromJSON(#"{"label_nc":150}"#))
        XCTAssertThrowsError(try SPADEConfig.fromJSON(#"{"label_nc":1,"contain_dontcare_label":true,"no_instance":true,"norm_G":"batch"}"#))
    }

    func testOneHotMapsDontCareAndNamesBadValues() throws {
        let c = SPADEConfig(labelNC: 4, containDontcareLabel: true, noInstance: true)
        let t = try LabelEncoding.oneHot([0, 3, 255, 4], height: 2, width: 2, config: c)
        XCTAssertEqual(t.shape, [1, 5, 2, 2])
        // channel-major: value v at pixel i sets data[v * 4 + i]
        XCTAssertEqual(t.data.indices.filter { t.data[$0] == 1 }, [0 * 4 + 0, 3 * 4 + 1, 4 * 4 + 2, 4 * 4 + 3])
        XCTAssertThrowsError(try LabelEncoding.oneHot([0, 1, 2, 0, 0, 7], height: 2, width: 3, config: c, source: "maps/a.png")) { error in
            let e = error as? LabelValueError
            XCTAssertEqual(e?.value, 7)
            XCTAssertEqual(e?.x, 2)
            XCTAssertEqual(e?.y, 1)
            XCTAssertTrue("\(error)".contains("maps/a.png") && "\(error)".contains("7") && "\(error)".contains("x 2, y 1"), "\(error)")
        }
        // Without a don't-care channel, 255 and label_nc are both out of range.
        let noDontcare = SPADEConfig(labelNC: 4, containDontcareLabel: false, noInstance: true)
        XCTAssertThrowsError(try LabelEncoding.oneHot([255], height: 1, width: 1, config: noDontcare))
    }

    func testInstanceEdgesMarkBothSidesOfEveryBoundary() throws {
        let c = SPADEConfig(labelNC: 3, containDontcareLabel: false, noInstance: false)
        // 3x3: a vertical boundary between columns 0 and 1.
        let labels: [UInt8] = [0, 1, 1, 0, 1, 1, 0, 1, 1]
        let t = try LabelEncoding.oneHot(labels, height: 3, width: 3, config: c)
        XCTAssertEqual(t.shape, [1, 4, 3, 3])
        XCTAssertEqual(Array(t.data[27..<36]), [1, 1, 0, 1, 1, 0, 1, 1, 0])
        let inst = try LabelEncoding.oneHot(labels, height: 3, width: 3, config: c, instances: [5, 5, 5, 5, 5, 5, 5, 5, 6])
        XCTAssertEqual(Array(inst.data[27..<36]), [0, 0, 0, 0, 0, 1, 0, 1, 1])
        // 255 is the don't-care class label_nc: no boundary between the two.
        let d = SPADEConfig(labelNC: 3, containDontcareLabel: true, noInstance: false)
        let dc = try LabelEncoding.oneHot([3, 255, 1], height: 1, width: 3, config: d)
        XCTAssertEqual(Array(dc.data[12..<15]), [0, 1, 1])
    }

    func testPictureBytesTruncateLikeTensor2im() {
        let t = Tensor(shape: [1, 3, 1, 2], data: [-1, 1, 0, 0.999, -2, 2])
        // (x+1)/2·255: 0 → 127.5 → 127; 0.999 → 254.87 → 254; clipped at both ends.
        XCTAssertEqual(GeneratorOutput.rgbBytes(t), [0, 127, 0, 255, 254, 255])
    }

    func testReferenceInitialisation() throws {
        var rng = RandomGenerator(seed: 3)
        let c = SPADEConfig(labelNC: 5, containDontcareLabel: true, noInstance: true, ngf: 8, cropSize: 32, spadeHidden: 16)
        let g = try SPADEGenerator(config: c, rng: &rng)
        let w = g.blocks[0].block.conv0.weight.value  // [128, 128, 3, 3]
        let std = (w.data.reduce(0) { $0 + Double($1 * $1) } / Double(w.count)).squareRoot()
        XCTAssertEqual(std, 0.02 * (2.0 / 2304).squareRoot(), accuracy: 0.02 * (2.0 / 2304).squareRoot() * 0.05)
        XCTAssertEqual(g.blocks[0].block.conv0.bias!.value.maxAbs(), 0)
        let u = g.blocks[0].block.conv0.u!.value
        XCTAssertEqual(u.data.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
    }

    /// The released configurations, built for real, have the reference's parameter counts and 234 tensors
    /// (ADE20K names and shapes as in the reference's state_dict appendix, checked on a sample).
    func testFullConfigurationParameterCounts() throws {
        let cases: [(String, SPADEConfig, Int, Int)] = [
            ("ADE20K", .ade20k, 96_492_483, 234),
            ("ADE20K + VAE", { var c = SPADEConfig.ade20k; c.useVAE = true; return c }(), 111_942_595, 234),
            ("COCO-Stuff", .cocoStuff, 97_480_899, 234),
            ("Cityscapes", .cityscapes, 93_048_003, 234),
            ("Cityscapes + VAE", { var c = SPADEConfig.cityscapes; c.useVAE = true; return c }(), 101_136_579, 234),
            ("ADE20K most 512", { var c = SPADEConfig.ade20k; c.numUpsamplingLayers = .most; c.cropSize = 512; return c }(), 97_412_579, 272),
        ]
        for (name, config, expected, tensors) in cases {
            var rng = RandomGenerator(seed: 0)
            // One network at a time (~0.8 GB with gradients), no random init (the shapes are what counts).
            let g = try SPADEGenerator(config: config, rng: &rng, initialize: false)
            let entries = g.stateEntries()
            print("generator parameters \(name): \(g.parameterCount) (reference \(expected)), \(entries.count) state tensors")
            XCTAssertEqual(g.parameterCount, expected, name)
            XCTAssertEqual(entries.count, tensors, name)
            if name == "ADE20K" {
                let shapes = Dictionary(uniqueKeysWithValues: entries.map { ($0.0, $0.1.tensor.shape) })
                XCTAssertEqual(entries.first?.0, "fc.weight")
                XCTAssertEqual(entries.last?.0, "conv_img.bias")
                XCTAssertEqual(shapes["fc.weight"], [1024, 151, 3, 3])
                XCTAssertEqual(shapes["head_0.conv_0.weight_v"], [9216])
                XCTAssertEqual(shapes["up_0.conv_s.weight_orig"], [512, 1024, 1, 1])
                XCTAssertEqual(shapes["up_3.norm_s.mlp_gamma.weight"], [128, 128, 3, 3])
                XCTAssertEqual(shapes["up_1.norm_1.param_free_norm.num_batches_tracked"], [])
                XCTAssertEqual(entries[10].0, "head_0.norm_0.param_free_norm.running_mean")
                XCTAssertEqual(entries[13].0, "head_0.norm_0.mlp_shared.0.weight")
                XCTAssertEqual(entries[88].0, "up_0.conv_s.weight_orig")
            }
        }
    }
}

extension GeneratorTests {
    func testSynthesizeStopsWhenCancelledAndOtherwiseEqualsEvalForward() throws {
        var rng = RandomGenerator(seed: 5)
        let c = SPADEConfig(labelNC: 3, containDontcareLabel: false, noInstance: true, ngf: 2, cropSize: 32, spadeHidden: 4)
        let g = try SPADEGenerator(config: c, rng: &rng)
        let labels = try LabelEncoding.oneHot([UInt8](repeating: 1, count: 32 * 32), height: 32, width: 32, config: c)
        var asked = 0
        XCTAssertNil(g.synthesize(labels: labels, shouldCancel: { asked += 1; return asked > 3 }))
        XCTAssertEqual(asked, 4, "asked between layers, stopped at the first true")
        let full = try XCTUnwrap(g.synthesize(labels: labels, shouldCancel: { false }))
        XCTAssertEqual(full, g.forward(labels: labels, training: false))
    }
}
