// Global picture styles: the light, season and weather a scene is rendered under. A style changes
// only the picture, never the labels, so one layout can be rendered in any style.

public enum TimeOfDay: String, CaseIterable, Sendable {
    case noon, goldenHour = "golden-hour", sunset, dusk
}

public enum Season: String, CaseIterable, Sendable {
    case summer, autumn, winter
}

public enum Weather: String, CaseIterable, Sendable {
    case clear, overcast, fog
}

/// A partial style: the fields that are set replace the ones drawn at random for a picture.
public struct StyleOverride: Sendable, Equatable {
    public var timeOfDay: TimeOfDay?
    public var season: Season?
    public var weather: Weather?

    public init(timeOfDay: TimeOfDay? = nil, season: Season? = nil, weather: Weather? = nil) {
        self.timeOfDay = timeOfDay
        self.season = season
        self.weather = weather
    }
}

/// The complete global style of one rendered picture (what `styles.csv` records).
public struct StyleInfo: Sendable, Equatable {
    public var scene: SceneKind
    public var timeOfDay: TimeOfDay
    public var season: Season
    public var weather: Weather
    /// Sun direction: azimuth in degrees (0 = straight ahead, positive to the right), elevation in degrees.
    public var sunAzimuth: Float
    public var sunElevation: Float
    /// Aerial perspective strength (1 = typical clear air).
    public var haze: Float
    /// Fraction of the sky covered by cloud labels (a layout property, recorded for convenience).
    public var cloudCover: Float

    public static let csvHeader = "file,scene,time_of_day,season,weather,sun_azimuth_deg,sun_elevation_deg,haze,cloud_cover"

    public func csvRow(file: String) -> String {
        func f(_ v: Float) -> String { String(format: "%.2f", Double(v)) }
        return "\(file),\(scene.rawValue),\(timeOfDay.rawValue),\(season.rawValue),\(weather.rawValue),\(f(sunAzimuth)),\(f(sunElevation)),\(f(haze)),\(f(cloudCover))"
    }
}

import Foundation

/// Linear RGB colour (0…1 nominal) with the few operations the shader needs.
struct Colour {
    var r: Float, g: Float, b: Float
    init(_ r: Float, _ g: Float, _ b: Float) { self.r = r; self.g = g; self.b = b }
    @inline(__always) static func * (a: Colour, s: Float) -> Colour { Colour(a.r * s, a.g * s, a.b * s) }
    @inline(__always) static func * (a: Colour, b: Colour) -> Colour { Colour(a.r * b.r, a.g * b.g, a.b * b.b) }
    @inline(__always) static func + (a: Colour, b: Colour) -> Colour { Colour(a.r + b.r, a.g + b.g, a.b + b.b) }
    @inline(__always) func mix(_ o: Colour, _ t: Float) -> Colour {
        Colour(r + (o.r - r) * t, g + (o.g - g) * t, b + (o.b - b) * t)
    }
    var luma: Float { 0.2126 * r + 0.7152 * g + 0.0722 * b }
    /// From an sRGB-ish hex triple, converted to linear.
    static func srgb(_ r: Int, _ g: Int, _ b: Int) -> Colour {
        @inline(__always) func lin(_ v: Int) -> Float { let c = Float(v) / 255; return c * c * (0.3 * c + 0.7) }
        return Colour(lin(r), lin(g), lin(b))
    }
}

/// Everything the shader derives from a style: sun, sky, ambient light, haze and fog.
struct Lighting {
    var sunDir: (x: Float, y: Float, z: Float)   // world: x right, y up, z forward (away from the camera)
    var sunColour: Colour
    var ambient: Colour          // light from the sky dome
    var zenith: Colour
    var horizon: Colour
    var glow: Colour             // forward scattering around the sun
    var hazeColour: Colour
    var hazeDistance: Float      // distance at which haze reaches 63 %
    var fogColour: Colour
    var fogDistance: Float       // 0 means no fog
    var cloudLit: Colour
    var cloudShade: Colour
    var overcast: Bool
    var showSunDisk: Bool
    var exposure: Float
    var saturation: Float

    init(style: StyleInfo) {
        let az = style.sunAzimuth * .pi / 180, el = style.sunElevation * .pi / 180
        sunDir = (sin(az) * cos(el), sin(el), cos(az) * cos(el))
        showSunDisk = style.weather == .clear
        overcast = style.weather != .clear
        saturation = 1
        exposure = 1
        switch style.timeOfDay {
        case .noon:
            sunColour = Colour(1.0, 0.97, 0.9) * 2.3
            zenith = Colour.srgb(52, 108, 196)
            horizon = Colour.srgb(178, 206, 232)
            glow = Colour(0.35, 0.33, 0.3)
            ambient = Colour(0.42, 0.5, 0.65)
            hazeColour = Colour.srgb(170, 196, 224)
        case .goldenHour:
            sunColour = Colour(1.0, 0.72, 0.4) * 2.1
            zenith = Colour.srgb(70, 112, 176)
            horizon = Colour.srgb(236, 206, 160)
            glow = Colour(0.9, 0.6, 0.3)
            ambient = Colour(0.42, 0.42, 0.5)
            hazeColour = Colour.srgb(222, 194, 150)
        case .sunset:
            sunColour = Colour(1.0, 0.45, 0.18) * 1.8
            zenith = Colour.srgb(58, 72, 128)
            horizon = Colour.srgb(250, 140, 70)
            glow = Colour(1.2, 0.5, 0.15)
            ambient = Colour(0.36, 0.3, 0.38)
            hazeColour = Colour.srgb(226, 134, 92)
        case .dusk:
            sunColour = Colour(0.7, 0.35, 0.3) * 0.5
            zenith = Colour.srgb(22, 28, 62)
            horizon = Colour.srgb(150, 104, 128)
            glow = Colour(0.4, 0.2, 0.2)
            ambient = Colour(0.2, 0.2, 0.3)
            hazeColour = Colour.srgb(92, 82, 112)
            exposure = 0.95
        }
        cloudLit = sunColour * 0.42 + ambient * 0.55 + horizon * 0.25
        cloudShade = ambient * 0.8 + horizon * 0.15
        hazeDistance = 9000 / max(style.haze, 0.1)
        fogColour = hazeColour
        fogDistance = 0
        switch style.weather {
        case .clear:
            break
        case .overcast:
            // Diffuse light: the sun hides, the sky goes grey, shadows soften into ambient light.
            let grey = (zenith.luma + horizon.luma) * 0.5
            let tint = horizon.mix(Colour(grey, grey, grey), 0.7)
            zenith = tint * 0.8
            horizon = tint * 1.1 + Colour(0.08, 0.08, 0.09)
            glow = glow * 0.15
            ambient = ambient * 0.6 + Colour(0.45, 0.46, 0.48) * ambientScale(style.timeOfDay)
            sunColour = sunColour * 0.25
            cloudLit = horizon * 0.85
            cloudShade = horizon * 0.55
            hazeColour = horizon * 0.9
            hazeDistance *= 0.6
            saturation = 0.75
        case .fog:
            let grey = horizon.luma
            let tint = horizon.mix(Colour(grey, grey, grey), 0.6) * 1.05 + Colour(0.1, 0.1, 0.1) * ambientScale(style.timeOfDay)
            zenith = zenith.mix(tint, 0.75)
            horizon = tint
            glow = glow * 0.3
            ambient = ambient * 0.7 + tint * 0.4
            sunColour = sunColour * 0.45
            cloudLit = tint * 1.05
            cloudShade = tint * 0.8
            fogColour = tint
            hazeColour = tint
            fogDistance = 900 / max(style.haze, 0.1)
            saturation = 0.7
        }
    }
}

private func ambientScale(_ t: TimeOfDay) -> Float {
    switch t {
    case .noon: return 1
    case .goldenHour: return 0.8
    case .sunset: return 0.6
    case .dusk: return 0.3
    }
}
