import SpadeImaging
import XCTest
@testable import SpadeWorld

/// Shared helpers: mean colour of the pixels of one class.
func meanColour(_ picture: RGBImage, _ labels: LabelMap, where keep: (LandscapeClass) -> Bool) -> (r: Double, g: Double, b: Double, n: Int) {
    var r = 0.0, g = 0.0, b = 0.0, n = 0
    for (p, l) in labels.labels.enumerated() where keep(LandscapeClass(rawValue: l)!) {
        r += Double(picture.pixels[3 * p]); g += Double(picture.pixels[3 * p + 1]); b += Double(picture.pixels[3 * p + 2]); n += 1
    }
    let d = Double(max(n, 1))
    return (r / d, g / d, b / d, n)
}

final class RenderTests: XCTestCase {
    func testSameSeedAndIndexGiveIdenticalBytes() {
        let a = LandscapeSynth.render(index: 5, seed: 42, width: 64, height: 48)
        let b = LandscapeSynth.render(index: 5, seed: 42, width: 64, height: 48)
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertEqual(a.2, b.2)
        XCTAssertEqual(a.0.width, 64)
        XCTAssertEqual(a.1.height, 48)
        let other = LandscapeSynth.render(index: 6, seed: 42, width: 64, height: 48)
        let otherSeed = LandscapeSynth.render(index: 5, seed: 43, width: 64, height: 48)
        XCTAssertNotEqual(a.0, other.0, "different indices must give different pictures")
        XCTAssertNotEqual(a.0, otherSeed.0, "different seeds must give different pictures")
    }

    func testLabelsAreLandscapeClassesAndEveryClassAppearsAcrossASet() {
        var seen = Set<UInt8>()
        for i in 0..<60 {
            let (_, labels, _) = LandscapeSynth.render(index: i, seed: 7, width: 96, height: 72)
            for l in labels.labels {
                XCTAssertNotNil(LandscapeClass(rawValue: l), "label \(l) is not a landscape class (pair \(i))")
                seen.insert(l)
            }
        }
        let missing = LandscapeClass.allCases.filter { !seen.contains($0.rawValue) }.map(\.name)
        XCTAssertEqual(missing, [], "classes never rendered in 60 pairs")
    }

    func testEveryPictureHasSkyAndGround() {
        for i in 0..<20 {
            let (_, labels, _) = LandscapeSynth.render(index: i, seed: 11, width: 64, height: 64)
            let top = labels.labels[0..<64]
            let bottom = labels.labels[(63 * 64)...]
            XCTAssertTrue(top.contains { $0 == LandscapeClass.sky.rawValue || $0 == LandscapeClass.cloud.rawValue || $0 == LandscapeClass.mountain.rawValue || $0 == LandscapeClass.snow.rawValue || $0 == LandscapeClass.rock.rawValue || $0 == LandscapeClass.tree.rawValue },
                          "pair \(i): the top row shows neither sky nor anything tall")
            XCTAssertFalse(bottom.contains { $0 == LandscapeClass.sky.rawValue || $0 == LandscapeClass.cloud.rawValue },
                           "pair \(i): sky in the bottom row")
        }
    }

    func testStyleOverrideChangesThePictureButNotTheLabels() {
        let base = LandscapeSynth.render(index: 3, seed: 9, width: 64, height: 64, style: StyleOverride(timeOfDay: .noon, season: .summer, weather: .clear))
        for o in [StyleOverride(timeOfDay: .sunset), StyleOverride(season: .winter), StyleOverride(weather: .fog), StyleOverride(timeOfDay: .dusk, weather: .overcast)] {
            let (picture, labels, info) = LandscapeSynth.render(index: 3, seed: 9, width: 64, height: 64, style: o)
            XCTAssertEqual(labels, base.1, "a style must not move the labels (\(o))")
            XCTAssertNotEqual(picture, base.0, "a different style must change the picture (\(o))")
            if let t = o.timeOfDay { XCTAssertEqual(info.timeOfDay, t) }
            if let s = o.season { XCTAssertEqual(info.season, s) }
            if let w = o.weather { XCTAssertEqual(info.weather, w) }
        }
    }

    func testStylesAreVariedAcrossASet() {
        var times = Set<TimeOfDay>(), seasons = Set<Season>(), weathers = Set<Weather>(), scenes = Set<SceneKind>()
        for i in 0..<80 {
            let s = LandscapeSynth.style(index: i, seed: 3)
            times.insert(s.timeOfDay); seasons.insert(s.season); weathers.insert(s.weather); scenes.insert(s.scene)
        }
        XCTAssertEqual(times.count, TimeOfDay.allCases.count)
        XCTAssertEqual(seasons.count, Season.allCases.count)
        XCTAssertEqual(weathers.count, Weather.allCases.count)
        XCTAssertEqual(scenes.count, SceneKind.allCases.count)
    }
}
