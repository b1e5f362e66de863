import Foundation
import SpadeImaging

/// The procedural landscape world: paired pictures and exact label maps, deterministic per (seed, index).
public enum LandscapeSynth {
    /// Random streams: the layout and the style of a pair are drawn independently, so forcing a style
    /// leaves the layout (and so the labels) untouched.
    static let layoutStream: UInt64 = 1
    static let styleStream: UInt64 = 2

    /// The style pair `index` of a set seeded with `seed` gets, with `override`'s fields forced.
    public static func style(index: Int, seed: UInt64, override: StyleOverride? = nil) -> StyleInfo {
        var lr = WorldRandom(seed: seed, index: UInt64(index), stream: layoutStream)
        let layout = SceneLayout(random: &lr)
        return drawStyle(index: index, seed: seed, layout: layout, override: override)
    }

    static func drawStyle(index: Int, seed: UInt64, layout: SceneLayout, override: StyleOverride?) -> StyleInfo {
        var r = WorldRandom(seed: seed, index: UInt64(index), stream: styleStream)
        func pick<T>(_ options: [(T, Float)]) -> T {
            var u = r.unit() * options.reduce(0) { $0 + $1.1 }
            for (v, w) in options { if u < w { return v }; u -= w }
            return options[options.count - 1].0
        }
        var time: TimeOfDay = pick([(.noon, 0.4), (.goldenHour, 0.25), (.sunset, 0.2), (.dusk, 0.15)])
        var season: Season = pick([(.summer, 0.5), (.autumn, 0.25), (.winter, 0.25)])
        var weather: Weather = pick([(.clear, 0.6), (.overcast, 0.25), (.fog, 0.15)])
        // Draw the continuous parameters before applying the override so they do not depend on it.
        let azimuthU = r.unit(), elevationU = r.unit(), hazeU = r.unit()
        if let o = override {
            time = o.timeOfDay ?? time
            season = o.season ?? season
            weather = o.weather ?? weather
        }
        if layout.sandyGround, season == .winter { season = override?.season ?? .summer }
        let elevation: Float
        var azimuth = -150 + 300 * azimuthU
        switch time {
        case .noon: elevation = 40 + 25 * elevationU
        case .goldenHour: elevation = 7 + 10 * elevationU
        case .sunset:
            elevation = 0.5 + 4 * elevationU
            azimuth = -45 + 90 * azimuthU   // a sunset is best looked at
        case .dusk:
            elevation = -4 + 3 * elevationU
            azimuth = -50 + 100 * azimuthU
        }
        return StyleInfo(scene: layout.kind, timeOfDay: time, season: season, weather: weather,
                         sunAzimuth: azimuth, sunElevation: elevation, haze: 0.6 + hazeU, cloudCover: layout.cloudCover)
    }

    /// Renders pair `index` of the set seeded with `seed`: the picture, its exact label map (indices of
    /// `LandscapeClass`, i.e. the landscape palette) and the style it was rendered in. Fields set in `style`
    /// replace the drawn ones; the layout and so the label map stay the same whatever the style.
    public static func render(index: Int, seed: UInt64, width: Int, height: Int, style override: StyleOverride? = nil) -> (RGBImage, LabelMap, StyleInfo) {
        let (pair, info) = renderPair(index: index, seed: seed, width: width, height: height, style: override)
        return (RGBImage(width: width, height: height, pixels: pair.rgb), LabelMap(width: width, height: height, labels: pair.labels), info)
    }

    static func renderPair(index: Int, seed: UInt64, width: Int, height: Int, style override: StyleOverride? = nil) -> (RenderedPair, StyleInfo) {
        precondition(width > 0 && height > 0, "picture size must be positive")
        var lr = WorldRandom(seed: seed, index: UInt64(index), stream: layoutStream)
        let layout = SceneLayout(random: &lr)
        let style = drawStyle(index: index, seed: seed, layout: layout, override: override)
        let pair = Renderer(layout: layout, style: style, width: width, height: height).render()
        return (pair, style)
    }
}
