import XCTest
@testable import SpadeModel

/// The style encoder's shuffled training input: every tile lands whole somewhere, in every channel alike.
final class TileShuffleTests: XCTestCase {
    func testTilesMoveWholeAndTheLayoutChanges() {
        var rng = RandomGenerator(seed: 3)
        // Two 2-channel 8×8 pictures; every pixel value says where it came from.
        let x = Tensor(shape: [2, 2, 8, 8], data: (0..<(2 * 2 * 64)).map(Float.init))
        let y = TileShuffle.apply(x, grid: 4, rng: &rng)
        XCTAssertEqual(y.shape, x.shape)
        var changed = 0
        for s in 0..<2 {
            XCTAssertEqual(Set(y.data[(s * 128)..<(s * 128 + 128)]), Set(x.data[(s * 128)..<(s * 128 + 128)]),
                           "each picture keeps its own pixels")
            for ty in 0..<4 { for tx in 0..<4 {
                // The destination tile's top-left pixel names the source tile; the other three follow it.
                let at = { (ch: Int, r: Int, c: Int) in Int(y.data[s * 128 + ch * 64 + (2 * ty + r) * 8 + 2 * tx + c]) }
                let origin = at(0, 0, 0) - s * 128
                let (sy, sx) = (origin / 8, origin % 8)
                XCTAssertTrue(sy % 2 == 0 && sx % 2 == 0, "tiles start on the grid")
                for r in 0..<2 { for c in 0..<2 {
                    XCTAssertEqual(at(0, r, c), s * 128 + (sy + r) * 8 + sx + c)
                    XCTAssertEqual(at(1, r, c), s * 128 + 64 + (sy + r) * 8 + sx + c, "channels move together")
                }}
                if (sy, sx) != (2 * ty, 2 * tx) { changed += 1 }
            }}
        }
        XCTAssertGreaterThan(changed, 16, "most tiles moved")
        var again = RandomGenerator(seed: 3)
        XCTAssertEqual(TileShuffle.apply(x, grid: 4, rng: &again), y, "deterministic for a seed")
        XCTAssertEqual(TileShuffle.apply(x, grid: 1, rng: &again), x, "one tile: the picture itself")
    }
}
