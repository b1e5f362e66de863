import Dispatch
import Foundation
import SpadeImaging

/// FOR TESTS ONLY — not a generator. Paints every label in its palette colour, so the end-to-end
/// tests can drive the real painter and check what it shows without a trained model. The painter
/// reaches it only through the hidden `--test-synthesizer palette` flag and says "test synthesizer"
/// on its status line.
///
/// `busyMilliseconds` > 0 makes each call keep every core busy for that long (polling the cancel
/// flag), standing in for a real generator's cost when measuring how the UI copes.
public final class FlatColourTestSynthesizer: PictureSynthesizer {
    public let labelWidth: Int
    public let labelHeight: Int
    public var classCount: Int { palette.count }
    public private(set) var styleDescription = "test synthesizer (flat palette colours)"
    private let palette: Palette
    private let busyMilliseconds: Int

    public init(palette: Palette, labelWidth: Int = 256, labelHeight: Int = 256, busyMilliseconds: Int = 0) {
        self.palette = palette
        self.labelWidth = labelWidth
        self.labelHeight = labelHeight
        self.busyMilliseconds = busyMilliseconds
    }

    public func synthesize(_ labels: LabelMap, shouldCancel: () -> Bool) throws -> RGBImage? {
        if busyMilliseconds > 0 {
            let end = DispatchTime.now().uptimeNanoseconds + UInt64(busyMilliseconds) * 1_000_000
            let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
            var cancelled = false
            while DispatchTime.now().uptimeNanoseconds < end {
                if shouldCancel() { cancelled = true; break }
                // One ~5 ms slice of arithmetic on every core, like a layer of a real network.
                DispatchQueue.concurrentPerform(iterations: cores) { _ in
                    let sliceEnd = DispatchTime.now().uptimeNanoseconds + 5_000_000
                    var x = 1.0
                    while DispatchTime.now().uptimeNanoseconds < sliceEnd { x = x * 1.000001 + 1e-9 }
                    if x == 0 { print("") }
                }
            }
            if cancelled { return nil }
        }
        return palette.colourImage(labels)
    }

    public func newRandomStyle(seed: UInt64) {
        styleDescription = "test synthesizer (flat palette colours, seed \(seed) ignored)"
    }

    public func setStyle(reference: RGBImage, name: String) throws {
        styleDescription = "test synthesizer (flat palette colours, style \(name) ignored)"
    }
}
