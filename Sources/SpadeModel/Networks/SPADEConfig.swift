import Foundation

/// How many ×2 upsamplings the generator does after its latent map (`--num_upsampling_layers`).
public enum UpsamplingMode: String, Codable, CaseIterable, Sendable {
    case normal, more, most

    /// Total number of ×2 steps from the latent map to the output (5 / 6 / 7).
    public var upsamplings: Int {
        switch self {
        case .normal: return 5
        case .more: return 6
        case .most: return 7
        }
    }
}

/// The parameter-free normalisation inside SPADE.
public enum ParamFreeNormKind: String, Codable, Sendable {
    /// `SynchronizedBatchNorm2d(affine=False)`: batch norm that never increments `num_batches_tracked`.
    case syncbatch
    /// `nn.BatchNorm2d(affine=False)`: increments `num_batches_tracked` in training.
    case batch
    /// `nn.InstanceNorm2d(affine=False)`: no state, per-sample statistics in train and eval.
    case instance
}

/// A bad generator configuration (an unparsable `norm_G`, a zero width, …).
public struct SPADEConfigError: Error, CustomStringConvertible, Equatable {
    public let problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { "SPADE configuration: \(problem)" }
}

/// The generator's options, named as the reference's command-line options so the JSON stored in a
/// checkpoint's `__metadata__` reads like the flags a PyTorch user passed (`label_nc`, `norm_G`, …).
public struct SPADEConfig: Codable, Equatable, Sendable {
    public var labelNC: Int
    public var containDontcareLabel: Bool
    public var noInstance: Bool
    public var ngf: Int
    public var zDim: Int
    public var cropSize: Int
    public var aspectRatio: Double
    public var numUpsamplingLayers: UpsamplingMode
    /// e.g. `spectralspadesyncbatch3x3`, `spadebatch3x3`, `spadeinstance3x3`.
    public var normG: String
    public var useVAE: Bool
    /// Hidden width of the SPADE MLPs; 128 in the reference (hard-coded there).
    public var spadeHidden: Int
    /// The style encoder's norm (`--norm_E`): `spectralinstance` (the reference's default) or
    /// `spectralnone` (no norm, convs with bias) — see `ConvEncoder.Norm`.
    public var normE: String

    enum CodingKeys: String, CodingKey {
        case labelNC = "label_nc", containDontcareLabel = "contain_dontcare_label", noInstance = "no_instance"
        case ngf, zDim = "z_dim", cropSize = "crop_size", aspectRatio = "aspect_ratio"
        case numUpsamplingLayers = "num_upsampling_layers", normG = "norm_G", useVAE = "use_vae"
        case spadeHidden = "spade_nhidden", normE = "norm_E"
    }

    public init(labelNC: Int, containDontcareLabel: Bool, noInstance: Bool, ngf: Int = 64, zDim: Int = 256,
                cropSize: Int = 256, aspectRatio: Double = 1, numUpsamplingLayers: UpsamplingMode = .normal,
                normG: String = "spectralspadesyncbatch3x3", useVAE: Bool = false, spadeHidden: Int = 128,
                normE: String = ConvEncoder.Norm.instance.optionName) {
        self.labelNC = labelNC
        self.containDontcareLabel = containDontcareLabel
        self.noInstance = noInstance
        self.ngf = ngf
        self.zDim = zDim
        self.cropSize = cropSize
        self.aspectRatio = aspectRatio
        self.numUpsamplingLayers = numUpsamplingLayers
        self.normG = normG
        self.useVAE = useVAE
        self.spadeHidden = spadeHidden
        self.normE = normE
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        labelNC = try c.decode(Int.self, forKey: .labelNC)
        containDontcareLabel = try c.decode(Bool.self, forKey: .containDontcareLabel)
        noInstance = try c.decode(Bool.self, forKey: .noInstance)
        ngf = try c.decodeIfPresent(Int.self, forKey: .ngf) ?? 64
        zDim = try c.decodeIfPresent(Int.self, forKey: .zDim) ?? 256
        cropSize = try c.decodeIfPresent(Int.self, forKey: .cropSize) ?? 256
        aspectRatio = try c.decodeIfPresent(Double.self, forKey: .aspectRatio) ?? 1
        numUpsamplingLayers = try c.decodeIfPresent(UpsamplingMode.self, forKey: .numUpsamplingLayers) ?? .normal
        normG = try c.decodeIfPresent(String.self, forKey: .normG) ?? "spectralspadesyncbatch3x3"
        useVAE = try c.decodeIfPresent(Bool.self, forKey: .useVAE) ?? false
        spadeHidden = try c.decodeIfPresent(Int.self, forKey: .spadeHidden) ?? 128
        normE = try c.decodeIfPresent(String.self, forKey: .normE) ?? ConvEncoder.Norm.instance.optionName
    }

    // MARK: Presets of the released models (reference §1)

    public static let ade20k = SPADEConfig(labelNC: 150, containDontcareLabel: true, noInstance: true)
    public static let cocoStuff = SPADEConfig(labelNC: 182, containDontcareLabel: true, noInstance: false)
    public static let cityscapes = SPADEConfig(labelNC: 35, containDontcareLabel: false, noInstance: false,
                                               cropSize: 512, aspectRatio: 2, numUpsamplingLayers: .more)

    /// spadepaint's own default model (`Checkpoints/landscape.safetensors`): the 15 classes of
    /// `Palettes/landscape`, the VAE for `--style`, and a size chosen for live painting on two CPU cores —
    /// width 16 and 1×1 SPADE convolutions (32 hidden), so each class modulates the features by a learned
    /// per-class style (as CLADE does) while the 3×3 trunk convolutions draw the boundaries.
    public static let landscape = SPADEConfig(labelNC: 15, containDontcareLabel: false, noInstance: true, ngf: 16,
                                              normG: "spectralspadesyncbatch1x1", useVAE: true, spadeHidden: 32)

    /// Presets by the reference's `--dataset_mode` name (and `landscape`, spadepaint's default model).
    public static func preset(named name: String) -> SPADEConfig? {
        switch name.lowercased() {
        case "ade20k": return .ade20k
        case "coco", "coco-stuff", "cocostuff": return .cocoStuff
        case "cityscapes": return .cityscapes
        case "landscape": return .landscape
        default: return nil
        }
    }

    // MARK: Derived sizes

    /// Generator input channels: labels, plus don't-care, plus the instance-edge map.
    public var semanticNC: Int { labelNC + (containDontcareLabel ? 1 : 0) + (noInstance ? 0 : 1) }

    /// Channels of the one-hot label part (without the edge channel).
    public var labelChannels: Int { labelNC + (containDontcareLabel ? 1 : 0) }

    /// `compute_latent_vector_size`: sw = crop // 2ⁿ, sh = round(sw / aspect) with round-half-to-even.
    public var latentSize: (height: Int, width: Int) {
        let sw = cropSize / (1 << numUpsamplingLayers.upsamplings)
        let sh = Int((Double(sw) / aspectRatio).rounded(.toNearestOrEven))
        return (sh, sw)
    }

    /// The generator's output size: latent × 2ⁿ (need not equal the label map's size).
    public var outputSize: (height: Int, width: Int) {
        let (sh, sw) = latentSize
        let f = 1 << numUpsamplingLayers.upsamplings
        return (sh * f, sw * f)
    }

    /// The label-map size the reference's data pipeline feeds: crop × round(crop / aspect).
    public var labelMapSize: (height: Int, width: Int) {
        (Int((Double(cropSize) / aspectRatio).rounded(.toNearestOrEven)), cropSize)
    }

    /// `norm_G` parsed: spectral norm on the block convs, parameter-free norm, SPADE kernel size.
    public struct NormSpec: Equatable, Sendable {
        public var spectral: Bool
        public var kind: ParamFreeNormKind
        public var kernel: Int
    }

    /// Parses `norm_G` as the reference does: drop `spectral`, then match `spade(\D+)(\d)x\d`.
    public func normSpec() throws -> NormSpec {
        let spectral = normG.hasPrefix("spectral")
        var rest = Substring(spectral ? String(normG.dropFirst("spectral".count)) : normG)
        guard rest.hasPrefix("spade") else {
            throw SPADEConfigError("norm_G '\(normG)' must look like [spectral]spade<norm><k>x<k>, e.g. spectralspadesyncbatch3x3")
        }
        rest = rest.dropFirst("spade".count)
        let name = rest.prefix { !$0.isNumber }
        let sizes = rest.dropFirst(name.count)
        let parts = sizes.split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 1, let k = Int(parts[0]), Int(parts[1]) != nil else {
            throw SPADEConfigError("norm_G '\(normG)' lacks a kernel size such as 3x3")
        }
        guard let kind = ParamFreeNormKind(rawValue: String(name)) else {
            throw SPADEConfigError("norm_G '\(normG)': unknown parameter-free norm '\(name)' (syncbatch, batch or instance)")
        }
        guard k % 2 == 1 else { throw SPADEConfigError("norm_G '\(normG)': SPADE kernel size must be odd, got \(k)") }
        return NormSpec(spectral: spectral, kind: kind, kernel: k)
    }

    /// `norm_E` parsed: the two encoder norms spadepaint implements.
    public func encoderNorm() throws -> ConvEncoder.Norm {
        guard let norm = ConvEncoder.Norm(optionName: normE) else {
            throw SPADEConfigError("norm_E '\(normE)' is not supported (spectralinstance or spectralnone)")
        }
        return norm
    }

    /// Checks every option that would otherwise fail deep inside the network.
    public func validate() throws {
        _ = try normSpec()
        _ = try encoderNorm()
        guard labelNC > 0 else { throw SPADEConfigError("label_nc must be positive, got \(labelNC)") }
        guard ngf >= 2, ngf % 2 == 0 || numUpsamplingLayers != .most else {
            throw SPADEConfigError("ngf must be at least 2 (and even for 'most'), got \(ngf)")
        }
        guard spadeHidden > 0 else { throw SPADEConfigError("spade_nhidden must be positive, got \(spadeHidden)") }
        guard aspectRatio > 0 else { throw SPADEConfigError("aspect_ratio must be positive, got \(aspectRatio)") }
        let (sh, sw) = latentSize
        guard sh > 0, sw > 0 else {
            throw SPADEConfigError("crop_size \(cropSize) with aspect_ratio \(aspectRatio) and '\(numUpsamplingLayers.rawValue)' gives an empty latent map (\(sh)x\(sw)); crop_size must be at least \(1 << numUpsamplingLayers.upsamplings)")
        }
        if useVAE { guard zDim > 0 else { throw SPADEConfigError("z_dim must be positive, got \(zDim)") } }
    }

    // MARK: JSON (for checkpoint metadata)

    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a struct of plain values cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ json: String) throws -> SPADEConfig {
        do {
            let config = try JSONDecoder().decode(SPADEConfig.self, from: Data(json.utf8))
            try config.validate()
            return config
        } catch let error as SPADEConfigError {
            throw error
        } catch {
            throw SPADEConfigError("cannot read the configuration JSON: \(error)")
        }
    }
}
