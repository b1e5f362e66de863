import Dispatch
import Foundation
import XCTest
@testable import SpadePainter

/// A job log shared between the test and the background queue.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func add(_ i: Int) { lock.lock(); items.append(i); lock.unlock() }
    var all: [Int] { lock.lock(); defer { lock.unlock() }; return items }
}

final class SynthesisSchedulerTests: XCTestCase {
    struct Boom: Error {}

    func testSubmitNeverWaitsAndEditsCoalesce() {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let ran = Recorder()
        let s = SynthesisScheduler<Int, Int>(run: { job, _ in
            ran.add(job)
            if job == 1 { started.signal(); release.wait() }
            return job * 10
        })
        s.submit(1)
        XCTAssertEqual(started.wait(timeout: .now() + 5), .success)
        let t0 = Date()
        for j in 2...50 { s.submit(j) }          // all while job 1 is stuck
        XCTAssertLessThan(Date().timeIntervalSince(t0), 0.05, "submitting must not wait for the running job")
        XCTAssertTrue(s.isBusy)
        release.signal()
        XCTAssertTrue(s.waitUntilIdle())
        XCTAssertEqual(ran.all, [1, 50], "waiting edits coalesce into the newest one")
        XCTAssertEqual(s.takeResult()?.output, 500)
        XCTAssertNil(s.takeResult(), "a result is handed out once")
        XCTAssertFalse(s.isBusy)
    }

    func testOrdinaryEditsDoNotCancelTheRunningJob() {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let cancelSeen = Recorder()
        let s = SynthesisScheduler<Int, Int>(run: { job, shouldCancel in
            if job == 1 { started.signal(); release.wait() }
            if shouldCancel() { cancelSeen.add(job); return nil }
            return job
        })
        s.submit(1)
        started.wait()
        s.submit(2)
        release.signal()
        s.waitUntilIdle()
        XCTAssertEqual(cancelSeen.all, [])
        XCTAssertEqual(s.takeResult()?.output, 2)
    }

    func testSupersedingJobCancelsRunningOneWhichPollsTheFlag() {
        let started = DispatchSemaphore(value: 0)
        let s = SynthesisScheduler<Int, Int>(run: { job, shouldCancel in
            if job == 1 {
                started.signal()
                let deadline = Date(timeIntervalSinceNow: 10)
                while !shouldCancel() { if Date() > deadline { return -1 }; usleep(1000) }
                return nil                      // noticed the flag: abandon
            }
            return job
        })
        s.submit(1)
        started.wait()
        let t0 = Date()
        s.submit(2, supersede: true)
        XCTAssertTrue(s.waitUntilIdle())
        XCTAssertLessThan(Date().timeIntervalSince(t0), 2, "the running job stopped early")
        let r = s.takeResult()
        XCTAssertEqual(r?.output, 2)
        XCTAssertEqual(r?.id, 2)
    }

    func testSupersededResultIsDiscardedEvenIfJobIgnoresTheFlag() {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let s = SynthesisScheduler<Int, Int>(run: { job, _ in
            if job == 1 { started.signal(); release.wait() }
            return job
        })
        s.submit(1)
        started.wait()
        s.submit(2, supersede: true)
        // Look between the two jobs: job 1 finished (ignoring the flag) but must not be published.
        let gate = DispatchSemaphore(value: 0)
        s.perform { gate.wait() }               // queued behind job 1's drain; holds job 2 back
        release.signal()
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertNil(s.takeResult(), "a superseded result is never shown")
        gate.signal()
        s.waitUntilIdle()
        XCTAssertEqual(s.takeResult()?.output, 2)
    }

    func testNewerResultIsNeverReplacedByOlderOne() {
        // Results are taken in increasing ID order only.
        let s = SynthesisScheduler<Int, Int>(run: { job, _ in job })
        s.submit(1)
        s.waitUntilIdle()
        XCTAssertEqual(s.takeResult()?.id, 1)
        s.submit(2)
        s.submit(3)
        s.waitUntilIdle()
        let r = s.takeResult()
        XCTAssertGreaterThanOrEqual(r?.id ?? 0, 2)
        XCTAssertNil(s.takeResult())
    }

    func testErrorsAreReportedNotThrownAtTheUI() {
        let s = SynthesisScheduler<Int, Int>(run: { _, _ in throw Boom() })
        s.submit(1)
        s.waitUntilIdle()
        XCTAssertEqual(s.takeErrors().count, 1)
        XCTAssertNil(s.takeResult())
        XCTAssertEqual(s.takeErrors().count, 0)
    }

    func testPerformRunsBetweenJobsNeverDuringOne() {
        let log = Recorder()
        let inJob = Recorder()
        let s = SynthesisScheduler<Int, Int>(run: { job, _ in
            inJob.add(1); usleep(20_000); inJob.add(-1)
            log.add(job)
            return job
        })
        var overlapped = false
        let lock = NSLock()
        for j in 1...5 {
            s.submit(j)
            s.perform {
                let depth = inJob.all.reduce(0, +)
                lock.lock(); if depth != 0 { overlapped = true }; lock.unlock()
                log.add(100 + j)
            }
        }
        s.waitUntilIdle()
        XCTAssertFalse(overlapped)
        XCTAssertEqual(log.all.filter { $0 > 100 }.count, 5)
    }

    func testWakeIsCalledForEachPublishedResult() {
        let wakes = Recorder()
        let s = SynthesisScheduler<Int, Int>(run: { job, _ in job }, wake: { wakes.add(1) })
        s.submit(1)
        s.waitUntilIdle()
        s.submit(2)
        s.waitUntilIdle()
        XCTAssertEqual(wakes.all.count, 2)
    }

    func testStopDropsWaitingWork() {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let ran = Recorder()
        let s = SynthesisScheduler<Int, Int>(run: { job, _ in
            ran.add(job)
            if job == 1 { started.signal(); release.wait() }
            return job
        })
        s.submit(1)
        started.wait()
        s.submit(2)
        s.stop()
        release.signal()
        s.waitUntilIdle()
        XCTAssertEqual(ran.all, [1])
        XCTAssertNil(s.takeResult())
    }
}
