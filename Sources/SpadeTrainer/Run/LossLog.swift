import Foundation
import SpadeImaging
import SpadeModel

/// `losses.csv` (one row per logged step) and its plot `losses.png`: one small panel per loss term.
public struct LossLog {
    public let csvPath: String
    public let plotPath: String
    public private(set) var columns: [String] = []
    public private(set) var rows: [(step: Int, values: [Float])] = []

    public init(runDirectory: String) {
        csvPath = (runDirectory as NSString).appendingPathComponent("losses.csv")
        plotPath = (runDirectory as NSString).appendingPathComponent("losses.png")
    }

    /// Reads an existing log, keeping only rows up to `step` (the checkpoint being resumed).
    public mutating func load(upTo step: Int) throws {
        guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else { return }
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { return }
        columns = Array(lines.removeFirst().split(separator: ",").dropFirst().map(String.init))
        rows = lines.compactMap { line in
            let f = line.split(separator: ",")
            guard let s = Int(f.first ?? ""), s <= step else { return nil }
            return (s, f.dropFirst().map { Float($0) ?? .nan })
        }
        try rewrite()
    }

    public mutating func append(step: Int, losses: [(String, Float)]) throws {
        if columns.isEmpty { columns = losses.map { $0.0 } }
        let byName = Dictionary(losses, uniquingKeysWith: { a, _ in a })
        rows.append((step, columns.map { byName[$0] ?? .nan }))
        if rows.count == 1 && !FileManager.default.fileExists(atPath: csvPath) {
            try rewrite()
            return
        }
        let line = "\(step)," + rows.last!.values.map { String($0) }.joined(separator: ",") + "\n"
        guard let handle = FileHandle(forWritingAtPath: csvPath) else { try rewrite(); return }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line.data(using: .utf8)!)
    }

    func rewrite() throws {
        var text = "step," + columns.joined(separator: ",") + "\n"
        for r in rows { text += "\(r.step)," + r.values.map { String($0) }.joined(separator: ",") + "\n" }
        try FileIO.writeAtomically(Array(text.utf8), to: csvPath)
    }

    /// Draws every column as a line over steps in its own panel, with its name and value range.
    public func plot() throws {
        guard !rows.isEmpty, !columns.isEmpty else { return }
        let panelW = 320, panelH = 160, perRow = min(3, columns.count)
        let gridRows = (columns.count + perRow - 1) / perRow
        var image = RGBImage(width: panelW * perRow, height: panelH * gridRows, fill: RGBColour(255, 255, 255))
        let firstStep = rows.first!.step, lastStep = max(rows.last!.step, firstStep + 1)
        for (k, name) in columns.enumerated() {
            let ox = (k % perRow) * panelW, oy = (k / perRow) * panelH
            let values = rows.map { $0.values[k] }.filter { $0.isFinite }
            guard let lo = values.min(), let hi = values.max() else { continue }
            let span = max(hi - lo, 1e-6)
            let left = ox + 10, top = oy + 24, width = panelW - 20, height = panelH - 40
            TinyFont.fill(x: left, y: top + height, w: width, h: 1, colour: RGBColour(160, 160, 160), into: &image)
            TinyFont.fill(x: left, y: top, w: 1, h: height, colour: RGBColour(160, 160, 160), into: &image)
            TinyFont.draw(name, x: left, y: oy + 6, colour: RGBColour(20, 20, 20), into: &image)
            TinyFont.draw(String(format: "%.3g", hi), x: left + width - 70, y: oy + 6, colour: RGBColour(90, 90, 90), into: &image)
            TinyFont.draw(String(format: "%.3g", lo), x: left + width - 70, y: top + height + 4, colour: RGBColour(90, 90, 90), into: &image)
            var previous: (Int, Int)?
            for r in rows where r.values[k].isFinite {
                let px = left + Int(Double(r.step - firstStep) / Double(lastStep - firstStep) * Double(width - 1))
                let py = top + height - 1 - Int(Double((r.values[k] - lo) / span) * Double(height - 1))
                if let (qx, qy) = previous { line(from: (qx, qy), to: (px, py), into: &image) }
                previous = (px, py)
            }
        }
        try writePNG(image, to: plotPath)
    }

    private func line(from a: (Int, Int), to b: (Int, Int), into image: inout RGBImage) {
        let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
        for s in 0...steps {
            let x = a.0 + (b.0 - a.0) * s / steps, y = a.1 + (b.1 - a.1) * s / steps
            TinyFont.fill(x: x, y: y, w: 1, h: 1, colour: RGBColour(30, 90, 200), into: &image)
        }
    }
}
