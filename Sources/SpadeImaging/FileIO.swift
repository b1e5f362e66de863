import Glibc

/// Whole-file reads and atomic writes with errno-based messages that name the file.
public enum FileIO {
    /// The contents of `path`: all of it, or its first `limit` bytes.
    public static func read(_ path: String, limit: Int = .max) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ImagingError.unreadable(path: path, reason: errnoText()) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ImagingError.unreadable(path: path, reason: errnoText()) }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw ImagingError.unreadable(path: path, reason: "it is a directory")
        }
        // Read until end of file rather than trusting st_size (pipes, files that grow while read).
        var bytes = [UInt8]()
        bytes.reserveCapacity(min(max(Int(status.st_size), 0), limit))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ImagingError.unreadable(path: path, reason: errnoText())
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Writes `bytes` to a temporary file in the same directory and renames it over `path`, so that readers
    /// (and a crash halfway) see either the old file or the complete new one, never a partial file.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var template = ((directory.isEmpty ? "/" : directory + "/") + "." + name + ".tmp-XXXXXX").utf8CString
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw ImagingError.unwritable(path: path, reason: errnoText()) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var closed = false
        do {
            defer { if !closed { close(descriptor) } }
            var offset = 0
            while offset < bytes.count {
                let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw ImagingError.unwritable(path: path, reason: errnoText())
                }
                offset += count
            }
            // mkstemp creates the file 0600; an image should be readable like any other file.
            guard fchmod(descriptor, 0o644) == 0, fsync(descriptor) == 0 else {
                throw ImagingError.unwritable(path: path, reason: errnoText())
            }
            closed = true
            guard close(descriptor) == 0 else { throw ImagingError.unwritable(path: path, reason: errnoText()) }
            guard rename(temporary, path) == 0 else { throw ImagingError.unwritable(path: path, reason: errnoText()) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
