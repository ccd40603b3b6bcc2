import Foundation

/// A MESSAGE or EVENT as delivered to a room, to be archived by the room's logging configurations.
public struct LoggedDelivery: Sendable, Equatable {
    public var roomID: String
    public var loggingConfigurationIDs: [String]
    /// `MESSAGE` or `EVENT`.
    public var type: String
    /// The exact JSON clients received.
    public var payload: String
    public var time: Date

    public init(roomID: String, loggingConfigurationIDs: [String], type: String, payload: String, time: Date) {
        self.roomID = roomID
        self.loggingConfigurationIDs = loggingConfigurationIDs
        self.type = type
        self.payload = payload
        self.time = time
    }

    /// The archived line: `{"event_timestamp","type","version":"1.0","payload"}`.
    public var logLine: String {
        "{\"event_timestamp\":\"\(Timestamp.format(time))\",\"type\":\"\(type)\",\"version\":\"1.0\",\"payload\":\(payload)}"
    }
}

/// Where deliveries are archived. `record` returns once the records are durable, before clients see the delivery.
public protocol ChatLog: Sendable {
    func record(_ delivery: LoggedDelivery) async
}

/// Checks that a logging destination exists and can be written to.
public protocol LogDestinationChecker: Sendable {
    /// nil when the destination is usable, else the reason it is not.
    func problem(with destination: LogDestination) async -> String?
}

/// A record waiting in the durable outbox for its destination.
public struct OutboxRecord: Sendable, Equatable {
    public var sequence: Int64
    public var loggingConfigurationID: String
    public var roomID: String
    public var eventTime: Date
    public var line: String

    public init(sequence: Int64 = 0, loggingConfigurationID: String, roomID: String, eventTime: Date, line: String) {
        self.sequence = sequence
        self.loggingConfigurationID = loggingConfigurationID
        self.roomID = roomID
        self.eventTime = eventTime
        self.line = line
    }
}
