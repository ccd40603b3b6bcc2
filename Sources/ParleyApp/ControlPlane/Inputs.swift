/// The control plane's inputs, with the member names of the IVS Chat API.
/// The API decodes them from JSON; the console builds them from forms. `ControlPlane` validates them.

public struct MessageReviewHandlerInput: Codable, Sendable, Equatable {
    public var uri: String?
    public var fallbackResult: String?

    public init(uri: String? = nil, fallbackResult: String? = nil) {
        self.uri = uri
        self.fallbackResult = fallbackResult
    }
}

public struct CreateRoomInput: Codable, Sendable {
    public var name: String?
    public var maximumMessageRatePerSecond: Int?
    public var maximumMessageLength: Int?
    public var messageReviewHandler: MessageReviewHandlerInput?
    public var tags: [String: String]?
    public var loggingConfigurationIdentifiers: [String]?

    public init(
        name: String? = nil, maximumMessageRatePerSecond: Int? = nil, maximumMessageLength: Int? = nil,
        messageReviewHandler: MessageReviewHandlerInput? = nil, tags: [String: String]? = nil,
        loggingConfigurationIdentifiers: [String]? = nil
    ) {
        self.name = name
        self.maximumMessageRatePerSecond = maximumMessageRatePerSecond
        self.maximumMessageLength = maximumMessageLength
        self.messageReviewHandler = messageReviewHandler
        self.tags = tags
        self.loggingConfigurationIdentifiers = loggingConfigurationIdentifiers
    }
}

public struct UpdateRoomInput: Codable, Sendable {
    public var identifier: String?
    public var name: String?
    public var maximumMessageRatePerSecond: Int?
    public var maximumMessageLength: Int?
    public var messageReviewHandler: MessageReviewHandlerInput?
    public var loggingConfigurationIdentifiers: [String]?

    public init(
        identifier: String?, name: String? = nil, maximumMessageRatePerSecond: Int? = nil, maximumMessageLength: Int? = nil,
        messageReviewHandler: MessageReviewHandlerInput? = nil, loggingConfigurationIdentifiers: [String]? = nil
    ) {
        self.identifier = identifier
        self.name = name
        self.maximumMessageRatePerSecond = maximumMessageRatePerSecond
        self.maximumMessageLength = maximumMessageLength
        self.messageReviewHandler = messageReviewHandler
        self.loggingConfigurationIdentifiers = loggingConfigurationIdentifiers
    }
}

/// Inputs that only name a resource: GetRoom, DeleteRoom, Get/DeleteLoggingConfiguration.
public struct IdentifierInput: Codable, Sendable {
    public var identifier: String?

    public init(identifier: String?) {
        self.identifier = identifier
    }
}

public struct ListRoomsInput: Codable, Sendable {
    public var name: String?
    public var nextToken: String?
    public var maxResults: Int?
    public var messageReviewHandlerUri: String?
    public var loggingConfigurationIdentifier: String?

    public init(
        name: String? = nil, nextToken: String? = nil, maxResults: Int? = nil, messageReviewHandlerUri: String? = nil,
        loggingConfigurationIdentifier: String? = nil
    ) {
        self.name = name
        self.nextToken = nextToken
        self.maxResults = maxResults
        self.messageReviewHandlerUri = messageReviewHandlerUri
        self.loggingConfigurationIdentifier = loggingConfigurationIdentifier
    }
}

public struct ListLoggingConfigurationsInput: Codable, Sendable {
    public var nextToken: String?
    public var maxResults: Int?

    public init(nextToken: String? = nil, maxResults: Int? = nil) {
        self.nextToken = nextToken
        self.maxResults = maxResults
    }
}

/// The union of destinations; exactly one member must be set.
public struct DestinationConfigurationInput: Codable, Sendable {
    public struct S3: Codable, Sendable { public var bucketName: String? }
    public struct CloudWatchLogs: Codable, Sendable { public var logGroupName: String? }
    public struct Firehose: Codable, Sendable { public var deliveryStreamName: String? }
    public var s3: S3?
    public var cloudWatchLogs: CloudWatchLogs?
    public var firehose: Firehose?

    public init(s3BucketName: String? = nil, logGroupName: String? = nil, deliveryStreamName: String? = nil) {
        s3 = s3BucketName.map { S3(bucketName: $0) }
        cloudWatchLogs = logGroupName.map { CloudWatchLogs(logGroupName: $0) }
        firehose = deliveryStreamName.map { Firehose(deliveryStreamName: $0) }
    }
}

public struct CreateLoggingConfigurationInput: Codable, Sendable {
    public var name: String?
    public var destinationConfiguration: DestinationConfigurationInput?
    public var tags: [String: String]?

    public init(name: String? = nil, destinationConfiguration: DestinationConfigurationInput?, tags: [String: String]? = nil) {
        self.name = name
        self.destinationConfiguration = destinationConfiguration
        self.tags = tags
    }
}

public struct UpdateLoggingConfigurationInput: Codable, Sendable {
    public var identifier: String?
    public var name: String?
    public var destinationConfiguration: DestinationConfigurationInput?

    public init(identifier: String?, name: String? = nil, destinationConfiguration: DestinationConfigurationInput? = nil) {
        self.identifier = identifier
        self.name = name
        self.destinationConfiguration = destinationConfiguration
    }
}

public struct CreateChatTokenInput: Codable, Sendable {
    public var roomIdentifier: String?
    public var userId: String?
    public var capabilities: [String]?
    public var sessionDurationInMinutes: Int?
    public var attributes: [String: String]?

    public init(
        roomIdentifier: String?, userId: String?, capabilities: [String]? = nil, sessionDurationInMinutes: Int? = nil,
        attributes: [String: String]? = nil
    ) {
        self.roomIdentifier = roomIdentifier
        self.userId = userId
        self.capabilities = capabilities
        self.sessionDurationInMinutes = sessionDurationInMinutes
        self.attributes = attributes
    }
}

public struct SendEventInput: Codable, Sendable {
    public var roomIdentifier: String?
    public var eventName: String?
    public var attributes: [String: String]?

    public init(roomIdentifier: String?, eventName: String?, attributes: [String: String]? = nil) {
        self.roomIdentifier = roomIdentifier
        self.eventName = eventName
        self.attributes = attributes
    }
}

public struct DeleteMessageInput: Codable, Sendable {
    public var roomIdentifier: String?
    public var id: String?
    public var reason: String?

    public init(roomIdentifier: String?, id: String?, reason: String? = nil) {
        self.roomIdentifier = roomIdentifier
        self.id = id
        self.reason = reason
    }
}

public struct DisconnectUserInput: Codable, Sendable {
    public var roomIdentifier: String?
    public var userId: String?
    public var reason: String?

    public init(roomIdentifier: String?, userId: String?, reason: String? = nil) {
        self.roomIdentifier = roomIdentifier
        self.userId = userId
        self.reason = reason
    }
}

public struct TagResourceInput: Codable, Sendable {
    public var tags: [String: String]?
}
