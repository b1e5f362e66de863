// swift-tools-version:5.9
import PackageDescription

// Release builds of the numeric code drop bounds checks in inner loops; debug keeps them.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "spadepaint",
    products: [
        .executable(name: "spadepaint", targets: ["SpadePaintCLI"]),
        .library(name: "SpadeModel", targets: ["SpadeModel"]),
        .library(name: "SpadeImaging", targets: ["SpadeImaging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CNCurses", pkgConfig: "ncursesw", providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CSixel", pkgConfig: "libsixel", providers: [.apt(["libsixel-dev"])]),

        // The setjmp/longjmp trampolines for libpng and libjpeg errors, which Swift cannot catch.
        .target(name: "CImagingGlue", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        // The GEMM kernel for products with few columns (AVX2 + FMA, chosen at run time).
        .target(name: "CSkinnyGEMM"),

        // The one model module: tensors, ops with gradients, SPADE networks, losses,
        // optimizer, checkpoints, inference engine.
        .target(name: "SpadeModel", dependencies: ["CBLAS", "CSkinnyGEMM"], swiftSettings: fastMath),
        // Image files and resizing.
        .target(name: "SpadeImaging", dependencies: ["CImagingGlue"], swiftSettings: fastMath),
        // The terminal painter (ncurses front, background synthesis, sixel/half-block display).
        .target(name: "SpadePainter", dependencies: ["SpadeModel", "SpadeImaging", "CNCurses", "CSixel"],
                swiftSettings: fastMath),
        // Training, datasets, batch rendering.
        .target(name: "SpadeTrainer", dependencies: ["SpadeModel", "SpadeImaging"], swiftSettings: fastMath),
        // The landscape world: procedural paired label maps and pictures.
        .target(name: "SpadeWorld", dependencies: ["SpadeImaging"], swiftSettings: fastMath),
        .executableTarget(
            name: "SpadePaintCLI",
            dependencies: [
                "SpadeModel", "SpadeImaging", "SpadePainter", "SpadeTrainer", "SpadeWorld",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastMath),

        .testTarget(name: "SpadeModelTests", dependencies: ["SpadeModel"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SpadeImagingTests", dependencies: ["SpadeImaging"]),
        .testTarget(name: "SpadeWorldTests", dependencies: ["SpadeWorld", "SpadeImaging"], exclude: ["Samples"]),
        .testTarget(name: "SpadePainterTests", dependencies: ["SpadePainter"]),
        .testTarget(name: "SpadeTrainerTests", dependencies: ["SpadeTrainer"]),
    ]
)
