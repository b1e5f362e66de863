import Foundation

// Surface colours of each class, with multi-octave texture in world coordinates. Octaves finer
// than a pixel's footprint are skipped, which both saves time and avoids shimmering noise far away.

struct SurfacePoint {
    var x: Float, z: Float
    var footprint: Float        // world size of one pixel here
    var ground: Float           // terrain height
    var height: Float           // height of the point the pixel shows (differs from ground on trees and bushes)
    var label: LandscapeClass
    var sample: TerrainSample
    var steepness: Float = 0    // 1 − up component of the terrain normal
}

/// Texture noise in [-1, 1] with octaves limited by the pixel footprint.
@inline(__always) func texture(_ x: Float, _ z: Float, scale: Float, footprint: Float, seed: UInt32, maxOctaves: Int = 5) -> Float {
    let fine = scale / max(footprint * 2, 1e-3)
    var octaves = 1
    var s = fine
    while s > 2, octaves < maxOctaves { octaves += 1; s *= 0.5 }
    return fbm(x / scale, z / scale, seed, octaves: octaves)
}

/// Texture on steep ground: blends a top-down lookup with one along the face (horizontal position ×
/// height), so cliffs get strata and gullies instead of vertical streaks.
@inline(__always) func faceTexture(_ p: SurfacePoint, scale: Float, seed: UInt32, steep: Float) -> Float {
    let flat = texture(p.x, p.z, scale: scale, footprint: p.footprint, seed: seed)
    if steep < 0.15 { return flat }
    let side = texture(p.x * 0.8 + p.z * 0.6, p.height * 1.6, scale: scale, footprint: p.footprint, seed: seed &+ 101)
    return flat + (side - flat) * min(1, (steep - 0.15) * 3)
}

struct Palette3 {
    var a: Colour, b: Colour, c: Colour
    /// Blend across three colours with t in [-1, 1].
    @inline(__always) func at(_ t: Float) -> Colour {
        t < 0 ? b.mix(a, min(-t, 1)) : b.mix(c, min(t, 1))
    }
}

struct MaterialSet {
    let grass: Palette3, hill: Palette3, conifer: Colour, broadleaf: Palette3, bush: Palette3
    let flowers: [Colour], dirt: Palette3, sand: Palette3, rock: Palette3, mountain: Palette3, snow: Colour
    let lake: Colour, sea: Colour, river: Colour, shallowSea: Colour
    let frost: Float

    init(season: Season, layout: SceneLayout) {
        let desert = layout.sandyGround
        switch season {
        case .summer:
            grass = Palette3(a: .srgb(64, 100, 36), b: .srgb(96, 132, 50), c: .srgb(140, 150, 70))
            hill = Palette3(a: .srgb(58, 88, 40), b: .srgb(86, 114, 54), c: .srgb(120, 128, 70))
            conifer = .srgb(30, 56, 34)
            broadleaf = Palette3(a: .srgb(38, 70, 30), b: .srgb(58, 94, 38), c: .srgb(90, 120, 50))
            bush = Palette3(a: .srgb(44, 76, 32), b: .srgb(66, 98, 42), c: .srgb(96, 116, 52))
            frost = 0
        case .autumn:
            grass = Palette3(a: .srgb(104, 106, 48), b: .srgb(140, 128, 62), c: .srgb(172, 146, 80))
            hill = Palette3(a: .srgb(92, 90, 48), b: .srgb(124, 108, 58), c: .srgb(150, 116, 62))
            conifer = .srgb(34, 54, 34)
            broadleaf = Palette3(a: .srgb(150, 52, 26), b: .srgb(196, 110, 30), c: .srgb(206, 168, 48))
            bush = Palette3(a: .srgb(120, 50, 30), b: .srgb(150, 86, 40), c: .srgb(170, 130, 60))
            frost = 0
        case .winter:
            grass = Palette3(a: .srgb(84, 78, 52), b: .srgb(112, 100, 68), c: .srgb(138, 124, 88))
            hill = Palette3(a: .srgb(88, 86, 72), b: .srgb(112, 108, 92), c: .srgb(140, 136, 124))
            conifer = .srgb(32, 50, 40)
            broadleaf = Palette3(a: .srgb(70, 58, 50), b: .srgb(94, 80, 68), c: .srgb(120, 108, 96))
            bush = Palette3(a: .srgb(76, 62, 50), b: .srgb(100, 84, 66), c: .srgb(126, 112, 94))
            frost = 1
        }
        let hue = layout.flowerHue
        let palettes: [[Colour]] = [
            [.srgb(236, 204, 40), .srgb(250, 236, 120), .srgb(240, 240, 230)],
            [.srgb(150, 80, 190), .srgb(190, 120, 220), .srgb(240, 240, 235)],
            [.srgb(210, 40, 40), .srgb(240, 200, 60), .srgb(245, 245, 240)],
            [.srgb(236, 120, 160), .srgb(250, 250, 245), .srgb(200, 70, 140)],
        ]
        flowers = season == .winter ? [.srgb(150, 130, 100), .srgb(170, 160, 140), .srgb(130, 110, 90)]
            : palettes[min(Int(hue * 4), 3)]
        dirt = season == .winter ? Palette3(a: .srgb(82, 68, 56), b: .srgb(104, 88, 72), c: .srgb(132, 116, 98))
            : Palette3(a: .srgb(98, 72, 48), b: .srgb(128, 98, 66), c: .srgb(160, 130, 92))
        sand = desert ? Palette3(a: .srgb(184, 134, 84), b: .srgb(212, 168, 110), c: .srgb(232, 198, 146))
            : Palette3(a: .srgb(178, 160, 120), b: .srgb(212, 194, 150), c: .srgb(232, 220, 186))
        rock = Palette3(a: .srgb(84, 80, 78), b: .srgb(120, 116, 110), c: .srgb(160, 154, 144))
        mountain = desert ? Palette3(a: .srgb(120, 84, 60), b: .srgb(150, 110, 80), c: .srgb(176, 138, 104))
            : Palette3(a: .srgb(78, 82, 62), b: .srgb(108, 104, 88), c: .srgb(140, 132, 118))
        snow = .srgb(236, 240, 246)
        lake = .srgb(22, 44, 48)
        sea = .srgb(18, 58, 88)
        shallowSea = .srgb(60, 140, 140)
        river = .srgb(40, 62, 58)
    }

    /// Albedo of a non-water surface point, and a small bump (surface slope) for lighting detail.
    func albedo(_ p: SurfacePoint, layout: SceneLayout) -> (colour: Colour, bumpX: Float, bumpZ: Float) {
        let x = p.x, z = p.z, fp = p.footprint
        let seed = layout.detailSeed
        switch p.label {
        case .grass:
            let t = texture(x, z, scale: 9, footprint: fp, seed: seed, maxOctaves: 8)
            let patch = fbm(x / 50, z / 50, seed &+ 1, octaves: 3)
            var c = grass.at(t * 0.9 + patch * 1.1)
            if fp < 0.1 {
                // Tufts and blades close to the camera, fading in as they become larger than a pixel.
                let near = clamp01((0.1 - fp) * 20)
                let blade = gradientNoise(x * 7, z * 2.5, seed &+ 2) * 0.6 + gradientNoise(x * 30, z * 9, seed &+ 3) * 0.4 * near
                c = c * (0.9 + 0.45 * blade * (0.5 + 0.5 * near))
            }
            if frost > 0 { c = c.mix(Colour.srgb(200, 204, 210), 0.25 * clamp01(texture(x, z, scale: 6, footprint: fp, seed: seed &+ 3) + 0.4)) }
            return (c, t * 0.15, patch * 0.1)
        case .hill:
            let t = faceTexture(p, scale: 40, seed: seed &+ 4, steep: p.steepness)
            let fields = fbm(x / 150, z / 150, seed &+ 5, octaves: 2)
            return (hill.at(t * 0.7 + fields * 0.9), t * 0.25, fields * 0.1)
        case .flower:
            let t = texture(x, z, scale: 12, footprint: fp, seed: seed)
            var c = grass.at(t * 0.8 - 0.2)
            // Blossoms: scattered dots in small cells; far away they blend into an average tint.
            let cell: Float = 0.3
            let density = clamp01(0.6 + fbm(x / 8, z / 8, seed &+ 5, octaves: 2) * 1.2)
            if fp < cell * 1.2 {
                let gx = fastFloor(x / cell), gz = fastFloor(z / cell)
                let h = hash2(gx, gz, seed &+ 6)
                let cxo = 0.25 + 0.5 * Float(h & 0xFF) / 255, czo = 0.25 + 0.5 * Float((h >> 8) & 0xFF) / 255
                let fx = x / cell - Float(gx) - cxo, fz = z / cell - Float(gz) - czo
                let r = 0.12 + 0.16 * Float((h >> 16) & 0xFF) / 255
                if Float(h >> 24) / 255 < density, fx * fx + fz * fz < r * r { c = flowers[Int(h % 3)] * (0.85 + 0.3 * (1 - (fx * fx + fz * fz) / (r * r))) }
            } else {
                let avg = flowers[0].mix(flowers[1], 0.5).mix(flowers[2], 0.33)
                c = c.mix(avg, (0.35 + density * 0.4) * (0.75 + 0.25 * t))
            }
            return (c, t * 0.1, 0)
        case .dirt:
            let t = texture(x, z, scale: 6, footprint: fp, seed: seed &+ 7, maxOctaves: 7)
            var c = dirt.at(t * 1.1)
            if fp < 0.2 {
                let pebble = hashUnit(Int32(x * 6), Int32(z * 6), seed &+ 8)
                if pebble > 0.93 { c = c * 1.35 }
            }
            return (c, t * 0.3, 0)
        case .sand:
            let t = texture(x, z, scale: 10, footprint: fp, seed: seed &+ 9, maxOctaves: 7)
            var ripples: Float = 0
            if fp < 0.4 {
                let phase: Float = (x * 0.7 + z * 1.9 + 3 * t) * 3
                ripples = 0.08 * sin(phase)
            }
            return (sand.at(t * 0.6), t * 0.08 + ripples, ripples)
        case .rock:
            let strata = sin(p.height * 0.35 + 3 * texture(x, z, scale: 30, footprint: fp, seed: seed &+ 10))
            let t = faceTexture(p, scale: max(8, fp * 2), seed: seed &+ 11, steep: p.steepness)
            var c = rock.at(t * 0.8 + strata * 0.35)
            // Lichen and moss in the cracks.
            let moss = clamp01(texture(x, z, scale: 4, footprint: fp, seed: seed &+ 12) * 2 - 0.6)
            c = c.mix(Colour.srgb(90, 100, 62), moss * 0.5 * (1 - frost))
            return (c, t * 0.6 + strata * 0.2, t * 0.4)
        case .mountain:
            let t = faceTexture(p, scale: 60, seed: seed &+ 13, steep: p.steepness)
            let scree = fbm((x + z * 0.5) / 300, p.height / 80, seed &+ 14, octaves: 2)
            // Vegetation low on the slopes, bare scree higher up.
            let greenery = clamp01(1 - p.height / max(p.sample.snowLine, 1) * 1.3) * (1 - frost * 0.6)
            var c = mountain.at(t * 0.6 + scree * 0.6)
            c = c.mix(hill.a, greenery * 0.6)
            return (c, t * 0.5, scree * 0.3)
        case .snow:
            let t = faceTexture(p, scale: 25, seed: seed &+ 15, steep: p.steepness)
            return (snow * (0.9 + 0.1 * t), t * 0.35, t * 0.2)
        case .tree:
            let v = p.sample.objectVariant
            // Leaf clumps: textured across the crown and up its side, so crowns read as foliage, not walls.
            let u = x + z * 0.7
            let t = texture(u * 2.5, p.height * 3 + z * 0.4, scale: 2, footprint: fp * 2.5, seed: seed &+ 16)
            var c: Colour
            if v < 0.5 || p.sample.objectShade == 0.7 && v < 0.6 {
                c = conifer * (0.85 + 0.3 * v)
                if frost > 0 { c = c.mix(Colour.srgb(220, 226, 232), clamp01(t * 1.5 - 0.2) * 0.45) }
            } else {
                c = broadleaf.at((v - 0.75) * 5)
            }
            return (c * (0.7 + 0.5 * t), t * 0.8, t * 0.5)
        case .bush:
            let t = texture((x + z * 0.7) * 3, p.height * 4 + z, scale: 1.5, footprint: fp * 3, seed: seed &+ 17)
            return (bush.at((p.sample.objectVariant - 0.5) * 1.6 + t * 0.4) * (0.85 + 0.3 * t), t * 0.4, 0)
        default:
            return (grass.b, 0, 0)
        }
    }
}
