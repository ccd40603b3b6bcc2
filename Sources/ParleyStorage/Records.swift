import Foundation
import GRDB
import ParleyDomain

struct RoomRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "room"
    var id: String
    var name: String
    var createTime: Int64
    var updateTime: Int64
    var maximumMessageRatePerSecond: Int
    var maximumMessageLength: Int
    var reviewHandlerURI: String?
    var reviewFallbackResult: String?

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let name = Column(CodingKeys.name)
        static let updateTime = Column(CodingKeys.updateTime)
        static let reviewHandlerURI = Column(CodingKeys.reviewHandlerURI)
    }

    init(_ room: Room) {
        id = room.id
        name = room.name
        createTime = room.createTime.millisecondsSince1970
        updateTime = room.updateTime.millisecondsSince1970
        maximumMessageRatePerSecond = room.maximumMessageRatePerSecond
        maximumMessageLength = room.maximumMessageLength
        reviewHandlerURI = room.messageReviewHandler?.uri
        reviewFallbackResult = room.messageReviewHandler?.fallbackResult.rawValue
    }

    func room(loggingConfigurationIDs: [String], tags: [String: String]) -> Room {
        Room(
            id: id, name: name, createTime: Date(millisecondsSince1970: createTime),
            updateTime: Date(millisecondsSince1970: updateTime), maximumMessageRatePerSecond: maximumMessageRatePerSecond,
            maximumMessageLength: maximumMessageLength,
            messageReviewHandler: reviewHandlerURI.map {
                MessageReviewHandler(uri: $0, fallbackResult: reviewFallbackResult.flatMap(FallbackResult.init(rawValue:)) ?? .allow)
            },
            loggingConfigurationIDs: loggingConfigurationIDs, tags: tags)
    }
}

struct LoggingConfigurationRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "loggingConfiguration"
    var id: String
    var name: String
    var createTime: Int64
    var updateTime: Int64
    var destinationType: String
    var destinationName: String
    var state: String
    var failureReason: String?

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let updateTime = Column(CodingKeys.updateTime)
    }

    init(_ configuration: LoggingConfiguration) {
        id = configuration.id
        name = configuration.name
        createTime = configuration.createTime.millisecondsSince1970
        updateTime = configuration.updateTime.millisecondsSince1970
        switch configuration.destination {
        case .s3(let bucketName): (destinationType, destinationName) = ("s3", bucketName)
        case .cloudWatchLogs(let logGroupName): (destinationType, destinationName) = ("cloudWatchLogs", logGroupName)
        case .firehose(let deliveryStreamName): (destinationType, destinationName) = ("firehose", deliveryStreamName)
        }
        state = configuration.state.rawValue
        failureReason = configuration.failureReason
    }

    func loggingConfiguration(tags: [String: String]) -> LoggingConfiguration {
        let destination: LogDestination =
            switch destinationType {
            case "s3": .s3(bucketName: destinationName)
            case "cloudWatchLogs": .cloudWatchLogs(logGroupName: destinationName)
            default: .firehose(deliveryStreamName: destinationName)
            }
        return LoggingConfiguration(
            id: id, name: name, createTime: Date(millisecondsSince1970: createTime),
            updateTime: Date(millisecondsSince1970: updateTime), destination: destination,
            state: LoggingConfigurationState(rawValue: state) ?? .active, failureReason: failureReason, tags: tags)
    }
}

struct RoomLoggingConfigurationRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "roomLoggingConfiguration"
    var roomId: String
    var loggingConfigurationId: String
    var position: Int

    enum Columns {
        static let roomId = Column(CodingKeys.roomId)
        static let loggingConfigurationId = Column(CodingKeys.loggingConfigurationId)
        static let position = Column(CodingKeys.position)
    }
}

/// The two tag tables, one per taggable kind, each keyed by its owner's column.
enum TagTable {
    static func of(_ kind: ResourceKind) -> (name: String, ownerColumn: String) {
        switch kind {
        case .room: ("roomTag", "roomId")
        case .loggingConfiguration: ("loggingConfigurationTag", "loggingConfigurationId")
        }
    }
}

struct AccessKeyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "accessKey"
    var accessKeyId: String
    var sealedSecret: Data
    var createTime: Int64
    var revokeTime: Int64?

    enum Columns {
        static let accessKeyId = Column(CodingKeys.accessKeyId)
        static let createTime = Column(CodingKeys.createTime)
        static let revokeTime = Column(CodingKeys.revokeTime)
    }
}

struct RedeemedChatTokenRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "redeemedChatToken"
    var tokenId: String
    var expiresAt: Int64

    enum Columns {
        static let expiresAt = Column(CodingKeys.expiresAt)
    }
}

struct LogOutboxRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "logOutbox"
    var sequence: Int64?
    var loggingConfigurationId: String
    var roomId: String
    var eventTime: Int64
    var line: String

    enum Columns {
        static let sequence = Column(CodingKeys.sequence)
        static let loggingConfigurationId = Column(CodingKeys.loggingConfigurationId)
    }

    init(_ record: OutboxRecord) {
        loggingConfigurationId = record.loggingConfigurationID
        roomId = record.roomID
        eventTime = record.eventTime.millisecondsSince1970
        line = record.line
    }

    var outboxRecord: OutboxRecord {
        OutboxRecord(
            sequence: sequence ?? 0, loggingConfigurationID: loggingConfigurationId, roomID: roomId,
            eventTime: Date(millisecondsSince1970: eventTime), line: line)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        sequence = inserted.rowID
    }
}
