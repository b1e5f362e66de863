import CBLAS
import Foundation

/// Makes sure OpenBLAS runs the GEMM kernels this CPU can run.
///
/// Debian's OpenBLAS picks its kernels by CPU model when it loads. On a CPU model it does not know
/// (here: a recent Xeon in a VM, AVX-512 throughout) it falls back to the SSE3 "Prescott" kernels,
/// which are five times slower: measured 32 against 155 GFLOP/s for a 1024³ sgemm on one core.
/// The choice can only be changed by `OPENBLAS_CORETYPE` before the library loads, so the program
/// sets it from the CPU's feature flags and starts itself again, once, before doing anything else.
public enum OpenBLASKernels {
    /// The kernel family OpenBLAS chose when it loaded (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The best kernel family the CPU's flags allow, by OpenBLAS's name for it; nil without AVX2.
    static func preferredCore(cpuFlags: Set<String>) -> String? {
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// 2 for AVX-512 kernel families, 1 for AVX2 ones, 0 for anything older.
    static func vectorClass(ofCore name: String) -> Int {
        let lower = name.lowercased()
        if ["skylakex", "cooperlake", "sapphirerapids"].contains(lower) { return 2 }
        if ["haswell", "zen", "skylake", "excavator"].contains(lower) { return 1 }
        return 0
    }

    /// The kernel family to ask for, when OpenBLAS chose a weaker one than the CPU supports.
    static func betterCore(than loaded: String, cpuFlags: Set<String>) -> String? {
        guard let preferred = preferredCore(cpuFlags: cpuFlags),
              vectorClass(ofCore: preferred) > vectorClass(ofCore: loaded) else { return nil }
        return preferred
    }

    static func cpuFlags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// Call first thing in `main`. If OpenBLAS loaded weaker kernels than the CPU supports and the user
    /// has not chosen them through OPENBLAS_CORETYPE, sets OPENBLAS_CORETYPE and re-executes the
    /// program with the same arguments. Returns normally when nothing needs doing or exec fails
    /// (the program then runs correctly, only slower).
    public static func relaunchWithBestKernelsIfNeeded() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let core = betterCore(than: coreName, cpuFlags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }
}
