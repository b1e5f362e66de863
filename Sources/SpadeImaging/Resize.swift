import Glibc

// Resampling with the exact index/weight rules of the reference pipeline, so that maps and photos resized
// here feed the generator what PyTorch would have fed it.

/// Which source pixel nearest-neighbour resizing takes for an output pixel.
public enum NearestRule: Sendable {
    /// PyTorch's legacy `F.interpolate(mode='nearest')` (what SPADE uses on label maps inside the generator):
    /// `src = min(floor(dst · in/out), in − 1)` with the scale in Float32 — the top-left sample of each block.
    case pytorchLegacy
    /// Pixel centres, `src = floor((dst + 0.5) · in/out)` — PIL's `Image.NEAREST` (the reference data loader).
    case pixelCenter
}

/// Source row/column for each output row/column.
func nearestSourceIndices(input: Int, output: Int, rule: NearestRule) -> [Int] {
    switch rule {
    case .pytorchLegacy:
        // Mirrors ATen's nearest_idx, including its exact shortcuts for equal size and ×2.
        if output == input { return Array(0..<output) }
        if output == 2 * input { return (0..<output).map { $0 >> 1 } }
        let scale = Float(input) / Float(output)
        return (0..<output).map { min(Int(floorf(Float($0) * scale)), input - 1) }
    case .pixelCenter:
        // PIL (ImagingScaleAffine) walks the source coordinate by repeated addition in Double; do the same so
        // the rare values that land on an integer round identically.
        let step = Double(input) / Double(output)
        var position = step * 0.5
        var indices = [Int]()
        indices.reserveCapacity(output)
        for _ in 0..<output {
            indices.append(min(max(Int(position), 0), input - 1))
            position += step
        }
        return indices
    }
}

/// Resizes a label map by nearest neighbour (the only resampling that keeps class indices valid).
public func resizeNearest(_ labels: LabelMap, width: Int, height: Int, rule: NearestRule = .pytorchLegacy) -> LabelMap {
    precondition(width > 0 && height > 0, "resize target must be positive, got \(width)×\(height)")
    if labels.width == width && labels.height == height { return labels }
    let columns = nearestSourceIndices(input: labels.width, output: width, rule: rule)
    let rows = nearestSourceIndices(input: labels.height, output: height, rule: rule)
    var out = [UInt8](repeating: 0, count: width * height)
    for y in 0..<height {
        let sourceRow = rows[y] * labels.width
        for x in 0..<width { out[y * width + x] = labels.labels[sourceRow + columns[x]] }
    }
    return LabelMap(width: width, height: height, labels: out)
}

/// Resampling filters for photos.
public enum PhotoFilter: String, Sendable, CaseIterable {
    /// PyTorch `F.interpolate(mode='bilinear', align_corners=False)`, no antialiasing.
    case bilinear
    /// PyTorch `F.interpolate(mode='area')` (adaptive average pooling): each output pixel is the mean of the
    /// source block `floor(i·in/out) ..< ceil((i+1)·in/out)`; a box filter for downscaling.
    case area
    /// Pillow's `Image.BICUBIC` (a = −0.5, support widened when downscaling, so it antialiases), bit-exact:
    /// the reference data loader resizes photos with it.
    case bicubic
}

/// Resizes an RGB picture. Bilinear and area are computed in Float and rounded to the nearest 8-bit value;
/// bicubic follows Pillow's integer arithmetic exactly.
public func resize(_ image: RGBImage, width: Int, height: Int, filter: PhotoFilter) -> RGBImage {
    precondition(width > 0 && height > 0, "resize target must be positive, got \(width)×\(height)")
    if image.width == width && image.height == height { return image }
    let resized: [Float]
    switch filter {
    case .bicubic:
        return resizePillow(image, width: width, height: height, kernel: .bicubic)
    case .bilinear:
        resized = resizeBilinear(image.pixels.map(Float.init), width: image.width, height: image.height, channels: 3,
                                 toWidth: width, toHeight: height)
    case .area:
        resized = resizeArea(image.pixels.map(Float.init), width: image.width, height: image.height, channels: 3,
                             toWidth: width, toHeight: height)
    }
    return RGBImage(width: width, height: height, pixels: resized.map { UInt8(min(max($0.rounded(), 0), 255)) })
}

/// One output coordinate of a separable linear filter: two source indices and their weights.
private struct LinearTap {
    var i0: Int, i1: Int
    var w0: Float, w1: Float
}

/// PyTorch's align_corners=False source coordinates: `src = (dst + 0.5)·in/out − 0.5`, clamped at 0.
private func bilinearTaps(input: Int, output: Int) -> [LinearTap] {
    let scale = Float(input) / Float(output)
    return (0..<output).map { dst in
        let source = max(scale * (Float(dst) + 0.5) - 0.5, 0)
        let i0 = Int(source)
        let i1 = i0 + (i0 < input - 1 ? 1 : 0)
        let w1 = source - Float(i0)
        return LinearTap(i0: i0, i1: i1, w0: 1 - w1, w1: w1)
    }
}

/// Bilinear resize of interleaved Float samples (`channels` per pixel), PyTorch align_corners=False semantics.
public func resizeBilinear(_ values: [Float], width: Int, height: Int, channels: Int,
                           toWidth: Int, toHeight: Int) -> [Float] {
    precondition(values.count == width * height * channels && toWidth > 0 && toHeight > 0)
    let xs = bilinearTaps(input: width, output: toWidth)
    let ys = bilinearTaps(input: height, output: toHeight)
    var out = [Float](repeating: 0, count: toWidth * toHeight * channels)
    for y in 0..<toHeight {
        let ty = ys[y]
        let row0 = ty.i0 * width, row1 = ty.i1 * width
        for x in 0..<toWidth {
            let tx = xs[x]
            let o = (y * toWidth + x) * channels
            for c in 0..<channels {
                let top = tx.w0 * values[(row0 + tx.i0) * channels + c] + tx.w1 * values[(row0 + tx.i1) * channels + c]
                let bottom = tx.w0 * values[(row1 + tx.i0) * channels + c] + tx.w1 * values[(row1 + tx.i1) * channels + c]
                out[o + c] = ty.w0 * top + ty.w1 * bottom
            }
        }
    }
    return out
}

/// Area resize (adaptive average pooling) of interleaved Float samples, PyTorch `mode='area'` semantics.
public func resizeArea(_ values: [Float], width: Int, height: Int, channels: Int,
                       toWidth: Int, toHeight: Int) -> [Float] {
    precondition(values.count == width * height * channels && toWidth > 0 && toHeight > 0)
    func bins(_ input: Int, _ output: Int) -> [Range<Int>] {
        (0..<output).map { i in (i * input / output)..<(((i + 1) * input + output - 1) / output) }
    }
    let xBins = bins(width, toWidth)
    let yBins = bins(height, toHeight)
    // Rows first, then columns: uniform weights make the mean of the row means the block mean.
    var rowPooled = [Float](repeating: 0, count: toWidth * height * channels)
    for y in 0..<height {
        for (x, bin) in xBins.enumerated() {
            for c in 0..<channels {
                var sum: Float = 0
                for sx in bin { sum += values[(y * width + sx) * channels + c] }
                rowPooled[(y * toWidth + x) * channels + c] = sum / Float(bin.count)
            }
        }
    }
    var out = [Float](repeating: 0, count: toWidth * toHeight * channels)
    for (y, bin) in yBins.enumerated() {
        for x in 0..<toWidth {
            for c in 0..<channels {
                var sum: Float = 0
                for sy in bin { sum += rowPooled[(sy * toWidth + x) * channels + c] }
                out[(y * toWidth + x) * channels + c] = sum / Float(bin.count)
            }
        }
    }
    return out
}
