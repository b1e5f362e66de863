import ArgumentParser
import Foundation
import SpadeImaging
import SpadeWorld

/// `spadepaint synth`: writes procedurally rendered landscape pictures with exact label maps.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render paired landscape pictures and label maps (images/, labels/, styles.csv) into a folder.")

    @Option(help: "Number of pairs to write.") var count: Int
    @Option(help: "Picture size as WIDTHxHEIGHT.") var size: String = "256x256"
    @Option(help: "Seed of the set; pair i depends only on (seed, i).") var seed: UInt64 = 1
    @Option(help: "Output folder (created if missing).") var out: String
    @Option(help: "Worker threads (default: one per core).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Force a time of day for every pair: \(TimeOfDay.allCases.map(\.rawValue).joined(separator: ", ")).")
    var time: String?
    @Option(help: "Force a season: \(Season.allCases.map(\.rawValue).joined(separator: ", ")).") var season: String?
    @Option(help: "Force the weather: \(Weather.allCases.map(\.rawValue).joined(separator: ", ")).") var weather: String?

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be at least 1 (got \(count))") }
        guard threads > 0 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        _ = try parsedSize()
        _ = try styleOverride()
    }

    func parsedSize() throws -> (Int, Int) {
        let parts = size.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w >= 16, h >= 16, w <= 8192, h <= 8192 else {
            throw ValidationError("--size must be WIDTHxHEIGHT with sides from 16 to 8192, like 256x256 (got '\(size)')")
        }
        return (w, h)
    }

    func styleOverride() throws -> StyleOverride? {
        func parse<T: RawRepresentable & CaseIterable>(_ v: String?, _ flag: String) throws -> T? where T.RawValue == String {
            guard let v else { return nil }
            guard let t = T(rawValue: v) else {
                throw ValidationError("--\(flag) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(v)')")
            }
            return t
        }
        let o = StyleOverride(timeOfDay: try parse(time, "time"), season: try parse(season, "season"), weather: try parse(weather, "weather"))
        return o == StyleOverride() ? nil : o
    }

    func run() throws {
        let (w, h) = try parsedSize()
        let writer: DatasetWriter
        do {
            let palette = try Palette.load(named: "landscape")
            writer = try DatasetWriter(count: count, seed: seed, width: w, height: h, threads: threads, palette: palette, style: try styleOverride())
        } catch {
            throw SynthFailure(message: "synth: \(error)")
        }
        let start = Date()
        let step = max(1, count / 20)
        do {
            try writer.write(to: URL(fileURLWithPath: out)) { done in
                if done % step == 0 || done == count {
                    FileHandle.standardError.write(Data("\r\(done)/\(count) pairs".utf8))
                }
            }
        } catch {
            FileHandle.standardError.write(Data("\n".utf8))
            throw SynthFailure(message: "synth failed: \(error)")
        }
        let seconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data("\n".utf8))
        print(String(format: "wrote %d pairs of %dx%d to %@ in %.1f s (%.1f pairs/s, %d threads)",
                     count, w, h, out, seconds, Double(count) / max(seconds, 1e-9), threads))
    }
}

/// A failure while writing (not a usage mistake): printed without the usage text.
struct SynthFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
