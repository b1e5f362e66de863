import Foundation

/// Random styles drawn from codes the generator knows (not in the reference implementation).
///
/// The reference draws a random style as z ~ N(0, I), which is what its generator sees in training when
/// the KL term holds q(z | photo) near N(0, I). A model trained with a weak KL term and z = μ (the shipped
/// one: `--lambda-kld 0.005 --z-noise 0`) never sees such a z: its encoder's codes have norms of 2–7, a
/// N(0, I) draw has norm √z_dim = 16, and the pictures it gives are grey and show the 8×8 grid of the first
/// layer. A style bank holds the encoder's codes (μ) of real pictures, written by
/// `spadepaint encode FOLDER -o MODEL-styles.safetensors`; a random style is then a blend of two of them,
/// (1 − t)·z_i + t·z_j with t uniform in [0, 1], which stays among the codes the generator was trained on.
public struct StyleBank: Equatable {
    /// The tensor of a style file: [N, z_dim] here, [1, z_dim] in a single photo's style file from `encode`.
    public static let tensorName = "z"

    /// [N, z_dim], N ≥ 1.
    public let codes: Tensor

    public var count: Int { codes.shape[0] }
    public var zDim: Int { codes.shape[1] }

    public init(codes: Tensor) {
        precondition(codes.shape.count == 2 && codes.shape[0] >= 1 && codes.shape[1] >= 1,
                     "StyleBank: codes must be [N >= 1, z_dim], not \(codes.shape)")
        self.codes = codes
    }

    /// The bank for a model at `checkpoint`: `NAME-styles.safetensors` beside `NAME.safetensors`.
    public static func companionPath(ofCheckpoint checkpoint: String) -> String {
        let base = checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint
        return base + "-styles.safetensors"
    }

    /// Reads tensor `z` ([N, z_dim] or [z_dim]) of a style file; errors name the file and what is wrong with it.
    public static func load(path: String, zDim: Int) throws -> StyleBank {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(file: path, problem: problem) }
        let file = try SafeTensorsFile(path: path)
        guard file.contains(tensorName) else { throw fail("holds no style codes (no tensor '\(tensorName)')") }
        let shape = try file.shape(tensorName)
        guard let last = shape.last, last == zDim, shape.count <= 2, shape.reduce(1, *) >= zDim else {
            throw fail("style codes '\(tensorName)' have shape \(shape); the model needs [N, \(zDim)]")
        }
        let values = try file.floats(tensorName)
        guard values.allSatisfy(\.isFinite) else { throw fail("style codes '\(tensorName)' hold NaN or infinite values") }
        return StyleBank(codes: Tensor(shape: [values.count / zDim, zDim], data: values))
    }

    public func add(to writer: inout SafeTensorsWriter) throws {
        try writer.add(Self.tensorName, floats: codes.data, shape: codes.shape)
    }

    /// `n` random styles [n, z_dim], each a blend of two codes of the bank (possibly the same one).
    public func sample(batch n: Int, rng: inout RandomGenerator) -> Tensor {
        var z = Tensor(shape: [n, zDim])
        for row in 0..<n {
            let i = Int(rng.next() % UInt64(count)), j = Int(rng.next() % UInt64(count))
            let t = rng.uniform()
            for d in 0..<zDim {
                z.data[row * zDim + d] = (1 - t) * codes.data[i * zDim + d] + t * codes.data[j * zDim + d]
            }
        }
        return z
    }
}
