import XCTest
@testable import SpadeModel

final class StyleCodeTests: XCTestCase {
    func testStyleCodeIsTheEncoderMeanOfThePhotoInMinusOneToOne() {
        var rng = RandomGenerator(seed: 3)
        let encoder = ConvEncoder(ndf: 4, zDim: 8, rng: &rng)
        Initialization.xavierNormal(encoder, gain: 1, rng: &rng)
        let w = 20, h = 12
        let photo = (0..<(w * h * 3)).map { UInt8(($0 * 37) % 256) }
        let z = encoder.styleCode(rgb: photo, width: w, height: h)
        XCTAssertEqual(z.shape, [1, 8])
        var image = Tensor(shape: [1, 3, h, w])
        for y in 0..<h { for x in 0..<w { for c in 0..<3 {
            image.data[(c * h + y) * w + x] = Float(photo[3 * (y * w + x) + c]) * 2 / 255 - 1
        }}}
        let mu = encoder.forward(image, training: false).mu
        for i in 0..<8 { XCTAssertEqual(z.data[i], mu.data[i], accuracy: 1e-5) }
        XCTAssertEqual(encoder.styleCode(rgb: photo, width: w, height: h), z, "deterministic: μ, not a sample")
        let other = encoder.styleCode(rgb: photo.map { 255 - $0 }, width: w, height: h)
        XCTAssertGreaterThan(zip(other.data, z.data).map { abs($0 - $1) }.max()!, 1e-4)
    }

    /// A model whose encoder has no norm (`norm_E spectralnone`) saves under the reference's names for that
    /// option and loads back with the same encoder; the stored names, not only the config, tell the norm.
    func testEncoderWithoutNormRoundTripsThroughAPaintingModel() throws {
        var rng = RandomGenerator(seed: 8)
        let config = SPADEConfig(labelNC: 3, containDontcareLabel: false, noInstance: true, ngf: 4, zDim: 8, cropSize: 64,
                                 useVAE: true, normE: "spectralnone")
        let generator = try SPADEGenerator(config: config, rng: &rng)
        let encoder = ConvEncoder(ndf: 4, zDim: 8, norm: try config.encoderNorm(), rng: &rng)
        for layer in encoder.layers { layer.bias!.value = rng.normalTensor(layer.bias!.value.shape) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nonorm-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PaintingModel.save(generator: generator, encoder: encoder, palette: nil, to: path)
        let names = try SafeTensorsFile(path: path).names
        XCTAssertTrue(names.contains("netE.layer1.weight_orig"))
        XCTAssertTrue(names.contains("netE.layer6.bias"))
        XCTAssertFalse(names.contains { $0.hasPrefix("netE.layer1.0.") })
        let loaded = try XCTUnwrap(PaintingModel.load(path: path).encoder)
        XCTAssertEqual(loaded.norm, .none)
        let photo = (0..<(32 * 24 * 3)).map { UInt8(($0 * 53) % 256) }
        XCTAssertEqual(loaded.styleCode(rgb: photo, width: 32, height: 24), encoder.styleCode(rgb: photo, width: 32, height: 24))
        XCTAssertThrowsError(try SPADEConfig(labelNC: 3, containDontcareLabel: false, noInstance: true, normE: "spectralbatch").validate())
    }
}
