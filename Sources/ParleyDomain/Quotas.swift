import Foundation

/// Every service quota of IVS Chat, as the seed's tables list them: the one source of truth for names,
/// defaults, adjustability and descriptions. Adjusted values are stored; enforcement points read `QuotaValues`.
public enum Quota: String, Sendable, CaseIterable, Codable {
    case concurrentChatConnections = "ConcurrentChatConnections"
    case rooms = "Rooms"
    case loggingConfigurations = "LoggingConfigurations"
    case reviewHandlerTimeout = "MessageReviewHandlerTimeoutMilliseconds"
    case requestsPerConnection = "MessagingRequestsPerConnectionPerSecond"
    case sendMessageRate = "SendMessageRequestsPerSecond"
    case sendMessageRatePerRoom = "SendMessageRequestsPerRoomPerSecond"
    case deleteMessageRate = "DeleteMessageRequestsPerSecond"
    case disconnectUserRate = "DisconnectUserRequestsPerSecond"
    case sendEventTPS = "SendEventTPS"
    case createChatTokenTPS = "CreateChatTokenTPS"
    case loggingConfigurationOperationsTPS = "LoggingConfigurationOperationsTPS"
    case roomOperationsTPS = "RoomOperationsTPS"
    case tagOperationsTPS = "TagOperationsTPS"

    public var title: String {
        switch self {
        case .concurrentChatConnections: "Concurrent chat connections"
        case .rooms: "Rooms"
        case .loggingConfigurations: "Logging configurations"
        case .reviewHandlerTimeout: "Message review handler timeout (ms)"
        case .requestsPerConnection: "Messaging requests per connection per second"
        case .sendMessageRate: "SendMessage requests per second, all rooms"
        case .sendMessageRatePerRoom: "SendMessage requests per second, per room"
        case .deleteMessageRate: "DeleteMessage requests per second, all rooms"
        case .disconnectUserRate: "DisconnectUser requests per second, all rooms"
        case .sendEventTPS: "SendEvent API calls per second"
        case .createChatTokenTPS: "CreateChatToken API calls per second"
        case .loggingConfigurationOperationsTPS: "Logging configuration API calls per second (each operation)"
        case .roomOperationsTPS: "Room API calls per second (each operation)"
        case .tagOperationsTPS: "Tag API calls per second (each operation)"
        }
    }

    public var defaultValue: Int {
        switch self {
        case .concurrentChatConnections, .rooms: 50_000
        case .loggingConfigurations: 10
        case .reviewHandlerTimeout: 200
        case .requestsPerConnection: 10
        case .sendMessageRate: 1_000
        case .sendMessageRatePerRoom: 100
        case .deleteMessageRate, .disconnectUserRate, .sendEventTPS: 100
        case .createChatTokenTPS: 200
        case .loggingConfigurationOperationsTPS: 3
        case .roomOperationsTPS: 5
        case .tagOperationsTPS: 10
        }
    }

    /// Whether an operator may change it while the server runs (`parley quotas set`, the console).
    public var isAdjustable: Bool {
        switch self {
        case .concurrentChatConnections, .rooms, .loggingConfigurations, .sendMessageRate, .deleteMessageRate, .disconnectUserRate:
            true
        case .reviewHandlerTimeout, .requestsPerConnection, .sendMessageRatePerRoom, .sendEventTPS, .createChatTokenTPS,
            .loggingConfigurationOperationsTPS, .roomOperationsTPS, .tagOperationsTPS:
            false
        }
    }

    public var description: String {
        switch self {
        case .concurrentChatConnections: "Concurrent chat connections across all rooms."
        case .rooms: "Chat rooms that can exist."
        case .loggingConfigurations: "Logging configurations that can exist."
        case .reviewHandlerTimeout:
            "Time a message review handler has to answer; past it the room's fallbackResult applies."
        case .requestsPerConnection: "Messaging requests a chat connection may make each second."
        case .sendMessageRate: "SendMessage requests each second across all rooms (WebSocket)."
        case .sendMessageRatePerRoom: "Upper bound of a room's maximumMessageRatePerSecond (set per room through the API)."
        case .deleteMessageRate: "DeleteMessage requests each second across all rooms, from the API and WebSocket together."
        case .disconnectUserRate: "DisconnectUser requests each second across all rooms, from the API and WebSocket together."
        case .sendEventTPS: "SendEvent calls each second."
        case .createChatTokenTPS: "CreateChatToken calls each second."
        case .loggingConfigurationOperationsTPS: "Calls each second of each logging configuration operation."
        case .roomOperationsTPS: "Calls each second of each room operation."
        case .tagOperationsTPS: "Calls each second of each tag operation."
        }
    }
}

/// The quota values in force.
public struct QuotaValues: Sendable, Equatable {
    private var values: [Quota: Int]

    public init(_ overrides: [Quota: Int] = [:]) {
        values = overrides
    }

    public subscript(quota: Quota) -> Int {
        get { values[quota] ?? quota.defaultValue }
        set { values[quota] = newValue }
    }
}

/// A quota crossing its alarm threshold.
public struct QuotaAlarm: Sendable, Equatable {
    public var quota: Quota
    public var usage: Int
    public var limit: Int
    public var time: Date

    public init(quota: Quota, usage: Int, limit: Int, time: Date) {
        self.quota = quota
        self.usage = usage
        self.limit = limit
        self.time = time
    }
}
