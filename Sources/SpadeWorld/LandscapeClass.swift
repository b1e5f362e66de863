/// The label classes of the `landscape` palette (`Palettes/landscape`), by palette index.
public enum LandscapeClass: UInt8, CaseIterable, Sendable {
    case sky = 0, cloud, mountain, snow, rock, hill, water, sea, river, sand, dirt, grass, tree, bush, flower

    public var name: String {
        switch self {
        case .sky: return "sky"
        case .cloud: return "cloud"
        case .mountain: return "mountain"
        case .snow: return "snow"
        case .rock: return "rock"
        case .hill: return "hill"
        case .water: return "water"
        case .sea: return "sea"
        case .river: return "river"
        case .sand: return "sand"
        case .dirt: return "dirt"
        case .grass: return "grass"
        case .tree: return "tree"
        case .bush: return "bush"
        case .flower: return "flower"
        }
    }

    /// Classes that are liquid and mirror the scene above them.
    public var isWater: Bool { self == .water || self == .sea || self == .river }
}
