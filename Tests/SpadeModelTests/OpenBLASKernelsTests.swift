import XCTest
@testable import SpadeModel

/// The relaunch decision: ask OpenBLAS for the CPU's best kernels only when it loaded weaker ones.
final class OpenBLASKernelsTests: XCTestCase {
    let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_fp16"]
    let avx2: Set<String> = ["sse3", "avx", "avx2", "fma"]

    func testUnknownAVX512CPUFallingBackToPrescottAsksForSkylakeX() {
        XCTAssertEqual(OpenBLASKernels.betterCore(than: "Prescott", cpuFlags: avx512), "SkylakeX")
    }

    func testAVX2CPUAsksForHaswell() {
        XCTAssertEqual(OpenBLASKernels.betterCore(than: "Prescott", cpuFlags: avx2), "Haswell")
        XCTAssertEqual(OpenBLASKernels.betterCore(than: "Sandybridge", cpuFlags: avx2), "Haswell")
    }

    func testKernelsAsGoodAsTheCPUAllowsAreKept() {
        XCTAssertNil(OpenBLASKernels.betterCore(than: "SkylakeX", cpuFlags: avx512))
        XCTAssertNil(OpenBLASKernels.betterCore(than: "Cooperlake", cpuFlags: avx512))
        XCTAssertNil(OpenBLASKernels.betterCore(than: "Zen", cpuFlags: avx2))
        XCTAssertNil(OpenBLASKernels.betterCore(than: "Haswell", cpuFlags: avx2))
    }

    func testCPUWithoutAVX2IsLeftAlone() {
        XCTAssertNil(OpenBLASKernels.betterCore(than: "Prescott", cpuFlags: ["sse3", "avx"]))
    }

    func testLoadedCoreNameIsReported() {
        XCTAssertFalse(OpenBLASKernels.coreName.isEmpty)
    }
}
