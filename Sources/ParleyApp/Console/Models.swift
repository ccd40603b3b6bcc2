import Foundation
import ParleyDomain

// The console's page models: each page is one of these, built by a testable query in `ConsolePages`,
// rendered by the template of the same name. Templates see stored properties only (Mustache reads them by
// reflection); use `{{^empty(list)}}` for "has items". Every string is escaped by Mustache (`{{value}}`);
// only `MetricsModel.Chart.svg`, generated entirely by `SVGChart` from numbers and fixed labels, is inserted raw.

/// What every page's layout needs.
struct PageChrome: Sendable {
    var title: String
    var user: String
    var role: String
    var csrf: String
    var isAdmin: Bool
    var canModerate: Bool
    /// Which navigation entry is current: "dashboard", "rooms", "logging", "handlers", "quotas", "metrics", "keys", "users", "audit".
    var section: String
    var notice: String?
    /// `nav.rooms` etc. is true for the current section (templates cannot compare strings).
    var nav: [String: Bool]

    init(title: String, session: ConsoleSession, section: String, notice: String? = nil) {
        self.title = title
        user = session.user
        role = session.role.rawValue
        csrf = session.csrf
        isAdmin = session.role == .admin
        canModerate = session.role >= .moderator
        self.section = section
        self.notice = notice
        nav = [section: true]
    }
}

struct SignInModel: Sendable {
    var user: String
    var next: String
    var error: String?
}

struct ErrorModel: Sendable {
    var page: PageChrome?
    var status: Int
    var heading: String
    var message: String
}

/// A `<time>`: machine-readable UTC, shown in the operator's timezone by console.js (UTC without JavaScript).
struct TimeModel: Sendable {
    var iso: String
    var text: String

    init(_ date: Date) {
        iso = Timestamp.format(date)
        text = iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: ".000Z", with: " UTC")
            .replacingOccurrences(of: "Z", with: " UTC")
    }
}

struct Option: Sendable {
    var value: String
    var label: String
    var selected: Bool
}

struct DashboardModel: Sendable {
    struct BusyRoom: Sendable {
        var name: String
        var id: String
        var url: String
        var connections: Int
    }
    struct AlarmRow: Sendable {
        var quota: String
        var usage: Int
        var limit: Int
        var time: TimeModel
    }
    var page: PageChrome
    var connections: Int
    var messagesLastMinute: Int
    var deliveriesLastMinute: Int
    var errorsLastHour: Int
    var rooms: Int
    var busiestRooms: [BusyRoom]
    var alarms: [AlarmRow]
}

struct RoomRow: Sendable {
    var id: String
    var name: String
    var url: String
    var handler: String
    var loggingCount: Int
    var connections: Int
    var updated: TimeModel
}

struct RoomsIndexModel: Sendable {
    var page: PageChrome
    var filterName: String
    var filterHandler: String
    var filterLogging: [Option]
    var rooms: [RoomRow]
    var isFiltered: Bool
    /// The next page's URL, with the filters kept.
    var nextURL: String?
    var newRoomURL: String
}

struct RoomFormModel: Sendable {
    var page: PageChrome
    var isNew: Bool
    var action: String
    var cancelURL: String
    var name: String
    var customLimits: Bool
    var maximumMessageLength: String
    var maximumMessageRatePerSecond: String
    var handlerEnabled: Bool
    var handlerURI: String
    var fallbackDeny: Bool
    var loggingEnabled: Bool
    var logging: [Option]
    /// One `key=value` per line.
    var tags: String
    var nameError: String?
    var lengthError: String?
    var rateError: String?
    var handlerError: String?
    var loggingError: String?
    var tagsError: String?
    var formError: String?
}

struct RoomShowModel: Sendable {
    struct Tag: Sendable {
        var key: String
        var value: String
    }
    struct Logging: Sendable {
        var name: String
        var url: String
    }
    var page: PageChrome
    var id: String
    var arn: String
    var name: String
    var maximumMessageLength: Int
    var maximumMessageRatePerSecond: Int
    var handlerURI: String?
    var fallbackResult: String?
    var logging: [Logging]
    var tags: [Tag]
    var created: TimeModel
    var updated: TimeModel
    var editURL: String
    var deleteURL: String
    var eventsURL: String
    var deleteMessageURL: String
    var disconnectUserURL: String
    var sendEventURL: String
    var disconnectEveryoneURL: String
    var testTokenURL: String
}

struct LoggingRow: Sendable {
    var id: String
    var name: String
    var arn: String
    var type: String
    var destination: String
    var state: String
    var failed: Bool
    var failureReason: String?
    var url: String
    var editURL: String
    var deleteURL: String
    var delivered: Int
    var errors: Int
    var lastError: String?
}

struct LoggingIndexModel: Sendable {
    var page: PageChrome
    var configurations: [LoggingRow]
    var nextURL: String?
    var newURL: String
    var outboxBytes: Int
    var droppedRecords: Int
    var s3Directory: String?
}

struct LoggingFormModel: Sendable {
    var page: PageChrome
    var isNew: Bool
    var action: String
    var cancelURL: String
    var name: String
    var typeS3: Bool
    var typeCloudWatchLogs: Bool
    var typeFirehose: Bool
    var bucketName: String
    var logGroupName: String
    var deliveryStreamName: String
    var state: String?
    var failureReason: String?
    var s3Directory: String?
    var nameError: String?
    var destinationError: String?
    var formError: String?
}

struct HandlersModel: Sendable {
    struct RoomLink: Sendable {
        var name: String
        var url: String
        var detachURL: String
    }
    struct Handler: Sendable {
        var uri: String
        var rooms: [RoomLink]
        var invocations: Int
        var invocationErrors: Int
        var validationErrors: Int
        var averageLatencyMilliseconds: String
    }
    var page: PageChrome
    var handlers: [Handler]
    var rooms: [Option]
    var attachURL: String
    var webhookSecret: String?
    var error: String?
}

struct QuotasModel: Sendable {
    struct Row: Sendable {
        var name: String
        var title: String
        var value: Int
        var defaultValue: Int
        var adjustable: Bool
        var usage: Int?
        var percent: Int
        var warning: Bool
        var description: String
        var formURL: String
    }
    var page: PageChrome
    var quotas: [Row]
    var alarms: [DashboardModel.AlarmRow]
    var error: String?
}

struct MetricsModel: Sendable {
    struct Chart: Sendable {
        var title: String
        var statistic: String
        var total: String
        /// Generated by `SVGChart` from numbers and fixed strings only.
        var svg: String
    }
    var page: PageChrome
    var periods: [Option]
    var ranges: [Option]
    var rooms: [Option]
    var charts: [Chart]
}

struct KeysModel: Sendable {
    struct Key: Sendable {
        var id: String
        var active: Bool
        var created: TimeModel
        var revoked: TimeModel?
        var revokeURL: String
    }
    struct Created: Sendable {
        var id: String
        var secret: String
    }
    var page: PageChrome
    var keys: [Key]
    var created: Created?
    var createURL: String
}

struct UsersModel: Sendable {
    struct User: Sendable {
        var name: String
        var role: String
        var created: TimeModel
    }
    var page: PageChrome
    var users: [User]
    var roles: [Option]
    var error: String?
    var name: String
}

struct AuditModel: Sendable {
    struct Entry: Sendable {
        var time: TimeModel
        var actor: String
        var action: String
        var target: String
        var detail: String
        var address: String
    }
    var page: PageChrome
    var entries: [Entry]
    var nextURL: String?
}
