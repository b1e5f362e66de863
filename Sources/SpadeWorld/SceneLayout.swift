import Foundation

// The layout of one picture: a terrain height field in world units (metres, roughly), what covers it,
// and where the camera stands. Drawn from the layout random stream only, so a layout can be rendered
// in any style. World axes: x to the right, y up, z away from the camera (which sits at x = z = 0).

/// The kind of scene a layout composes; each sets different odds for mountains, water, forest and so on.
public enum SceneKind: String, CaseIterable, Sendable {
    case alpineLake = "alpine-lake"
    case coast
    case riverValley = "river-valley"
    case rollingHills = "rolling-hills"
    case forestEdge = "forest-edge"
    case dunes
    case mountainMeadow = "mountain-meadow"
}

/// One ridge layer: a band of ridged peaks centred at a distance.
struct MountainRange {
    var distance: Float
    var depth: Float       // half-width of the band along z
    var height: Float
    var scale: Float       // horizontal feature size
    var seed: UInt32
    var snowLine: Float    // absolute height above which snow lies on gentle slopes
}

struct LakeShape {
    var centreX: Float, centreZ: Float, radiusX: Float, radiusZ: Float
    var level: Float
}

struct RiverShape {
    var offsetX: Float, amplitude: Float, wavelength: Float, phase: Float
    var halfWidth: Float
    var level: Float
}

struct CoastShape {
    var shoreZ: Float      // distance of the shoreline straight ahead
    var tilt: Float        // shoreline drift per unit x (diagonal coasts)
    var wobble: Float      // shoreline irregularity amplitude
    var slope: Float       // how fast land drops under the sea beyond the shore
}

/// What lies on the terrain at one point (objects like trees and bushes stand on it).
struct TerrainSample {
    var height: Float           // top surface, including water surfaces and objects
    var ground: Float           // terrain under water and objects
    var mountain: Float         // the mountain ranges' share of the height
    var hill: Float             // the hills' share
    var waterClass: LandscapeClass?  // set when the visible surface is water
    var object: LandscapeClass?      // tree or bush when the point is on one
    var objectShade: Float      // 0 at an object's rim, 1 at its top (for shading)
    var objectVariant: Float    // per-object random value for colour variation
    var objectNormal: (x: Float, y: Float, z: Float) = (0, 1, 0)
    var snowLine: Float = 1e9
    var rangeHeight: Float = 1
    var riverBank = false
}

struct SceneLayout {
    var kind: SceneKind
    // Camera.
    var eyeHeight: Float
    var cameraY: Float = 0
    var horizonFraction: Float
    var focal: Float            // focal length as a fraction of the picture width
    // Ground relief.
    var groundAmp: Float, groundScale: Float, groundSeed: UInt32
    var duneAmp: Float, duneScale: Float, duneAngle: Float
    var hillAmp: Float, hillScale: Float, hillNear: Float, hillFar: Float, hillSeed: UInt32
    var ranges: [MountainRange]
    var valleyHalfWidth: Float  // mountains part around the river in river valleys
    var lake: LakeShape?
    var river: RiverShape?
    var coast: CoastShape?
    // Cover.
    var forestSeed: UInt32, forestScale: Float, forestThreshold: Float
    var scatterTrees: Float     // probability of a lone tree per cell outside forests
    var coniferShare: Float
    var treeHeight: Float, treeLine: Float
    var bushDensity: Float, bushSeed: UInt32
    var flowerSeed: UInt32, flowerThreshold: Float, flowerHue: Float
    var dirtSeed: UInt32, dirtThreshold: Float
    var path: RiverShape?       // a dirt path, drawn like a narrow river of dirt
    var rockSeed: UInt32, rockThreshold: Float
    var sandyGround: Bool       // deserts: sand is the ground cover
    var beachHeight: Float
    var detailSeed: UInt32
    // Sky.
    var cloudSeed: UInt32, cloudCover: Float, cloudScale: Float, cloudHeight: Float, cloudStretch: Float
    var farDistance: Float

    init(random r: inout WorldRandom) {
        kind = SceneKind.allCases[r.int(below: SceneKind.allCases.count)]
        eyeHeight = r.range(2.5, 9)
        horizonFraction = r.range(0.32, 0.5)
        focal = r.range(0.85, 1.25)
        groundAmp = r.range(1, 6); groundScale = r.range(120, 320); groundSeed = r.noiseSeed()
        duneAmp = 0; duneScale = 60; duneAngle = r.range(-0.6, 0.6)
        hillAmp = 0; hillScale = r.range(250, 600); hillNear = r.range(200, 500); hillFar = r.range(1200, 2400); hillSeed = r.noiseSeed()
        ranges = []
        valleyHalfWidth = 0
        forestSeed = r.noiseSeed(); forestScale = r.range(90, 220); forestThreshold = 2
        scatterTrees = 0; coniferShare = r.unit(); treeHeight = r.range(9, 16); treeLine = 1e9
        bushDensity = r.range(0.01, 0.06); bushSeed = r.noiseSeed()
        flowerSeed = r.noiseSeed(); flowerThreshold = 2; flowerHue = r.unit()
        dirtSeed = r.noiseSeed(); dirtThreshold = r.range(0.45, 0.7)
        rockSeed = r.noiseSeed(); rockThreshold = r.range(0.55, 0.75)
        sandyGround = false
        beachHeight = r.range(0.6, 1.6)
        detailSeed = r.noiseSeed()
        cloudSeed = r.noiseSeed(); cloudCover = r.range(0.05, 0.6); cloudScale = r.range(1500, 4000)
        cloudHeight = r.range(1200, 2500); cloudStretch = r.range(1, 3)
        farDistance = 30000

        func addRanges(_ count: Int, nearest: Float, heightRatio: ClosedRange<Float>, snowFraction: Float, r: inout WorldRandom) {
            var d = nearest
            for _ in 0..<count {
                let h = d * r.range(heightRatio.lowerBound, heightRatio.upperBound)
                ranges.append(MountainRange(distance: d, depth: d * r.range(0.22, 0.35), height: h,
                                            scale: d * r.range(0.3, 0.55), seed: r.noiseSeed(),
                                            snowLine: h * (snowFraction + r.range(-0.12, 0.12))))
                d *= r.range(1.6, 2.2)
            }
        }

        switch kind {
        case .alpineLake:
            addRanges(2 + r.int(below: 2), nearest: r.range(1400, 2600), heightRatio: 0.16...0.32, snowFraction: 0.55, r: &r)
            let cz = r.range(350, 900)
            lake = LakeShape(centreX: r.range(-200, 200), centreZ: cz, radiusX: r.range(500, 1500), radiusZ: cz * r.range(0.55, 0.85), level: 0)
            forestThreshold = r.range(0.05, 0.35); scatterTrees = r.range(0.0, 0.08); coniferShare = r.range(0.6, 1)
            treeLine = ranges[0].snowLine * 0.6
            flowerThreshold = r.range(0.35, 0.7)
            eyeHeight = r.range(2, 6)
        case .coast:
            coast = CoastShape(shoreZ: r.range(40, 260), tilt: r.range(-0.5, 0.5), wobble: r.range(20, 90), slope: r.range(0.02, 0.06))
            if r.chance(0.5) { addRanges(1 + r.int(below: 2), nearest: r.range(1800, 4000), heightRatio: 0.08...0.2, snowFraction: 0.8, r: &r) }
            forestThreshold = r.chance(0.5) ? r.range(0.2, 0.45) : 2; scatterTrees = r.range(0, 0.05)
            flowerThreshold = r.range(0.45, 0.8)
            beachHeight = r.range(1.2, 3)
            groundAmp = r.range(2, 6)
            eyeHeight = r.range(6, 22)
        case .riverValley:
            addRanges(2 + r.int(below: 2), nearest: r.range(1000, 2200), heightRatio: 0.14...0.28, snowFraction: 0.6, r: &r)
            river = RiverShape(offsetX: r.range(-30, 30), amplitude: r.range(15, 80), wavelength: r.range(80, 260), phase: r.range(0, 6.3),
                               halfWidth: r.range(5, 14), level: 0)
            valleyHalfWidth = r.range(600, 1500)
            hillAmp = r.range(40, 140)
            forestThreshold = r.range(0.2, 0.5); scatterTrees = r.range(0.01, 0.06)
            flowerThreshold = r.range(0.4, 0.8)
            treeLine = ranges[0].snowLine * 0.7
        case .rollingHills:
            if r.chance(0.5) { addRanges(1 + r.int(below: 2), nearest: r.range(2500, 5000), heightRatio: 0.08...0.2, snowFraction: 0.75, r: &r) }
            hillAmp = r.range(50, 160); hillNear = r.range(120, 300); hillScale = r.range(200, 450)
            groundAmp = r.range(4, 12)
            forestThreshold = r.range(0.3, 0.6); scatterTrees = r.range(0.03, 0.15); coniferShare = r.range(0, 0.4)
            flowerThreshold = r.range(0.25, 0.6)
            if r.chance(0.6) { path = RiverShape(offsetX: r.range(-8, 8), amplitude: r.range(5, 25), wavelength: r.range(40, 120), phase: r.range(0, 6.3), halfWidth: r.range(0.8, 1.6), level: 0) }
            if r.chance(0.3) { let cz = r.range(150, 400); lake = LakeShape(centreX: r.range(-150, 150), centreZ: cz, radiusX: r.range(60, 200), radiusZ: r.range(30, 90), level: 0) }
        case .forestEdge:
            addRanges(1 + r.int(below: 3), nearest: r.range(1500, 3500), heightRatio: 0.12...0.26, snowFraction: 0.65, r: &r)
            forestThreshold = r.range(0.0, 0.3); forestScale = r.range(60, 140); scatterTrees = r.range(0.03, 0.12)
            hillAmp = r.range(20, 80)
            flowerThreshold = r.range(0.3, 0.6)
            if r.chance(0.5) { path = RiverShape(offsetX: r.range(-6, 6), amplitude: r.range(4, 15), wavelength: r.range(40, 100), phase: r.range(0, 6.3), halfWidth: r.range(0.8, 1.5), level: 0) }
            treeLine = ranges[0].snowLine * 0.75
        case .dunes:
            addRanges(1 + r.int(below: 2), nearest: r.range(2500, 6000), heightRatio: 0.06...0.15, snowFraction: 1.2, r: &r)
            sandyGround = true
            duneAmp = r.range(3, 12); duneScale = r.range(40, 110)
            groundAmp = r.range(2, 8)
            bushDensity = r.range(0.01, 0.05)
            rockThreshold = r.range(0.6, 0.8)
            dirtThreshold = r.range(0.6, 0.8)
            cloudCover = r.range(0, 0.25)
        case .mountainMeadow:
            addRanges(2 + r.int(below: 2), nearest: r.range(900, 1800), heightRatio: 0.2...0.38, snowFraction: 0.5, r: &r)
            flowerThreshold = r.range(0.0, 0.35)
            rockThreshold = r.range(0.5, 0.65)
            forestThreshold = r.range(0.35, 0.6); scatterTrees = r.range(0.0, 0.05); coniferShare = r.range(0.7, 1)
            groundAmp = r.range(3, 10)
            treeLine = ranges[0].snowLine * 0.5
            if r.chance(0.4) { river = RiverShape(offsetX: r.range(-60, 60), amplitude: r.range(10, 40), wavelength: r.range(60, 160), phase: r.range(0, 6.3), halfWidth: r.range(2, 5), level: 0) }
        }
        if let last = ranges.last { farDistance = max(farDistance, last.distance + last.depth * 1.5) }
        // Put water at the level of the ground around it, and the camera just above the ground.
        if var l = lake { l.level = baseHeight(l.centreX, l.centreZ) - 0.5; lake = l }
        cameraY = max(terrainHeight(0, 0), lake.map { $0.level + 0.5 } ?? -1e9) + eyeHeight
        if coast != nil { cameraY = max(cameraY, eyeHeight) }
    }

    // MARK: - Terrain

    /// Gentle ground relief plus dunes and coast drop-off.
    @inline(__always) func baseHeight(_ x: Float, _ z: Float) -> Float {
        // Octaves too small to matter at this distance are left out.
        var h = groundAmp * fbm(x / groundScale, z / groundScale, groundSeed, octaves: z < 250 ? 4 : z < 1500 ? 3 : 2)
        if z < 1500 {
            let r = rockiness(x, z) - rockThreshold
            if r > 0 { h += min(r * 10, 2.2) }
        }
        if duneAmp > 0 {
            // Dunes: asymmetric ridges across the wind, bent by noise.
            let c = cos(duneAngle), s = sin(duneAngle)
            let u = (c * x + s * z) / duneScale + 0.8 * fbm(x / (duneScale * 3), z / (duneScale * 3), groundSeed &+ 7, octaves: 2)
            let f = u - floor(u)
            let ridge = f < 0.7 ? f / 0.7 : (1 - f) / 0.3
            h += duneAmp * (ridge * ridge * (3 - 2 * ridge)) * (0.6 + 0.4 * fbm(x / 300, z / 300, groundSeed &+ 9, octaves: 2))
        }
        if let c = coast {
            let shore = c.shoreZ + c.tilt * x + c.wobble * fbm(x / 180, 0.5, groundSeed &+ 3, octaves: 3)
            // Land stays a few metres above the sea until the shore, then dips under it.
            h = h * 0.5 + 3 - max(0, z - shore) * c.slope * (1 + 0.002 * max(0, z - shore))
            if z < shore { h += min(6, (shore - z) * 0.02) }
        }
        return h
    }

    @inline(__always) func hillHeight(_ x: Float, _ z: Float, octaves: Int = 4) -> Float {
        guard hillAmp > 0, z > hillNear * 0.4 else { return 0 }
        let envelope = smoothstep(hillNear * 0.4, hillNear, z) * (1 - smoothstep(hillFar, hillFar * 1.6, z))
        guard envelope > 0 else { return 0 }
        let n = fbm(x / hillScale, z / hillScale, hillSeed, octaves: octaves) * 0.5 + 0.5
        let shaped = max(0, n - 0.3) / 0.7
        return hillAmp * envelope * shaped * shaped * (1 + 0.0005 * z)
    }

    @inline(__always) func mountainHeight(_ x: Float, _ z: Float) -> Float { mountainInfo(x, z).height }

    /// Height of the tallest range at a point, with that range's snow line and peak height.
    @inline(__always) func mountainInfo(_ x: Float, _ z: Float, octaves: Int = 6) -> (height: Float, snowLine: Float, rangeHeight: Float) {
        var m: Float = 0, snow: Float = 1e9, top: Float = 1
        for r in ranges {
            let dz = abs(z - r.distance)
            if dz > r.depth { continue }
            let t = dz / r.depth
            let band = 1 - t * t * (3 - 2 * t)
            // Sharp ridges over softer massifs; some stretches are passes, others high massifs.
            let crest = ridged(x / r.scale, z / r.scale, r.seed, octaves: octaves)
            let massif = clamp01(0.55 + 0.7 * gradientNoise(x / (r.scale * 2.7), z / (r.scale * 2.7), r.seed &+ 5))
            var h = r.height * band * (0.25 + 0.75 * massif) * (0.35 + 0.65 * crest) * (0.6 + 0.4 * massif)
            if valleyHalfWidth > 0, let rv = river {
                let d = abs(x - riverCentre(rv, z))
                h *= smoothstep(valleyHalfWidth * 0.3, valleyHalfWidth * (1 + z / 20000), d)
            }
            if h > m { m = h; snow = r.snowLine; top = r.height }
        }
        return (m, snow, top)
    }

    /// Rock outcrops poke out of the ground where this exceeds `rockThreshold`.
    @inline(__always) func rockiness(_ x: Float, _ z: Float) -> Float {
        gradientNoise(x / 26, z / 26, rockSeed) * 0.55 + gradientNoise(x / 9, z / 9, rockSeed &+ 1) * 0.25
            + 0.2 * gradientNoise(x / 200, z / 200, rockSeed &+ 2)
    }

    /// Water level of a river: below the mean ground, drifting slowly along its course.
    @inline(__always) func riverLevel(_ r: RiverShape, _ z: Float) -> Float {
        r.level - groundAmp * 0.35 - 0.6 + groundAmp * 0.3 * gradientNoise(z / groundScale, 7.7, groundSeed &+ 13)
    }

    @inline(__always) func riverCentre(_ r: RiverShape, _ z: Float) -> Float {
        r.offsetX + r.amplitude * sin(z / r.wavelength + r.phase) * (1 + z / 800)
            + r.amplitude * 0.6 * fbm(z / (r.wavelength * 0.7), 3.7, groundSeed &+ 11, octaves: 2)
    }

    /// Terrain height without objects or water: what the sun and the shadow test see.
    @inline(__always) func terrainHeight(_ x: Float, _ z: Float) -> Float {
        var h = baseHeight(x, z) + hillHeight(x, z) + mountainHeight(x, z)
        if let l = lake {
            let dx = (x - l.centreX) / l.radiusX, dz = (z - l.centreZ) / l.radiusZ
            let ellipse = 1 - dx * dx - dz * dz
            let mask = ellipse < -0.6 ? ellipse : ellipse + 0.35 * fbm(x / 90, z / 90, groundSeed &+ 21, octaves: 3)
            if mask > -0.2 { h = lerp(h, min(h, l.level - 3), smoothstep(-0.2, 0.25, mask)) }
        }
        if let rv = river, z > -10 {
            let d = abs(x - riverCentre(rv, z))
            let w = rv.halfWidth * (1 + z / 3000)
            if d < w * 3 {
                let level = riverLevel(rv, z)
                h = lerp(h, min(h, level - 1), smoothstep(w * 3, w * 0.7, d))
            }
        }
        return h
    }

    /// Cheaper terrain for shadow tests: no outcrops or fine mountain octaves.
    @inline(__always) func shadowHeight(_ x: Float, _ z: Float) -> Float {
        groundAmp * gradientNoise(x / groundScale, z / groundScale, groundSeed) * 0.7 + duneAmp * 0.5 + hillHeight(x, z, octaves: 2)
            + mountainInfo(x, z, octaves: 3).height
    }

    /// Full sample: terrain, water surface, and objects (trees, bushes) standing on it.
    /// `visibleAbove`: objects are only worth computing when they can reach this height (the ray march
    /// passes the height below which a point is hidden behind what is already drawn).
    func sample(_ x: Float, _ z: Float, objects: Bool, visibleAbove: Float = -.infinity) -> TerrainSample {
        let base = baseHeight(x, z)
        let hill = hillHeight(x, z)
        let mi = mountainInfo(x, z)
        let mtn = mi.height
        var ground = base + hill + mtn
        var s = TerrainSample(height: ground, ground: ground, mountain: mtn, hill: hill, waterClass: nil, object: nil, objectShade: 0, objectVariant: 0)
        s.snowLine = mi.snowLine
        s.rangeHeight = mi.rangeHeight
        if let l = lake {
            let dx = (x - l.centreX) / l.radiusX, dz = (z - l.centreZ) / l.radiusZ
            let ellipse = 1 - dx * dx - dz * dz
            let mask = ellipse < -0.6 ? ellipse : ellipse + 0.35 * fbm(x / 90, z / 90, groundSeed &+ 21, octaves: 3)
            if mask > -0.2 { ground = lerp(ground, min(ground, l.level - 3), smoothstep(-0.2, 0.25, mask)) }
            if ground < l.level { s.waterClass = .water; s.height = l.level }
        }
        if coast != nil, ground < 0 { s.waterClass = .sea; s.height = 0 }
        if let rv = river, z > -10, s.waterClass == nil {
            let c = riverCentre(rv, z)
            let d = abs(x - c)
            let w = rv.halfWidth * (1 + z / 3000)
            if d < w * 3 {
                let level = riverLevel(rv, z)
                ground = lerp(ground, min(ground, level - 1), smoothstep(w * 3, w * 0.7, d))
                if ground < level { s.waterClass = .river; s.height = level } else if d < w * 1.5 { s.riverBank = true }
            }
        }
        s.ground = ground
        if s.waterClass == nil { s.height = ground }
        if objects, s.waterClass == nil, ground + treeHeight * 1.4 > visibleAbove { addObjects(&s, x, z) }
        return s
    }

    /// Forest density in about [-1, 1]; forests grow where it exceeds `forestThreshold`.
    @inline(__always) func forestDensity(_ x: Float, _ z: Float) -> Float {
        // Forests keep back from the camera: an open foreground with woods behind is the usual view.
        fbm(x / forestScale, z / forestScale, forestSeed, octaves: 2) * 1.6 - 0.7 * (1 - smoothstep(30, 180, z))
    }

    private func addObjects(_ s: inout TerrainSample, _ x: Float, _ z: Float) {
        let g = s.ground
        let rockyOrSnowy = s.mountain > 0 && g > treeLine
        if rockyOrSnowy || sandyGround && scatterTrees == 0 && forestThreshold > 1 { addBushes(&s, x, z); return }
        let density = forestDensity(x, z)
        if z > 700 {
            // Far away single trees are below a pixel: forests become a textured canopy layer.
            if density > forestThreshold, !isBeach(g) {
                let canopy = treeHeight * (0.75 + 0.25 * fbm(x / 12, z / 12, forestSeed &+ 3, octaves: 2))
                s.height = g + canopy
                s.object = .tree
                s.objectShade = 0.7
                s.objectVariant = hashUnit(Int32(x / 20), Int32(z / 20), forestSeed)
            }
            return
        }
        let inForest = density > forestThreshold
        // Keep the camera's own spot clear so no trunk fills the picture.
        if (inForest || scatterTrees > 0) && x * x + z * z > 2000 {
            let cell: Float = inForest ? 7 : 9
            let cx = fastFloor(x / cell), cz = fastFloor(z / cell)
            var best: Float = 0
            for j in -1...1 { for i in -1...1 {
                let gx = cx + Int32(i), gz = cz + Int32(j)
                let h = hash2(gx, gz, forestSeed &+ (inForest ? 1 : 2))
                let u0 = Float(h & 0xFF) / 255, u1 = Float((h >> 8) & 0xFF) / 255
                let u2 = Float((h >> 16) & 0xFF) / 255, u3 = Float(h >> 24) / 255
                let px = (Float(gx) + 0.15 + 0.7 * u0) * cell, pz = (Float(gz) + 0.15 + 0.7 * u1) * cell
                let p: Float = inForest ? 0.95 : scatterTrees
                if u2 >= p { continue }
                let conifer = u3 < coniferShare
                let height = treeHeight * (0.65 + 0.6 * u3)
                let radius = conifer ? height * 0.27 : height * 0.4
                let dx = x - px, dz = z - pz
                let d2 = dx * dx + dz * dz
                if d2 >= radius * radius { continue }
                // Ragged outline: the radius wobbles around the crown.
                let wobble = 1 + 0.22 * gradientNoise(dx * 1.3 + u0 * 50, dz * 1.3, forestSeed &+ 4)
                let d = min(1, sqrt(d2) / (radius * wobble))
                if d >= 1 { continue }
                var top: Float
                if conifer {
                    // Cone with a slightly ragged outline (branch tiers).
                    let tiers = 0.08 * sin(d * 18 + u0 * 6)
                    top = height * (1 - d + tiers)
                } else {
                    // Crown: a dome raised on a short trunk.
                    // Crown of a few lobes: a dome whose top rises and falls around the tree.
                    let lobes = 1 + 0.14 * gradientNoise(dx * 0.9 + u1 * 40, dz * 0.9, forestSeed &+ 6)
                    top = height * (0.45 + 0.55 * pow(max(0, 1 - d * d), 0.5)) * lobes
                }
                if top > best {
                    best = top
                    s.objectShade = 1 - d
                    s.objectVariant = u2 * 0.5 + (conifer ? 0 : 0.5)
                    let inv = 1 / max(sqrt(d2), 1e-4)
                    let (ox, oz) = (dx * inv, dz * inv)
                    if conifer {
                        let k = height / radius
                        let n = 1 / sqrt(k * k + 1)
                        s.objectNormal = (ox * k * n, n, oz * k * n)
                    } else {
                        s.objectNormal = (ox * d, sqrt(max(0.05, 1 - d * d)), oz * d)
                    }
                }
            } }
            if best > 0, !isBeach(g) {
                s.height = g + best
                s.object = .tree
                return
            }
        }
        addBushes(&s, x, z)
    }

    private func addBushes(_ s: inout TerrainSample, _ x: Float, _ z: Float) {
        guard bushDensity > 0, z < 600, x * x + z * z > 30 else { return }
        let cell: Float = 4
        // Bushes gather in loose groups.
        let clump = bushDensity * (1 + 2 * max(0, gradientNoise(x / 24, z / 24, bushSeed &+ 1)))
        let cx = fastFloor(x / cell), cz = fastFloor(z / cell)
        var best: Float = 0
        for j in -1...1 { for i in -1...1 {
            let gx = cx + Int32(i), gz = cz + Int32(j)
            let h = hash2(gx, gz, bushSeed)
            let u0 = Float(h & 0xFF) / 255, u1 = Float((h >> 8) & 0xFF) / 255
            let u2 = Float((h >> 16) & 0xFF) / 255, u3 = Float(h >> 24) / 255
            let p = clump
            if u2 >= p { continue }
            let px = (Float(gx) + 0.2 + 0.6 * u0) * cell, pz = (Float(gz) + 0.2 + 0.6 * u1) * cell
            let radius: Float = 0.6 + 0.8 * u3
            let dx = x - px, dz = z - pz
            let d2 = dx * dx + dz * dz
            if d2 >= radius * radius { continue }
            let d = sqrt(d2) / radius
            let top = radius * 0.9 * sqrt(max(0, 1 - d * d)) * (0.85 + 0.15 * gradientNoise(x * 1.3, z * 1.3, bushSeed &+ 2))
            if top > best {
                best = top; s.objectShade = 1 - d; s.objectVariant = u3
                let inv = 1 / max(sqrt(d2), 1e-4)
                s.objectNormal = (dx * inv * d, sqrt(max(0.05, 1 - d * d)), dz * inv * d)
            }
        } }
        if best > 0.05, !isBeach(s.ground) {
            s.height = s.ground + best
            s.object = .bush
        }
    }

    @inline(__always) func isBeach(_ ground: Float) -> Bool {
        (coast != nil && ground < beachHeight) || (lake.map { ground < $0.level + beachHeight * 0.5 } ?? false)
    }

    /// Whether hills or mountains can stand at this distance (the ray march takes long steps elsewhere).
    func hasRelief(near z: Float) -> Bool {
        if hillAmp > 0, z < hillFar * 1.7 { return true }
        for r in ranges where abs(z - r.distance) < r.depth * 1.1 { return true }
        return false
    }

    /// Highest the terrain can reach beyond a distance (lets the ray march stop early).
    func maxHeight(beyond z: Float) -> Float {
        var m: Float = groundAmp + duneAmp + 10 + treeHeight * 1.3
        if coast != nil { m += 6 }
        if hillAmp > 0, z < hillFar * 1.6 { m += hillAmp * 1.6 }
        var mt: Float = 0
        for r in ranges where r.distance + r.depth > z { mt = max(mt, r.height * 1.4) }
        return m + mt
    }
}

// MARK: - Classes

extension SceneLayout {
    /// The label of a surface point; `steepness` is 1 − the up component of the terrain normal.
    func classify(_ s: TerrainSample, _ x: Float, _ z: Float, steepness: Float) -> LandscapeClass {
        if let w = s.waterClass { return w }
        if let o = s.object { return o }
        let g = s.ground
        if s.mountain > 15, s.mountain > s.hill {
            let jitter = s.rangeHeight * 0.12 * fbm(x / 120, z / 120, rockSeed &+ 2, octaves: 3)
            if g > s.snowLine + jitter {
                return steepness < 0.55 ? .snow : .rock
            }
            if steepness > 0.5 || (g > s.snowLine * 0.75 + jitter && steepness > 0.3) { return .rock }
            if s.mountain > s.rangeHeight * 0.12 || g > 60 { return .mountain }
        }
        if z < 1500, rockiness(x, z) > rockThreshold { return .rock }
        if s.riverBank { return sandyGround ? .sand : .dirt }
        if isBeach(g) { return .sand }
        if s.hill > max(6, hillAmp * 0.12) { return .hill }
        if let p = path {
            let c = riverCentre(p, z)
            if abs(x - c) < p.halfWidth * (1 + 0.3 * gradientNoise(z / 7, 1.3, dirtSeed)) { return .dirt }
        }
        if sandyGround {
            return fbm(x / 70, z / 70, dirtSeed, octaves: 3) > dirtThreshold ? .dirt : .sand
        }
        if fbm(x / 45, z / 45, dirtSeed, octaves: 3) > dirtThreshold { return .dirt }
        if fbm(x / 35, z / 35, flowerSeed, octaves: 3) > flowerThreshold { return .flower }
        return .grass
    }
}
