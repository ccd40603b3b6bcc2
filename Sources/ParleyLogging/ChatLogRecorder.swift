import Foundation
import Logging
import ParleyDomain

/// Writes every logged delivery to the durable outbox, one record per logging configuration, before clients get it.
public struct ChatLogRecorder: ChatLog {
    let store: any ParleyStore
    let statistics: LoggingStatistics
    let logger: Logger

    public init(store: any ParleyStore, statistics: LoggingStatistics, logger: Logger) {
        self.store = store
        self.statistics = statistics
        self.logger = logger
    }

    public func record(_ delivery: LoggedDelivery) async {
        let line = delivery.logLine
        let records = delivery.loggingConfigurationIDs.map {
            OutboxRecord(loggingConfigurationID: $0, roomID: delivery.roomID, eventTime: delivery.time, line: line)
        }
        // Chat keeps flowing when the outbox cannot take the records; the loss is counted, not hidden.
        do {
            try await store.appendToLogOutbox(records)
        } catch {
            statistics.countDropped(records.count, configurations: delivery.loggingConfigurationIDs)
            if !error.isStorageFull {
                logger.error("Chat log records could not be stored", metadata: ["room": "\(delivery.roomID)", "error": "\(error)"])
            }
        }
    }
}
