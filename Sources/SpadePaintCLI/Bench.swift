import ArgumentParser

/// `spadepaint bench …`: benchmarks that print figures (never run as tests).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: print measured figures next to a baseline taken in the same run.",
        subcommands: [])
}
