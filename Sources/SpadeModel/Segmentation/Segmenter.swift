import Foundation

/// The segmenter's shape, stored as JSON in its checkpoint (`segmenter_config`).
public struct SegmenterConfig: Codable, Equatable, Sendable {
    /// Output classes (the palette's class count).
    public var classes: Int
    /// Channels of each U-Net level, finest first; `widths.count − 1` downsamplings.
    public var widths: [Int]
    /// The side the pictures are resized to before segmenting (the training resolution).
    public var inputSize: Int

    enum CodingKeys: String, CodingKey {
        case classes, widths, inputSize = "input_size"
    }

    public init(classes: Int, widths: [Int] = [16, 32, 64, 128], inputSize: Int = 128) {
        self.classes = classes
        self.widths = widths
        self.inputSize = inputSize
    }

    /// Input sides must be multiples of this (each level halves the map).
    public var sizeMultiple: Int { 1 << (widths.count - 1) }

    /// Length of the pooled feature vector: the global average of every encoder level.
    public var featureCount: Int { widths.reduce(0, +) }

    public func validate() throws {
        guard (2...255).contains(classes) else { throw SegmenterConfigError("classes must be 2…255, got \(classes)") }
        guard (2...6).contains(widths.count) else {
            throw SegmenterConfigError("widths must name 2…6 levels (1…5 downsamplings), got \(widths)")
        }
        guard widths.allSatisfy({ $0 > 0 }) else { throw SegmenterConfigError("widths must be positive, got \(widths)") }
        guard inputSize > 0, inputSize % sizeMultiple == 0 else {
            throw SegmenterConfigError("input size \(inputSize) must be a positive multiple of \(sizeMultiple) for \(widths.count - 1) downsamplings")
        }
    }

    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ json: String) throws -> SegmenterConfig {
        let config: SegmenterConfig
        do {
            config = try JSONDecoder().decode(SegmenterConfig.self, from: Data(json.utf8))
        } catch {
            throw SegmenterConfigError("cannot read the configuration JSON: \(error)")
        }
        try config.validate()
        return config
    }
}

public struct SegmenterConfigError: Error, CustomStringConvertible, Equatable {
    public let problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { "segmenter configuration: \(problem)" }
}

/// conv 3×3 (no bias: the batch norm's shift replaces it) → batch norm → ReLU.
public final class ConvBNReLU: Module {
    public let conv: Conv2dLayer
    public let bn: BatchNorm2dLayer
    private var normalized: Tensor?

    public init(_ inChannels: Int, _ outChannels: Int, rng: inout RandomGenerator) {
        conv = Conv2dLayer(inChannels, outChannels, kernel: 3, padding: 1, bias: false, rng: &rng)
        bn = BatchNorm2dLayer(outChannels)
    }

    public func stateEntries() -> [(String, StateEntry)] { conv.prefixed("conv") + bn.prefixed("bn") }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = bn.forward(conv.forward(x, training: training), training: training)
        normalized = training ? y : nil
        return Activation.relu(y)
    }

    public func backward(_ gy: Tensor, needInputGrad: Bool = true) -> Tensor? {
        guard let normalized else { preconditionFailure("ConvBNReLU.backward without a training forward") }
        return conv.backward(bn.backward(Activation.reluBackward(gy, input: normalized)), needInputGrad: needInputGrad)
    }

    public func releaseCache() {
        normalized = nil
        conv.releaseCache()
        bn.releaseCache()
    }
}

/// Two conv-BN-ReLU blocks: one U-Net level.
public final class DoubleConv: Module {
    public let first: ConvBNReLU
    public let second: ConvBNReLU

    public init(_ inChannels: Int, _ outChannels: Int, rng: inout RandomGenerator) {
        first = ConvBNReLU(inChannels, outChannels, rng: &rng)
        second = ConvBNReLU(outChannels, outChannels, rng: &rng)
    }

    public func stateEntries() -> [(String, StateEntry)] { first.prefixed("0") + second.prefixed("1") }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        second.forward(first.forward(x, training: training), training: training)
    }

    public func backward(_ gy: Tensor, needInputGrad: Bool = true) -> Tensor? {
        first.backward(second.backward(gy)!, needInputGrad: needInputGrad)
    }

    public func releaseCache() {
        first.releaseCache()
        second.releaseCache()
    }
}

/// A small U-Net that labels every pixel of a picture with a class, used to judge generated pictures the
/// way the SPADE paper does (does the picture show what its label map asked for?).
///
/// Encoder: level l is a `DoubleConv` to `widths[l]` channels, with 2×2 max pooling between levels.
/// Decoder: for each finer level, nearest ×2 upsampling, concatenation with that level's encoder output
/// (the skip connection), and a `DoubleConv` back to `widths[l]`. A 1×1 conv gives the class logits.
/// Pictures are [N, 3, H, W] in [-1, 1], as the generator makes them.
///
/// State names: `down<l>.<0|1>.conv.weight`, `down<l>.<0|1>.bn.{weight,bias,running_mean,running_var,
/// num_batches_tracked}`, the same under `up<l>`, and `head.weight`, `head.bias`.
public final class Segmenter: Module {
    public let config: SegmenterConfig
    public let down: [DoubleConv]
    /// `up[l]` produces level l from level l+1 (l = 0 … levels−2).
    public let up: [DoubleConv]
    public let head: Conv2dLayer

    // Training caches.
    private var poolIndices: [[Int32]] = []
    private var levelShapes: [[Int]] = []

    /// Builds the network with He-normal conv weights (fan-in, ReLU gain) drawn from `rng`.
    public init(config: SegmenterConfig, rng: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        let w = config.widths
        down = w.indices.map { l in DoubleConv(l == 0 ? 3 : w[l - 1], w[l], rng: &rng) }
        up = (0..<(w.count - 1)).map { l in DoubleConv(w[l + 1] + w[l], w[l], rng: &rng) }
        head = Conv2dLayer(w[0], config.classes, kernel: 1, rng: &rng)
        for p in parameters where p.value.rank == 4 {
            let fanIn = p.value.shape.dropFirst().reduce(1, *)
            let gain: Float = p === head.weight ? 1 : 2
            p.value = rng.normalTensor(p.value.shape, std: (gain / Float(fanIn)).squareRoot())
        }
    }

    public func stateEntries() -> [(String, StateEntry)] {
        var entries: [(String, StateEntry)] = []
        for (l, block) in down.enumerated() { entries += block.prefixed("down\(l)") }
        for (l, block) in up.enumerated() { entries += block.prefixed("up\(l)") }
        return entries + head.prefixed("head")
    }

    /// Class logits [N, classes, H, W] and pooled features [N, featureCount] (the spatial mean of every
    /// encoder level's output, finest first) for pictures whose sides are multiples of `sizeMultiple`.
    /// Training mode uses batch statistics and keeps what `backward` needs.
    public func forward(_ images: Tensor, training: Bool) -> (logits: Tensor, features: Tensor) {
        let (n, c, h, w) = images.nchw("segmenter")
        precondition(c == 3, "segmenter: expected RGB pictures [N, 3, H, W], got \(images.shape)")
        precondition(h % config.sizeMultiple == 0 && w % config.sizeMultiple == 0,
                     "segmenter: sides \(h)×\(w) must be multiples of \(config.sizeMultiple)")
        let levels = down.count
        var features = Tensor(shape: [n, config.featureCount])
        var skips: [Tensor] = []
        poolIndices = []
        levelShapes = []
        var x = images
        var featureOffset = 0
        for l in 0..<levels {
            if l > 0 {
                let (pooled, indices) = MaxPool.forward2x2(x)
                if training { poolIndices.append(indices) }
                x = pooled
            }
            x = down[l].forward(x, training: training)
            Self.addChannelMeans(of: x, into: &features, offset: featureOffset)
            featureOffset += config.widths[l]
            if training { levelShapes.append(x.shape) }
            if l < levels - 1 { skips.append(x) }
        }
        for l in stride(from: levels - 2, through: 0, by: -1) {
            x = Tensor.concatChannels([Resample.upsample2x(x), skips[l]])
            x = up[l].forward(x, training: training)
        }
        return (head.forward(x, training: training), features)
    }

    /// Backward of the last training forward for ∂loss/∂logits: accumulates every parameter gradient and
    /// returns ∂loss/∂images when `needInputGrad` (the pooled features take no gradient).
    @discardableResult
    public func backward(_ gLogits: Tensor, needInputGrad: Bool = false) -> Tensor? {
        let levels = down.count
        precondition(levelShapes.count == levels, "Segmenter.backward without a training forward")
        var g = head.backward(gLogits)!
        var skipGrads: [Tensor] = []
        for l in 0..<(levels - 1) {
            g = up[l].backward(g)!
            let parts = g.splitChannels([config.widths[l + 1], config.widths[l]])
            skipGrads.append(parts[1])
            g = Resample.upsample2xBackward(parts[0])
        }
        for l in stride(from: levels - 1, through: 0, by: -1) {
            if l < levels - 1 { g.add(skipGrads[l]) }
            guard let gx = down[l].backward(g, needInputGrad: l > 0 || needInputGrad) else { return nil }
            g = l > 0 ? MaxPool.backward2x2(gx, argmax: poolIndices[l - 1], inputShape: levelShapes[l - 1]) : gx
        }
        return g
    }

    /// Fixes every batch norm at its running statistics (`BatchNorm2dLayer.frozen`): training forwards then
    /// compute the eval-mode map and keep what `backward` needs, so gradients flow through the network to
    /// its input without changing it (a frozen judge in a generator's loss, `SegmentationLoss`).
    public func freezeStatistics() {
        for block in down + up { for layer in [block.first, block.second] { layer.bn.frozen = true } }
    }

    public func releaseCache() {
        poolIndices = []
        levelShapes = []
        for b in down + up { b.releaseCache() }
        head.releaseCache()
    }

    private static func addChannelMeans(of x: Tensor, into features: inout Tensor, offset: Int) {
        let (n, c, h, w) = x.nchw("channel means")
        let hw = h * w, stride = features.shape[1]
        x.withPointer { xp in
            for s in 0..<n {
                for ch in 0..<c {
                    features.data[s * stride + offset + ch] = VectorSums.float(xp + (s * c + ch) * hw, hw) / Float(hw)
                }
            }
        }
    }

    // MARK: Segmenting pictures of any size

    /// The size pictures of `height`×`width` are resized to before segmenting: the longer side becomes
    /// `inputSize` (square pictures: inputSize²), each side rounded to a multiple of `sizeMultiple`.
    public func workingSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let m = config.sizeMultiple, side = Double(config.inputSize)
        let scale = side / Double(max(height, width))
        func fit(_ v: Int) -> Int { max(m, Int((Double(v) * scale / Double(m)).rounded()) * m) }
        return (fit(height), fit(width))
    }

    /// Labels pictures [N, 3, H, W] in [-1, 1] (eval mode): resizes them to the working size (box
    /// average for whole-number shrink factors, which is what training's area resize does, else bilinear),
    /// runs the network, resizes the logits bilinearly to `height`×`width` and takes the arg-max.
    /// Returns N label maps (row-major) and the pooled features [N, featureCount].
    public func segment(_ images: Tensor, height: Int, width: Int) -> (labels: [[UInt8]], features: Tensor) {
        let (n, _, h, w) = images.nchw("segment")
        let (wh, ww) = workingSize(height: h, width: w)
        let input = Self.resizePictures(images, height: wh, width: ww)
        let (logits, features) = forward(input, training: false)
        let scaled = (wh == height && ww == width) ? logits : Resample.bilinear(logits, height: height, width: width)
        return (Self.argmax(scaled, batch: n), features)
    }

    /// Box average when both sides shrink by the same whole factor, bilinear otherwise.
    public static func resizePictures(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (n, c, h, w) = x.nchw("picture resize")
        if h == height && w == width { return x }
        guard h % height == 0, w % width == 0, h / height == w / width else {
            return Resample.bilinear(x, height: height, width: width)
        }
        let k = h / height
        var y = Tensor(shape: [n, c, height, width])
        let inv = 1 / Float(k * k)
        x.withPointer { xp in
            y.withMutablePointer { yp in
                Parallel.forEach(n * c) { nc in
                    let src = xp + nc * h * w, dst = yp + nc * height * width
                    for oy in 0..<height {
                        for ox in 0..<width {
                            var sum: Float = 0
                            for dy in 0..<k { for dx in 0..<k { sum += src[(oy * k + dy) * w + ox * k + dx] } }
                            dst[oy * width + ox] = sum * inv
                        }
                    }
                }
            }
        }
        return y
    }

    /// Per-pixel arg-max over channels: N label maps.
    public static func argmax(_ logits: Tensor, batch n: Int) -> [[UInt8]] {
        let (_, c, h, w) = logits.nchw("argmax")
        let hw = h * w
        return (0..<n).map { s in
            var labels = [UInt8](repeating: 0, count: hw)
            logits.withPointer { zp in
                let z = zp + s * c * hw
                for i in 0..<hw {
                    var best = 0
                    var bestValue = z[i]
                    for k in 1..<c where z[k * hw + i] > bestValue { best = k; bestValue = z[k * hw + i] }
                    labels[i] = UInt8(best)
                }
            }
            return labels
        }
    }
}
