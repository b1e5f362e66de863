import Foundation

/// A problem with what a caller handed the engine (a z of the wrong shape, a style for a model without one).
public struct InferenceEngineError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Eval-mode synthesis for a loaded `SPADEGenerator`, built for painting: the same picture as
/// `generator.forward(labels:z:training: false)` (within float rounding), computed so that small edits
/// are cheap.
///
/// - **Preparation** (`init`): spectral norm and batch norm folded once (`FoldedWeights`), label convs
///   turned into one-hot gathers (`OneHotGather`).
/// - **Caching**: every SPADE's hidden map and folded modulation (x·A + B with A = scale·(1+γ),
///   B = shift·(1+γ) + β) depend only on the labels and are kept; a new style (z, VAE models) recomputes
///   only the trunk.
/// - **Incremental re-synthesis**: every layer keeps its output and a *pending* rectangle — the part of
///   its output its changed inputs can reach (dilated by each conv, doubled by each upsampling, and, for
///   label changes, only where each level's nearest sampler reads the changed pixels). `render` recomputes
///   exactly the pending rectangles, layer by layer, and keeps the cached values elsewhere, so its result
///   equals a full recompute.
/// - **Cancellation**: `render(shouldCancel:)` polls between layers. Layers already recomputed keep their
///   new values; the rest keep their pending rectangles, so the next call finishes the job (the caches are
///   always consistent with "labels and style as last set").
/// - **Instance norm** (`spadeinstance…`) is global per feature map, so nothing is local: such models run
///   full frames through the generator itself and `fullFrameReason` says so.
///
/// Not thread-safe: call from one thread (or one serial queue) at a time.
public final class InferenceEngine {
    public let generator: SPADEGenerator
    public let config: SPADEConfig
    /// Why every frame is computed in full (instance norm), or nil when edits are incremental.
    public let fullFrameReason: String?
    public var outputHeight: Int { config.outputSize.height }
    public var outputWidth: Int { config.outputSize.width }
    public var usesStyle: Bool { config.useVAE }

    /// Figures of the last finished `render`, for benchmarks and the status line.
    public struct RenderStats: Equatable {
        /// Multiply-adds of the GEMMs and gathers actually done.
        public var multiplyAdds = 0
        /// Fraction of output pixels recomputed (0 when nothing changed).
        public var outputFraction: Double = 0
    }
    public private(set) var lastStats = RenderStats()
    /// When on, `render` times each stage (benchmarks' "where the time goes"); off by default.
    public var collectsProfile = false
    /// Wall time of each stage of the last `render` with `collectsProfile` on: (block or layer, stage, ms).
    public private(set) var lastProfile: [(layer: String, stage: String, ms: Double)] = []

    // Prepared weights.
    private let labels: LabelLevels
    private let fcGather: OneHotGather?
    private let blocks: [BlockPlan]
    private let convImg: FoldedConv
    private let latent: (height: Int, width: Int)

    // Inputs.
    private var rawLabels: [UInt8] = []
    private var labelWidth = 0, labelHeight = 0
    private var z: Tensor?

    // Caches and pending rectangles (allocated on the first frame).
    private var caches: Caches?
    private let scratch = EngineScratch()
    /// The learned shortcut's SPADE output over the pending rectangle (reused between layers and frames).
    private var packed: [Float] = []
    /// Per label level: changed level pixels not yet propagated into the layers' pending rectangles.
    private var levelChanges: [Int: PixelRect] = [:]
    private var styleChanged = true

    private struct BlockPlan {
        let name: String
        let fin: Int, fmid: Int, fout: Int
        let upsampleBefore: Bool
        let height: Int, width: Int
        let conv0: FoldedConv, conv1: FoldedConv, convS: FoldedConv?
        /// norm_0, norm_1 (and norm_s with a learned shortcut).
        let spades: [FoldedSPADE]
    }

    private final class SpadeCache {
        var hidden: [Float]
        var a: [Float]
        var b: [Float]
        var pendingHidden: PixelRect
        var pendingModulation: PixelRect
        init(hidden: Int, channels: Int, height: Int, width: Int) {
            self.hidden = [Float](repeating: 0, count: hidden * height * width)
            a = [Float](repeating: 0, count: channels * height * width)
            b = a
            pendingHidden = .full(height: height, width: width)
            pendingModulation = pendingHidden
        }
    }

    private final class BlockCache {
        var a0: [Float], a1: [Float], out: [Float]
        var pendingA0: PixelRect, pendingA1: PixelRect, pendingOut: PixelRect
        var spades: [SpadeCache]
        init(_ p: BlockPlan) {
            let hw = p.height * p.width
            a0 = [Float](repeating: 0, count: p.fin * hw)
            a1 = [Float](repeating: 0, count: p.fmid * hw)
            out = [Float](repeating: 0, count: p.fout * hw)
            pendingA0 = .full(height: p.height, width: p.width)
            pendingA1 = pendingA0
            pendingOut = pendingA0
            spades = p.spades.map { SpadeCache(hidden: $0.hidden, channels: $0.channels, height: p.height, width: p.width) }
        }
    }

    private final class Caches {
        var fc: [Float]
        var pendingFC: PixelRect
        var blocks: [BlockCache]
        var act: [Float]
        var image: [Float]
        var pendingAct: PixelRect
        var pendingImage: PixelRect
        init(fcChannels: Int, latent: (height: Int, width: Int), blocks: [BlockPlan], finalChannels: Int, output: (height: Int, width: Int)) {
            fc = [Float](repeating: 0, count: fcChannels * latent.height * latent.width)
            pendingFC = .full(height: latent.height, width: latent.width)
            self.blocks = blocks.map(BlockCache.init)
            act = [Float](repeating: 0, count: finalChannels * output.height * output.width)
            image = [Float](repeating: 0, count: 3 * output.height * output.width)
            pendingAct = .full(height: output.height, width: output.width)
            pendingImage = pendingAct
        }
    }

    /// Switches for benchmarks and tests; the defaults are what the painter wants.
    public struct Options: Equatable {
        /// Where the label map is one class over a SPADE's whole (2·pad+1)² window, γ and β are per-class
        /// constants (prepared at load): only the other pixels go through the γ‖β GEMM. Exact.
        public var uniformRegionShortcut = true
        public init() {}
    }
    public let options: Options

    public init(generator: SPADEGenerator, options: Options = Options()) {
        self.generator = generator
        self.options = options
        let config = generator.config
        self.config = config
        latent = config.latentSize
        labels = LabelLevels(config: config)
        let hasEdges = !config.noInstance
        if generator.norm.kind == .instance {
            fullFrameReason = "instance-norm model (\(config.normG)): every frame is computed in full, no incremental updates"
            fcGather = nil
            blocks = []
            convImg = FoldedConv(generator.convImg)
            return
        }
        fullFrameReason = nil
        fcGather = generator.fcConv.map {
            OneHotGather($0, labelChannels: config.labelChannels, hasEdgeChannel: hasEdges, relu: false)
        }
        var plans: [BlockPlan] = []
        var (h, w) = latent
        for b in generator.blocks {
            if b.upsampleBefore { h *= 2; w *= 2 }
            let blk = b.block
            var spades = [blk.norm0, blk.norm1].map {
                FoldedSPADE($0, labelChannels: config.labelChannels, hasEdgeChannel: hasEdges)
            }
            if let s = blk.normS { spades.append(FoldedSPADE(s, labelChannels: config.labelChannels, hasEdgeChannel: hasEdges)) }
            plans.append(BlockPlan(name: b.name, fin: blk.conv0.inChannels, fmid: blk.conv0.outChannels,
                                   fout: blk.conv1.outChannels, upsampleBefore: b.upsampleBefore, height: h, width: w,
                                   conv0: FoldedConv(blk.conv0), conv1: FoldedConv(blk.conv1),
                                   convS: blk.convS.map(FoldedConv.init), spades: spades))
        }
        blocks = plans
        convImg = FoldedConv(generator.convImg)
    }

    // MARK: Inputs

    /// Sets the whole label map (row-major label values as in an index PNG; 255 = don't care where the
    /// model has that channel). Only the pixels that differ from the previous map count as changed.
    /// `source` names the map in errors.
    public func setLabels(_ values: [UInt8], width: Int, height: Int, source: String = "label map") throws {
        precondition(width > 0 && height > 0 && values.count == width * height,
                     "InferenceEngine.setLabels: \(values.count) values for \(width)x\(height)")
        let tokens = try labels.encode(values, width: width, height: height, source: source)
        rawLabels = values
        labelWidth = width
        labelHeight = height
        let changed = labels.replace(tokens: tokens, width: width, height: height)
        noteLabelChange(changed)
    }

    /// Changes the labels inside `rect` only (`values` row-major, rect.width × rect.height).
    public func updateLabels(in rect: PixelRect, values: [UInt8], source: String = "label edit") throws {
        precondition(!rawLabels.isEmpty, "InferenceEngine.updateLabels before setLabels")
        precondition(rect.y0 >= 0 && rect.x0 >= 0 && rect.y1 <= labelHeight && rect.x1 <= labelWidth && values.count == rect.area,
                     "InferenceEngine.updateLabels: \(rect) with \(values.count) values on a \(labelWidth)x\(labelHeight) map")
        var next = rawLabels
        for y in rect.y0..<rect.y1 {
            for x in rect.x0..<rect.x1 { next[y * labelWidth + x] = values[(y - rect.y0) * rect.width + (x - rect.x0)] }
        }
        try setLabels(next, width: labelWidth, height: labelHeight, source: source)
    }

    /// The style: z [1, z_dim] (or [z_dim]) for VAE models; models without the VAE take no style (nil).
    public func setStyle(z newZ: Tensor?) throws {
        guard config.useVAE else {
            if newZ != nil { throw InferenceEngineError("this model has no style input (it was not trained with the VAE); z is not used") }
            return
        }
        guard let newZ, newZ.count == config.zDim else {
            throw InferenceEngineError("this model needs a style z of \(config.zDim) values, got \(newZ.map { "\($0.shape)" } ?? "none")")
        }
        z = newZ.reshaped([1, config.zDim])
        styleChanged = true
    }

    /// Marks every cached value stale: the next `render` computes the whole frame (benchmarks use it to
    /// time full frames; nothing else needs it).
    public func invalidate() {
        guard let c = caches else { return }
        c.pendingFC = .full(height: latent.height, width: latent.width)
        for (k, plan) in blocks.enumerated() {
            let all = PixelRect.full(height: plan.height, width: plan.width)
            let bc = c.blocks[k]
            for sc in bc.spades {
                sc.pendingHidden = all
                sc.pendingModulation = all
            }
            bc.pendingA0 = all
            bc.pendingA1 = all
            bc.pendingOut = all
        }
        c.pendingAct = .full(height: outputHeight, width: outputWidth)
        c.pendingImage = c.pendingAct
    }

    private func noteLabelChange(_ changed: PixelRect) {
        if changed.isEmpty || fullFrameReason != nil { return }
        func add(_ h: Int, _ w: Int) {
            let k = labels.levelNumber(height: h, width: w)
            levelChanges[k] = (levelChanges[k] ?? .empty).union(labels.levelRect(height: h, width: w, changed))
        }
        if fcGather != nil { add(latent.height, latent.width) }
        for b in blocks { add(b.height, b.width) }
    }

    // MARK: Rendering

    /// The picture [1, 3, H, W] in [-1, 1] for the current labels and style, or nil when `shouldCancel`
    /// turned true (checked between layers). A cancelled call leaves the caches consistent: the next call
    /// completes whatever is still pending.
    public func render(shouldCancel: () -> Bool = { false }) -> Tensor? {
        precondition(!rawLabels.isEmpty, "InferenceEngine.render before setLabels")
        precondition(!config.useVAE || z != nil, "InferenceEngine.render: this model needs a style (setStyle(z:)) first")
        if fullFrameReason != nil { return renderFullFrame(shouldCancel: shouldCancel) }
        let c = prepareCaches()
        propagate(c)
        var stats = RenderStats()
        let (oh, ow) = config.outputSize
        stats.outputFraction = Double(c.pendingImage.area) / Double(oh * ow)

        lastProfile = []
        if shouldCancel() { return nil }
        timed("fc", "fc") { runFC(c, &stats) }
        for (k, plan) in blocks.enumerated() {
            let cache = c.blocks[k]
            let previous: [Float] = k == 0 ? c.fc : c.blocks[k - 1].out
            for (s, spade) in plan.spades.enumerated() {
                if shouldCancel() { return nil }
                timed(plan.name, "modulation") { runLabelBranch(spade, cache.spades[s], plan: plan, &stats) }
            }
            if shouldCancel() { return nil }
            timed(plan.name, "norm_0") { runA0(plan, cache, previous: previous) }
            if shouldCancel() { return nil }
            timed(plan.name, "conv_0") { runA1(plan, cache, &stats) }
            if shouldCancel() { return nil }
            timed(plan.name, "conv_1+shortcut") { runOut(plan, cache, previous: previous, &stats) }
        }
        if shouldCancel() { return nil }
        timed("conv_img", "conv_img") { runImage(c, &stats) }
        lastStats = stats
        return Tensor(shape: [1, 3, oh, ow], data: c.image)
    }

    private func timed(_ layer: String, _ stage: String, _ body: () -> Void) {
        guard collectsProfile else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        lastProfile.append((layer, stage, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
    }

    private func renderFullFrame(shouldCancel: () -> Bool) -> Tensor? {
        if shouldCancel() { return nil }
        // The labels were validated by setLabels, so encoding cannot fail here.
        let oneHot = try! LabelEncoding.oneHot(rawLabels, height: labelHeight, width: labelWidth, config: config)
        let image = generator.forward(labels: oneHot, z: z, training: false)
        lastStats = RenderStats(multiplyAdds: 0, outputFraction: 1)
        return image
    }

    private func prepareCaches() -> Caches {
        if let caches { return caches }
        let fcChannels = generator.fcConv?.outChannels ?? 16 * config.ngf
        let c = Caches(fcChannels: fcChannels, latent: latent, blocks: blocks,
                       finalChannels: convImg.inChannels, output: config.outputSize)
        caches = c
        return c
    }

    /// Turns the label and style changes into pending rectangles of every layer (unions with what an
    /// earlier, cancelled render left pending).
    private func propagate(_ c: Caches) {
        func levelChange(_ h: Int, _ w: Int) -> PixelRect {
            levelChanges[labels.levelNumber(height: h, width: w)] ?? .empty
        }
        if let fcGather {
            c.pendingFC = c.pendingFC.union(levelChange(latent.height, latent.width)
                .dilated(by: fcGather.kernel / 2, height: latent.height, width: latent.width))
        } else if styleChanged {
            c.pendingFC = .full(height: latent.height, width: latent.width)
        }
        styleChanged = false
        var previous = c.pendingFC
        for (k, plan) in blocks.enumerated() {
            let cache = c.blocks[k]
            let h = plan.height, w = plan.width
            let changed = levelChange(h, w)
            for (s, spade) in plan.spades.enumerated() {
                let sc = cache.spades[s], pad = spade.kernel / 2
                sc.pendingHidden = sc.pendingHidden.union(changed.dilated(by: pad, height: h, width: w))
                sc.pendingModulation = sc.pendingModulation.union(sc.pendingHidden.dilated(by: pad, height: h, width: w))
            }
            let input = plan.upsampleBefore ? previous.upsampled2x : previous
            cache.pendingA0 = cache.pendingA0.union(input).union(cache.spades[0].pendingModulation)
            cache.pendingA1 = cache.pendingA1.union(cache.pendingA0.dilated(by: plan.conv0.padding, height: h, width: w))
                .union(cache.spades[1].pendingModulation)
            var out = cache.pendingOut.union(cache.pendingA1.dilated(by: plan.conv1.padding, height: h, width: w)).union(input)
            if plan.spades.count > 2 { out = out.union(cache.spades[2].pendingModulation) }
            cache.pendingOut = out
            previous = out
        }
        let (oh, ow) = config.outputSize
        c.pendingAct = c.pendingAct.union(previous)
        c.pendingImage = c.pendingImage.union(c.pendingAct.dilated(by: convImg.padding, height: oh, width: ow))
        levelChanges = [:]
    }

    // MARK: Layers

    private func runFC(_ c: Caches, _ stats: inout RenderStats) {
        let rect = c.pendingFC
        if rect.isEmpty { return }
        if let fcGather {
            let level = labels.level(height: latent.height, width: latent.width)
            c.fc.withUnsafeMutableBufferPointer { out in
                fcGather.run(tokens: level.tokens, edges: level.edges, height: latent.height, width: latent.width,
                             rect: rect, output: out.baseAddress!)
            }
            stats.multiplyAdds += fcGather.outChannels * fcGather.kernel * fcGather.kernel * rect.area
        } else if let fcLinear = generator.fcLinear, let z {
            // view(-1, 16·nf, sh, sw) of the linear output is exactly the channel-major map.
            c.fc = Linear.forward(z, weight: fcLinear.weight.value, bias: fcLinear.bias?.value).data
            stats.multiplyAdds += fcLinear.weight.value.count
        }
        c.pendingFC = .empty
    }

    /// mlp_shared (gather + ReLU) over its pending rectangle, then γ‖β (one GEMM) folded with the batch
    /// norm into the modulation maps A and B over theirs.
    private func runLabelBranch(_ spade: FoldedSPADE, _ sc: SpadeCache, plan: BlockPlan, _ stats: inout RenderStats) {
        let h = plan.height, w = plan.width
        if !sc.pendingHidden.isEmpty {
            let level = labels.level(height: h, width: w)
            let rect = sc.pendingHidden
            sc.hidden.withUnsafeMutableBufferPointer { out in
                spade.shared.run(tokens: level.tokens, edges: level.edges, height: h, width: w, rect: rect,
                                 output: out.baseAddress!)
            }
            stats.multiplyAdds += spade.hidden * spade.kernel * spade.kernel * rect.area
            sc.pendingHidden = .empty
        }
        let rect = sc.pendingModulation
        if rect.isEmpty { return }
        if options.uniformRegionShortcut && modulateUniformRegions(spade, sc, plan: plan, rect: rect, &stats) {
            sc.pendingModulation = .empty
            return
        }
        let ch = spade.channels, plane = h * w
        let conv = spade.gammaBeta
        sc.hidden.withUnsafeBufferPointer { hidden in
            sc.a.withUnsafeMutableBufferPointer { ab in
                sc.b.withUnsafeMutableBufferPointer { bb in
                    conv.bias!.withUnsafeBufferPointer { biasBuf in
                        spade.scale.withUnsafeBufferPointer { scaleBuf in
                            spade.shift.withUnsafeBufferPointer { shiftBuf in
                                let aPtr = ab.baseAddress!, bPtr = bb.baseAddress!, bias = biasBuf.baseAddress!
                                let scale = scaleBuf.baseAddress!, shift = shiftBuf.baseAddress!
                                stats.multiplyAdds += RectConv.run(conv, input: hidden.baseAddress!, height: h, width: w, rect: rect,
                                                                   scratch: scratch) { band, values in
                                    let n = band.area, bw = band.width
                                    Parallel.forEach(ch) { c in
                                        let g = values + c * n, be = values + (ch + c) * n
                                        let gb = bias[c], bb = bias[ch + c], s = scale[c], t = shift[c]
                                        for yi in 0..<band.height {
                                            let off = c * plane + (band.y0 + yi) * w + band.x0
                                            let ar = aPtr + off, br = bPtr + off
                                            let gr = g + yi * bw, ber = be + yi * bw
                                            for xi in 0..<bw {
                                                let onePlusGamma = 1 + gr[xi] + gb
                                                ar[xi] = s * onePlusGamma
                                                br[xi] = t * onePlusGamma + ber[xi] + bb
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        sc.pendingModulation = .empty
    }

    /// The modulation over `rect` with the uniform-region shortcut: per-class A, B where the label window
    /// is one class, the γ‖β GEMM over the list of the other pixels. Returns false (having done nothing)
    /// when too few pixels are uniform for the scattered GEMM to pay off.
    private func modulateUniformRegions(_ spade: FoldedSPADE, _ sc: SpadeCache, plan: BlockPlan, rect: PixelRect,
                                        _ stats: inout RenderStats) -> Bool {
        let h = plan.height, w = plan.width, plane = h * w, rw = rect.width
        let level = labels.level(height: h, width: w)
        let radius = spade.uniformRadius
        var classes = [Int16](repeating: -1, count: rect.area)
        level.tokens.withUnsafeBufferPointer { tb in
            level.edges.withUnsafeBufferPointer { eb in
                classes.withUnsafeMutableBufferPointer { cb in
                    let tok = tb.baseAddress!, cls = cb.baseAddress!
                    let edges = eb.baseAddress, hasEdges = !level.edges.isEmpty
                    Parallel.forEach(rect.height) { r in
                        let y = rect.y0 + r
                        if y - radius < 0 || y + radius >= h { return }
                        let x0 = max(rect.x0, radius), x1 = min(rect.x1, w - radius)
                        if x0 >= x1 { return }
                        for x in x0..<x1 {
                            let t = tok[y * w + x]
                            var same = true
                            window: for yy in (y - radius)...(y + radius) {
                                let row = yy * w
                                for xx in (x - radius)...(x + radius) {
                                    if tok[row + xx] != t || (hasEdges && edges![row + xx] != 0) {
                                        same = false
                                        break window
                                    }
                                }
                            }
                            if same { cls[r * rw + (x - rect.x0)] = Int16(t) }
                        }
                    }
                }
            }
        }
        var positions: [Int32] = []
        positions.reserveCapacity(rect.area / 4)
        for r in 0..<rect.height {
            for xi in 0..<rw where classes[r * rw + xi] < 0 { positions.append(Int32((rect.y0 + r) * w + rect.x0 + xi)) }
        }
        if positions.count * 10 > rect.area * 8 { return false }
        let ch = spade.channels
        let conv = spade.gammaBeta
        sc.a.withUnsafeMutableBufferPointer { ab in
            sc.b.withUnsafeMutableBufferPointer { bb in
                let aPtr = ab.baseAddress!, bPtr = bb.baseAddress!
                // Uniform pixels: the per-class constants.
                classes.withUnsafeBufferPointer { cb in
                    spade.uniformA.withUnsafeBufferPointer { ua in
                        spade.uniformB.withUnsafeBufferPointer { ub in
                            let cls = cb.baseAddress!, uA = ua.baseAddress!, uB = ub.baseAddress!
                            Parallel.forEach(ch) { c in
                                for r in 0..<rect.height {
                                    let off = c * plane + (rect.y0 + r) * w + rect.x0
                                    for xi in 0..<rw {
                                        let k = Int(cls[r * rw + xi])
                                        if k >= 0 {
                                            aPtr[off + xi] = uA[k * ch + c]
                                            bPtr[off + xi] = uB[k * ch + c]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                // The rest: γ‖β GEMM over the pixel list, folded into A and B.
                sc.hidden.withUnsafeBufferPointer { hidden in
                    conv.bias!.withUnsafeBufferPointer { biasBuf in
                        spade.scale.withUnsafeBufferPointer { scaleBuf in
                            spade.shift.withUnsafeBufferPointer { shiftBuf in
                                positions.withUnsafeBufferPointer { pb in
                                    let bias = biasBuf.baseAddress!, scale = scaleBuf.baseAddress!, shift = shiftBuf.baseAddress!
                                    let pos = pb.baseAddress!
                                    stats.multiplyAdds += ListConv.run(conv, input: hidden.baseAddress!, height: h, width: w,
                                                                       positions: positions, scratch: scratch) { chunk, values in
                                        let n = chunk.count
                                        Parallel.forEach(ch) { c in
                                            let g = values + c * n, be = values + (ch + c) * n
                                            let gb = bias[c], bb = bias[ch + c], s = scale[c], t = shift[c]
                                            let ar = aPtr + c * plane, br = bPtr + c * plane
                                            for e in 0..<n {
                                                let q = Int(pos[chunk.lowerBound + e])
                                                let onePlusGamma = 1 + g[e] + gb
                                                ar[q] = s * onePlusGamma
                                                br[q] = t * onePlusGamma + be[e] + bb
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return true
    }

    /// a0 = lrelu(x·A0 + B0) with x the block input (the previous output, upsampled ×2 on the fly).
    private func runA0(_ plan: BlockPlan, _ cache: BlockCache, previous: [Float]) {
        let rect = cache.pendingA0
        if rect.isEmpty { return }
        let sc = cache.spades[0]
        modulate(input: previous, upsampled: plan.upsampleBefore, a: sc.a, b: sc.b, channels: plan.fin,
                 height: plan.height, width: plan.width, rect: rect, leaky: true, into: &cache.a0)
        cache.pendingA0 = .empty
    }

    /// a1 = lrelu(conv_0(a0)·A1 + B1), the conv's result never stored on its own.
    private func runA1(_ plan: BlockPlan, _ cache: BlockCache, _ stats: inout RenderStats) {
        let rect = cache.pendingA1
        if rect.isEmpty { return }
        let h = plan.height, w = plan.width, plane = h * w
        let sc = cache.spades[1]
        cache.a0.withUnsafeBufferPointer { a0 in
            cache.a1.withUnsafeMutableBufferPointer { a1b in
                sc.a.withUnsafeBufferPointer { ab in
                    sc.b.withUnsafeBufferPointer { bb in
                        plan.conv0.bias!.withUnsafeBufferPointer { biasBuf in
                            let a1 = a1b.baseAddress!, aP = ab.baseAddress!, bP = bb.baseAddress!, bias = biasBuf.baseAddress!
                            stats.multiplyAdds += RectConv.run(plan.conv0, input: a0.baseAddress!, height: h, width: w, rect: rect,
                                                               scratch: scratch) { band, values in
                                let n = band.area, bw = band.width
                                Parallel.forEach(plan.fmid) { c in
                                    let v = values + c * n, bc = bias[c]
                                    for yi in 0..<band.height {
                                        let off = c * plane + (band.y0 + yi) * w + band.x0
                                        let vr = v + yi * bw, ar = aP + off, br = bP + off, dst = a1 + off
                                        for xi in 0..<bw {
                                            let m = (vr[xi] + bc) * ar[xi] + br[xi]
                                            dst[xi] = m > 0 ? m : m * SPADEResnetBlock.slope
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        cache.pendingA1 = .empty
    }

    /// out = shortcut + conv_1(a1), the shortcut being x or conv_s(x·As + Bs) (no activation).
    private func runOut(_ plan: BlockPlan, _ cache: BlockCache, previous: [Float], _ stats: inout RenderStats) {
        let rect = cache.pendingOut
        if rect.isEmpty { return }
        let h = plan.height, w = plan.width, plane = h * w
        if let convS = plan.convS {
            // The shortcut's SPADE output, packed to the rectangle, then the 1×1 conv straight into `out`.
            let sc = cache.spades[2]
            let rh = rect.height, rw = rect.width
            modulatePacked(input: previous, upsampled: plan.upsampleBefore, a: sc.a, b: sc.b, channels: plan.fin,
                           height: h, width: w, rect: rect, into: &packed)
            packed.withUnsafeBufferPointer { pb in
                cache.out.withUnsafeMutableBufferPointer { ob in
                    let out = ob.baseAddress!
                    stats.multiplyAdds += RectConv.run(convS, input: pb.baseAddress!, height: rh, width: rw,
                                                       rect: .full(height: rh, width: rw), scratch: scratch) { band, values in
                        let n = band.area, bw = band.width
                        Parallel.forEach(plan.fout) { c in
                            for yi in 0..<band.height {
                                let src = values + c * n + yi * bw
                                let dst = out + c * plane + (rect.y0 + band.y0 + yi) * w + rect.x0
                                for xi in 0..<bw { dst[xi] = src[xi] }
                            }
                        }
                    }
                }
            }
        } else {
            copyInput(previous, upsampled: plan.upsampleBefore, channels: plan.fin, height: h, width: w, rect: rect,
                      into: &cache.out)
        }
        cache.a1.withUnsafeBufferPointer { a1 in
            cache.out.withUnsafeMutableBufferPointer { ob in
                plan.conv1.bias!.withUnsafeBufferPointer { biasBuf in
                    let out = ob.baseAddress!, bias = biasBuf.baseAddress!
                    stats.multiplyAdds += RectConv.run(plan.conv1, input: a1.baseAddress!, height: h, width: w, rect: rect,
                                                       scratch: scratch) { band, values in
                        let n = band.area, bw = band.width
                        Parallel.forEach(plan.fout) { c in
                            let bc = bias[c]
                            for yi in 0..<band.height {
                                let src = values + c * n + yi * bw
                                let dst = out + c * plane + (band.y0 + yi) * w + band.x0
                                for xi in 0..<bw { dst[xi] += src[xi] + bc }
                            }
                        }
                    }
                }
            }
        }
        cache.pendingOut = .empty
    }

    /// tanh(conv_img(lrelu(x))).
    private func runImage(_ c: Caches, _ stats: inout RenderStats) {
        let (h, w) = config.outputSize
        let plane = h * w
        let last = c.blocks.last!
        if !c.pendingAct.isEmpty {
            let r = c.pendingAct
            last.out.withUnsafeBufferPointer { ob in
                c.act.withUnsafeMutableBufferPointer { ab in
                    let src = ob.baseAddress!, dst = ab.baseAddress!
                    Parallel.forEach(convImg.inChannels) { ch in
                        for y in r.y0..<r.y1 {
                            let off = ch * plane + y * w
                            for x in r.x0..<r.x1 {
                                let v = src[off + x]
                                dst[off + x] = v > 0 ? v : v * SPADEResnetBlock.slope
                            }
                        }
                    }
                }
            }
            c.pendingAct = .empty
        }
        let rect = c.pendingImage
        if rect.isEmpty { return }
        c.act.withUnsafeBufferPointer { ab in
            c.image.withUnsafeMutableBufferPointer { ib in
                convImg.bias!.withUnsafeBufferPointer { biasBuf in
                    let image = ib.baseAddress!, bias = biasBuf.baseAddress!
                    stats.multiplyAdds += RectConv.run(convImg, input: ab.baseAddress!, height: h, width: w, rect: rect,
                                                       scratch: scratch) { band, values in
                        let n = band.area, bw = band.width
                        Parallel.forEach(3 * band.height) { job in
                            let ch = job / band.height, yi = job % band.height
                            let src = values + ch * n + yi * bw
                            let dst = image + ch * plane + (band.y0 + yi) * w + band.x0
                            let tanh = Tanh()
                            for xi in 0..<bw { dst[xi] = tanh(src[xi] + bias[ch]) }
                        }
                    }
                }
            }
        }
        c.pendingImage = .empty
    }

    // MARK: Pointwise helpers

    /// into[c, y, x] = act(x[c, y, x]·A + B) over `rect`, x read from `input` (half size when `upsampled`).
    private func modulate(input: [Float], upsampled: Bool, a: [Float], b: [Float], channels: Int, height h: Int, width w: Int,
                          rect: PixelRect, leaky: Bool, into output: inout [Float]) {
        let plane = h * w
        let iw = upsampled ? w / 2 : w, iplane = upsampled ? plane / 4 : plane
        input.withUnsafeBufferPointer { ib in
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    output.withUnsafeMutableBufferPointer { ob in
                        let src = ib.baseAddress!, aP = ab.baseAddress!, bP = bb.baseAddress!, dst = ob.baseAddress!
                        Parallel.forEach(channels) { c in
                            for y in rect.y0..<rect.y1 {
                                let off = c * plane + y * w
                                let row = src + c * iplane + (upsampled ? y >> 1 : y) * iw
                                Self.modulateRow(row, upsampled: upsampled, a: aP + off, b: bP + off, from: rect.x0, to: rect.x1,
                                                 leaky: leaky, into: dst + off)
                            }
                        }
                    }
                }
            }
        }
    }

    /// into[x] = act(source(x)·a[x] + b[x]) for x in x0..<x1, where source(x) = row[x >> 1] when `upsampled`
    /// (nearest ×2 on the fly), else row[x]. Eight pixels at a time, an upsampled row's four values each
    /// doubled: written as one scalar loop, the `x >> 1` read kept the compiler from vectorising it.
    @inline(__always)
    private static func modulateRow(_ row: UnsafePointer<Float>, upsampled: Bool, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                    from x0: Int, to x1: Int, leaky: Bool, into dst: UnsafeMutablePointer<Float>) {
        typealias V8 = SIMD8<Float>
        let slope = SPADEResnetBlock.slope
        @inline(__always) func scalar(_ x: Int) {
            let m = row[upsampled ? x >> 1 : x] * a[x] + b[x]
            dst[x] = leaky && m < 0 ? m * slope : m
        }
        var x = x0
        if upsampled && x & 1 == 1 && x < x1 {
            scalar(x)
            x += 1
        }
        while x + 8 <= x1 {
            let v: V8
            if upsampled {
                let q = UnsafeRawPointer(row + x >> 1).loadUnaligned(as: SIMD4<Float>.self)
                v = V8(q[0], q[0], q[1], q[1], q[2], q[2], q[3], q[3])
            } else {
                v = UnsafeRawPointer(row + x).loadUnaligned(as: V8.self)
            }
            var m = v * UnsafeRawPointer(a + x).loadUnaligned(as: V8.self) + UnsafeRawPointer(b + x).loadUnaligned(as: V8.self)
            if leaky { m.replace(with: m * slope, where: m .< 0) }
            UnsafeMutableRawPointer(dst + x).storeBytes(of: m, as: V8.self)
            x += 8
        }
        while x < x1 {
            scalar(x)
            x += 1
        }
    }

    /// The shortcut SPADE's output over `rect`, packed to [channels, rect.height, rect.width].
    private func modulatePacked(input: [Float], upsampled: Bool, a: [Float], b: [Float], channels: Int, height h: Int,
                                width w: Int, rect: PixelRect, into packed: inout [Float]) {
        let plane = h * w, n = rect.area, rw = rect.width
        let iw = upsampled ? w / 2 : w, iplane = upsampled ? plane / 4 : plane
        if packed.count < channels * n { packed = [Float](repeating: 0, count: channels * n) }
        input.withUnsafeBufferPointer { ib in
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    packed.withUnsafeMutableBufferPointer { pb in
                        let src = ib.baseAddress!, aP = ab.baseAddress!, bP = bb.baseAddress!, dst = pb.baseAddress!
                        Parallel.forEach(channels) { c in
                            for y in rect.y0..<rect.y1 {
                                let off = c * plane + y * w
                                let row = src + c * iplane + (upsampled ? y >> 1 : y) * iw
                                let d = dst + c * n + (y - rect.y0) * rw - rect.x0
                                Self.modulateRow(row, upsampled: upsampled, a: aP + off, b: bP + off, from: rect.x0, to: rect.x1,
                                                 leaky: false, into: d)
                            }
                        }
                    }
                }
            }
        }
    }

    /// into[c, rect] = x[c, rect] (x upsampled ×2 on the fly when asked): the identity shortcut.
    private func copyInput(_ input: [Float], upsampled: Bool, channels: Int, height h: Int, width w: Int, rect: PixelRect,
                           into output: inout [Float]) {
        let plane = h * w
        let iw = upsampled ? w / 2 : w, iplane = upsampled ? plane / 4 : plane
        input.withUnsafeBufferPointer { ib in
            output.withUnsafeMutableBufferPointer { ob in
                let src = ib.baseAddress!, dst = ob.baseAddress!
                Parallel.forEach(channels) { c in
                    for y in rect.y0..<rect.y1 {
                        let row = src + c * iplane + (upsampled ? y >> 1 : y) * iw
                        let d = dst + c * plane + y * w
                        for x in rect.x0..<rect.x1 { d[x] = row[upsampled ? x >> 1 : x] }
                    }
                }
            }
        }
    }
}
