import ArgumentParser
import Foundation
import SpadeImaging
import SpadeModel
import SpadeTrainer

/// `spadepaint train`: trains SPADE on a dataset folder, leaving checkpoints, sample grids and loss
/// plots in a run directory; Ctrl-C saves and `--resume` continues exactly.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a SPADE model (reference defaults) on paired photos and label maps.",
        discussion: """
            Layouts (--format auto detects them): pairs (images/ + labels/), ade20k (ADEChallengeData2016), \
            cityscapes (leftImg8bit + gtFine), cocostuff (train2017 + stuffthingmaps_trainval2017).
            Examples:
              spadepaint synth --count 2000 --size 256x256 --seed 1 --out data/landscapes
              spadepaint train --data data/landscapes --palette landscape --use-vae --ngf 16 --run runs/land
              spadepaint train --resume runs/land
            """)

    // Data
    @Option(help: "Dataset directory.") var data: String?
    @Option(help: "Dataset layout: auto, pairs, ade20k, cityscapes, cocostuff.") var format = "auto"
    @Option(help: "Palette (name or path): class count, colour label PNGs, sample-grid colours.") var palette: String?
    @Option(name: .customLong("batch-size"), help: "Images per iteration.") var batchSize = 1
    @Option(name: .customLong("preprocess-mode"), help: "resize_and_crop or fixed.") var preprocessMode: String?
    @Option(name: .customLong("load-size"), help: "Resize size before cropping (resize_and_crop); default crop·286/256.") var loadSize: Int?
    @Flag(name: .customLong("no-flip"), help: "No random horizontal flips.") var noFlip = false
    @Flag(name: .customLong("skip-bad"), help: "Train on the good pairs when validation finds bad ones.") var skipBad = false

    // Model
    @Option(help: "Configuration: ade20k, coco-stuff, cityscapes (the reference's), landscape (the default model's).") var preset: String?
    @Option(name: .customLong("label-nc"), help: "Label classes (default: the palette's class count).") var labelNC: Int?
    @Flag(name: .customLong("contain-dontcare"), help: "Add a don't-care channel (label 255).") var containDontcare = false
    @Flag(name: .customLong("instances"), help: "Add the instance-edge channel.") var instances = false
    @Option(help: "Generator width.") var ngf: Int?
    @Option(name: .customLong("z-dim")) var zDim: Int?
    @Option(name: .customLong("crop-size")) var cropSize: Int?
    @Option(name: .customLong("aspect-ratio")) var aspectRatio: Double?
    @Option(help: "normal, more or most.") var upsampling: String?
    @Option(name: .customLong("norm-g"), help: "e.g. spectralspadesyncbatch3x3, spectralspadeinstance3x3.") var normG: String?
    @Option(name: .customLong("spade-hidden"), help: "Hidden width of the SPADE MLPs (reference: 128).") var spadeHidden: Int?
    @Flag(name: .customLong("use-vae"), help: "Train the style encoder (needed for --style).") var useVAE = false
    @Option(name: .customLong("norm-e"), help: "Style encoder norm: spectralinstance (the reference's; blind to overall brightness, contrast and colour cast) or spectralnone.") var normE: String?

    // Discriminator and losses
    @Option(help: "Discriminator width (default 64; 32 with --preset landscape).") var ndf: Int?
    @Option(name: .customLong("n-layers-d"), help: "Discriminator layers (default 4; 3 with --preset landscape).") var nLayersD: Int?
    @Option(name: .customLong("num-d")) var numD = 2
    @Flag(name: .customLong("no-ganfeat-loss")) var noGanFeatLoss = false
    @Flag(name: .customLong("no-vgg-loss")) var noVGGLoss = false
    @Option(help: "VGG19 weights (safetensors, torchvision key layout) for the perceptual loss.") var vgg: String?
    @Option(name: .customLong("lambda-feat")) var lambdaFeat: Float = 10
    @Option(name: .customLong("lambda-vgg")) var lambdaVGG: Float = 10
    @Option(name: .customLong("lambda-kld")) var lambdaKLD: Float = 0.05
    @Option(name: .customLong("lambda-colour"), help: "Not in the reference: weight of an L1 loss between the colour-block means of fake and real (pulls the style encoder to carry colour when there is no VGG loss; 0: off).") var lambdaColour: Float = 0
    @Option(name: .customLong("lambda-seg"), help: "Not in the reference: weight of a class-balanced cross-entropy of a frozen segmenter (--seg-judge) on the fake pictures, so every painted region shows its class (0: off).") var lambdaSeg: Float = 0
    @Option(name: .customLong("seg-judge"), help: "The segmenter checkpoint (`spadepaint train-seg`) that --lambda-seg trains against; use another one than `eval` scores with, or its scores flatter the model.") var segJudge: String?
    @Option(name: .customLong("z-noise"), help: "Not in the reference: scale of the VAE's sampling noise in training, z = μ + s·ε·σ (1: the reference). Below 1 the generator cannot ignore the style code while the encoder is weak.") var zNoise: Float = 1
    @Option(name: .customLong("d-warmup"), help: "Not in the reference: train only the discriminator for the first N steps (G and E unchanged), so that fine-tuning with --init-from does not start against a random critic.") var dWarmUp = 0
    @Flag(name: .customLong("freeze-generator"), help: "Not in the reference: fine-tune only the style encoder (with --init-from); the generator keeps its weights and running statistics exactly.") var freezeGenerator = false
    @Option(name: .customLong("ema-decay"), help: "Not in the reference: keep an exponential moving average of G's and E's weights with this decay (e.g. 0.999) and write it as the painting model; with --resume, starts averaging from there.") var emaDecay: Float?
    @Option(name: .customLong("encoder-tiles"), help: "Not in the reference: in training the style encoder sees each picture cut into N×N tiles in a random order, so z carries the picture's style but not its layout (the picture's side must split into N equal parts).") var encoderTiles: Int?
    @Option(name: .customLong("colour-block"), help: "Side in pixels of the blocks that --lambda-colour compares.") var colourBlock = ColourLoss.defaultBlock

    // Schedule
    @Option(help: "Base learning rate (TTUR: G lr/2, D 2·lr).") var lr = 0.0002
    @Option(help: "Epochs at the base rate (default 50); with --resume, changes the run's schedule from there.") var niter: Int?
    @Option(name: .customLong("niter-decay"), help: "Epochs of linear decay to 0 (default 0); with --resume, changes the run's schedule from there.") var niterDecay: Int?
    @Flag(name: .customLong("no-ttur")) var noTTUR = false
    @Option var beta1: Double?
    @Option var beta2: Double?
    @Option(name: .customLong("max-steps"), help: "Stop after this many iterations in total.") var maxSteps: Int?

    // Run
    @Option(name: .customLong("run"), help: "New run directory.") var runDirectory: String?
    @Option(help: "Continue the run in this directory.") var resume: String?
    @Option(name: .customLong("init-from"), help: "Fine-tune: start G (and E) from this painting model; D and the optimizers start fresh.") var initFrom: String?
    @Option(name: .customLong("init-discriminator"), help: "Not in the reference: with --init-from, start D from this file's netD. tensors (e.g. Checkpoints/landscape-discriminator.safetensors, or a run's checkpoint.safetensors), so fine-tuning does not begin against a random critic.") var initDiscriminator: String?
    @Option var seed: UInt64 = 0
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Log lines instead of a live progress line.") var quiet = false
    @Option(name: .customLong("log-every")) var logEvery = 10
    @Option(name: .customLong("sample-every")) var sampleEvery = 200
    @Option(name: .customLong("checkpoint-every")) var checkpointEvery = 500

    func report(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    func modelConfig(palette: Palette?) throws -> SPADEConfig {
        var config: SPADEConfig
        if let preset {
            guard let p = SPADEConfig.preset(named: preset) else {
                throw ValidationError("unknown preset '\(preset)' (ade20k, coco-stuff, cityscapes, landscape)")
            }
            config = p
        } else {
            guard let classes = labelNC ?? palette.map({ $0.count - (containDontcare ? 1 : 0) }) else {
                throw ValidationError("give --label-nc, --palette or --preset so the model knows its classes")
            }
            config = SPADEConfig(labelNC: classes, containDontcareLabel: containDontcare, noInstance: !instances)
        }
        if let ngf { config.ngf = ngf }
        if let zDim { config.zDim = zDim }
        if let cropSize { config.cropSize = cropSize }
        if let aspectRatio { config.aspectRatio = aspectRatio }
        if let upsampling {
            guard let mode = UpsamplingMode(rawValue: upsampling) else { throw ValidationError("--upsampling: normal, more or most") }
            config.numUpsamplingLayers = mode
        }
        if let normG { config.normG = normG }
        if let spadeHidden { config.spadeHidden = spadeHidden }
        if useVAE { config.useVAE = true }
        if let normE { config.normE = normE }
        _ = try config.encoderNorm()
        _ = try config.normSpec()
        return config
    }

    static func sameFile(_ a: String, _ b: String) -> Bool {
        URL(fileURLWithPath: a).resolvingSymlinksInPath().standardizedFileURL == URL(fileURLWithPath: b).resolvingSymlinksInPath().standardizedFileURL
    }

    func checkEMADecayAndSchedule() throws {
        if let emaDecay, !(emaDecay > 0 && emaDecay < 1) {
            throw ValidationError("--ema-decay must lie between 0 and 1, e.g. 0.999 (got \(emaDecay))")
        }
        if (niter ?? 0) < 0 || (niterDecay ?? 0) < 0 {
            throw ValidationError("--niter and --niter-decay count epochs: they cannot be negative")
        }
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        let interruption = InterruptionFlag()
        let trainingRun: TrainingRun
        do {
            try checkEMADecayAndSchedule()
            if let resume {
                if initFrom != nil || initDiscriminator != nil {
                    throw ValidationError("--init-from (and --init-discriminator) start a new run from a model; --resume continues \(resume) from its own checkpoint (give one of them)")
                }
                trainingRun = try TrainingRun.resume(resume, report: report, maxSteps: maxSteps, weightAverageDecay: emaDecay,
                                                     niter: niter, niterDecay: niterDecay)
            } else {
                guard let data, let runDirectory else { throw ValidationError("give --data DIR and --run RUN_DIR (or --resume RUN_DIR)") }
                let loadedPalette = try palette.map { try Palette.load(named: $0) }
                let config = try modelConfig(palette: loadedPalette)
                var settings = TrainingSettings(dataDirectory: data, model: config,
                                                loadSize: loadSize ?? (preprocessMode == "fixed" ? config.cropSize : config.cropSize * 286 / 256))
                settings.format = format
                settings.palette = palette
                settings.batchSize = batchSize
                if let preprocessMode { settings.preprocessMode = preprocessMode } else if preset?.lowercased() == "cityscapes" { settings.preprocessMode = "fixed"; settings.loadSize = config.cropSize }
                settings.flip = !noFlip
                settings.skipBad = skipBad
                let small = preset?.lowercased() == "landscape"
                settings.ndf = ndf ?? (small ? 32 : 64)
                settings.discriminatorLayers = nLayersD ?? (small ? 3 : 4)
                settings.discriminatorScales = numD
                settings.ganFeatureLoss = !noGanFeatLoss
                settings.vggLoss = !noVGGLoss
                settings.vggWeights = vgg
                settings.lambdaFeat = lambdaFeat
                settings.lambdaVGG = lambdaVGG
                settings.lambdaKLD = lambdaKLD
                guard lambdaColour >= 0 else { throw ValidationError("--lambda-colour must not be negative (got \(lambdaColour))") }
                if lambdaColour > 0 {
                    guard colourBlock >= 1 else { throw ValidationError("--colour-block must be at least 1 pixel (got \(colourBlock))") }
                    settings.lambdaColour = lambdaColour
                    settings.colourBlock = colourBlock
                }
                guard lambdaSeg >= 0 && lambdaSeg.isFinite else { throw ValidationError("--lambda-seg must not be negative (got \(lambdaSeg))") }
                if lambdaSeg > 0 {
                    guard let segJudge else { throw ValidationError("--lambda-seg needs --seg-judge SEGMENTER.safetensors (a segmenter other than the one eval scores with)") }
                    guard FileManager.default.fileExists(atPath: segJudge) else { throw ValidationError("\(segJudge): no such file") }
                    if let evalJudge = DefaultModel.segmenterPath(), Self.sameFile(evalJudge, segJudge) {
                        report("note: \(segJudge) is the segmenter `eval` scores with: its mIoU will flatter this run's models")
                    }
                    settings.segmentationJudge = segJudge
                    settings.lambdaSegmentation = lambdaSeg
                } else if segJudge != nil {
                    throw ValidationError("--seg-judge is the judge of --lambda-seg: give a positive --lambda-seg too")
                }
                guard zNoise >= 0 && zNoise <= 1 else { throw ValidationError("--z-noise must lie in [0, 1] (got \(zNoise))") }
                if zNoise != 1 { settings.zNoise = zNoise }
                guard dWarmUp >= 0 else { throw ValidationError("--d-warmup must not be negative (got \(dWarmUp))") }
                if dWarmUp > 0 { settings.discriminatorWarmUp = dWarmUp }
                if freezeGenerator {
                    guard config.useVAE else { throw ValidationError("--freeze-generator trains only the style encoder: the model needs --use-vae") }
                    settings.freezeGenerator = true
                }
                settings.weightAverageDecay = emaDecay
                if let encoderTiles {
                    guard config.useVAE else { throw ValidationError("--encoder-tiles shuffles what the style encoder sees: the model needs --use-vae") }
                    let (height, width) = config.outputSize
                    guard encoderTiles >= 2, height % encoderTiles == 0, width % encoderTiles == 0 else {
                        throw ValidationError("--encoder-tiles must be at least 2 and split the \(width)x\(height) pictures into equal tiles (got \(encoderTiles))")
                    }
                    settings.encoderTileGrid = encoderTiles
                }
                settings.learningRate = lr
                settings.niter = niter ?? 50
                settings.niterDecay = niterDecay ?? 0
                settings.twoTimeScale = !noTTUR
                settings.beta1 = beta1 ?? (noTTUR ? 0.5 : 0)
                settings.beta2 = beta2 ?? (noTTUR ? 0.999 : 0.9)
                settings.maxSteps = maxSteps
                settings.initialWeights = initFrom
                if let initDiscriminator {
                    guard initFrom != nil else { throw ValidationError("--init-discriminator goes with --init-from (a fine-tuning start)") }
                    guard FileManager.default.fileExists(atPath: initDiscriminator) else { throw ValidationError("\(initDiscriminator): no such file") }
                    settings.initialDiscriminator = initDiscriminator
                }
                settings.seed = seed
                settings.logEvery = max(1, logEvery)
                settings.sampleEvery = max(1, sampleEvery)
                settings.checkpointEvery = max(1, checkpointEvery)
                trainingRun = try TrainingRun.start(settings, in: runDirectory, report: report)
            }
            let outcome = try trainingRun.run(quiet: quiet, interruption: interruption, report: report)
            if case .interrupted = outcome {
                report("stopped; continue with: spadepaint train --resume \(trainingRun.directory)")
            } else {
                report("done: \(trainingRun.step) steps; paint with: spadepaint --checkpoint \(trainingRun.modelPath)")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            report("error: \(error)")
            throw ExitCode.failure
        }
    }
}
