import Foundation

/// Where a listing resumes: after the item with this update time and id (newest first).
public struct PageCursor: Sendable, Equatable, Codable {
    public var updateTime: Date
    public var id: String

    public init(updateTime: Date, id: String) {
        self.updateTime = updateTime
        self.id = id
    }
}

/// ListRooms filters; nil means no filter.
public struct RoomFilter: Sendable, Equatable {
    public var name: String?
    public var messageReviewHandlerURI: String?
    public var loggingConfigurationID: String?

    public init(name: String? = nil, messageReviewHandlerURI: String? = nil, loggingConfigurationID: String? = nil) {
        self.name = name
        self.messageReviewHandlerURI = messageReviewHandlerURI
        self.loggingConfigurationID = loggingConfigurationID
    }
}

/// Persistent state: rooms, logging configurations, tags, access keys and redeemed chat tokens.
/// SQLite implements it today; a shared database for several nodes can implement it later.
/// Methods throw `ParleyError` for what the caller did wrong, `ParleyError.storageFull` when a write finds the disk full,
/// anything else for other storage failures.
public protocol ParleyStore: Sendable {
    /// Stores a new room, refusing it past `quota` rooms or when a logging configuration it names does not exist.
    func insertRoom(_ room: Room, quota: Int) async throws -> Room
    func room(id: String) async throws -> Room?
    /// Applies `change` to the stored room atomically and stamps `updateTime`.
    func updateRoom(id: String, at time: Date, _ change: @escaping @Sendable (inout Room) throws -> Void) async throws -> Room
    func deleteRoom(id: String) async throws
    func roomCount() async throws -> Int
    /// Rooms newest `updateTime` first, resuming after `cursor`.
    func rooms(matching filter: RoomFilter, after cursor: PageCursor?, limit: Int) async throws -> [Room]

    func insertLoggingConfiguration(_ configuration: LoggingConfiguration, quota: Int) async throws -> LoggingConfiguration
    func loggingConfiguration(id: String) async throws -> LoggingConfiguration?
    func updateLoggingConfiguration(
        id: String, at time: Date, _ change: @escaping @Sendable (inout LoggingConfiguration) throws -> Void
    ) async throws -> LoggingConfiguration
    /// Deletes a logging configuration no room uses; `ParleyError.conflict` otherwise.
    func deleteLoggingConfiguration(id: String) async throws
    func loggingConfigurationCount() async throws -> Int
    func loggingConfigurations(after cursor: PageCursor?, limit: Int) async throws -> [LoggingConfiguration]

    /// Merges tags into a resource's, refusing a result over the tag limit.
    func tagResource(_ kind: ResourceKind, id: String, tags: [String: String]) async throws
    func untagResource(_ kind: ResourceKind, id: String, keys: [String]) async throws
    func tags(of kind: ResourceKind, id: String) async throws -> [String: String]

    func insertAccessKey(_ key: AccessKey) async throws
    /// The secret of an access key that exists and is not revoked.
    func activeSecret(accessKeyID: String) async throws -> String?
    func accessKeys() async throws -> [AccessKey]
    /// Returns false when no such active key exists.
    func revokeAccessKey(accessKeyID: String, at time: Date) async throws -> Bool

    /// Appends records to the chat-log outbox in one transaction.
    func appendToLogOutbox(_ records: [OutboxRecord]) async throws
    /// The oldest waiting records of a logging configuration.
    func logOutbox(loggingConfigurationID: String, limit: Int) async throws -> [OutboxRecord]
    /// Logging configurations that have records waiting.
    func loggingConfigurationsWithPendingRecords() async throws -> [String]
    /// Forgets records their destination acknowledged.
    func removeFromLogOutbox(sequences: [Int64]) async throws
    /// The bytes of log lines waiting in the outbox.
    func logOutboxSize() async throws -> Int
    /// Drops the oldest waiting records until at most `bytes` remain; returns how many were dropped.
    func trimLogOutbox(toBytes bytes: Int) async throws -> Int

    /// Merges points into the stored ones of the same series, period and start (sums add, extremes widen).
    func mergeMetricPoints(_ points: [MetricPoint]) async throws
    /// Stored points of a series at one resolution, oldest first, with `start` in `from..<to`.
    func metricPoints(_ series: MetricSeries, period: Int, from: Date, to: Date) async throws -> [MetricPoint]
    /// Every stored series of a metric name (to list dimension values).
    func metricSeries(named name: String) async throws -> [MetricSeries]
    /// Deletes points of a resolution that started before `time`; returns how many.
    func deleteMetricPoints(period: Int, startedBefore time: Date) async throws -> Int

    /// Adjusted quota values.
    func quotaOverrides() async throws -> [Quota: Int]
    /// Stores an adjusted quota value and the audit entry for it, together.
    func setQuota(_ quota: Quota, to value: Int, entry: AuditEntry) async throws
    func recordAlarm(_ alarm: QuotaAlarm) async throws
    func alarms(limit: Int) async throws -> [QuotaAlarm]
    func appendAudit(_ entry: AuditEntry) async throws
    func auditEntries(limit: Int, before: Int64?) async throws -> [AuditEntry]

    func consoleUser(name: String) async throws -> ConsoleUser?
    func consoleUsers() async throws -> [ConsoleUser]
    /// Creates or replaces a console user.
    func saveConsoleUser(_ user: ConsoleUser) async throws

    /// Records that a chat token was used; false if it had been used before.
    func redeemChatToken(id: String, expiresAt: Date) async throws -> Bool
    /// Forgets redeemed tokens that expired before `time` (they can no longer be presented anyway).
    func forgetRedeemedChatTokens(expiredBefore time: Date) async throws

    // Console sessions
    /// Records that the console session `id` has ended (signed out or replaced), until it would have expired anyway;
    /// forgets ended sessions that have expired by `now`.
    func endConsoleSession(id: String, expiresAt: Date, now: Date) async throws
    /// Whether the console session `id` has ended.
    func isConsoleSessionEnded(id: String) async throws -> Bool
}
