import Glibc

/// The classes of a label map: for each index its name, display colour and (optionally) the one-character
/// key the painter binds to it. Loaded from the text format documented in `Palettes/README.md`:
///
///     # comment
///     @name landscape          optional; defaults to the file name without `.palette`
///     @background sky          the eraser's class: an index or a class name; defaults to 0
///     @dontcare 255            optional: a label value meaning "unknown" that label maps may contain
///     0  #87CEEB  s  sky       INDEX  #RRGGBB  KEY (one character, or - for none)  NAME (rest of the line)
///
/// Indices must cover 0…count-1 exactly once; keys must be unique; names must be unique ignoring case.
/// Two classes may share a colour (Cityscapes does); reading a colour label map then gives the lower index.
public struct Palette: Equatable, Sendable {
    public let name: String
    public let names: [String]
    public let colours: [RGBColour]
    public let keys: [Character?]
    /// The class the eraser paints.
    public let background: Int
    /// A label value meaning "unknown" (255 in COCO-Stuff); it may lie outside 0..<count.
    public let dontcare: Int?
    /// The file the palette was read from (or the name given to `init(parsing:source:)`).
    public let source: String

    private let indexByColour: [UInt32: UInt8]

    public var count: Int { names.count }

    /// The lowest class index with this colour.
    public func index(of colour: RGBColour) -> UInt8? { indexByColour[colour.packed] }

    /// The class bound to `key`, if any.
    public func index(forKey key: Character) -> Int? { keys.firstIndex(of: key) }

    /// The class called `name` (ignoring case), if any.
    public func index(named name: String) -> Int? {
        let wanted = name.lowercased()
        return names.firstIndex { $0.lowercased() == wanted }
    }

    /// The label map drawn in class colours (for viewing, or as a colour-coded annotation that `readLabelMap`
    /// maps back); values that are no class (dontcare) become `unknown`.
    public func colourImage(_ labels: LabelMap, unknown: RGBColour = RGBColour(0, 0, 0)) -> RGBImage {
        var table = [RGBColour](repeating: unknown, count: 256)
        for (index, colour) in colours.enumerated() { table[index] = colour }
        var pixels = [UInt8](repeating: 0, count: labels.labels.count * 3)
        for (p, label) in labels.labels.enumerated() {
            let colour = table[Int(label)]
            pixels[3 * p] = colour.r
            pixels[3 * p + 1] = colour.g
            pixels[3 * p + 2] = colour.b
        }
        return RGBImage(width: labels.width, height: labels.height, pixels: pixels)
    }

    /// Whether a label map may contain `label`: a class index or the dontcare value.
    func allows(_ label: UInt8) -> Bool { Int(label) < count || Int(label) == dontcare }

    /// Parses palette text; errors name `source` and the line.
    public init(parsing text: String, source: String) throws {
        func fail(_ line: Int, _ detail: String) -> ImagingError {
            ImagingError.paletteSyntax(path: source, line: line, detail: detail)
        }
        var name: String?
        var background: (value: String, line: Int)?
        var dontcare: Int?
        var entries: [Int: (colour: RGBColour, key: Character?, name: String, line: Int)] = [:]
        var indexByKey: [Character: Int] = [:]
        var indexByLowercasedName: [String: Int] = [:]

        // isNewline also splits "\r\n", which Swift holds as a single Character.
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = offset + 1
            let line = Self.stripComment(String(rawLine))
            if line.isEmpty { continue }
            let (first, rest) = Self.splitFirstField(line)

            if first.hasPrefix("@") {
                let value = rest
                guard !value.isEmpty else { throw fail(lineNumber, "\(first) needs a value") }
                switch first {
                case "@name": name = value
                case "@background": background = (value, lineNumber)
                case "@dontcare":
                    guard let number = Int(value), (0...255).contains(number) else {
                        throw fail(lineNumber, "@dontcare needs a label value 0…255, not '\(value)'")
                    }
                    dontcare = number
                default:
                    throw fail(lineNumber, "unknown directive \(first) (known: @name, @background, @dontcare)")
                }
                continue
            }

            let (colourField, afterColour) = Self.splitFirstField(rest)
            let (keyField, className) = Self.splitFirstField(afterColour)
            guard let index = Int(first), (0...255).contains(index) else {
                throw fail(lineNumber, "expected 'INDEX #RRGGBB KEY NAME' with INDEX 0…255, got '\(first)'")
            }
            guard let colour = Self.parseColour(colourField) else {
                throw fail(lineNumber, "class \(index): colour must be #RRGGBB, got '\(colourField)'")
            }
            guard keyField.count == 1, !["#", "@"].contains(keyField) else {
                throw fail(lineNumber, "class \(index): key must be one character or '-' for none, got '\(keyField)'")
            }
            guard !className.isEmpty else { throw fail(lineNumber, "class \(index) has no name") }
            if let previous = entries[index] {
                throw fail(lineNumber, "index \(index) is already defined on line \(previous.line)")
            }
            let key: Character? = keyField == "-" ? nil : keyField.first
            if let key, let other = indexByKey[key] {
                throw fail(lineNumber, "key '\(key)' is already used by class \(other) (\(entries[other]!.name)) on line \(entries[other]!.line)")
            }
            if let other = indexByLowercasedName[className.lowercased()] {
                throw fail(lineNumber, "name '\(className)' is already used by class \(other) on line \(entries[other]!.line)")
            }
            entries[index] = (colour, key, className, lineNumber)
            if let key { indexByKey[key] = index }
            indexByLowercasedName[className.lowercased()] = index
        }

        guard !entries.isEmpty else { throw fail(0, "no classes (expected lines 'INDEX #RRGGBB KEY NAME')") }
        let count = entries.count
        if let missing = (0..<count).first(where: { entries[$0] == nil }) {
            throw fail(0, "classes must be numbered 0…\(count - 1) without gaps; index \(missing) is missing")
        }
        let ordered = (0..<count).map { entries[$0]! }
        self.names = ordered.map(\.name)
        self.colours = ordered.map(\.colour)
        self.keys = ordered.map(\.key)
        self.dontcare = dontcare
        self.source = source
        self.name = name ?? Self.baseName(source)

        if let (value, line) = background {
            if let number = Int(value) {
                guard (0..<count).contains(number) else { throw fail(line, "@background \(number) is not a class (0…\(count - 1))") }
                self.background = number
            } else if let index = indexByLowercasedName[value.lowercased()] {
                self.background = index
            } else {
                throw fail(line, "@background '\(value)' is neither a class index nor a class name")
            }
        } else {
            self.background = 0
        }

        var lookup: [UInt32: UInt8] = [:]
        for (index, colour) in colours.enumerated().reversed() { lookup[colour.packed] = UInt8(index) }
        self.indexByColour = lookup
    }

    /// Reads the palette file at `path`.
    public static func load(path: String) throws -> Palette {
        let bytes = try FileIO.read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ImagingError.paletteSyntax(path: path, line: 0, detail: "not UTF-8 text")
        }
        return try Palette(parsing: text, source: path)
    }

    /// The palette called `name`: `NAME.palette` in the first of `searchDirectories()` that has it.
    /// A name containing `/` or ending in `.palette` is taken as a path instead.
    public static func load(named name: String) throws -> Palette {
        if name.contains("/") || name.hasSuffix(fileExtension) { return try load(path: name) }
        let directories = searchDirectories()
        for directory in directories {
            let path = directory + "/" + name + fileExtension
            if access(path, F_OK) == 0 { return try load(path: path) }
        }
        throw ImagingError.paletteNotFound(name: name, searched: directories)
    }

    /// The names of the palettes found in `searchDirectories()` (earlier directories win), sorted.
    public static func availableNames() -> [String] {
        var found = Set<String>()
        for directory in searchDirectories() {
            guard let stream = opendir(directory) else { continue }
            defer { closedir(stream) }
            while let entry = readdir(stream) {
                let file = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if file.hasSuffix(fileExtension) && !file.hasPrefix(".") { found.insert(String(file.dropLast(fileExtension.count))) }
            }
        }
        return found.sorted()
    }

    public static let fileExtension = ".palette"

    /// Where `load(named:)` looks, in order; only directories that exist are listed:
    /// 1. each directory in `$SPADEPAINT_PALETTES` (colon-separated);
    /// 2. `Palettes/` and `share/spadepaint/Palettes/` in the running executable's directory and each of its
    ///    parents (finds the checkout's `Palettes/` from `.build/release/spadepaint`, and an installed tree);
    /// 3. the `Palettes/` of the source checkout this module was compiled from (for tests and `swift run`).
    public static func searchDirectories() -> [String] {
        var candidates: [String] = []
        if let variable = getenv("SPADEPAINT_PALETTES") {
            candidates += String(cString: variable).split(separator: ":").map(String.init)
        }
        if let executable = executablePath() {
            var directory = parent(of: executable)
            while true {
                candidates.append(directory + "/Palettes")
                candidates.append(directory + "/share/spadepaint/Palettes")
                if directory == "/" || directory.isEmpty { break }
                directory = parent(of: directory)
            }
        }
        // #filePath is Sources/SpadeImaging/Palette.swift in the checkout.
        candidates.append(parent(of: parent(of: parent(of: #filePath))) + "/Palettes")

        var seen = Set<String>()
        return candidates.filter { path in
            var status = stat()
            guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { return false }
            guard let real = realpath(path, nil) else { return false }
            defer { free(real) }
            return seen.insert(String(cString: real)).inserted
        }
    }

    // MARK: helpers

    private static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(cString: buffer)
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func baseName(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return file.hasSuffix(fileExtension) ? String(file.dropLast(fileExtension.count)) : file
    }

    /// Drops a comment: a line starting with `#`, or whitespace + `#` + whitespace/end (colours are `#RRGGBB`).
    private static func stripComment(_ line: String) -> String {
        let trimmed = line.trimmingWhitespace()
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return "" }
        let characters = Array(trimmed)
        for i in 1..<characters.count where characters[i] == "#" && characters[i - 1].isWhitespace
            && (i + 1 == characters.count || characters[i + 1].isWhitespace) {
            return String(characters[..<i]).trimmingWhitespace()
        }
        return trimmed
    }

    private static func splitFirstField(_ text: String) -> (String, String) {
        guard let space = text.firstIndex(where: \.isWhitespace) else { return (text, "") }
        return (String(text[..<space]), String(text[space...]).trimmingWhitespace())
    }

    private static func parseColour(_ field: String) -> RGBColour? {
        guard field.count == 7, field.first == "#", let value = UInt32(field.dropFirst(), radix: 16) else { return nil }
        return RGBColour(UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
