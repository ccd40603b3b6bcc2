import Synchronization

/// Per-handler counts and latencies, for metrics and the console.
public final class ReviewStatistics: Sendable {
    /// Upper bounds, in milliseconds, of the latency histogram's buckets (the last is open-ended).
    public static let latencyBucketBoundsMilliseconds: [Double] = [1, 2, 5, 10, 25, 50, 100, 150, 200, 250]

    public struct Handler: Sendable, Equatable {
        public var invocations = 0
        public var invocationErrors = 0
        public var responseValidationErrors = 0
        /// Counts per bucket of `latencyBucketBoundsMilliseconds`, plus one for slower calls.
        public var latencyBuckets = [Int](repeating: 0, count: ReviewStatistics.latencyBucketBoundsMilliseconds.count + 1)
        public var totalLatencyMilliseconds = 0.0

        public init() {}
    }

    private let handlers = Mutex<[String: Handler]>([:])

    public init() {}

    func record(uri: String, latency: Duration, failure: ReviewFailure?) {
        let milliseconds = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
        let bucket = Self.latencyBucketBoundsMilliseconds.firstIndex { milliseconds <= $0 } ?? Self.latencyBucketBoundsMilliseconds.count
        handlers.withLock { handlers in
            var entry = handlers[uri] ?? Handler()
            entry.invocations += 1
            entry.latencyBuckets[bucket] += 1
            entry.totalLatencyMilliseconds += milliseconds
            switch failure {
            case .invocation: entry.invocationErrors += 1
            case .invalidResponse: entry.responseValidationErrors += 1
            case nil: break
            }
            handlers[uri] = entry
        }
    }

    /// A copy of every handler's figures, by URI.
    public func snapshot() -> [String: Handler] {
        handlers.withLock { $0 }
    }
}
