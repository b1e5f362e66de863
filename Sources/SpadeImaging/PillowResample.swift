// Pillow's two-pass convolution resampling (Resample.c), reproduced operation for operation so that photos
// resized here are bit-identical to the reference data loader's `img.resize(size, Image.BICUBIC)`:
// Double coefficients normalised per output pixel, converted to 22-bit fixed point, a horizontal pass
// over only the rows the vertical pass reads, clipping to 8 bits in between, then the vertical pass.

/// A separable resampling kernel with its support radius at scale 1.
struct PillowKernel {
    var support: Double
    var weight: (Double) -> Double

    static let bicubic = PillowKernel(support: 2) { x in
        let a = -0.5
        let x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }
}

private let precisionBits = 32 - 8 - 2

/// For each output index: the first source index and the fixed-point weights of the source run.
private struct PillowTaps {
    var first: [Int] = []
    var weights: [[Int]] = []
}

private func pillowTaps(input: Int, output: Int, kernel: PillowKernel) -> PillowTaps {
    let scale = Double(input) / Double(output)
    let filterScale = max(scale, 1)
    let support = kernel.support * filterScale
    var taps = PillowTaps()
    for xx in 0..<output {
        let center = (Double(xx) + 0.5) * scale
        let inverse = 1 / filterScale
        // C's (int) truncates toward zero, also for the negative values near the left edge.
        let xmin = max(Int(center - support + 0.5), 0)
        let xmax = min(Int(center + support + 0.5), input) - xmin
        var weights = (0..<max(xmax, 0)).map { kernel.weight((Double($0 + xmin) - center + 0.5) * inverse) }
        let total = weights.reduce(0, +)
        if total != 0 { weights = weights.map { $0 / total } }
        taps.first.append(xmin)
        taps.weights.append(weights.map { w in
            let scaled = w * Double(1 << precisionBits)
            return Int(w < 0 ? -0.5 + scaled : 0.5 + scaled)
        })
    }
    return taps
}

@inline(__always)
private func clip8(_ value: Int) -> UInt8 {
    if value >= (1 << (precisionBits + 8)) { return 255 }
    if value <= 0 { return 0 }
    return UInt8(value >> precisionBits)
}

/// Resizes like Pillow's `Image.resize(size, filter)` for an RGB image.
func resizePillow(_ image: RGBImage, width: Int, height: Int, kernel: PillowKernel) -> RGBImage {
    let horizontal = pillowTaps(input: image.width, output: width, kernel: kernel)
    var vertical = pillowTaps(input: image.height, output: height, kernel: kernel)
    let half = 1 << (precisionBits - 1)

    // Horizontal pass (skipped when the width is unchanged), over the source rows the vertical pass uses.
    var rows = image.pixels
    var rowWidth = image.width
    var rowOffset = 0
    var rowCount = image.height
    if width != image.width {
        let firstRow = vertical.first[0]
        let lastRow = vertical.first[height - 1] + vertical.weights[height - 1].count
        rowOffset = firstRow
        rowCount = lastRow - firstRow
        var pass = [UInt8](repeating: 0, count: width * rowCount * 3)
        for y in 0..<rowCount {
            let source = (y + firstRow) * image.width * 3
            for x in 0..<width {
                let start = horizontal.first[x]
                var r = half, g = half, b = half
                for (i, k) in horizontal.weights[x].enumerated() {
                    let p = source + (start + i) * 3
                    r += Int(image.pixels[p]) * k
                    g += Int(image.pixels[p + 1]) * k
                    b += Int(image.pixels[p + 2]) * k
                }
                let o = (y * width + x) * 3
                pass[o] = clip8(r)
                pass[o + 1] = clip8(g)
                pass[o + 2] = clip8(b)
            }
        }
        rows = pass
        rowWidth = width
    }
    guard height != image.height else {
        return RGBImage(width: rowWidth, height: rowCount, pixels: rows)
    }

    for y in 0..<height { vertical.first[y] -= rowOffset }
    var out = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        let start = vertical.first[y]
        let weights = vertical.weights[y]
        for x in 0..<width {
            var r = half, g = half, b = half
            for (i, k) in weights.enumerated() {
                let p = ((start + i) * rowWidth + x) * 3
                r += Int(rows[p]) * k
                g += Int(rows[p + 1]) * k
                b += Int(rows[p + 2]) * k
            }
            let o = (y * width + x) * 3
            out[o] = clip8(r)
            out[o + 1] = clip8(g)
            out[o + 2] = clip8(b)
        }
    }
    return RGBImage(width: width, height: height, pixels: out)
}
