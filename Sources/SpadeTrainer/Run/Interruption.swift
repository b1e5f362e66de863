import Dispatch
import Foundation
import Glibc

/// Turns Ctrl-C / SIGTERM into a flag the training loop checks between steps, so the loop can save
/// a checkpoint and exit cleanly instead of dying mid-write. A second Ctrl-C exits at once.
public final class InterruptionFlag: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var raised: Int32 = 0

    public init(signals: [Int32] = [SIGINT, SIGTERM]) {
        for sig in signals {
            Glibc.signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.receive(sig) }
            source.resume()
            sources.append(source)
        }
    }

    /// What a delivered signal does (called by the signal source; tests call it directly).
    func receive(_ sig: Int32) {
        lock.lock()
        let already = raised != 0
        raised = sig
        lock.unlock()
        if already {
            FileHandle.standardError.write("\nsecond interrupt: exiting without saving\n".data(using: .utf8)!)
            exit(130)
        }
        FileHandle.standardError.write("\ninterrupted: finishing this step and saving a checkpoint (Ctrl-C again to abort)\n".data(using: .utf8)!)
    }

    /// The signal received, if any.
    public var signal: Int32? {
        lock.lock(); defer { lock.unlock() }
        return raised == 0 ? nil : raised
    }

    deinit {
        for s in sources { s.cancel() }
    }
}
