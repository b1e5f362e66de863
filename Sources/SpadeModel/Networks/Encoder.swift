import Foundation

/// The reference's VAE image encoder (`ConvEncoder`, spec §9): bilinear resize to 256², six stride-2 3×3
/// spectral-norm convs with instance norm (LReLU 0.2 before layers 2…6 and after the last), then `fc_mu`
/// and `fc_var` on the flattened 4×4 map.
///
/// `norm_E` picks the norm after each conv, as the reference's `get_nonspade_norm_layer` does:
/// - `spectralinstance` (its default): conv without bias, then instance norm; names `layerK.0.*`.
///   Instance norm removes each feature map's mean and scale, so this encoder cannot see a picture's
///   overall brightness, contrast or colour cast — the very things a "fog" or "winter" style changes.
/// - `spectralnone`: the spectral-norm conv alone, with its bias; names `layerK.*`. It sees them.
///
/// The reference drops `layer6` when crop_size < 256 and then cannot run (its fc expects 4×4); since the
/// input is always resized to 256², we always keep the six layers.
public final class ConvEncoder: Module {
    public enum Norm: Sendable {
        case instance, none

        /// The `--norm_E` value.
        public var optionName: String { self == .instance ? "spectralinstance" : "spectralnone" }

        public init?(optionName: String) {
            switch optionName {
            case "spectralinstance": self = .instance
            case "spectralnone", "spectral": self = .none
            default: return nil
            }
        }

        /// The norm whose names a checkpoint's encoder entries carry (`prefix` + `layer1.0.weight_orig` for
        /// instance norm, `layer1.weight_orig` without), nil when it has no encoder.
        public static func stored(in names: [String], prefix: String = "") -> Norm? {
            if names.contains(prefix + "layer1.0.weight_orig") { return .instance }
            if names.contains(prefix + "layer1.weight_orig") { return Norm.none }
            return nil
        }
    }

    public static let inputSize = 256
    public let norm: Norm
    public let layers: [Conv2dLayer]
    public let fcMu: LinearLayer
    public let fcVar: LinearLayer
    public var zDim: Int { fcMu.weight.value.shape[0] }

    /// Each layer's output before its LReLU (kept for backward), and instance norm's statistics.
    private var normOutputs: [Tensor] = []
    private var normCaches: [InstanceNorm.Cache] = []
    private var flatShape: [Int] = []

    /// `ndf` is the reference's `ngf` (its `--nef` is unused); `zDim` is hard-wired to 256 there.
    /// With `initialize`, the reference's init (xavier-normal, gain 0.02; zero biases).
    public init(ndf: Int = 64, zDim: Int = 256, norm: Norm = .instance, rng: inout RandomGenerator, initialize: Bool = true) {
        self.norm = norm
        let widths = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 8 * ndf, 8 * ndf]
        layers = (0..<6).map { k in
            Conv2dLayer(widths[k], widths[k + 1], kernel: 3, stride: 2, padding: 1, bias: norm == .none, spectral: true, rng: &rng)
        }
        let flat = 8 * ndf * 4 * 4
        fcMu = LinearLayer(flat, zDim)
        fcVar = LinearLayer(flat, zDim)
        if initialize { Initialization.xavierNormal(self, gain: 0.02, rng: &rng) }
    }

    public func stateEntries() -> [(String, StateEntry)] {
        let suffix = norm == .instance ? ".0" : ""  // the reference wraps conv and norm in a Sequential
        return layers.indices.flatMap { layers[$0].prefixed("layer\($0 + 1)" + suffix) } + fcMu.prefixed("fc_mu") + fcVar.prefixed("fc_var")
    }

    /// μ and log σ² of q(z | image) for images [N, 3, H, W] in [-1, 1].
    public func forward(_ image: Tensor, training: Bool) -> (mu: Tensor, logvar: Tensor) {
        let (n, c, h, w) = image.nchw("encoder")
        precondition(c == 3, "encoder: expected an RGB image [N, 3, H, W], got \(image.shape)")
        var x = image
        if h != Self.inputSize || w != Self.inputSize {
            x = Resample.bilinear(x, height: Self.inputSize, width: Self.inputSize)
        }
        normOutputs = []
        normCaches = []
        for (k, conv) in layers.enumerated() {
            if k > 0 { x = Activation.leakyRelu(x) }
            x = conv.forward(x, training: training)
            if norm == .instance {
                let cache: InstanceNorm.Cache
                (x, cache) = InstanceNorm.forward(x)
                if training { normCaches.append(cache) }
            }
            if training { normOutputs.append(x) }
        }
        x = Activation.leakyRelu(x)
        flatShape = x.shape
        let flat = x.reshaped([n, x.count / n])
        return (fcMu.forward(flat, training: training), fcVar.forward(flat, training: training))
    }

    /// Backward of the last training forward: accumulates parameter gradients. The image needs no
    /// gradient (it is the real photo), so none is returned.
    public func backward(mu gMu: Tensor, logvar gLogvar: Tensor) {
        precondition(normOutputs.count == layers.count, "ConvEncoder.backward without a training forward")
        var g = fcMu.backward(gMu) + fcVar.backward(gLogvar)
        g = g.reshaped(flatShape)
        for k in stride(from: layers.count - 1, through: 0, by: -1) {
            g = Activation.leakyReluBackward(g, input: normOutputs[k])
            if norm == .instance { g = InstanceNorm.backward(g, cache: normCaches[k]) }
            guard let gx = layers[k].backward(g, needInputGrad: k > 0) else { break }
            g = gx
        }
    }

    public func releaseCache() {
        normOutputs = []
        normCaches = []
        for l in layers { l.releaseCache() }
    }
}

/// The reparameterisation trick (`Pix2PixModel.reparameterize`): z = eps · exp(0.5 · logvar) + mu.
public enum Reparameterization {
    public static func sample(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor {
        checkSameShape("reparameterize", mu, logvar)
        checkSameShape("reparameterize (eps)", mu, eps)
        var z = Tensor(shape: mu.shape)
        for i in 0..<z.count { z.data[i] = eps.data[i] * exp(0.5 * logvar.data[i]) + mu.data[i] }
        return z
    }

    /// Draws eps ~ N(0, I) from the seeded generator.
    public static func sample(mu: Tensor, logvar: Tensor, rng: inout RandomGenerator) -> (z: Tensor, eps: Tensor) {
        let eps = rng.normalTensor(mu.shape)
        return (sample(mu: mu, logvar: logvar, eps: eps), eps)
    }

    /// Gradients with respect to mu and logvar given dL/dz.
    public static func backward(_ gz: Tensor, logvar: Tensor, eps: Tensor) -> (mu: Tensor, logvar: Tensor) {
        var gLogvar = Tensor(shape: gz.shape)
        for i in 0..<gz.count { gLogvar.data[i] = gz.data[i] * eps.data[i] * 0.5 * exp(0.5 * logvar.data[i]) }
        return (gz, gLogvar)
    }
}
