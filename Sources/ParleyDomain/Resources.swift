import Foundation

/// What a room falls back to when its review handler fails or times out.
public enum FallbackResult: String, Sendable, Codable, CaseIterable {
    case allow = "ALLOW"
    case deny = "DENY"
}

/// A room's message review handler: a Lambda ARN or an http(s) URL.
public struct MessageReviewHandler: Sendable, Equatable, Codable {
    public var uri: String
    public var fallbackResult: FallbackResult

    public init(uri: String, fallbackResult: FallbackResult = .allow) {
        self.uri = uri
        self.fallbackResult = fallbackResult
    }
}

/// A chat room.
public struct Room: Sendable, Equatable {
    public var id: String
    public var name: String
    public var createTime: Date
    public var updateTime: Date
    public var maximumMessageRatePerSecond: Int
    public var maximumMessageLength: Int
    public var messageReviewHandler: MessageReviewHandler?
    /// Logging configuration ids (not ARNs), in the order they were given.
    public var loggingConfigurationIDs: [String]
    public var tags: [String: String]

    public init(
        id: String = ResourceID.generate(),
        name: String = "",
        createTime: Date,
        updateTime: Date? = nil,
        maximumMessageRatePerSecond: Int = RoomRules.defaultMaximumMessageRatePerSecond,
        maximumMessageLength: Int = RoomRules.defaultMaximumMessageLength,
        messageReviewHandler: MessageReviewHandler? = nil,
        loggingConfigurationIDs: [String] = [],
        tags: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.createTime = createTime
        self.updateTime = updateTime ?? createTime
        self.maximumMessageRatePerSecond = maximumMessageRatePerSecond
        self.maximumMessageLength = maximumMessageLength
        self.messageReviewHandler = messageReviewHandler
        self.loggingConfigurationIDs = loggingConfigurationIDs
        self.tags = tags
    }
}

/// Where a logging configuration delivers a room's records.
public enum LogDestination: Sendable, Equatable {
    case s3(bucketName: String)
    case cloudWatchLogs(logGroupName: String)
    case firehose(deliveryStreamName: String)
}

/// The states of a logging configuration.
public enum LoggingConfigurationState: String, Sendable, Codable, CaseIterable {
    case creating = "CREATING"
    case createFailed = "CREATE_FAILED"
    case deleting = "DELETING"
    case deleteFailed = "DELETE_FAILED"
    case updating = "UPDATING"
    case updateFailed = "UPDATE_FAILED"
    case active = "ACTIVE"
}

/// A logging configuration: a named destination that rooms attach to.
public struct LoggingConfiguration: Sendable, Equatable {
    public var id: String
    public var name: String
    public var createTime: Date
    public var updateTime: Date
    public var destination: LogDestination
    public var state: LoggingConfigurationState
    /// Why the destination check failed, for CREATE_FAILED and UPDATE_FAILED.
    public var failureReason: String?
    public var tags: [String: String]

    public init(
        id: String = ResourceID.generate(),
        name: String = "",
        createTime: Date,
        updateTime: Date? = nil,
        destination: LogDestination,
        state: LoggingConfigurationState = .active,
        failureReason: String? = nil,
        tags: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.createTime = createTime
        self.updateTime = updateTime ?? createTime
        self.destination = destination
        self.state = state
        self.failureReason = failureReason
        self.tags = tags
    }
}

/// What a chat token lets its holder do beyond receiving.
public enum ChatCapability: String, Sendable, Codable, CaseIterable {
    case sendMessage = "SEND_MESSAGE"
    case disconnectUser = "DISCONNECT_USER"
    case deleteMessage = "DELETE_MESSAGE"
}

/// An API access key, as the SigV4 verifier needs it.
public struct AccessKey: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var createTime: Date
    public var revokeTime: Date?

    public init(accessKeyID: String, secretAccessKey: String, createTime: Date, revokeTime: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.createTime = createTime
        self.revokeTime = revokeTime
    }

    /// A new random key pair, shaped like AWS's (20-character id starting `AKIA`-like `PKLY`, 40-character secret).
    public static func generate(at time: Date) -> AccessKey {
        var generator = SystemRandomNumberGenerator()
        let idAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        func draw(_ count: Int, from alphabet: [UInt8]) -> String {
            String(decoding: (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }, as: UTF8.self)
        }
        return AccessKey(
            accessKeyID: "PKLY" + draw(16, from: idAlphabet), secretAccessKey: draw(40, from: secretAlphabet), createTime: time)
    }
}
