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
}
