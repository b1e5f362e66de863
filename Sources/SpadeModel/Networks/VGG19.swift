/// The frozen VGG19 feature extractor of the perceptual loss (the reference's `architecture.VGG19`), built
/// from tensors in torchvision's `features.N.weight` / `features.N.bias` key layout. Only the layers up to
/// relu5_1 (index 29) are used; other keys (deeper layers, `classifier.*`) are ignored. Widths are read
/// from the tensors, so any VGG19-shaped network in that layout loads.
public final class VGG19 {
    /// relu1_1, relu2_1, relu3_1, relu4_1, relu5_1: outputs of `features[0:2]`, `[2:7]`, `[7:12]`, `[12:21]`, `[21:30]`.
    public static let tapIndices = [1, 6, 11, 20, 29]
    public static var tapCount: Int { tapIndices.count }
    static let convIndices = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28]
    static let poolIndices: Set<Int> = [4, 9, 18, 27]

    private let convs: [Int: (weight: Tensor, bias: Tensor)]

    /// `source` names where the tensors came from, for error messages.
    public init(tensors: [String: Tensor], source: String) throws {
        var convs: [Int: (Tensor, Tensor)] = [:]
        var channels = 3
        for index in Self.convIndices {
            let wKey = "features.\(index).weight", bKey = "features.\(index).bias"
            guard let w = tensors[wKey] else { throw VGGWeightsError(source: source, problem: "missing tensor \(wKey)") }
            guard let b = tensors[bKey] else { throw VGGWeightsError(source: source, problem: "missing tensor \(bKey)") }
            guard w.rank == 4, w.shape[1] == channels, w.shape[2] == 3, w.shape[3] == 3 else {
                throw VGGWeightsError(source: source,
                                      problem: "\(wKey) has shape \(w.shape), expected [out, \(channels), 3, 3]")
            }
            guard b.shape == [w.shape[0]] else {
                throw VGGWeightsError(source: source, problem: "\(bKey) has shape \(b.shape), expected [\(w.shape[0])]")
            }
            convs[index] = (w, b)
            channels = w.shape[0]
        }
        self.convs = convs
    }

    /// Reads the layers it needs from a safetensors file (e.g. torchvision's `vgg19` ImageNet weights converted
    /// with `safetensors.torch.save_file(model.state_dict(), …)`); other tensors in the file are ignored.
    public convenience init(contentsOf path: String) throws {
        let file = try SafeTensorsFile(path: path)
        var tensors: [String: Tensor] = [:]
        for index in Self.convIndices {
            for key in ["features.\(index).weight", "features.\(index).bias"] where file.contains(key) {
                let info = try file.info(key)
                guard [.float32, .float16, .bfloat16, .float64].contains(info.dtype) else {
                    throw VGGWeightsError(source: path, problem: "\(key) has dtype \(info.dtype.rawValue), expected a float type")
                }
                tensors[key] = Tensor(shape: info.shape, data: try file.floats(key))
            }
        }
        try self.init(tensors: tensors, source: path)
    }

    /// What a forward keeps for its backward.
    public struct Run {
        public var features: [Tensor]
        fileprivate var convInputs: [Int: Tensor] = [:]
        fileprivate var reluInputs: [Int: Tensor] = [:]
        fileprivate var pools: [Int: (argmax: [Int32], inputShape: [Int])] = [:]
    }

    /// The five tap features of images [N, 3, H, W] (fed as they are: [-1, 1], no normalisation).
    /// Without `keepForBackward` (the detached real image) no activations are kept.
    public func forward(_ x: Tensor, keepForBackward: Bool = true) -> Run {
        var run = Run(features: [])
        var h = x
        for index in 0...Self.tapIndices.last! {
            if let conv = convs[index] {
                if keepForBackward { run.convInputs[index] = h }
                h = Conv2d.forward(h, weight: conv.weight, bias: conv.bias, stride: 1, padding: 1)
            } else if Self.poolIndices.contains(index) {
                let shape = h.shape
                let (y, argmax) = MaxPool.forward2x2(h)
                if keepForBackward { run.pools[index] = (argmax, shape) }
                h = y
            } else {
                if keepForBackward { run.reluInputs[index] = h }
                h = Activation.relu(h)
                if Self.tapIndices.contains(index) { run.features.append(h) }
            }
        }
        return run
    }

    /// Gradient with respect to the input of `run` given gradients on its five features. The weights are frozen.
    public func backward(_ featureGrads: [Tensor], run: Run) -> Tensor {
        precondition(featureGrads.count == Self.tapCount, "VGG19.backward: \(featureGrads.count) gradients for \(Self.tapCount) features")
        precondition(!run.convInputs.isEmpty, "VGG19.backward: the forward was run without keepForBackward")
        var g: Tensor?
        for index in stride(from: Self.tapIndices.last!, through: 0, by: -1) {
            if let tap = Self.tapIndices.firstIndex(of: index) {
                g = g.map { $0 + featureGrads[tap] } ?? featureGrads[tap]
            }
            guard let grad = g else { continue }
            if let conv = convs[index] {
                var scratch = Tensor(shape: conv.weight.shape)  // frozen weights: their gradient is discarded
                g = Conv2d.backward(run.convInputs[index]!, weight: conv.weight, outputGrad: grad, stride: 1, padding: 1,
                                    weightGrad: &scratch, needInputGrad: true)
            } else if let pool = run.pools[index] {
                g = MaxPool.backward2x2(grad, argmax: pool.argmax, inputShape: pool.inputShape)
            } else {
                g = Activation.reluBackward(grad, input: run.reluInputs[index]!)
            }
        }
        return g!
    }
}

/// A VGG19 weights file that cannot be used; names the file and the problem.
public struct VGGWeightsError: Error, CustomStringConvertible {
    public var source: String
    public var problem: String
    public var description: String { "\(source): not usable as VGG19 weights: \(problem)" }
}
