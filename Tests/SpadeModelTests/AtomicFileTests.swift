import Foundation
import XCTest
@testable import SpadeModel
#if canImport(Glibc)
import Glibc
#endif

final class AtomicFileTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "atomic-file-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func contents(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private func directoryListing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    private func assertFails(_ body: () throws -> Void, mentioning parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertTrue(error is AtomicFileError, "unexpected error \(error)", line: line)
            let message = error.localizedDescription
            for part in parts {
                XCTAssertTrue(message.contains(part), "'\(message)' lacks '\(part)'", line: line)
            }
        }
    }

    func testWritesAndReplacesWithoutLeavingTemporaryFiles() throws {
        let target = "\(directory!)/out.bin"
        try AtomicFile.write([1, 2, 3] as [UInt8], to: target)
        XCTAssertEqual(try contents(target), [1, 2, 3])
        try AtomicFile.write(Data([9, 8]), to: target)
        XCTAssertEqual(try contents(target), [9, 8])
        XCTAssertEqual(try directoryListing(), ["out.bin"])
    }

    func testRelativePathWritesIntoTheCurrentDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try AtomicFile.write([7] as [UInt8], to: "relative.bin")
        XCTAssertEqual(try contents("\(directory!)/relative.bin"), [7])
    }

    func testStreamingLargeWriteKeepsEveryByteInOrder() throws {
        // Mixed piece sizes exercise the buffered path and the direct path for big pieces.
        let target = "\(directory!)/big.bin"
        let pieces = [10, 1 << 20, 3, (1 << 20) + 17, 5_000_000, 1].enumerated().map { index, size in
            (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
        }
        var total = 0
        try AtomicFile.write(to: target) { stream in
            for piece in pieces { try stream.write(piece) }
            total = stream.bytesWritten
        }
        XCTAssertEqual(total, pieces.reduce(0) { $0 + $1.count })
        XCTAssertEqual(try contents(target), Array(pieces.joined()))
    }

    func testProducerFailureLeavesOldFileAndNoTemporary() throws {
        struct Interrupted: Error {}
        let target = "\(directory!)/keep.bin"
        try AtomicFile.write([1, 1, 1] as [UInt8], to: target)
        XCTAssertThrowsError(try AtomicFile.write(to: target) { stream in
            try stream.write([UInt8](repeating: 2, count: 3_000_000))
            throw Interrupted()
        }) { XCTAssertTrue($0 is Interrupted) }
        XCTAssertEqual(try contents(target), [1, 1, 1])
        XCTAssertEqual(try directoryListing(), ["keep.bin"])
    }

    func testFullDiskLeavesOldFileAndNoTemporary() throws {
        // A file size limit makes write(2) fail with EFBIG part way, as a full disk fails with ENOSPC.
        let target = "\(directory!)/model.safetensors"
        try AtomicFile.write([5, 5] as [UInt8], to: target)
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved), 0)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limited = saved
        limited.rlim_cur = 4096
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limited), 0)
        defer {
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
            signal(SIGXFSZ, previousHandler)
        }
        var writer = SafeTensorsWriter()
        try writer.add("w", floats: [Float](repeating: 1, count: 1_000_000), shape: [1_000_000])
        assertFails({ try writer.write(to: target) }, mentioning: [target, "writing data", "File too large"])
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        XCTAssertEqual(try contents(target), [5, 5])
        XCTAssertEqual(try directoryListing(), ["model.safetensors"])
    }

    func testRenameFailureRemovesTemporaryAndNamesThePath() throws {
        // The target is a directory: the data is written, the final rename fails.
        let target = "\(directory!)/occupied"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        assertFails({ try AtomicFile.write([1] as [UInt8], to: target) },
                    mentioning: [target, "renaming the temporary file into place", "Is a directory"])
        XCTAssertEqual(try directoryListing(), ["occupied"])
    }

    func testMissingDirectoryNamesThePathAndErrno() throws {
        let target = "\(directory!)/no/such/dir/file.bin"
        assertFails({ try AtomicFile.write([1] as [UInt8], to: target) },
                    mentioning: [target, "creating a temporary file", "No such file or directory"])
    }

    func testReplacingKeepsThePermissionsOfTheOldFile() throws {
        let target = "\(directory!)/private.bin"
        try AtomicFile.write([1] as [UInt8], to: target)
        XCTAssertEqual(chmod(target, 0o600), 0)
        try AtomicFile.write([2] as [UInt8], to: target)
        let attributes = try FileManager.default.attributesOfItem(atPath: target)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }
}
