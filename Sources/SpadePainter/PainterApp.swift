import CNCurses
import Dispatch
import Foundation
import SpadeImaging
#if canImport(Glibc)
import Glibc
#endif

public enum DisplayChoice: String, CaseIterable {
    case auto, sixel, blocks
}

public enum ColourChoice: String, CaseIterable {
    case auto, truecolor
    case palette256 = "256"
}

public struct PainterOptions {
    public var labelsPath: String?
    public var palette: Palette
    public var display: DisplayChoice = .auto
    public var colours: ColourChoice = .auto
    public var stylePath: String?
    public var seed: UInt64 = 1
    /// Canvas pixel = factor × factor label pixels of the model.
    public var canvasFactor = 4
    public var autosavePath: String = Autosave.defaultPath()
    /// Diagnostic log of what the painter did (READY, PICTURE, SAVED …), for tests and measurements.
    public var eventLogPath: String?

    public init(palette: Palette) { self.palette = palette }
}

/// The painter: canvas, picture, palette and status on one screen, driven by keys and mouse.
/// The UI thread only paints and answers input; synthesis runs on the scheduler's queue.
public final class PainterApp {
    let options: PainterOptions
    let palette: Palette
    let synthesizer: PictureSynthesizer
    let document: PaintDocument
    let controller: PaintController
    let scheduler: SynthesisScheduler<LabelMap, RGBImage>
    let autosave: Autosave
    let autosaveQueue = DispatchQueue(label: "spadepaint.autosave")
    private let autosaveLock = NSLock()
    private var autosaveFailure: String?
    var labelsPath: String?
    private var startupMessage = ""

    // Screen state.
    var session: TerminalSession?
    var caps = TerminalCapabilities()
    var useSixel = false
    var colourMode = ColourMode.truecolor
    var layout: ScreenLayout?
    var fullRedraw = true
    var picture: RGBImage?
    var pictureDirty = true
    var pictureID: UInt64 = 0
    var lastSynthesisMs: Double?
    var submittedRevision: UInt64 = .max
    var autosavedState: UInt64 = 0
    var cursorX = 0, cursorY = 0
    var cursorVisible = false
    var penDown = false
    var mouseDown = false
    var paletteScroll = 0
    var message = ""
    var mode = Mode.normal
    var seed: UInt64
    var styleName: String
    var spinner = 0
    var eventLog: FileHandle?
    var quitRequested: Int32?

    enum Mode: Equatable {
        case normal
        case help
        case confirmQuit
        case prompt(PromptKind, String)
    }

    enum PromptKind: String {
        case saveLabels = "Save label map as"
        case savePicture = "Save picture as"
        case open = "Open label map"
        case style = "Style from photo (PNG/JPEG)"
    }

    /// Loads everything that can fail on bad input before the terminal is taken over, so errors
    /// print on a normal terminal.
    public init(options: PainterOptions, synthesizer: PictureSynthesizer) throws {
        self.options = options
        palette = options.palette
        self.synthesizer = synthesizer
        try checkPalette(palette, fits: synthesizer, canvasFactor: options.canvasFactor)
        let w = synthesizer.labelWidth / options.canvasFactor
        let h = synthesizer.labelHeight / options.canvasFactor
        let sky = UInt8(palette.index(named: "sky") ?? palette.background)
        let grass = UInt8(palette.index(named: "grass") ?? palette.index(named: "field") ?? palette.background)
        var canvas = LabelCanvas.skyOverGrass(width: w, height: h, sky: sky, grass: grass)
        if let path = options.labelsPath {
            canvas = try LabelFiles.loadCanvas(path: path, palette: palette, width: w, height: h)
        }
        labelsPath = options.labelsPath
        document = PaintDocument(canvas: canvas)
        let startClass = palette.index(named: "mountain") ?? (palette.count > 1 ? 1 : 0)
        controller = PaintController(document: document, classCount: palette.count,
                                     backgroundClass: UInt8(palette.background), currentClass: UInt8(startClass))
        autosave = Autosave(path: options.autosavePath)
        seed = options.seed
        styleName = ""
        if let stylePath = options.stylePath {
            let reference = try readRGB(stylePath)
            try synthesizer.setStyle(reference: reference, name: (stylePath as NSString).lastPathComponent)
        } else {
            synthesizer.newRandomStyle(seed: seed)
        }
        styleName = synthesizer.styleDescription
        scheduler = SynthesisScheduler(run: { labels, shouldCancel in
            try synthesizer.synthesize(labels, shouldCancel: shouldCancel)
        }, wake: { TerminalSession.wake() })

        // Work left by a crash or a killed terminal comes back as one undoable step.
        if autosave.exists, let source = autosave.recordedSource() {
            if source == (labelsPath ?? "") {
                do {
                    let restored = try autosave.load(palette: palette, width: w, height: h)
                    if restored != document.canvas {
                        document.replaceAll(with: restored.labels)
                        startupMessage = "Restored unsaved work from \(autosave.path) (u undoes the restore)"
                    }
                } catch {
                    startupMessage = "Could not restore the autosave: \(error)"
                }
            } else {
                startupMessage = "An autosave of \(source.isEmpty ? "an unnamed canvas" : source) is kept at \(autosave.path)"
            }
        }
        if let path = options.eventLogPath {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            eventLog = FileHandle(forWritingAtPath: path)
        }
    }

    // MARK: run loop

    /// Runs until the user quits or a signal arrives; returns the exit status.
    public func run() throws -> Int32 {
        let tty = try TerminalSession()
        caps = TerminalProbe.probe(fd: STDIN_FILENO)
        useSixel = options.display == .sixel || (options.display == .auto && caps.sixel)
        switch options.colours {
        case .truecolor: colourMode = .truecolor
        case .palette256: colourMode = .palette256
        case .auto: colourMode = caps.truecolor ? .truecolor : .palette256
        }
        try tty.start()
        session = tty
        defer {
            scheduler.stop()
            tty.restore()
        }
        message = startupMessage.isEmpty ? "Press ? for help." : startupMessage
        relayout()
        render()
        tty.enableDragReports()
        log("READY pid=\(getpid()) display=\(useSixel ? "sixel" : "blocks") colours=\(colourMode.rawValue) da1=\(caps.da1) "
            + "cell=\(caps.cellWidth)x\(caps.cellHeight) layout=\(layoutDescription)")
        submitIfChanged()

        while quitRequested == nil {
            let busy = scheduler.isBusy
            tty.waitForInput(timeoutMs: busy ? 120 : 1000)
            if tty.pendingSignal != 0 {
                let sig = tty.pendingSignal
                writeAutosave(wait: true)
                log("SIGNAL \(sig)")
                return 128 + sig
            }
            drainInput()
            render()                    // the canvas answers the key before anything else runs
            collectResults()
            submitIfChanged()
            writeAutosaveIfChanged()
            if busy || scheduler.isBusy { spinner += 1 }
            render()
        }
        autosaveQueue.sync {}
        let status = quitRequested ?? 0
        log("EXIT \(status)")
        return status
    }

    var layoutDescription: String {
        guard let l = layout else { return "too-small" }
        return "\(l.arrangement.rawValue) canvas=\(l.canvas.row),\(l.canvas.column) picture=\(l.picture.row),\(l.picture.column),\(l.picture.rows)x\(l.picture.columns) palette=\(l.palette.row),\(l.palette.column)"
    }

    func relayout() {
        let aspect = useSixel ? Double(caps.cellHeight) / Double(max(1, caps.cellWidth)) : 2
        layout = ScreenLayout.compute(columns: Int(COLS), rows: Int(LINES), canvasWidth: document.width,
                                      canvasHeight: document.height, cellAspect: aspect)
        fullRedraw = true
        clampPaletteScroll()
    }

    func log(_ line: String) {
        guard let eventLog else { return }
        eventLog.write(Data((line + "\n").utf8))
    }

    // MARK: synthesis

    func currentLabelMap() -> LabelMap {
        let f = options.canvasFactor
        return LabelMap(width: document.width * f, height: document.height * f, labels: document.canvas.upsampled(by: f))
    }

    func submitIfChanged(supersede: Bool = false) {
        guard document.revision != submittedRevision || supersede else { return }
        submittedRevision = document.revision
        scheduler.submit(currentLabelMap(), supersede: supersede)
    }

    func collectResults() {
        if let failure = takeAutosaveFailure() { message = failure }
        for error in scheduler.takeErrors() { message = "Synthesis failed: \(error)" }
        if let result = scheduler.takeResult() {
            picture = result.output
            pictureID = result.id
            lastSynthesisMs = result.milliseconds
            pictureDirty = true
            styleName = synthesizer.styleDescription
            log("PICTURE id=\(result.id) ms=\(String(format: "%.1f", result.milliseconds))")
        }
    }

    func newStyle() {
        seed &+= 1
        let s = seed
        let synth = synthesizer
        scheduler.perform { synth.newRandomStyle(seed: s) }
        submitIfChanged(supersede: true)
        message = "New random style (seed \(s))"
    }

    func styleFromPhoto(_ path: String) {
        do {
            let reference = try readRGB(path)
            let synth = synthesizer
            let name = (path as NSString).lastPathComponent
            scheduler.perform { try synth.setStyle(reference: reference, name: name) }
            submitIfChanged(supersede: true)
            message = "Style from \(path)"
        } catch {
            message = "\(error)"
        }
    }

    // MARK: autosave

    func writeAutosaveIfChanged() {
        guard !document.strokeInProgress, document.history.currentStateID != autosavedState else { return }
        writeAutosave()
    }

    /// Writes (or, when nothing is unsaved, removes) the autosave on its own queue: the file is
    /// synced to disk, which must not hold up the UI. `wait` finishes it before returning
    /// (signals, exit).
    func writeAutosave(wait: Bool = false) {
        if document.strokeInProgress { controller.cancelGesture() }
        autosavedState = document.history.currentStateID
        let file = autosave
        if !document.isModified {
            autosaveQueue.async { file.remove() }
        } else {
            let canvas = document.canvas, palette = self.palette, source = labelsPath
            autosaveQueue.async { [weak self] in
                do {
                    try file.write(canvas, palette: palette, source: source)
                } catch {
                    self?.reportAutosaveFailure("Autosave failed: \(error)")
                }
            }
        }
        if wait { autosaveQueue.sync {} }
    }

    /// Removes the autosave after any write still queued (a clean save or exit).
    func removeAutosave() {
        let file = autosave
        autosaveQueue.sync { file.remove() }
    }

    func reportAutosaveFailure(_ text: String) {
        autosaveLock.lock()
        autosaveFailure = text
        autosaveLock.unlock()
        TerminalSession.wake()
    }

    func takeAutosaveFailure() -> String? {
        autosaveLock.lock()
        defer { autosaveFailure = nil; autosaveLock.unlock() }
        return autosaveFailure
    }

    // MARK: files

    var defaultLabelsPath: String { labelsPath ?? "spadepaint-labels.png" }

    var defaultPicturePath: String {
        if let p = labelsPath {
            let ext = (p as NSString).pathExtension
            return (ext.isEmpty ? p : String(p.dropLast(ext.count + 1))) + ".picture.png"
        }
        return "spadepaint-picture.png"
    }

    @discardableResult
    func saveLabels(to path: String) -> Bool {
        do {
            let colour = try LabelFiles.saveLabelMap(document.canvas, factor: options.canvasFactor, palette: palette, to: path)
            labelsPath = path
            document.markSaved()
            removeAutosave()
            autosavedState = document.history.currentStateID
            message = "Saved \(path) (class indices) and \(colour) (class colours)"
            log("SAVED labels \(path)")
            return true
        } catch {
            message = "\(error)"
            return false
        }
    }

    func savePicture(to path: String) {
        guard let picture else { message = "No picture yet: wait for the first synthesis"; return }
        do {
            try writePNG(picture, to: path)
            message = "Saved picture \(path)"
            log("SAVED picture \(path)")
        } catch {
            message = "\(error)"
        }
    }

    func open(_ path: String) {
        do {
            let canvas = try LabelFiles.loadCanvas(path: path, palette: palette, width: document.width, height: document.height)
            controller.cancelGesture()
            document.replaceAll(with: canvas.labels)
            document.markSaved()   // the canvas now equals the file; undo still reaches the old work
            labelsPath = path
            message = "Opened \(path) (u undoes)"
            submitIfChanged(supersede: true)
        } catch {
            message = "\(error)"
        }
    }
}
