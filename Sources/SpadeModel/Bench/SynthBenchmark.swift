import Foundation

/// `spadepaint bench synth`: the inference engine's latencies on random weights (BN statistics and u, v
/// set as after training) for a painter-like label map: full frame, a one-cell dab (4×4 px on the
/// painter's 4-px grid), a ~1% dab (26×26 px), and a restyle (VAE models); GFLOP/s next to a 2048³
/// sgemm of the same run; optionally PyTorch's full frame for the same weights and input, timed by
/// Tests/fixtures/bench_torch_synth.py in a subprocess with the same thread count.
public enum SynthBenchmark {
    public struct Case {
        public var key: String
        public var title: String
        public var config: SPADEConfig
        public init(key: String, title: String, config: SPADEConfig) {
            self.key = key
            self.title = title
            self.config = config
        }
    }

    public struct Options {
        public var cellDabs = 50
        public var largeDabs = 30
        /// Full frames timed before the dabs, between the ~1% dabs, and between the restyles (VAE models); the
        /// full-frame figure is the median of all.
        public var fullRuns = 3
        public var interleavedFullRuns = 4
        public var restyleFullRuns = 2
        public var restyles = 20
        /// The PyTorch timing script; nil skips PyTorch.
        public var torchScript: String?
        public var seed: UInt64 = 1
        /// Also print where the time goes: a full frame per block and stage, a ~1% dab and a restyle per block.
        public var profile = false
        public init() {}
    }

    public struct CaseResult {
        public var key: String
        public var fullMs: Double
        /// Full frames the median `fullMs` is of.
        public var fullRuns: Int
        public var fullNoShortcutMs: Double
        public var cellDabMs: Double
        public var dab1Ms: Double
        public var restyleMs: Double?
        public var gflops: Double
        public var fullGMAC: Double
        public var cellDabArea: Double
        public var dab1Area: Double
        public var incrementalMaxDiff: Float
        public var torchFullMs: Double?
        public var torchMaxDiff: Float?
        public var torchNote: String?
    }

    public static func standardCases(defaultModel: SPADEConfig) -> [Case] {
        var vae = SPADEConfig.ade20k
        vae.useVAE = true
        return [
            Case(key: "ade20k", title: "ADE20K (151 channels, ngf 64, 256x256)", config: .ade20k),
            Case(key: "ade20k_vae", title: "ADE20K + VAE", config: vae),
            Case(key: "default", title: "default model (landscape)", config: defaultModel),
        ]
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func ms(since t: UInt64) -> Double { Double(now() - t) / 1e6 }
    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

    /// A landscape-like map: sky with clouds, a mountain ridge, a horizon of water, ground with blobs —
    /// large regions with curved borders, as painted. Class ids are spread over the model's classes.
    public static func sceneLabels(width w: Int, height h: Int, classes: Int, seed: UInt64) -> [UInt8] {
        var rng = RandomGenerator(seed: seed)
        func cls(_ k: Int) -> UInt8 { UInt8((k * 7 + 1) % classes) }
        var map = [UInt8](repeating: cls(0), count: w * h)
        let horizon = Int(Double(h) * 0.55)
        let phase = Double(rng.uniform()) * 6
        for x in 0..<w {
            let t = Double(x) / Double(w)
            let ridge = Int(Double(h) * (0.32 + 0.08 * sin(t * 9 + phase) + 0.05 * sin(t * 23 + 2 * phase)))
            for y in max(0, ridge)..<horizon { map[y * w + x] = cls(1) }
            for y in horizon..<min(h, horizon + h / 10) { map[y * w + x] = cls(2) }
            for y in min(h, horizon + h / 10)..<h { map[y * w + x] = cls(3) }
        }
        // Ellipses: clouds in the sky, trees, bushes, rocks and flowers on the ground.
        for k in 0..<14 {
            let inSky = k < 4
            let cx = Double(rng.uniform()) * Double(w)
            let cy = inSky ? Double(rng.uniform()) * Double(h) * 0.25 : Double(horizon) + Double(rng.uniform()) * Double(h - horizon)
            let rx = Double(w) * (0.03 + 0.09 * Double(rng.uniform())), ry = rx * (inSky ? 0.4 : 0.7)
            let c = inSky ? cls(4) : cls(5 + k % 5)
            for y in max(0, Int(cy - ry))..<min(h, Int(cy + ry) + 1) {
                for x in max(0, Int(cx - rx))..<min(w, Int(cx + rx) + 1) {
                    let dx = (Double(x) - cx) / rx, dy = (Double(y) - cy) / ry
                    if dx * dx + dy * dy <= 1 { map[y * w + x] = c }
                }
            }
        }
        return map
    }

    public static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    public static func run(_ benchCase: Case, options: Options, emit: (String) -> Void) throws -> CaseResult {
        let config = benchCase.config
        var rng = RandomGenerator(seed: options.seed)
        let generator = try SPADEGenerator(config: config, rng: &rng, initialize: false)
        RandomEvalWeights.apply(to: generator, rng: &rng)
        let (lh, lw) = config.labelMapSize
        let classes = config.labelNC
        var labels = sceneLabels(width: lw, height: lh, classes: classes, seed: options.seed)
        let engine = InferenceEngine(generator: generator)
        try engine.setLabels(labels, width: lw, height: lh)
        var z: Tensor?
        if config.useVAE {
            z = rng.normalTensor([1, config.zDim])
            try engine.setStyle(z: z)
        }
        if let reason = engine.fullFrameReason { emit("  note: \(reason)") }

        // Full frames: everything recomputed from the labels (the first run also allocates the caches).
        var firstFrame = engine.render()!
        var fullTimes: [Double] = []
        var fullMACs = 0
        // Always on the benchmark's own label map: a full frame's cost depends on the labels (one-class regions
        // take per-class constants), and the dabs below scribble on them.
        let sceneMap = labels
        func timeFullFrame() throws {
            let scribbled = labels != sceneMap
            if scribbled { try engine.setLabels(sceneMap, width: lw, height: lh) }
            engine.invalidate()
            let t = now()
            firstFrame = engine.render()!
            fullTimes.append(ms(since: t))
            fullMACs = engine.lastStats.multiplyAdds
            if scribbled {
                // Back to where the dabs left off (untimed).
                try engine.setLabels(labels, width: lw, height: lh)
                _ = engine.render()!
            }
        }
        for _ in 0..<options.fullRuns { try timeFullFrame() }
        /// After edit i of `total` timed ones: a full frame every total/frames edits, `frames` of them in all
        /// (counted from `start` frames). On a shared machine the speed drifts over a run, and each ratio to the
        /// full frame should compare the two under the same conditions.
        func interleavedFullFrame(after i: Int, of total: Int, frames: Int, countedFrom start: Int) throws {
            if (i + 1) % max(1, total / max(1, frames)) == 0 && fullTimes.count < start + frames { try timeFullFrame() }
        }
        // The same without the uniform-region shortcut: what a frame costs when every pixel needs the γ‖β GEMM
        // (and the baseline the incremental paths save against).
        var plainMs: Double = 0
        do {
            var off = InferenceEngine.Options()
            off.uniformRegionShortcut = false
            let plain = InferenceEngine(generator: generator, options: off)
            try plain.setLabels(labels, width: lw, height: lh)
            if let z { try plain.setStyle(z: z) }
            _ = plain.render()!
            var times: [Double] = []
            for _ in 0..<options.fullRuns {
                plain.invalidate()
                let t = now()
                _ = plain.render()!
                times.append(ms(since: t))
            }
            plainMs = median(times)
        }

        // PyTorch on the same weights and labels.
        var torchMs: Double?, torchDiff: Float?, torchNote: String?
        if let script = options.torchScript {
            do {
                (torchMs, torchDiff) = try timeTorch(script: script, generator: generator, labels: labels, width: lw,
                                                     height: lh, z: z, runs: options.fullRuns, engineImage: firstFrame)
            } catch {
                torchNote = "\(error)"
            }
        }

        func dab(_ rect: PixelRect) throws -> (Double, Double) {
            var next = labels
            let old = Int(labels[rect.y0 * lw + rect.x0])
            let value = UInt8((old + 1 + Int(rng.next() % UInt64(max(1, classes - 1)))) % classes)
            for y in rect.y0..<rect.y1 { for x in rect.x0..<rect.x1 { next[y * lw + x] = value } }
            let t = now()
            try engine.setLabels(next, width: lw, height: lh)
            _ = engine.render()!
            let elapsed = ms(since: t)
            labels = next
            return (elapsed, engine.lastStats.outputFraction)
        }
        var cell: [(Double, Double)] = []
        for _ in 0..<options.cellDabs {
            let x = 4 * Int(rng.next() % UInt64(lw / 4)), y = 4 * Int(rng.next() % UInt64(lh / 4))
            cell.append(try dab(PixelRect(x: x, y: y, width: 4, height: 4)))
        }
        var large: [(Double, Double)] = []
        for i in 0..<options.largeDabs {
            let x = Int(rng.next() % UInt64(lw - 25)), y = Int(rng.next() % UInt64(lh - 25))
            large.append(try dab(PixelRect(x: x, y: y, width: 26, height: 26)))
            try interleavedFullFrame(after: i, of: options.largeDabs, frames: options.interleavedFullRuns,
                                     countedFrom: options.fullRuns)
        }
        var restyle: Double?
        if config.useVAE {
            var times: [Double] = []
            let framesBefore = fullTimes.count
            for i in 0..<options.restyles {
                let nz = rng.normalTensor([1, config.zDim])
                let t = now()
                try engine.setStyle(z: nz)
                _ = engine.render()!
                times.append(ms(since: t))
                z = nz
                try interleavedFullFrame(after: i, of: options.restyles, frames: options.restyleFullRuns, countedFrom: framesBefore)
            }
            restyle = median(times)
        }
        let fullMs = median(fullTimes)
        if options.profile {
            // One more of each, timed per stage.
            engine.collectsProfile = true
            _ = try dab(PixelRect(x: lw / 3, y: lh / 2, width: 26, height: 26))
            let dabProfile = engine.lastProfile
            var restyled: [Stage] = []
            if config.useVAE, let z {
                try engine.setStyle(z: z)
                _ = engine.render()!
                restyled = engine.lastProfile
            }
            engine.invalidate()
            _ = engine.render()!
            let full = engine.lastProfile
            engine.collectsProfile = false
            emitProfile(full: full, dab: dabProfile, restyle: restyled, emit: emit)
        }
        // The incremental result after all those edits against a full recompute of the same input.
        let incremental = engine.render()!
        engine.invalidate()
        let full = engine.render()!
        var diff: Float = 0
        for i in 0..<full.count { diff = max(diff, abs(full.data[i] - incremental.data[i])) }

        return CaseResult(key: benchCase.key, fullMs: fullMs, fullRuns: fullTimes.count, fullNoShortcutMs: plainMs, cellDabMs: median(cell.map(\.0)), dab1Ms: median(large.map(\.0)),
                          restyleMs: restyle, gflops: 2 * Double(fullMACs) / (fullMs / 1e3) / 1e9,
                          fullGMAC: Double(fullMACs) / 1e9, cellDabArea: median(cell.map(\.1)),
                          dab1Area: median(large.map(\.1)), incrementalMaxDiff: diff, torchFullMs: torchMs,
                          torchMaxDiff: torchDiff, torchNote: torchNote)
    }

    typealias Stage = (layer: String, stage: String, ms: Double)

    /// One line per block: a full frame's time per stage, and the totals of a ~1% dab and a restyle.
    static func emitProfile(full: [Stage], dab: [Stage], restyle: [Stage], emit: (String) -> Void) {
        func sum(_ p: [Stage], layer: String? = nil, stage: String? = nil) -> Double {
            p.filter { (layer == nil || $0.layer == layer!) && (stage == nil || $0.stage == stage!) }.reduce(0) { $0 + $1.ms }
        }
        func line(_ name: String, _ layer: String?) -> String {
            name.padding(toLength: 12, withPad: " ", startingAt: 0)
                + String(format: " %10.1f %8.1f %8.1f %10.1f %8.1f  | %7.1f %8.1f",
                         sum(full, layer: layer, stage: "modulation"), sum(full, layer: layer, stage: "norm_0"),
                         sum(full, layer: layer, stage: "conv_0"), sum(full, layer: layer, stage: "conv_1+shortcut"),
                         sum(full, layer: layer), sum(dab, layer: layer), sum(restyle, layer: layer))
        }
        var layers: [String] = []
        for e in full where !layers.contains(e.layer) { layers.append(e.layer) }
        emit("  where the time goes (ms): a full frame per stage | a ~1% dab and a restyle per block")
        emit("    layer        modulation   norm_0   conv_0  conv_1+sc    total  |   dab1  restyle")
        for l in layers { emit("    " + line(l, l)) }
        emit("    " + line("all", nil))
    }

    struct TorchError: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs the PyTorch script on the same weights and input; returns its median full frame and the max
    /// difference between its picture and the engine's.
    static func timeTorch(script: String, generator: SPADEGenerator, labels: [UInt8], width: Int, height: Int, z: Tensor?,
                          runs: Int, engineImage: Tensor) throws -> (Double, Float) {
        let dir = NSTemporaryDirectory() + "spadepaint-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let weights = dir + "/generator.safetensors", inputs = dir + "/inputs.safetensors", output = dir + "/image.safetensors"
        try GeneratorCheckpoint.save(generator, palette: nil, to: weights)
        var writer = SafeTensorsWriter()
        try writer.add("labels", int64s: labels.map { Int64($0) }, shape: [height, width])
        if let z { try writer.add("z", floats: z.data, shape: [1, z.count]) }
        try writer.write(to: inputs)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--weights", weights, "--inputs", inputs, "--threads", "\(Parallel.threads)",
                             "--runs", "\(runs)", "--output", output]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let tail = String(decoding: stderr, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            throw TorchError(description: "PyTorch script failed (status \(process.terminationStatus)): \(tail)")
        }
        let line = String(decoding: stdout, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let fullMs = json["full_ms"] as? Double else {
            throw TorchError(description: "PyTorch script printed no timing: \(line)")
        }
        let image = try SafeTensorsFile(path: output).floats("image")
        guard image.count == engineImage.count else {
            throw TorchError(description: "PyTorch picture has \(image.count) values, the engine's \(engineImage.count)")
        }
        var diff: Float = 0
        for i in 0..<image.count { diff = max(diff, abs(image[i] - engineImage.data[i])) }
        return (fullMs, diff)
    }

    /// Whether `python3 -c 'import torch'` works.
    public static func torchAvailable() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import torch, safetensors"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Runs every case, prints a report, and returns the JSON object the issue asks for.
    public static func runAll(_ cases: [Case], options: Options, emit: (String) -> Void) throws -> [String: Any] {
        let sgemm = ConvBenchmark.sgemmGflops()
        emit(String(format: "threads: %d   cblas_sgemm 2048^3: %.1f GFLOP/s", Parallel.threads, sgemm) + "   OpenBLAS kernels: \(OpenBLASKernels.coreName)"
             + "   few-column GEMMs: \(SkinnyGEMM.enabled ? "skinny AVX2 kernel" : "OpenBLAS")")
        emit(options.torchScript == nil ? "PyTorch: not available (python3 -c 'import torch, safetensors' failed), skipped"
                                        : "PyTorch: \(options.torchScript!) with the same weights, labels and thread count")
        var json: [String: Any] = ["sgemm_gflops": sgemm, "threads": Parallel.threads, "openblas_core": OpenBLASKernels.coreName,
                                   "skinny_gemm": SkinnyGEMM.enabled]
        for c in cases {
            emit("")
            emit("\(c.title)   [\(c.key)]")
            let r = try run(c, options: options, emit: emit)
            emit(String(format: "  full frame          %9.1f ms   median of %d (%d of them between the dabs and restyles); %.1f GMAC done, %.1f GFLOP/s (%.0f%% of sgemm)",
                        r.fullMs, r.fullRuns, r.fullRuns - options.fullRuns, r.fullGMAC, r.gflops, 100 * r.gflops / sgemm))
            emit(String(format: "  full, no shortcut   %9.1f ms   (γ‖β GEMM at every pixel, no per-class constants in one-class regions)",
                        r.fullNoShortcutMs))
            if let t = r.torchFullMs {
                emit(String(format: "  PyTorch full frame  %9.1f ms   engine/PyTorch = %.2f   max |engine - PyTorch| = %.2e",
                            t, r.fullMs / t, Double(r.torchMaxDiff ?? .nan)))
            } else if let note = r.torchNote {
                emit("  PyTorch: \(note)")
            }
            emit(String(format: "  one-cell dab 4x4    %9.1f ms   median of %d, %.1fx faster than full (%.1fx than no-shortcut full); median %.1f%% of the output recomputed",
                        r.cellDabMs, options.cellDabs, r.fullMs / r.cellDabMs, r.fullNoShortcutMs / r.cellDabMs, 100 * r.cellDabArea))
            emit(String(format: "  ~1%% dab 26x26       %9.1f ms   median of %d, %.1fx faster than full (%.1fx than no-shortcut full); median %.1f%% of the output recomputed",
                        r.dab1Ms, options.largeDabs, r.fullMs / r.dab1Ms, r.fullNoShortcutMs / r.dab1Ms, 100 * r.dab1Area))
            if let rs = r.restyleMs {
                emit(String(format: "  restyle (new z)     %9.1f ms   median of %d, %.1fx faster than full (%.1fx than no-shortcut full)", rs, options.restyles,
                            r.fullMs / rs, r.fullNoShortcutMs / rs))
            }
            emit(String(format: "  after all edits: max |incremental - full recompute| = %.2e", Double(r.incrementalMaxDiff)))
            var entry: [String: Any] = [
                "full_ms": r.fullMs, "full_runs": r.fullRuns, "full_no_shortcut_ms": r.fullNoShortcutMs, "cell_dab_ms": r.cellDabMs, "dab1_ms": r.dab1Ms, "gflops": r.gflops,
                "full_gmac": r.fullGMAC, "cell_dab_output_fraction": r.cellDabArea, "dab1_output_fraction": r.dab1Area,
                "incremental_max_abs_diff": Double(r.incrementalMaxDiff), "config": c.config.jsonString(),
            ]
            if let rs = r.restyleMs { entry["restyle_ms"] = rs }
            if let t = r.torchFullMs {
                entry["torch_full_ms"] = t
                entry["torch_max_abs_diff"] = Double(r.torchMaxDiff ?? .nan)
            }
            json[c.key] = entry
        }
        let rss = peakResidentMegabytes()
        emit("")
        emit(String(format: "peak RSS: %.0f MB", rss))
        json["peak_rss_mb"] = rss
        return json
    }
}
