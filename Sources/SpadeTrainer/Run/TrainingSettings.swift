import Foundation
import SpadeModel

/// Everything that defines a training run, saved as `settings.json` in the run directory so that
/// `--resume` continues with exactly the same model, data and schedule.
public struct TrainingSettings: Codable, Equatable {
    public var dataDirectory: String
    public var format: String = DatasetFormat.auto.rawValue
    /// Palette used to read colour label PNGs and to colour sample grids (name or path); optional.
    public var palette: String?
    public var model: SPADEConfig

    // Data
    public var loadSize: Int
    public var preprocessMode: String = Preprocessing.Mode.resizeAndCrop.rawValue
    public var flip = true
    public var batchSize = 1
    public var skipBad = false

    // Networks and losses (reference option names in comments)
    public var ndf = 64                     // --ndf
    public var discriminatorLayers = 4      // --n_layers_D
    public var discriminatorScales = 2      // --num_D
    public var ganFeatureLoss = true        // !--no_ganFeat_loss
    public var vggLoss = true               // !--no_vgg_loss
    public var vggWeights: String?          // VGG19 safetensors in torchvision's key layout
    public var lambdaFeat: Float = 10
    public var lambdaVGG: Float = 10
    public var lambdaKLD: Float = 0.05
    /// spadepaint's colour term (`ColourLoss`): nil or 0 leaves it out, as the reference; optional so that
    /// runs saved before it existed still load.
    public var lambdaColour: Float?
    public var colourBlock: Int?
    /// spadepaint's semantic term (`SegmentationLoss`): the frozen segmenter that judges the fakes, and its
    /// weight; nil leaves it out, as the reference.
    public var segmentationJudge: String?
    public var lambdaSegmentation: Float?
    /// spadepaint's training-time scale of the VAE's sampling noise (`TrainingOptions.zNoise`); nil is 1.
    public var zNoise: Float?

    // Schedule
    public var learningRate = 0.0002        // --lr
    public var niter = 50                   // epochs at constant rate
    public var niterDecay = 0               // epochs of linear decay
    public var twoTimeScale = true          // !--no_TTUR
    public var beta1 = 0.0
    public var beta2 = 0.9
    /// Stop after this many iterations in total (a time-boxed run); nil: run all epochs.
    public var maxSteps: Int?

    /// A painting model (`model.safetensors` layout) whose generator and encoder start the run instead of
    /// random weights: fine-tuning. The discriminator and the optimizers still start fresh.
    public var initialWeights: String?
    /// Fine-tuning: D's starting weights (`netD.` tensors, e.g. a training checkpoint), instead of a fresh D.
    public var initialDiscriminator: String?
    /// Steps at the start of the run that train only the discriminator (spadepaint's, for fine-tuning with
    /// a fresh D); nil or 0: none, as the reference.
    public var discriminatorWarmUp: Int?
    /// Encoder-only fine-tuning (`TrainingOptions.freezeGenerator`); nil is false.
    public var freezeGenerator: Bool?
    /// Decay of the moving average of G's and E's weights that the run writes as its painting model
    /// (`TrainingOptions.weightAverageDecay`); nil: none, the painting model is the live weights.
    public var weightAverageDecay: Float?
    /// Tiles per side of the shuffled pictures the style encoder sees in training
    /// (`TrainingOptions.encoderTileGrid`); nil: the pictures as they are.
    public var encoderTileGrid: Int?

    // Bookkeeping
    public var seed: UInt64 = 0
    public var logEvery = 10
    public var sampleEvery = 200
    public var checkpointEvery = 500

    public init(dataDirectory: String, model: SPADEConfig, loadSize: Int? = nil) {
        self.dataDirectory = dataDirectory
        self.model = model
        self.loadSize = loadSize ?? model.cropSize
    }

    public var epochs: Int { niter + niterDecay }

    public var trainingOptions: TrainingOptions {
        var o = TrainingOptions()
        o.discriminatorWidth = ndf
        o.discriminatorLayers = discriminatorLayers
        o.discriminatorScales = discriminatorScales
        o.ganFeatureLoss = ganFeatureLoss
        o.vggLoss = vggLoss
        o.lambdaFeat = lambdaFeat
        o.lambdaVGG = lambdaVGG
        o.lambdaKLD = lambdaKLD
        o.lambdaColour = lambdaColour ?? 0
        o.colourBlock = colourBlock ?? ColourLoss.defaultBlock
        o.zNoise = zNoise ?? 1
        o.freezeGenerator = freezeGenerator ?? false
        o.weightAverageDecay = weightAverageDecay
        o.encoderTileGrid = encoderTileGrid
        o.schedule = LearningRateSchedule(baseRate: learningRate, niter: niter, niterDecay: niterDecay, twoTimeScale: twoTimeScale)
        o.beta1 = beta1
        o.beta2 = beta2
        return o
    }

    public func preprocessing(training: Bool) throws -> Preprocessing {
        guard let mode = Preprocessing.Mode(rawValue: preprocessMode) else {
            throw TrainingError("unknown preprocess mode '\(preprocessMode)' (use resize_and_crop or fixed)")
        }
        return Preprocessing(mode: mode, loadSize: training ? loadSize : model.cropSize, cropSize: model.cropSize,
                             aspectRatio: model.aspectRatio, flip: training && flip)
    }

    public func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: path)
    }

    public static func load(from path: String) throws -> TrainingSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError("\(path): cannot read the run's settings (is this a run directory?)")
        }
        do {
            return try JSONDecoder().decode(TrainingSettings.self, from: data)
        } catch {
            throw TrainingError("\(path): unreadable run settings: \(error)")
        }
    }
}

public struct TrainingError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
