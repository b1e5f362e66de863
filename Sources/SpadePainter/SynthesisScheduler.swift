import Dispatch
import Foundation

/// Runs synthesis jobs one at a time on a background serial queue so the UI thread never waits.
///
/// - `submit` never blocks. A job submitted while another runs replaces any job still waiting
///   (edits coalesce: only the newest label map is synthesized next).
/// - Every job gets an increasing ID; a result is published only if it is newer than the one
///   already published, so a stale picture is never shown over a newer one.
/// - `submit(_:supersede: true)` (new style, opened file) also raises the cancel flag the running
///   job polls through `shouldCancel`, and any result such a job still returns is discarded.
///   Ordinary brush edits do not cancel: during continuous painting the picture keeps updating
///   at the synthesis rate instead of waiting for the painter to pause.
/// - `perform` runs other work on the same queue (style changes), between jobs, never during one.
public final class SynthesisScheduler<Job, Output> {
    public struct Result {
        public let id: UInt64
        public let output: Output
        /// Wall time of the synthesis itself, in milliseconds.
        public let milliseconds: Double
    }

    private let queue: DispatchQueue
    private let run: (Job, () -> Bool) throws -> Output?
    private let wake: () -> Void
    private let lock = NSLock()
    private let idle = NSCondition()

    // Guarded by lock.
    private var nextID: UInt64 = 0
    private var pending: (id: UInt64, job: Job)?
    private var drainScheduled = false
    private var runningID: UInt64 = 0
    private var running = false
    private var cancelBelow: UInt64 = 0
    private var outstandingWork = 0
    private var published: Result?
    private var takenID: UInt64 = 0
    private var errors: [Error] = []
    private var stopped = false

    /// `run` does the work (on the background queue) and returns nil when it noticed the cancel
    /// flag; `wake` is called from the background queue after each published result or error so
    /// a UI waiting in poll() can wake up.
    public init(label: String = "spadepaint.synthesis",
                run: @escaping (Job, _ shouldCancel: () -> Bool) throws -> Output?,
                wake: @escaping () -> Void = {}) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
        self.run = run
        self.wake = wake
    }

    /// Queues a job; returns its ID. Never blocks on a running job.
    @discardableResult
    public func submit(_ job: Job, supersede: Bool = false) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        nextID += 1
        let id = nextID
        pending = (id, job)
        if supersede { cancelBelow = id }
        scheduleDrainLocked()
        return id
    }

    /// Runs `work` on the synthesis queue after the running job (for style changes, which must
    /// not overlap a synthesis). Errors it throws are reported through `takeErrors`.
    public func perform(_ work: @escaping () throws -> Void) {
        lock.lock()
        outstandingWork += 1
        lock.unlock()
        queue.async { [self] in
            do { try work() } catch { record(error) }
            lock.lock()
            outstandingWork -= 1
            lock.unlock()
            signalIfIdle()
        }
    }

    /// The newest result not yet taken, if it is newer than everything taken before.
    public func takeResult() -> Result? {
        lock.lock()
        defer { lock.unlock() }
        guard let r = published, r.id > takenID else { return nil }
        takenID = r.id
        return r
    }

    public func takeErrors() -> [Error] {
        lock.lock()
        defer { lock.unlock() }
        let e = errors
        errors.removeAll()
        return e
    }

    /// True while a job runs or waits.
    public var isBusy: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running || pending != nil
    }

    /// Drops the waiting job, asks the running one to stop, and refuses further jobs' results.
    public func stop() {
        lock.lock()
        stopped = true
        pending = nil
        cancelBelow = nextID + 1
        lock.unlock()
    }

    /// Blocks until no job runs or waits (tests, shutdown). Returns false on timeout.
    @discardableResult
    public func waitUntilIdle(timeout: TimeInterval = 30) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        idle.lock()
        defer { idle.unlock() }
        while true {
            lock.lock()
            let busy = running || pending != nil || drainScheduled || outstandingWork > 0
            lock.unlock()
            if !busy { return true }
            if !idle.wait(until: deadline) { return false }
        }
    }

    // MARK: background side

    private func scheduleDrainLocked() {
        guard !drainScheduled, !stopped else { return }
        drainScheduled = true
        queue.async { [self] in drainOne() }
    }

    /// Runs the waiting job (if any) and reschedules itself while jobs keep coming; one job per
    /// queue block, so `perform` work interleaves between jobs.
    private func drainOne() {
        lock.lock()
        guard let job = pending, !stopped else {
            drainScheduled = false
            pending = nil
            lock.unlock()
            signalIfIdle()
            return
        }
        pending = nil
        running = true
        runningID = job.id
        lock.unlock()

        let shouldCancel: () -> Bool = { [self] in
            lock.lock()
            defer { lock.unlock() }
            return job.id < cancelBelow
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var outcome: Output?
        var failure: Error?
        do { outcome = try run(job.job, shouldCancel) } catch { failure = error }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6

        lock.lock()
        running = false
        var notify = false
        if let failure, job.id >= cancelBelow {
            errors.append(failure)
            notify = true
        } else if let outcome, job.id >= cancelBelow, job.id > (published?.id ?? 0) {
            published = Result(id: job.id, output: outcome, milliseconds: ms)
            notify = true
        }
        drainScheduled = false
        if pending != nil { scheduleDrainLocked() }
        lock.unlock()
        if notify { wake() }
        signalIfIdle()
    }

    private func record(_ error: Error) {
        lock.lock()
        errors.append(error)
        lock.unlock()
        wake()
    }

    private func signalIfIdle() {
        idle.lock()
        idle.broadcast()
        idle.unlock()
    }
}
