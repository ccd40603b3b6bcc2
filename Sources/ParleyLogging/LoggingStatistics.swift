import Synchronization

/// Per logging configuration: what was delivered, what failed and why, what was dropped.
public final class LoggingStatistics: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var deliveredRecords = 0
        /// LogDestinationErrors: every failed delivery attempt.
        public var destinationErrors = 0
        /// LogDestinationAccessDeniedErrors.
        public var accessDeniedErrors = 0
        /// LogDestinationResourceNotFoundErrors.
        public var resourceNotFoundErrors = 0
        public var droppedRecords = 0
        public var lastError: String?

        public init() {}
    }

    private let configurations = Mutex<[String: Configuration]>([:])
    private let outboxDrops = Mutex<Int>(0)

    public init() {}

    func countDelivered(_ count: Int, configuration: String) {
        configurations.withLock { $0[configuration, default: Configuration()].deliveredRecords += count }
    }

    func countError(_ error: DestinationError, configuration: String) {
        configurations.withLock { all in
            var entry = all[configuration] ?? Configuration()
            entry.destinationErrors += 1
            switch error.kind {
            case .accessDenied: entry.accessDeniedErrors += 1
            case .resourceNotFound: entry.resourceNotFoundErrors += 1
            case .other: break
            }
            entry.lastError = error.message
            all[configuration] = entry
        }
    }

    func countDropped(_ count: Int, configurations ids: [String]) {
        configurations.withLock { all in
            for id in ids { all[id, default: Configuration()].droppedRecords += 1 }
        }
        outboxDrops.withLock { $0 += count }
    }

    func countTrimmed(_ count: Int) {
        outboxDrops.withLock { $0 += count }
    }

    public func snapshot() -> [String: Configuration] { configurations.withLock { $0 } }

    /// Records dropped in all: when the outbox could not be written, or trimmed past its size bound.
    public var droppedRecords: Int { outboxDrops.withLock { $0 } }
}
