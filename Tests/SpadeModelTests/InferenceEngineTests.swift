import XCTest
@testable import SpadeModel

/// The inference engine against the generator's own eval forward (the reference in these tests):
/// full frames, incremental edits anywhere (edges, corners, multiples of the coarse levels' strides),
/// restyling, cancellation, the one-hot gather, and the instance-norm fallback.
final class InferenceEngineTests: XCTestCase {
    /// Small configurations: 64² output, label map 64² (levels 2² … 64², strides 32 … 1).
    static func smallConfig(labelNC: Int = 6, dontcare: Bool = false, instance: Bool = false, vae: Bool = false,
                            normG: String = "spectralspadebatch3x3", crop: Int = 64, aspect: Double = 1,
                            mode: UpsamplingMode = .normal) -> SPADEConfig {
        SPADEConfig(labelNC: labelNC, containDontcareLabel: dontcare, noInstance: !instance, ngf: 4, zDim: 8,
                    cropSize: crop, aspectRatio: aspect, numUpsamplingLayers: mode, normG: normG, useVAE: vae,
                    spadeHidden: 8)
    }

    static func generator(_ config: SPADEConfig, seed: UInt64 = 3) throws -> SPADEGenerator {
        var rng = RandomGenerator(seed: seed)
        let g = try SPADEGenerator(config: config, rng: &rng)
        RandomEvalWeights.apply(to: g, rng: &rng)
        return g
    }

    /// A painter-like map: a background and random rectangles of other classes.
    static func blobLabels(width: Int, height: Int, classes: Int, rng: inout RandomGenerator) -> [UInt8] {
        var map = [UInt8](repeating: 0, count: width * height)
        for _ in 0..<12 {
            let c = UInt8(Int(rng.next() % UInt64(classes)))
            let x0 = Int(rng.next() % UInt64(width)), y0 = Int(rng.next() % UInt64(height))
            let w = 1 + Int(rng.next() % UInt64(width / 2)), h = 1 + Int(rng.next() % UInt64(height / 2))
            for y in y0..<min(height, y0 + h) { for x in x0..<min(width, x0 + w) { map[y * width + x] = c } }
        }
        return map
    }

    static func reference(_ g: SPADEGenerator, _ labels: [UInt8], width: Int, height: Int, z: Tensor?) throws -> Tensor {
        let oneHot = try LabelEncoding.oneHot(labels, height: height, width: width, config: g.config)
        return g.forward(labels: oneHot, z: z, training: false)
    }

    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
        return m
    }

    func checkFullFrame(_ config: SPADEConfig, labelSize: (Int, Int)? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let g = try Self.generator(config)
        let (w, h) = labelSize ?? (config.labelMapSize.width, config.labelMapSize.height)
        var rng = RandomGenerator(seed: 11)
        let labels = Self.blobLabels(width: w, height: h, classes: config.labelNC, rng: &rng)
        let engine = InferenceEngine(generator: g)
        try engine.setLabels(labels, width: w, height: h)
        var z: Tensor?
        if config.useVAE {
            z = rng.normalTensor([1, config.zDim])
            try engine.setStyle(z: z)
        }
        let out = try XCTUnwrap(engine.render(), file: file, line: line)
        let ref = try Self.reference(g, labels, width: w, height: h, z: z)
        XCTAssertEqual(out.shape, ref.shape, file: file, line: line)
        // The test weights must make a real picture, not a saturated one, or the comparison proves little.
        let saturated = ref.data.filter { abs($0) > 0.99 }.count
        XCTAssertLessThan(saturated, ref.count / 2, "reference output mostly saturated", file: file, line: line)
        XCTAssertLessThanOrEqual(Self.maxAbsDiff(out, ref), 1e-4, "\(config.jsonString())", file: file, line: line)
    }

    func testFullFrameMatchesGeneratorAcrossConfigurations() throws {
        try checkFullFrame(Self.smallConfig())
        try checkFullFrame(Self.smallConfig(dontcare: true, normG: "spectralspadesyncbatch3x3"))
        try checkFullFrame(Self.smallConfig(instance: true))
        try checkFullFrame(Self.smallConfig(vae: true))
        try checkFullFrame(Self.smallConfig(normG: "spadebatch5x5"))
        try checkFullFrame(Self.smallConfig(vae: true, normG: "spectralspadesyncbatch1x1"))
        try checkFullFrame(Self.smallConfig(crop: 128, aspect: 2, mode: .more))
        try checkFullFrame(Self.smallConfig(crop: 128, mode: .most))
        // A label map of another size than the output: every level resamples it.
        try checkFullFrame(Self.smallConfig(), labelSize: (50, 70))
    }

    /// Edits at the corners, on the edges, at multiples of 8, 16 and 32, and at random places, of sizes
    /// from one pixel to a large block; after each the engine must equal a fresh full forward.
    func checkIncrementalEdits(_ config: SPADEConfig) throws {
        let g = try Self.generator(config)
        let (h, w) = config.labelMapSize
        var rng = RandomGenerator(seed: 21)
        var labels = Self.blobLabels(width: w, height: h, classes: config.labelNC, rng: &rng)
        let engine = InferenceEngine(generator: g)
        try engine.setLabels(labels, width: w, height: h)
        var z: Tensor?
        if config.useVAE {
            z = rng.normalTensor([1, config.zDim])
            try engine.setStyle(z: z)
        }
        XCTAssertNotNil(engine.render())
        var edits: [PixelRect] = [
            PixelRect(x: 0, y: 0, width: 1, height: 1), PixelRect(x: w - 1, y: h - 1, width: 1, height: 1),
            PixelRect(x: w - 3, y: 0, width: 3, height: 2), PixelRect(x: 0, y: h - 4, width: 4, height: 4),
            PixelRect(x: 8, y: 8, width: 1, height: 1), PixelRect(x: 16, y: 40, width: 2, height: 1),
            PixelRect(x: 32, y: 32, width: 1, height: 1), PixelRect(x: 33, y: 31, width: 1, height: 1),
            PixelRect(x: 24, y: 48, width: 4, height: 4), PixelRect(x: 0, y: 16, width: w, height: 1),
            PixelRect(x: 5, y: 0, width: 1, height: h), PixelRect(x: 10, y: 12, width: 26, height: 26),
        ]
        for _ in 0..<12 {
            let ew = 1 + Int(rng.next() % 12), eh = 1 + Int(rng.next() % 12)
            edits.append(PixelRect(x: Int(rng.next() % UInt64(w - ew + 1)), y: Int(rng.next() % UInt64(h - eh + 1)),
                                   width: ew, height: eh))
        }
        for edit in edits {
            let value = UInt8(Int(rng.next() % UInt64(config.labelNC)))
            try engine.updateLabels(in: edit, values: [UInt8](repeating: value, count: edit.area))
            for y in edit.y0..<edit.y1 { for x in edit.x0..<edit.x1 { labels[y * w + x] = value } }
            let out = try XCTUnwrap(engine.render())
            let ref = try Self.reference(g, labels, width: w, height: h, z: z)
            XCTAssertLessThanOrEqual(Self.maxAbsDiff(out, ref), 1e-4, "after editing \(edit) to \(value)")
        }
    }

    func testIncrementalEditsEqualFullRecompute() throws {
        try checkIncrementalEdits(Self.smallConfig())
        try checkIncrementalEdits(Self.smallConfig(dontcare: true, instance: true))
        try checkIncrementalEdits(Self.smallConfig(vae: true))
        // The default model's kind: 1×1 SPADE convs (γ, β per class everywhere).
        try checkIncrementalEdits(Self.smallConfig(vae: true, normG: "spectralspadesyncbatch1x1"))
        try checkIncrementalEdits(Self.smallConfig(crop: 128, aspect: 2, mode: .more))
    }

    /// The whole engine through the Winograd path (thresholds lowered so the small test models' convs take
    /// it), also in many small bands: full frames and incremental edits still equal the generator.
    func testWinogradPathMatchesGenerator() throws {
        let saved = (WinogradConv.minimumChannels, WinogradConv.minimumArea, EngineScratch.bandBudget,
                     WinogradConv.chunkFloats, WinogradConv.minimumChunkTiles, WinogradConv.minimumLargeTiles)
        defer {
            (WinogradConv.minimumChannels, WinogradConv.minimumArea, EngineScratch.bandBudget,
             WinogradConv.chunkFloats, WinogradConv.minimumChunkTiles, WinogradConv.minimumLargeTiles) = saved
        }
        WinogradConv.minimumChannels = 1
        WinogradConv.minimumArea = 1
        try checkFullFrame(Self.smallConfig(vae: true))
        try checkIncrementalEdits(Self.smallConfig(vae: true))
        EngineScratch.bandBudget = 2000
        try checkFullFrame(Self.smallConfig())
        try checkIncrementalEdits(Self.smallConfig(crop: 128, aspect: 2, mode: .more))
        // Tile-local chunks of one tile row wherever a rectangle has enough of them.
        (WinogradConv.chunkFloats, WinogradConv.minimumChunkTiles) = (1, 1)
        try checkIncrementalEdits(Self.smallConfig(vae: true))
        EngineScratch.bandBudget = saved.2
        try checkFullFrame(Self.smallConfig(crop: 128, aspect: 2, mode: .more))
        // F(4×4, 3×3) everywhere, channel-wide and tile-local.
        WinogradConv.minimumLargeTiles = 0
        try checkIncrementalEdits(Self.smallConfig(vae: true))
        (WinogradConv.chunkFloats, WinogradConv.minimumChunkTiles) = (saved.3, saved.4)
        try checkFullFrame(Self.smallConfig(vae: true))
        try checkIncrementalEdits(Self.smallConfig(crop: 128, aspect: 2, mode: .more))
    }

    /// A one-pixel edit at an odd position reaches only the finest level: a small part of the output is
    /// recomputed. At a multiple of 32 (read by the 2² latent `fc`) everything is.
    func testSmallEditsRecomputeLittle() throws {
        let config = Self.smallConfig()
        let engine = InferenceEngine(generator: try Self.generator(config))
        let labels = [UInt8](repeating: 1, count: 64 * 64)
        try engine.setLabels(labels, width: 64, height: 64)
        _ = engine.render()
        XCTAssertEqual(engine.lastStats.outputFraction, 1)
        try engine.updateLabels(in: PixelRect(x: 31, y: 31, width: 1, height: 1), values: [2])
        _ = engine.render()
        XCTAssertGreaterThan(engine.lastStats.outputFraction, 0)
        XCTAssertLessThan(engine.lastStats.outputFraction, 0.1)
        try engine.updateLabels(in: PixelRect(x: 32, y: 32, width: 1, height: 1), values: [2])
        _ = engine.render()
        XCTAssertEqual(engine.lastStats.outputFraction, 1)
        // No change, no work.
        try engine.updateLabels(in: PixelRect(x: 32, y: 32, width: 1, height: 1), values: [2])
        _ = engine.render()
        XCTAssertEqual(engine.lastStats.outputFraction, 0)
    }

    /// The uniform-region shortcut (per-class γ, β inside one-class windows) changes the work, not the
    /// result: with and without it the engine equals the generator, and with it fewer multiply-adds are done.
    func testUniformRegionShortcutIsExactAndSavesWork() throws {
        for config in [Self.smallConfig(), Self.smallConfig(dontcare: true, instance: true), Self.smallConfig(normG: "spadebatch5x5")] {
            let g = try Self.generator(config)
            var rng = RandomGenerator(seed: 17)
            var labels = Self.blobLabels(width: 64, height: 64, classes: config.labelNC, rng: &rng)
            var off = InferenceEngine.Options()
            off.uniformRegionShortcut = false
            let plain = InferenceEngine(generator: g, options: off)
            let fast = InferenceEngine(generator: g)
            for step in 0..<4 {
                if step > 0 {
                    let edit = PixelRect(x: 9 * step, y: 40 - 8 * step, width: 5 + step, height: 3)
                    let v = UInt8(step % config.labelNC)
                    for y in edit.y0..<edit.y1 { for x in edit.x0..<edit.x1 { labels[y * 64 + x] = v } }
                }
                try plain.setLabels(labels, width: 64, height: 64)
                try fast.setLabels(labels, width: 64, height: 64)
                let a = try XCTUnwrap(plain.render()), b = try XCTUnwrap(fast.render())
                let ref = try Self.reference(g, labels, width: 64, height: 64, z: nil)
                XCTAssertLessThanOrEqual(Self.maxAbsDiff(a, ref), 1e-4)
                XCTAssertLessThanOrEqual(Self.maxAbsDiff(b, ref), 1e-4, "shortcut, step \(step), \(config.normG)")
                if step == 0 { XCTAssertLessThan(fast.lastStats.multiplyAdds, plain.lastStats.multiplyAdds * 9 / 10) }
            }
        }
    }

    func testRestyleEqualsFullRecompute() throws {
        let config = Self.smallConfig(vae: true)
        let g = try Self.generator(config)
        var rng = RandomGenerator(seed: 5)
        let labels = Self.blobLabels(width: 64, height: 64, classes: config.labelNC, rng: &rng)
        let engine = InferenceEngine(generator: g)
        try engine.setLabels(labels, width: 64, height: 64)
        try engine.setStyle(z: rng.normalTensor([1, config.zDim]))
        let first = try XCTUnwrap(engine.render())
        let z2 = rng.normalTensor([1, config.zDim])
        try engine.setStyle(z: z2)
        let second = try XCTUnwrap(engine.render())
        XCTAssertGreaterThan(Self.maxAbsDiff(first, second), 0.01, "a new style must change the picture")
        XCTAssertLessThanOrEqual(Self.maxAbsDiff(second, try Self.reference(g, labels, width: 64, height: 64, z: z2)), 1e-4)
        XCTAssertThrowsError(try engine.setStyle(z: Tensor(shape: [1, 3])))
        XCTAssertThrowsError(try InferenceEngine(generator: try Self.generator(Self.smallConfig())).setStyle(z: z2))
    }

    /// Cancelling after every possible number of layers, then editing again and rendering to the end,
    /// always gives the full recompute of the latest labels.
    func testCancelLeavesConsistentState() throws {
        let config = Self.smallConfig(dontcare: true)
        let g = try Self.generator(config)
        var rng = RandomGenerator(seed: 8)
        var labels = Self.blobLabels(width: 64, height: 64, classes: config.labelNC, rng: &rng)
        let engine = InferenceEngine(generator: g)
        try engine.setLabels(labels, width: 64, height: 64)
        var cancelledSome = false
        for cancelAfter in [0, 1, 3, 7, 12, 20, 30, 1000] {
            var polls = 0
            let result = engine.render { polls += 1; return polls > cancelAfter }
            if result == nil { cancelledSome = true }
            // A newer edit arrives (sometimes on a multiple of 32, reaching every level).
            let edit = cancelAfter % 2 == 0 ? PixelRect(x: 32, y: 0, width: 3, height: 5)
                                            : PixelRect(x: Int(rng.next() % 60), y: Int(rng.next() % 60), width: 4, height: 4)
            let value = UInt8(Int(rng.next() % UInt64(config.labelNC)))
            try engine.updateLabels(in: edit, values: [UInt8](repeating: value, count: edit.area))
            for y in edit.y0..<edit.y1 { for x in edit.x0..<edit.x1 { labels[y * 64 + x] = value } }
            let out = try XCTUnwrap(engine.render())
            XCTAssertLessThanOrEqual(Self.maxAbsDiff(out, try Self.reference(g, labels, width: 64, height: 64, z: nil)), 1e-4,
                                     "cancelled after \(cancelAfter) polls")
        }
        XCTAssertTrue(cancelledSome)
    }

    /// The gather equals the conv it replaces on a one-hot map with don't-care and instance edges,
    /// over the whole map and over a sub-rectangle.
    func testOneHotGatherEqualsConv() throws {
        let config = Self.smallConfig(labelNC: 5, dontcare: true, instance: true)
        var rng = RandomGenerator(seed: 4)
        let conv = Conv2dLayer(config.semanticNC, 7, kernel: 3, padding: 1, rng: &rng)
        conv.weight.value = rng.normalTensor(conv.weight.value.shape)
        conv.bias!.value = rng.normalTensor([7])
        var labels = Self.blobLabels(width: 20, height: 13, classes: 5, rng: &rng)
        labels[7] = 255
        let levels = LabelLevels(config: config)
        _ = levels.replace(tokens: try levels.encode(labels, width: 20, height: 13, source: "test"), width: 20, height: 13)
        let oneHot = try LabelEncoding.oneHot(labels, height: 13, width: 20, config: config)
        let expected = Conv2d.forward(oneHot, weight: conv.weight.value, bias: conv.bias!.value, stride: 1, padding: 1)
        for relu in [false, true] {
            let gather = OneHotGather(conv, labelChannels: config.labelChannels, hasEdgeChannel: true, relu: relu)
            var out = [Float](repeating: -7, count: 7 * 13 * 20)
            let rect = PixelRect(y0: 2, y1: 13, x0: 0, x1: 9)
            out.withUnsafeMutableBufferPointer {
                gather.run(tokens: levels.tokens, edges: levels.edges, height: 13, width: 20, rect: rect, output: $0.baseAddress!)
            }
            for c in 0..<7 {
                for y in 0..<13 {
                    for x in 0..<20 {
                        let i = (c * 13 + y) * 20 + x
                        let inside = y >= rect.y0 && y < rect.y1 && x >= rect.x0 && x < rect.x1
                        let want = inside ? (relu ? max(0, expected.data[i]) : expected.data[i]) : -7
                        XCTAssertEqual(out[i], want, accuracy: 1e-5, "channel \(c) at (\(x), \(y)), relu \(relu)")
                    }
                }
            }
        }
    }

    /// Convs over sub-rectangles and pixel lists, split into many bands, equal the plain conv there.
    func testRectAndListConvsEqualConvInManyBands() throws {
        let saved = EngineScratch.bandBudget
        defer { EngineScratch.bandBudget = saved }
        EngineScratch.bandBudget = 500
        var rng = RandomGenerator(seed: 6)
        let x = rng.normalTensor([1, 5, 11, 17])
        for k in [1, 3, 5] {
            let w = rng.normalTensor([6, 5, k, k])
            let expected = Conv2d.forward(x, weight: w, bias: nil, stride: 1, padding: k / 2)
            let conv = FoldedConv(weight: w, bias: nil)
            let scratch = EngineScratch()
            for rect in [PixelRect.full(height: 11, width: 17), PixelRect(y0: 3, y1: 11, x0: 0, x1: 17),
                         PixelRect(y0: 0, y1: 4, x0: 12, x1: 17), PixelRect(y0: 5, y1: 6, x0: 7, x1: 8)] {
                var out = [Float](repeating: .nan, count: 6 * 11 * 17)
                x.withPointer { xp in
                    RectConv.run(conv, input: xp, height: 11, width: 17, rect: rect, scratch: scratch) { band, values in
                        for o in 0..<6 { for y in band.y0..<band.y1 { for xx in band.x0..<band.x1 {
                            out[(o * 11 + y) * 17 + xx] = values[o * band.area + (y - band.y0) * band.width + (xx - band.x0)]
                        } } }
                    }
                }
                var positions: [Int32] = []
                for y in rect.y0..<rect.y1 { for xx in rect.x0..<rect.x1 where (y + xx) % 3 != 0 { positions.append(Int32(y * 17 + xx)) } }
                var listed = [Float](repeating: .nan, count: 6 * 11 * 17)
                x.withPointer { xp in
                    ListConv.run(conv, input: xp, height: 11, width: 17, positions: positions, scratch: scratch) { chunk, values in
                        for o in 0..<6 { for e in chunk { listed[o * 187 + Int(positions[e])] = values[o * chunk.count + e - chunk.lowerBound] } }
                    }
                }
                for o in 0..<6 { for y in 0..<11 { for xx in 0..<17 {
                    let i = (o * 11 + y) * 17 + xx
                    if y >= rect.y0 && y < rect.y1 && xx >= rect.x0 && xx < rect.x1 {
                        XCTAssertEqual(out[i], expected.data[i], accuracy: 1e-4, "k \(k) \(rect) at \(o),\(y),\(xx)")
                        if (y + xx) % 3 != 0 { XCTAssertEqual(listed[i], expected.data[i], accuracy: 1e-4, "list k \(k)") }
                    } else {
                        XCTAssertTrue(out[i].isNaN, "wrote outside \(rect)")
                    }
                    if !(y >= rect.y0 && y < rect.y1 && xx >= rect.x0 && xx < rect.x1) || (y + xx) % 3 == 0 {
                        XCTAssertTrue(listed[i].isNaN, "list conv wrote an unlisted pixel")
                    }
                } } }
            }
        }
        // The whole engine in small bands still equals the generator after an edit.
        let config = Self.smallConfig(vae: true)
        let g = try Self.generator(config)
        var labels = Self.blobLabels(width: 64, height: 64, classes: config.labelNC, rng: &rng)
        let engine = InferenceEngine(generator: g)
        let z = rng.normalTensor([1, config.zDim])
        try engine.setLabels(labels, width: 64, height: 64)
        try engine.setStyle(z: z)
        _ = engine.render()
        for y in 20..<30 { for xx in 3..<9 { labels[y * 64 + xx] = 5 } }
        try engine.setLabels(labels, width: 64, height: 64)
        XCTAssertLessThanOrEqual(Self.maxAbsDiff(try XCTUnwrap(engine.render()), try Self.reference(g, labels, width: 64, height: 64, z: z)), 1e-4)
    }

    func testInstanceNormFallsBackToFullFrames() throws {
        let config = Self.smallConfig(normG: "spectralspadeinstance3x3")
        let g = try Self.generator(config)
        let engine = InferenceEngine(generator: g)
        XCTAssertNotNil(engine.fullFrameReason)
        XCTAssertNil(InferenceEngine(generator: try Self.generator(Self.smallConfig())).fullFrameReason)
        var rng = RandomGenerator(seed: 2)
        var labels = Self.blobLabels(width: 64, height: 64, classes: config.labelNC, rng: &rng)
        try engine.setLabels(labels, width: 64, height: 64)
        XCTAssertNil(engine.render { true })
        labels[100] = 3
        try engine.updateLabels(in: PixelRect(x: 36, y: 1, width: 1, height: 1), values: [3])
        let out = try XCTUnwrap(engine.render())
        XCTAssertEqual(engine.lastStats.outputFraction, 1)
        XCTAssertLessThanOrEqual(Self.maxAbsDiff(out, try Self.reference(g, labels, width: 64, height: 64, z: nil)), 1e-4)
    }

    func testBadLabelValueIsAnErrorNamingThePixel() throws {
        let engine = InferenceEngine(generator: try Self.generator(Self.smallConfig()))
        var labels = [UInt8](repeating: 0, count: 64 * 64)
        labels[2 * 64 + 5] = 6
        XCTAssertThrowsError(try engine.setLabels(labels, width: 64, height: 64, source: "map.png")) { error in
            XCTAssertTrue("\(error)".contains("map.png"), "\(error)")
            XCTAssertTrue("\(error)".contains("x 5, y 2"), "\(error)")
        }
    }
}
