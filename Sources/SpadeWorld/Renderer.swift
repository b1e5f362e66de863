import Foundation

/// One rendered pair in memory: 8-bit RGB (interleaved) and one class index per pixel.
struct RenderedPair {
    var width: Int, height: Int
    var rgb: [UInt8]
    var labels: [UInt8]
}

/// Renders a layout under a style by marching a ray per column over the height field, front to back
/// (the "voxel space" method): each sample that rises above what is already drawn fills the rows it
/// uncovers. Labels come from the same class decision that picks the surface colour, so the picture
/// shows a class exactly where the label map has it.
struct Renderer {
    let layout: SceneLayout
    let style: StyleInfo
    let light: Lighting
    let materials: MaterialSet
    let width: Int, height: Int
    let focal: Float, centreX: Float, horizon: Float

    init(layout: SceneLayout, style: StyleInfo, width: Int, height: Int) {
        self.layout = layout
        self.style = style
        self.light = Lighting(style: style)
        self.materials = MaterialSet(season: style.season, layout: layout)
        self.width = width
        self.height = height
        focal = layout.focal * Float(width)
        centreX = Float(width) * 0.5
        horizon = layout.horizonFraction * Float(height)
    }

    func render() -> RenderedPair {
        let n = width * height
        var colour = [Float](repeating: 0, count: n * 3)
        var labels = [UInt8](repeating: 0, count: n)
        var depth = [Float](repeating: .infinity, count: n)
        var column = ColumnScratch()
        for x in 0..<width {
            renderColumn(x, &colour, &labels, &depth, &column)
        }
        return finish(colour, labels)
    }

    // MARK: - Columns

    struct ColumnScratch {
        var zs: [Float] = []
        var hs: [Float] = []
        var waterRows: [Int] = []
        var waterDepth: [Float] = []
        var waterLevel: [Float] = []
        var waterClass: [LandscapeClass] = []
        var waterGround: [Float] = []
    }

    private func renderColumn(_ col: Int, _ colour: inout [Float], _ labels: inout [UInt8], _ depth: inout [Float], _ scratch: inout ColumnScratch) {
        let dirX = (Float(col) + 0.5 - centreX) / focal
        let camY = layout.cameraY
        scratch.zs.removeAll(keepingCapacity: true)
        scratch.hs.removeAll(keepingCapacity: true)
        scratch.waterRows.removeAll(keepingCapacity: true)
        scratch.waterDepth.removeAll(keepingCapacity: true)
        scratch.waterLevel.removeAll(keepingCapacity: true)
        scratch.waterClass.removeAll(keepingCapacity: true)
        scratch.waterGround.removeAll(keepingCapacity: true)

        var top = height                 // rows >= top are drawn
        // Start where the ground enters the bottom row (with margin for bumps and nearby objects).
        var z: Float = max(0.6, 0.5 * layout.eyeHeight * focal / max(Float(height) - horizon, 1))
        var prevZ = z, prevH: Float = 0, prevRow = Float(height) + 1
        var prevGX: Float = 0, prevGZ: Float = 0
        var prevGround: Float = layout.terrainHeight(0, z)
        var first = true
        var sampleVisibility: Float = -1
        let objectFar: Float = 1000
        while z < layout.farDistance && top > 0 {
            let x = dirX * z
            let s = layout.sample(x, z, objects: z < objectFar, visibleAbove: camY - (Float(top) - horizon) * z / focal)
            let h = s.height
            let row = horizon - focal * (h - camY) / z
            scratch.zs.append(z)
            scratch.hs.append(h)
            if first { prevH = h; prevGround = s.ground; first = false }
            let newTop = max(0, Int((row + 0.5).rounded(.up)))
            if newTop < top {
                // Terrain slope for lighting: across the ray by a small offset, along it from the last sample.
                let e = max(0.15, z * 0.008)
                let gx = (layout.terrainHeight(x + e, z) - s.ground) / e
                let gz = (s.ground - prevGround) / max(z - prevZ, 1e-3)
                do {
                    sampleVisibility = -1   // computed on first use for this sample
                    for r in newTop..<top {
                        let yc = Float(r) + 0.5
                        // Where this row meets the surface between the previous sample and this one.
                        var t: Float = 1
                        if prevRow > row { t = min(max((prevRow - yc) / (prevRow - row), 0), 1) }
                        let zi = prevZ + (z - prevZ) * t
                        let xi = dirX * zi
                        var si = (t > 0.9 || top - newTop == 1) ? s : layout.sample(xi, zi, objects: zi < objectFar)
                        // A span uncovered by an object belongs to that object.
                        if s.object != nil, si.object == nil { si = s }
                        let gxi = prevGX + (gx - prevGX) * t, gzi = prevGZ + (gz - prevGZ) * t
                        let idx = r * width + col
                        depth[idx] = zi
                        shadeSurface(si, xi, zi, gxi, gzi, pixelHeight: prevH + (h - prevH) * t, rowCentre: yc, dirX: dirX, idx: idx,
                                     visibility: &sampleVisibility, &colour, &labels, &scratch, row: r)
                    }
                    top = newTop
                }
                prevGX = gx; prevGZ = gz
            }
            prevRow = min(prevRow, row)
            prevZ = z; prevH = h; prevGround = s.ground
            // Nothing further away can rise above what is already drawn: stop.
            let highest = layout.maxHeight(beyond: z)
            if horizon - focal * (highest - camY) / z > Float(top) { break }
            // About one row per step on flat ground, finer near the camera where objects stand. The
            // schedule depends on z only, so neighbouring columns sample the same depths (no streaks).
            var rel = min(max(1.2 * z / (layout.eyeHeight * focal), 0.022), z < 700 ? 0.035 : 0.03)
            if z > 700, !layout.hasRelief(near: z) { rel = 0.05 }   // open plain or sea: nothing rises here
            z += max(0.05, z * rel)
        }
        // Anything below the horizon still undrawn is the far ground or sea; above it is sky.
        if top > 0 {
            let far = layout.farDistance
            let s = layout.sample(dirX * far, far, objects: false)
            let horizonRow = Int(horizon.rounded(.up))
            if top > horizonRow {
                for r in horizonRow..<top {
                    let idx = r * width + col
                    depth[idx] = far
                    shadeSurface(s, dirX * far, far, 0, 0, pixelHeight: s.height, rowCentre: Float(r) + 0.5, dirX: dirX, idx: idx,
                                 visibility: &sampleVisibility, &colour, &labels, &scratch, row: r)
                }
                top = horizonRow
            }
            for r in 0..<top {
                let (c, cloud) = skyColour(col: Float(col) + 0.5, row: Float(r) + 0.5)
                let idx = r * width + col
                colour[idx * 3] = c.r; colour[idx * 3 + 1] = c.g; colour[idx * 3 + 2] = c.b
                labels[idx] = cloud ? LandscapeClass.cloud.rawValue : LandscapeClass.sky.rawValue
            }
        }
        reflect(col, dirX, &colour, &scratch)
    }

    // MARK: - Surfaces

    private func shadeSurface(_ s: TerrainSample, _ x: Float, _ z: Float, _ gx: Float, _ gz: Float, pixelHeight: Float, rowCentre: Float, dirX: Float,
                              idx: Int, visibility cached: inout Float, _ colour: inout [Float], _ labels: inout [UInt8], _ scratch: inout ColumnScratch, row: Int) {
        let footprint = z / focal
        let slopeLen = sqrt(gx * gx + gz * gz + 1)
        let steepness = 1 - 1 / slopeLen
        let label = layout.classify(s, x, z, steepness: steepness)
        labels[idx] = label.rawValue
        if label.isWater {
            // Water is shaded after the whole column is drawn, since it mirrors what lies behind it.
            scratch.waterRows.append(row)
            scratch.waterDepth.append(z)
            scratch.waterLevel.append(s.height)
            scratch.waterClass.append(label)
            scratch.waterGround.append(s.ground)
            return
        }
        let p = SurfacePoint(x: x, z: z, footprint: footprint, ground: s.ground, height: pixelHeight, label: label, sample: s, steepness: steepness)
        let (albedo, bx, bz) = materials.albedo(p, layout: layout)
        var n: (x: Float, y: Float, z: Float)
        if s.object != nil && (label == .tree || label == .bush) && s.objectShade != 0.7 {
            n = s.objectNormal
            n.x += bx * 0.5; n.z += bz * 0.5
        } else {
            n = (-(gx + bx), 1, -(gz + bz))
        }
        let inv = 1 / sqrt(n.x * n.x + n.y * n.y + n.z * n.z)
        n = (n.x * inv, n.y * inv, n.z * inv)
        let sun = light.sunDir
        let lambert = max(0, n.x * sun.x + n.y * sun.y + n.z * sun.z)
        var visibility: Float = 1
        if lambert > 0, light.sunColour.luma > 0.05 {
            // One shadow test per march sample: the rows it uncovers share it.
            if cached < 0 { cached = sunVisibility(x, z, s.height + 0.3) * cloudShadow(x, z, s.height) }
            visibility = cached
        }
        // Objects darken toward their base and in the middle of dense canopy (ambient occlusion).
        var ao: Float = 1
        if s.object != nil {
            let rel = clamp01((pixelHeight - s.ground) / max(s.height - s.ground, 0.1))
            // Crowns shade their own lower parts; the understorey at the foot is darkest.
            ao = 0.12 + 0.88 * pow(rel, 0.7) * (0.6 + 0.4 * s.objectShade)
        }
        let skyLight = 0.55 + 0.45 * n.y
        var c = albedo * (light.sunColour * (lambert * visibility) + light.ambient * (skyLight * ao))
        c = atmosphere(c, distance: sqrt(z * z * (1 + dirX * dirX) + (s.height - layout.cameraY) * (s.height - layout.cameraY)),
                       col: 0, rowCentre: rowCentre, dirX: dirX)
        colour[idx * 3] = c.r; colour[idx * 3 + 1] = c.g; colour[idx * 3 + 2] = c.b
    }

    /// Soft shadow: march toward the sun over the terrain and keep the narrowest clearance seen.
    private func sunVisibility(_ x: Float, _ z: Float, _ h: Float) -> Float {
        let sun = light.sunDir
        let horiz = max(sqrt(sun.x * sun.x + sun.z * sun.z), 1e-3)
        let ux = sun.x / horiz, uz = sun.z / horiz, rise = sun.y / horiz
        var t: Float = 3 + z * 0.004
        var vis: Float = 1
        for _ in 0..<5 {
            let px = x + ux * t, pz = z + uz * t
            let rayH = h + rise * t
            let th = layout.shadowHeight(px, pz)
            // Penumbra widens with distance from the occluder.
            vis = min(vis, clamp01(0.5 + (rayH - th) / (t * 0.08 + 1)))
            if vis <= 0 { break }
            t *= 2.8
        }
        return vis * vis * (3 - 2 * vis)
    }

    /// Clouds between a point and the sun dim its sunlight (soft-edged patches drifting over the land).
    private func cloudShadow(_ x: Float, _ z: Float, _ h: Float) -> Float {
        let sun = light.sunDir
        guard layout.cloudCover > 0, !light.overcast, sun.y > 0.1 else { return 1 }
        let t = (layout.cameraY + layout.cloudHeight - h) / sun.y
        let px = x + sun.x * t, pz = z + sun.z * t
        let sc = layout.cloudScale
        let n = fbm(px / sc, pz / (sc * layout.cloudStretch), layout.cloudSeed, octaves: 3) * 0.5 + 0.5
        let density = (n - (1 - layout.cloudCover * 0.8) * 0.72) * 2.2
        return 1 - 0.65 * smoothstep(-0.05, 0.25, density)
    }

    /// Aerial perspective: distant surfaces fade into a haze that glows toward the sun; fog on top.
    @inline(__always) private func atmosphere(_ c: Colour, distance d: Float, col: Float, rowCentre: Float, dirX: Float) -> Colour {
        let hazeT = 1 - exp(-d / light.hazeDistance)
        let dir = (x: dirX, y: (horizon - rowCentre) / focal, z: Float(1))
        let len = sqrt(dir.x * dir.x + dir.y * dir.y + 1)
        let cosSun = max(0, (dir.x * light.sunDir.x + dir.y * light.sunDir.y + dir.z * light.sunDir.z) / len)
        let hazeColour = light.hazeColour + light.glow * (pow(cosSun, 6) * 0.8)
        var out = c.mix(hazeColour, hazeT)
        if light.fogDistance > 0 {
            let fogT = min(0.9, 1 - exp(-d / light.fogDistance))
            out = out.mix(light.fogColour, fogT)
        }
        return out
    }

    // MARK: - Sky

    /// Sky and clouds for a pixel (also looked up by reflections, with rows mirrored at the horizon).
    func skyColour(col: Float, row: Float) -> (Colour, Bool) {
        let dx = (col - centreX) / focal, dy = (horizon - row) / focal
        let len = sqrt(dx * dx + dy * dy + 1)
        let ex = dx / len, ey = dy / len, ez = 1 / len
        let sun = light.sunDir
        let cosSun = ex * sun.x + ey * sun.y + ez * sun.z
        let up = max(ey, 0)
        var c = light.horizon.mix(light.zenith, pow(up, 0.55))
        // Brighter band just above the horizon, and a glow around the sun.
        c = c + light.horizon * (0.12 * exp(-up * 30))
        if cosSun > 0 { c = c + light.glow * (pow(cosSun, 12) * 0.9 + pow(cosSun, 150) * 1.5) }
        if light.showSunDisk, cosSun > 0.99985 { c = c + light.sunColour * 1.8 }
        // Clouds on a plane above the camera, seen in perspective.
        var isCloud = false
        if ey > 0.004, layout.cloudCover > 0 {
            let t = (layout.cloudHeight) / ey
            let px = ex * t, pz = ez * t
            let fade = 1 - smoothstep(25000, 90000, t)
            let sc = layout.cloudScale
            let octaves = t > 40000 ? 3 : 5
            let n = fbm(px / sc, pz / (sc * layout.cloudStretch), layout.cloudSeed, octaves: octaves) * 0.5 + 0.5
            let density = (n - (1 - layout.cloudCover * 0.8) * 0.72) * 2.2 * fade - (1 - fade) * 0.2
            if density > 0 {
                isCloud = true
                // Lit from the sun's side: compare with the density a step toward the sun.
                let step = sc * 0.08
                let n2 = fbm((px + sun.x * step * 3) / sc, (pz + sun.z * step * 3) / (sc * layout.cloudStretch), layout.cloudSeed, octaves: 3) * 0.5 + 0.5
                let lit = clamp01(0.6 + (n - n2) * 6)
                let thick = clamp01(density * 1.5)
                var cc = light.cloudShade.mix(light.cloudLit, lit * (1 - thick * 0.4))
                if cosSun > 0 { cc = cc + light.glow * (pow(cosSun, 10) * 0.6 * (1 - thick)) }
                let alpha = smoothstep(0, 0.18, density) * (0.55 + 0.45 * fade)
                c = c.mix(cc, alpha)
            }
        }
        return (c, isCloud)
    }

    // MARK: - Water

    private func reflect(_ col: Int, _ dirX: Float, _ colour: inout [Float], _ scratch: inout ColumnScratch) {
        let camY = layout.cameraY
        let count = scratch.zs.count
        var startIndex = 0
        for w in 0..<scratch.waterRows.count {
            let row = scratch.waterRows[w]
            let zw = scratch.waterDepth[w], level = scratch.waterLevel[w], kind = scratch.waterClass[w]
            let x = dirX * zw
            let idx = row * width + col
            // Ripples tilt the mirror: calm lakes barely, the sea a lot.
            let rough: Float = kind == .sea ? 3.0 : kind == .river ? 1.6 : 0.6
            let ripple = fbm(x / 3, zw / 9, layout.detailSeed &+ 40, octaves: 3) * rough
                + (kind == .sea ? 1.2 * sin(zw * 0.9 + x * 0.15 + 2 * gradientNoise(x / 20, zw / 20, layout.detailSeed)) : 0)
            let yc = Float(row) + 0.5 + ripple * min(1, 40 / zw + 0.25)
            let k = max(1e-4, (yc - horizon) / focal)         // upward slope of the mirrored ray
            var reflected: Colour? = nil
            while startIndex < count && scratch.zs[startIndex] <= zw { startIndex += 1 }
            var i = startIndex
            while i < count {
                let z = scratch.zs[i]
                let rayH = level + k * (z - zw)
                if scratch.hs[i] > rayH + 0.05 {
                    // The camera sees that point on this column's row; take its colour from the frame.
                    let r = Int(horizon - focal * (scratch.hs[i] - camY) / z)
                    if r >= 0 && r < height {
                        let j = (r * width + col) * 3
                        reflected = Colour(colour[j], colour[j + 1], colour[j + 2])
                    }
                    break
                }
                if rayH > layout.maxHeight(beyond: z) { break }
                i += 1 + (z > 2000 ? 2 : 0)
            }
            let mirrorRow = 2 * horizon - yc
            let refl = reflected ?? skyColour(col: Float(col) + 0.5, row: min(mirrorRow, horizon - 0.5)).0
            // Fresnel: grazing views mirror, steep views show the water body.
            let cosView = (camY - level) / sqrt(zw * zw * (1 + dirX * dirX) + (camY - level) * (camY - level))
            let fresnel = 0.03 + 0.97 * pow(1 - cosView, 5)
            var body: Colour
            switch kind {
            case .sea:
                let shallow = clamp01(1 + (scratch.waterGround[w] - level) / 4)
                body = materials.sea.mix(materials.shallowSea, shallow * 0.7)
            case .river: body = materials.river
            default: body = materials.lake
            }
            body = body * (light.ambient.luma * 1.4 + light.sunColour.luma * 0.25)
            var c = body.mix(refl, min(0.92, fresnel * 1.1 + (kind == .water ? 0.18 : 0.05)))
            // Foam where waves break on the beach, glitter where the sun is mirrored.
            if kind == .sea {
                let depthBelow = level - scratch.waterGround[w]
                let foam = clamp01(1 - depthBelow / 0.8) * clamp01(0.5 + fbm(x / 4, zw / 2, layout.detailSeed &+ 41, octaves: 2) * 1.5)
                c = c.mix(Colour(0.85, 0.87, 0.9) * (light.ambient.luma + light.sunColour.luma * 0.4), foam)
            }
            let distance = sqrt(zw * zw * (1 + dirX * dirX) + (camY - level) * (camY - level))
            c = atmosphere(c, distance: distance, col: 0, rowCentre: Float(row) + 0.5, dirX: dirX)
            colour[idx * 3] = c.r; colour[idx * 3 + 1] = c.g; colour[idx * 3 + 2] = c.b
        }
    }

    // MARK: - Output

    private func finish(_ colour: [Float], _ labels: [UInt8]) -> RenderedPair {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let table = toneTable
        let sat = light.saturation
        let exposure = light.exposure
        let grainSeed = layout.detailSeed &+ 99
        for y in 0..<height {
            let vy = (Float(y) / Float(height) - 0.5)
            for x in 0..<width {
                let i = (y * width + x) * 3
                let vx = (Float(x) / Float(width) - 0.5)
                let vignette = exposure * (1 - 0.25 * (vx * vx + vy * vy))
                var r = colour[i] * vignette, g = colour[i + 1] * vignette, b = colour[i + 2] * vignette
                let l = 0.2126 * r + 0.7152 * g + 0.0722 * b
                r = l + (r - l) * sat; g = l + (g - l) * sat; b = l + (b - l) * sat
                let grain = (hashUnit(Int32(x), Int32(y), grainSeed) - 0.5) * 0.004
                rgb[i] = table[toneIndex(r + grain)]
                rgb[i + 1] = table[toneIndex(g + grain)]
                rgb[i + 2] = table[toneIndex(b + grain)]
            }
        }
        return RenderedPair(width: width, height: height, rgb: rgb, labels: labels)
    }
}

private let toneSteps = 4096
private let toneMax: Float = 4

@inline(__always) private func toneIndex(_ v: Float) -> Int {
    Int(min(max(v, 0), toneMax) * Float(toneSteps - 1) / toneMax)
}

/// Linear light to 8-bit display values: a soft shoulder for highlights, then the sRGB curve.
private let toneTable: [UInt8] = (0..<toneSteps).map { i in
    let v = Float(i) / Float(toneSteps - 1) * toneMax
    let mapped = v * (1 + v / 6) / (1 + v)
    let s = mapped <= 0.0031308 ? mapped * 12.92 : 1.055 * pow(mapped, 1 / 2.4) - 0.055
    return UInt8(min(max(s * 255 + 0.5, 0), 255))
}
