import Foundation

/// A checkpoint that does not fit the network it is loaded into, or cannot be read or written.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}

/// A module's state (parameters and buffers, named as the reference `state_dict()`) to and from
/// safetensors. Floats are stored as F32 (F16 / BF16 / F64 are accepted on load); integer buffers such as
/// BatchNorm's `num_batches_tracked` as I64 scalars, as PyTorch writes them.
public enum StateDict {
    /// A named module and the prefix its names carry in the file ("" for a file of one network,
    /// e.g. a reference `latest_net_G.pth` converted to safetensors; "netD." for a part of a bigger file).
    public struct Part {
        public let prefix: String
        public let module: Module
        public init(_ module: Module, prefix: String = "") {
            self.prefix = prefix
            self.module = module
        }
    }

    /// Loads `module` strictly; see `load(_:from:rejectUnexpected:)`.
    public static func load(_ module: Module, from file: SafeTensorsFile, prefix: String = "",
                            rejectUnexpected: Bool = true, ignoring otherPrefixes: [String] = []) throws {
        try load([Part(module, prefix: prefix)], from: file, rejectUnexpected: rejectUnexpected, ignoring: otherPrefixes)
    }

    /// Loads every part or nothing: each entry must exist with exactly its shape and a compatible dtype;
    /// with `rejectUnexpected`, a tensor whose name starts with a part's prefix but that the part does not
    /// have is an error too (as PyTorch's strict `load_state_dict`). Everything is validated and read
    /// first, and only then assigned, so a failure leaves the modules untouched. Names under
    /// `otherPrefixes` belong to other networks stored in the same file and are never "unexpected".
    public static func load(_ parts: [Part], from file: SafeTensorsFile, rejectUnexpected: Bool = true,
                            ignoring otherPrefixes: [String] = []) throws {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(file: file.path, problem: problem) }
        var pending: [(StateEntry, Tensor)] = []
        var expected = Set<String>()
        for part in parts {
            for (localName, entry) in part.module.stateEntries() {
                let name = part.prefix + localName
                expected.insert(name)
                guard file.contains(name) else {
                    throw fail("missing tensor '\(name)' (\(describe(entry)))")
                }
                let info = try file.info(name)
                let want = entry.tensor.shape
                guard info.shape == want else {
                    throw fail("tensor '\(name)' has shape \(info.shape), the network needs \(want)")
                }
                var values: [Float]
                if isInteger(entry) {
                    guard info.dtype == .int64 else {
                        throw fail("tensor '\(name)' has dtype \(info.dtype.rawValue), expected I64")
                    }
                    values = try file.int64s(name).map { Float($0) }
                } else {
                    guard [.float32, .float16, .bfloat16, .float64].contains(info.dtype) else {
                        throw fail("tensor '\(name)' has dtype \(info.dtype.rawValue), expected F32 (or F16, BF16, F64)")
                    }
                    values = try file.floats(name)
                }
                pending.append((entry, Tensor(shape: want, data: values)))
            }
        }
        if rejectUnexpected {
            let prefixes = parts.map(\.prefix)
            let unexpected = file.names.filter { name in
                !expected.contains(name) && prefixes.contains { name.hasPrefix($0) }
                    && !otherPrefixes.contains { name.hasPrefix($0) }
            }
            if !unexpected.isEmpty {
                let shown = unexpected.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
                throw fail("\(unexpected.count) unexpected tensor(s) the network does not have: \(shown)\(unexpected.count > 5 ? ", …" : "")")
            }
        }
        for (entry, tensor) in pending { entry.assign(tensor) }
    }

    /// Appends the module's entries, in state-dict order, to `writer`.
    public static func add(_ module: Module, prefix: String = "", to writer: inout SafeTensorsWriter) throws {
        for (localName, entry) in module.stateEntries() {
            let t = entry.tensor
            if isInteger(entry) {
                try writer.add(prefix + localName, int64s: t.data.map { Int64($0) }, shape: t.shape)
            } else {
                try writer.add(prefix + localName, floats: t.data, shape: t.shape)
            }
        }
    }

    /// Writes the parts and `metadata` to `path` atomically (temporary file, then rename).
    public static func save(_ parts: [Part], metadata: [String: String], to path: String) throws {
        var writer = SafeTensorsWriter(metadata: metadata)
        for part in parts { try add(part.module, prefix: part.prefix, to: &writer) }
        try writer.write(to: path)
    }

    private static func isInteger(_ entry: StateEntry) -> Bool {
        if case .buffer(let b) = entry { return b.isInteger }
        return false
    }

    private static func describe(_ entry: StateEntry) -> String {
        let kind: String
        switch entry {
        case .parameter: kind = "parameter"
        case .buffer(let b): kind = b.isInteger ? "I64 buffer" : "buffer"
        }
        return "\(kind) of shape \(entry.tensor.shape)"
    }
}
