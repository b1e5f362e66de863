import ArgumentParser
import SpadeImaging
import SpadeModel
import SpadePainter

extension DisplayChoice: ExpressibleByArgument {}
extension ColourChoice: ExpressibleByArgument {}

/// `spadepaint [paint] [LABELS.png] …`: the painter (the default subcommand).
struct Paint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paint",
        abstract: "Paint class regions in the terminal and watch the generator turn them into a picture.",
        discussion: """
            Press ? in the painter for its keys. The canvas autosaves after every change; after a crash \
            or a killed terminal, starting again on the same label map (or on none) restores the work.
            """)

    @Argument(help: "A label map to start from: index PNG (gray or palette type) or a PNG in the palette's colours, any size.")
    var labels: String?

    @Option(help: "The generator checkpoint (safetensors).")
    var checkpoint: String?

    @Option(help: "Palette name (in Palettes/) or path to a .palette file.")
    var palette: String = "landscape"

    @Option(help: "Take the style from this photo (PNG or JPEG): the model's encoder gives z, then each class takes the photo's colours.")
    var style: String?

    @OptionGroup var colourMatch: ColourMatchOptions

    @OptionGroup var styleBank: StyleBankOptions

    @Option(help: "Seed of the first random style.")
    var seed: UInt64 = 1

    @Option(help: "Picture display: auto (sixel when the terminal reports it), sixel, or blocks (Unicode half blocks).")
    var display: DisplayChoice = .auto

    @Option(help: "Colours of half blocks: auto, truecolor, or 256.")
    var colors: ColourChoice = .auto

    @Option(help: "Autosave file (default: $XDG_STATE_HOME/spadepaint/autosave.png or ~/.local/state/spadepaint/autosave.png).")
    var autosave: String?

    // For tests only: a flat-colour stand-in for the generator, so end-to-end tests can drive the
    // real painter without a trained model. The status line then says "test synthesizer".
    @Option(help: .hidden)
    var testSynthesizer: String?

    // For tests only: milliseconds of all-core work per test synthesis (latency measurements).
    @Option(help: .hidden)
    var testSynthesizerBusyMs: Int = 0

    // For tests only: a log of what the painter did (READY, PICTURE, SAVED, EXIT …).
    @Option(help: .hidden)
    var eventLog: String?

    func run() throws {
        let palette = try Palette.load(named: self.palette)
        let synthesizer: PictureSynthesizer
        if let kind = testSynthesizer {
            guard kind == "palette" else {
                throw ValidationError("--test-synthesizer knows only 'palette' (a flat-colour stand-in for tests)")
            }
            synthesizer = FlatColourTestSynthesizer(palette: palette, busyMilliseconds: max(0, testSynthesizerBusyMs))
        } else {
            synthesizer = try makeSynthesizer(checkpoint: checkpoint, palette: palette, seed: seed, colourMatch: colourMatch,
                                              styleBank: styleBank)
        }
        var options = PainterOptions(palette: palette)
        options.labelsPath = labels
        options.display = display
        options.colours = colors
        options.stylePath = style
        options.seed = seed
        if let autosave { options.autosavePath = autosave }
        options.eventLogPath = eventLog
        let app = try PainterApp(options: options, synthesizer: synthesizer)
        let status = try app.run()
        if status != 0 { throw ExitCode(status) }
    }
}

/// The one place the painter gets its generator: `checkpoint` (or the shipped default model,
/// `Checkpoints/landscape.safetensors`, when none is named) behind the incremental inference engine, with
/// the VAE encoder when the file has one (`netE.` tensors). Without any model file the painter still
/// runs, on a randomly initialised generator of the default configuration, and says so on its status line.
/// Random styles come from the model's style bank when it has one (`StyleBankOptions`).
func makeSynthesizer(checkpoint: String?, palette: Palette, seed: UInt64, colourMatch: ColourMatchOptions,
                     styleBank: StyleBankOptions) throws -> PictureSynthesizer {
    let synthesizer: GeneratorSynthesizer
    if let path = checkpoint ?? DefaultModel.checkpointPath() {
        let loaded = try PaintingModel.load(path: path)
        // The segmenter is loaded whenever the model can take a photo's style: the painter's style prompt
        // can set one later.
        let segmenter = loaded.encoder == nil ? nil
            : try colourMatch.segmenter(classes: loaded.generator.config.labelNC, palette: loaded.palette)
        let config = loaded.generator.config
        let bank = config.useVAE ? try styleBank.bank(checkpoint: path, zDim: config.zDim) : nil
        synthesizer = GeneratorSynthesizer(generator: loaded.generator, encoder: loaded.encoder, styleSegmenter: segmenter,
                                           styleBank: bank)
    } else {
        var rng = RandomGenerator(seed: seed)
        let generator = try SPADEGenerator(config: DefaultModel.config, rng: &rng)
        // Eval-mode weights that give a real (if meaningless) picture instead of a saturated one.
        RandomEvalWeights.apply(to: generator, rng: &rng)
        synthesizer = GeneratorSynthesizer(generator: generator, modelNote: "random weights — no model")
    }
    synthesizer.newRandomStyle(seed: seed)
    return synthesizer
}
