import Foundation

/// Exponential moving averages of the loss terms, for the live progress line.
public struct LossAverages {
    public private(set) var values: [String: Double] = [:]
    public private(set) var order: [String] = []
    let decay: Double

    public init(decay: Double = 0.98) { self.decay = decay }

    public mutating func add(_ losses: [(String, Float)]) {
        for (name, v) in losses {
            if let old = values[name] {
                values[name] = decay * old + (1 - decay) * Double(v)
            } else {
                values[name] = Double(v)
                order.append(name)
            }
        }
    }
}

/// The live status line: epoch, step, images/s, ETA, loss averages. Redrawn in place on a terminal,
/// printed as plain log lines with `--quiet` or when stderr is not a terminal.
public struct ProgressLine {
    public var quiet: Bool
    let interactive: Bool
    var lastLog = Date.distantPast

    public init(quiet: Bool) {
        self.quiet = quiet
        interactive = isatty(STDERR_FILENO) == 1
    }

    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite && seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%02d:%02d", s / 60, s % 60)
    }

    public static func render(epoch: Int, epochs: Int, step: Int, totalSteps: Int, imagesPerSecond: Double,
                              eta: Double, averages: LossAverages) -> String {
        let terms = averages.order.map { name in String(format: "%@ %.3f", name, averages.values[name] ?? 0) }
        return String(format: "epoch %d/%d  step %d/%d  %.2f img/s  ETA %@  ", epoch + 1, epochs, step, totalSteps,
                      imagesPerSecond, formatDuration(eta)) + terms.joined(separator: "  ")
    }

    /// Shows `line`: in place on a terminal, at most every 10 s as a log line otherwise; `force` always logs.
    public mutating func show(_ line: String, force: Bool = false) {
        if interactive && !quiet {
            FileHandle.standardError.write("\r\u{1B}[2K\(line)".data(using: .utf8)!)
        } else if force || Date().timeIntervalSince(lastLog) >= 10 {
            lastLog = Date()
            FileHandle.standardError.write("\(line)\n".data(using: .utf8)!)
        }
    }

    public func finishLine() {
        if interactive && !quiet { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}
