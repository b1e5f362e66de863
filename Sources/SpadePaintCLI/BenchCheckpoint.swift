import ArgumentParser
import Foundation
import SpadeModel

/// `spadepaint bench checkpoint`: writes a checkpoint-sized safetensors file and reads it back,
/// next to a baseline of reading the same bytes with Foundation, so the cost of parsing and
/// converting shows apart from the cost of the disk and page cache.
struct BenchCheckpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Time writing and reading a large safetensors checkpoint (F32, then F16).")

    @Option(help: "Size of the F32 tensors in MB (10^6 bytes).")
    var megabytes = 400

    @Option(help: "Directory for the temporary checkpoint file.")
    var directory = NSTemporaryDirectory()

    func run() throws {
        // Conv-layer shaped tensors ([256, 256, 3, 3] weights plus biases) until the size is reached.
        let weightShape = [256, 256, 3, 3]
        let weightCount = weightShape.reduce(1, *)
        let layers = max(1, megabytes * 1_000_000 / (4 * (weightCount + 256)))
        var state: UInt32 = 12345
        func nextValue() -> Float {
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state)) * 0x1p-31
        }
        var tensors: [(name: String, values: [Float], shape: [Int])] = []
        for layer in 0..<layers {
            tensors.append(("layer\(layer).weight", (0..<weightCount).map { _ in nextValue() }, weightShape))
            tensors.append(("layer\(layer).bias", (0..<256).map { _ in nextValue() }, [256]))
        }

        let path = (directory as NSString).appendingPathComponent("spadepaint-bench-\(getpid()).safetensors")
        defer { unlink(path) }
        for dtype in [SafeTensorsDType.float32, .float16] {
            var writer = SafeTensorsWriter(metadata: ["bench": "checkpoint"])
            for t in tensors { try writer.add(t.name, floats: t.values, shape: t.shape, as: dtype) }

            let rssBefore = peakResidentMegabytes()
            let writeSeconds = try time { try writer.write(to: path) }
            let rssGrowth = peakResidentMegabytes() - rssBefore
            let fileBytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            let fileMB = Double(fileBytes) / 1e6

            var baselineBytes = 0
            let baselineSeconds = try time {
                baselineBytes = try Data(contentsOf: URL(fileURLWithPath: path)).count
            }
            precondition(baselineBytes == fileBytes)

            var readBack: [[Float]] = []
            let readSeconds = try time {
                let file = try SafeTensorsFile.open(path: path)
                readBack = try file.names.map { try file.floats($0) }
            }
            let expected: [[Float]] = dtype == .float32
                ? tensors.map(\.values)
                : tensors.map { $0.values.map { Float(Float16($0)) } }
            guard readBack == expected else { throw ValidationError("read-back values differ from the written ones") }

            print("\(dtype.rawValue): \(tensors.count) tensors, \(String(format: "%.0f", fileMB)) MB file")
            print(String(format: "  write (atomic, fsync)      %6.3f s  %7.0f MB/s  peak RSS growth %.0f MB",
                         writeSeconds, fileMB / writeSeconds, rssGrowth))
            print(String(format: "  baseline Data(contentsOf:) %6.3f s  %7.0f MB/s", baselineSeconds, fileMB / baselineSeconds))
            print(String(format: "  open + floats() all        %6.3f s  %7.0f MB/s", readSeconds, fileMB / readSeconds))
        }
    }

    private func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024 // kilobytes on Linux
    }
}
