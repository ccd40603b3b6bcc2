import Foundation
import Histogram
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One scenario's outcome: printed as a human table and as one JSON line (which `benchmarks/run.sh` collects).
struct Report {
    var scenario: String
    var target: TargetKind
    var figures: [(name: String, value: Figure)] = []

    enum Figure {
        case integer(Int)
        case decimal(Double)
        case text(String)

        var json: String {
            switch self {
            case .integer(let value): String(value)
            case .decimal(let value): value.isFinite ? String(format: "%.3f", value) : "null"
            case .text(let value): "\"\(value.replacingOccurrences(of: "\"", with: "'"))\""
            }
        }

        var human: String {
            switch self {
            case .integer(let value): value.formatted()
            case .decimal(let value): String(format: "%.2f", value)
            case .text(let value): value
            }
        }
    }

    init(scenario: String, target: TargetKind) {
        self.scenario = scenario
        self.target = target
    }

    mutating func add(_ name: String, _ value: Int) { figures.append((name, .integer(value))) }
    mutating func add(_ name: String, _ value: Double) { figures.append((name, .decimal(value))) }
    mutating func add(_ name: String, _ value: String) { figures.append((name, .text(value))) }

    /// Latency figures in milliseconds from a histogram of microseconds.
    mutating func addLatency(_ prefix: String, _ histogram: Histogram<UInt64>) {
        let milliseconds = { (value: UInt64) in Double(value) / 1_000 }
        add("\(prefix)P50Ms", histogram.totalCount == 0 ? .nan : milliseconds(histogram.valueAtPercentile(50)))
        add("\(prefix)P90Ms", histogram.totalCount == 0 ? .nan : milliseconds(histogram.valueAtPercentile(90)))
        add("\(prefix)P99Ms", histogram.totalCount == 0 ? .nan : milliseconds(histogram.valueAtPercentile(99)))
        add("\(prefix)MaxMs", histogram.totalCount == 0 ? .nan : milliseconds(histogram.max))
    }

    /// The server's memory: current and peak RSS in MB, summed over its processes.
    mutating func addServerMemory(_ pids: [Int32]) {
        guard !pids.isEmpty else { return }
        let memory = ServerMemory.read(pids)
        add("serverRssMB", Double(memory.residentKB) / 1_024)
        add("serverPeakRssMB", Double(memory.peakKB) / 1_024)
    }

    func print() {
        Swift.print("\(scenario) · \(target.rawValue)")
        let width = figures.map(\.name.count).max() ?? 0
        for (name, value) in figures {
            Swift.print("  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(value.human)")
        }
        let members = [("scenario", Figure.text(scenario)), ("target", .text(target.rawValue))] + figures
        Swift.print("{" + members.map { "\"\($0.0)\":\($0.1.json)" }.joined(separator: ",") + "}")
    }
}

/// A server's resident memory, from /proc.
enum ServerMemory {
    static func read(_ pids: [Int32]) -> (residentKB: Int, peakKB: Int) {
        pids.reduce((0, 0)) { total, pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return total }
            func field(_ name: String) -> Int {
                let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
                return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            }
            return (total.0 + field("VmRSS"), total.1 + field("VmHWM"))
        }
    }
}

/// Lets this process open as many sockets as the system allows.
func raiseFileDescriptorLimit() {
    #if canImport(Glibc)
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
    #endif
}

/// A latency histogram of microseconds, up to ten minutes.
func makeLatencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
}

/// Runs `body` for every index in `0..<count`, `width` at a time, and returns the results in index order.
/// The first error ends the run.
func concurrently<Result: Sendable>(
    _ count: Int, width: Int, _ body: @escaping @Sendable (Int) async throws -> Result
) async throws -> [Result] {
    let next = Counter()
    return try await withThrowingTaskGroup(of: [(Int, Result)].self) { group in
        for _ in 0..<min(width, max(count, 1)) {
            group.addTask {
                var done: [(Int, Result)] = []
                while case let index = next.next(), index < count { done.append((index, try await body(index))) }
                return done
            }
        }
        var all: [(Int, Result)] = []
        for try await part in group { all += part }
        return all.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

/// Hands out 0, 1, 2 … to concurrent workers.
private final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}
