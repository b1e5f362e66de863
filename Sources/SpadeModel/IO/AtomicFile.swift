import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed atomic write. The target file, if it existed, is unchanged and no temporary file is left.
public struct AtomicFileError: Error, CustomStringConvertible {
    /// The file that was to be written.
    public let path: String
    /// What failed, e.g. "writing data" or "renaming the temporary file into place".
    public let step: String
    /// The `errno` value, or 0 when the failure did not come from the system.
    public let code: Int32

    public var description: String {
        let reason = code == 0 ? "failed" : String(cString: strerror(code))
        return "\(path): cannot write file (\(step)): \(reason)"
    }
}

extension AtomicFileError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Writes files so that readers see either the old complete file or the new complete file, never a
/// half-written one (a crash or full disk during a checkpoint save must not destroy the last good
/// checkpoint): the bytes go to a temporary file in the same directory, which is flushed to disk
/// with fsync and then renamed over the target.
public enum AtomicFile {
    /// Atomically replaces `path` with `data`.
    public static func write<Bytes: DataProtocol>(_ data: Bytes, to path: String) throws {
        try write(to: path) { stream in try stream.write(data) }
    }

    /// Atomically replaces `path` with whatever `produce` writes into the stream, so big files can
    /// be written piece by piece without first building them in memory. If `produce` throws, the
    /// target is left untouched, the temporary file removed, and the error rethrown.
    public static func write(to path: String, _ produce: (AtomicFileStream) throws -> Void) throws {
        let (directory, name) = split(path)
        let existingMode = existingFileMode(path)
        var temporaryPath = ""
        var descriptor: Int32 = -1
        // O_EXCL on a random name: never clobber another writer's temporary file.
        for _ in 0..<16 {
            temporaryPath = "\(directory)/.\(name).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
            descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw AtomicFileError(path: path, step: "creating a temporary file in \(directory)", code: errno)
        }
        let stream = AtomicFileStream(descriptor: descriptor, path: path)
        do {
            // Keep the permissions of the file being replaced.
            if let mode = existingMode, fchmod(descriptor, mode) != 0 {
                throw AtomicFileError(path: path, step: "copying permissions to the temporary file", code: errno)
            }
            try produce(stream)
            try stream.flush()
            if fsync(descriptor) != 0 {
                throw AtomicFileError(path: path, step: "flushing data to disk", code: errno)
            }
            stream.isClosed = true
            // close can report delayed write errors (e.g. on network file systems).
            if close(descriptor) != 0 {
                throw AtomicFileError(path: path, step: "closing the temporary file", code: errno)
            }
            if rename(temporaryPath, path) != 0 {
                throw AtomicFileError(path: path, step: "renaming the temporary file into place", code: errno)
            }
        } catch {
            if !stream.isClosed {
                stream.isClosed = true
                close(descriptor)
            }
            unlink(temporaryPath)
            throw error
        }
        syncDirectory(directory)
    }

    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private static func existingFileMode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return info.st_mode & 0o7777
    }

    /// Makes the rename itself durable. Best effort: some file systems refuse fsync on directories,
    /// and by now the new file is already complete and in place.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

/// The sink handed to `AtomicFile.write(to:_:)`. Buffers small writes (1 MiB) so that writing a
/// tensor in pieces costs few system calls; large writes go straight to the file.
public final class AtomicFileStream {
    private let descriptor: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private static let bufferCapacity = 1 << 20
    fileprivate var isClosed = false

    /// Bytes accepted so far.
    public private(set) var bytesWritten = 0

    fileprivate init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        buffer.reserveCapacity(Self.bufferCapacity)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !isClosed else { throw AtomicFileError(path: path, step: "writing after the file was finished", code: 0) }
        bytesWritten += bytes.count
        if buffer.count + bytes.count <= Self.bufferCapacity {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count < Self.bufferCapacity {
            buffer.append(contentsOf: bytes)
        } else {
            try writeFully(bytes)
        }
    }

    public func write<Bytes: DataProtocol>(_ bytes: Bytes) throws {
        for region in bytes.regions {
            try region.withUnsafeBytes { try write($0) }
        }
    }

    fileprivate func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeFully($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeFully(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            let written = systemWrite(descriptor, bytes.baseAddress! + offset, chunk)
            if written < 0 {
                if errno == EINTR { continue }
                throw AtomicFileError(path: path, step: "writing data", code: errno)
            }
            if written == 0 {
                throw AtomicFileError(path: path, step: "writing data", code: ENOSPC)
            }
            offset += written
        }
    }
}

/// `write(2)`; named apart from the stream's own `write` methods.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
