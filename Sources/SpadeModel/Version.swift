/// The version printed by `spadepaint --version` and written into checkpoint metadata.
public enum SpadeModelVersion {
    public static let string = "0.1.0"
}
