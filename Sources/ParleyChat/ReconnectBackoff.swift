import Foundation

/// How long a ``ChatRoom`` waits before each reconnection attempt, and how it waits.
///
/// Inject ``immediate`` (or your own `sleep`) in tests so that nothing really sleeps.
public struct ReconnectBackoff: Sendable {
    /// The wait before reconnection attempt `attempt` (1 for the first after a connection was lost).
    public var delay: @Sendable (_ attempt: Int) -> Duration
    /// Waits for `duration`; throwing (for example on cancellation) ends the wait early.
    public var sleep: @Sendable (_ duration: Duration) async throws -> Void

    /// Creates a backoff from a delay schedule and a way to wait.
    public init(
        delay: @escaping @Sendable (_ attempt: Int) -> Duration,
        sleep: @escaping @Sendable (_ duration: Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.delay = delay
        self.sleep = sleep
    }

    /// 0.5 s, 1 s, 2 s, … up to 30 s, each with up to 20% random jitter so that clients dropped together spread out.
    public static let exponential = ReconnectBackoff { attempt in
        let seconds = min(30, 0.5 * pow(2, Double(max(0, attempt - 1))))
        return .milliseconds(Int(seconds * 1000 * Double.random(in: 0.8...1.0)))
    }

    /// No wait at all: for tests.
    public static let immediate = ReconnectBackoff(delay: { _ in .zero }, sleep: { _ in })
}
