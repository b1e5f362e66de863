import SpadeImaging
import XCTest
@testable import SpadeWorld

/// The picture must show each class where its label is: colours of classes relate the way they do in
/// real scenes, and global styles shift the colour statistics the way their names promise.
final class ConsistencyTests: XCTestCase {
    let clearNoon = StyleOverride(timeOfDay: .noon, season: .summer, weather: .clear)
    let indices = Array(0..<24)

    /// Renders of the test set in one style, made once per style for all tests.
    static var cache: [String: [(RGBImage, LabelMap)]] = [:]

    func renders(_ style: StyleOverride) -> [(RGBImage, LabelMap)] {
        let key = "\(style)"
        if let hit = Self.cache[key] { return hit }
        let made = indices.map { i -> (RGBImage, LabelMap) in
            let (p, l, _) = LandscapeSynth.render(index: i, seed: 21, width: 64, height: 64, style: style)
            return (p, l)
        }
        Self.cache[key] = made
        return made
    }

    func pooledMean(_ style: StyleOverride, _ keep: @escaping (LandscapeClass) -> Bool) -> (r: Double, g: Double, b: Double, n: Int) {
        var r = 0.0, g = 0.0, b = 0.0, n = 0
        for (p, l) in renders(style) {
            let m = meanColour(p, l, where: keep)
            r += m.r * Double(m.n); g += m.g * Double(m.n); b += m.b * Double(m.n); n += m.n
        }
        let d = Double(max(n, 1))
        return (r / d, g / d, b / d, n)
    }

    func testSkyIsBrighterAndBluerThanGroundUnderClearNoon() {
        let sky = pooledMean(clearNoon) { $0 == .sky }
        let ground = pooledMean(clearNoon) { [.grass, .tree, .bush, .dirt, .flower, .hill].contains($0) }
        XCTAssertGreaterThan(sky.n, 1000); XCTAssertGreaterThan(ground.n, 1000)
        XCTAssertGreaterThan(sky.b, sky.r, "clear noon sky should be blue")
        XCTAssertGreaterThan(sky.r + sky.g + sky.b, ground.r + ground.g + ground.b + 60, "sky should be brighter than vegetation")
        XCTAssertGreaterThan(sky.b - sky.r, ground.b - ground.r + 30, "sky should be bluer than vegetation")
    }

    func testVegetationIsGreenAndSnowIsWhiteUnderSummerNoon() {
        let grass = pooledMean(clearNoon) { $0 == .grass }
        XCTAssertGreaterThan(grass.g, grass.b + 15, "summer grass should be green, not blue")
        XCTAssertGreaterThan(grass.g, grass.r, "summer grass should be greener than red")
        let trees = pooledMean(clearNoon) { $0 == .tree }
        XCTAssertLessThan(trees.r + trees.g + trees.b, grass.r + grass.g + grass.b, "tree canopy should be darker than grass")
        let snow = pooledMean(clearNoon) { $0 == .snow }
        if snow.n > 50 {
            XCTAssertGreaterThan(snow.r + snow.g + snow.b, grass.r + grass.g + grass.b + 150, "snow should be far brighter than grass")
        }
        let sand = pooledMean(clearNoon) { $0 == .sand }
        let dirt = pooledMean(clearNoon) { $0 == .dirt }
        if sand.n > 50, dirt.n > 50 {
            XCTAssertGreaterThan(sand.r + sand.g + sand.b, dirt.r + dirt.g + dirt.b, "sand should be lighter than dirt")
        }
    }

    func testWaterMirrorsTheSkyButIsDarkerThanIt() {
        let water = pooledMean(clearNoon) { $0.isWater }
        let sky = pooledMean(clearNoon) { $0 == .sky }
        XCTAssertGreaterThan(water.n, 200)
        XCTAssertLessThan(water.r + water.g + water.b, sky.r + sky.g + sky.b, "water should be darker than the sky it mirrors")
        XCTAssertGreaterThan(water.b, water.r, "water under a blue sky should be bluish")
    }

    func luminanceStats(_ style: StyleOverride) -> (mean: Double, std: Double, redOverBlue: Double, greenExcess: Double) {
        var sum = 0.0, sum2 = 0.0, r = 0.0, b = 0.0, n = 0.0
        var gx = 0.0, gn = 0.0
        for (p, l) in renders(style) {
            for k in 0..<(64 * 64) {
                let R = Double(p.pixels[3 * k]), G = Double(p.pixels[3 * k + 1]), B = Double(p.pixels[3 * k + 2])
                let y = 0.2126 * R + 0.7152 * G + 0.0722 * B
                sum += y; sum2 += y * y; r += R; b += B; n += 1
                if l.labels[k] == LandscapeClass.grass.rawValue || l.labels[k] == LandscapeClass.tree.rawValue {
                    gx += G - (R + B) / 2; gn += 1
                }
            }
        }
        let mean = sum / n
        return (mean, (sum2 / n - mean * mean).squareRoot(), r / max(b, 1), gx / max(gn, 1))
    }

    func testTimeOfDaySeasonAndWeatherShiftGlobalColourStatistics() {
        let noon = luminanceStats(clearNoon)
        let sunset = luminanceStats(StyleOverride(timeOfDay: .sunset, season: .summer, weather: .clear))
        let dusk = luminanceStats(StyleOverride(timeOfDay: .dusk, season: .summer, weather: .clear))
        let winter = luminanceStats(StyleOverride(timeOfDay: .noon, season: .winter, weather: .clear))
        let fog = luminanceStats(StyleOverride(timeOfDay: .noon, season: .summer, weather: .fog))
        XCTAssertGreaterThan(sunset.redOverBlue, noon.redOverBlue + 0.15, "sunsets should be redder than noon")
        XCTAssertLessThan(dusk.mean, noon.mean - 30, "dusk should be darker than noon")
        XCTAssertLessThan(winter.greenExcess, noon.greenExcess - 8, "winter vegetation should be less green than summer's")
        XCTAssertLessThan(fog.std, noon.std - 5, "fog should flatten contrast")
    }
}
