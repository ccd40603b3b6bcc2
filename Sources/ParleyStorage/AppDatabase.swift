import Foundation
import GRDB
import Logging
import ParleyDomain

/// Parley's SQLite database: every read and write of persistent state, by intention.
/// One `DatabaseWriter` serializes all writes; the server uses a WAL `DatabasePool`, tests an in-memory `DatabaseQueue`.
/// A write that finds the disk full throws `ParleyError.storageFull` and keeps nothing of its transaction; the episode
/// is logged once when it starts and once when writes succeed again.
public struct AppDatabase: ParleyStore {
    private let writer: any DatabaseWriter
    private let serverKey: ServerKey
    private let diskFull: DiskFullEpisodes

    /// Wraps `writer`; call `migrate()` before using it.
    public init(_ writer: any DatabaseWriter, serverKey: ServerKey, logger: Logger = Logger(label: "parley")) {
        self.writer = writer
        self.serverKey = serverKey
        diskFull = DiskFullEpisodes(logger: logger)
    }

    /// Brings the schema up to date.
    public func migrate() async throws {
        try await reportingFullDisk { try await Schema.migrator.migrate(writer) }
    }

    /// One write transaction, with a full disk reported as `ParleyError.storageFull`.
    private func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        try await reportingFullDisk { try await writer.write(updates) }
    }

    private func reportingFullDisk<T>(_ work: () async throws -> T) async throws -> T {
        let value: T
        do {
            value = try await work()
        } catch let error as DatabaseError {
            guard let storageError = Self.storageError(error) else { throw error }
            diskFull.writeRefused()
            throw storageError
        }
        diskFull.writeSucceeded()
        return value
    }

    /// The domain error for a database error the caller can act on without knowing SQLite, or nil.
    /// SQLite reports a disk that cannot take the database's, the WAL's or the journal's growth as SQLITE_FULL
    /// (ENOSPC); other I/O errors stay what they are, because they do not mean that freeing space helps.
    static func storageError(_ error: DatabaseError) -> ParleyError? {
        error.resultCode == .SQLITE_FULL ? .storageFull : nil
    }

    /// The on-disk database of a data directory, in WAL mode.
    /// The database holds password hashes, sealed secrets and the audit log, so its file (and with it SQLite's `-wal` and
    /// `-shm` files, which take the database file's mode) is made readable by the owner only.
    public static func onDisk(path: String, serverKey: ServerKey, logger: Logger = Logger(label: "parley")) throws -> AppDatabase {
        try ownerOnly(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        // In WAL mode NORMAL makes a commit durable against a crash of the process (what RELIABILITY.md promises)
        // without an fsync per commit; FULL would serialise every chat connection's token redemption on the disk.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let pool = try DatabasePool(path: path, configuration: configuration)
        return AppDatabase(pool, serverKey: serverKey, logger: logger)
    }

    /// Creates `path` with mode 0600 if it is missing, and takes group and other permissions off it and its `-wal`
    /// and `-shm` files if they exist.
    static func ownerOnly(_ path: String) throws {
        let files = FileManager.default
        if !files.fileExists(atPath: path) {
            guard files.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        for file in [path, path + "-wal", path + "-shm"] {
            guard let mode = (try? files.attributesOfItem(atPath: file))?[.posixPermissions] as? Int, mode & 0o077 != 0 else { continue }
            try files.setAttributes([.posixPermissions: mode & 0o700], ofItemAtPath: file)
        }
    }

    /// A fresh database in memory, for tests.
    public static func inMemory(serverKey: ServerKey = .generate()) throws -> AppDatabase {
        AppDatabase(try DatabaseQueue(), serverKey: serverKey)
    }

    /// Runs SQLite's own consistency check; returns its findings ("ok" when sound).
    public func integrityCheck() async throws -> [String] {
        try await writer.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    // MARK: Rooms

    public func insertRoom(_ room: Room, quota: Int) async throws -> Room {
        try await write { db in
            let count = try RoomRecord.fetchCount(db)
            guard count < quota else {
                throw ParleyError.quotaExceeded(
                    kind: .room, id: room.id, limit: quota, message: "The quota of \(quota) rooms has been reached.")
            }
            try RoomRecord(room).insert(db)
            try Self.attach(room.loggingConfigurationIDs, toRoom: room.id, db)
            try Self.replaceTags(.room, id: room.id, with: room.tags, db)
            return try Self.fetchRoom(id: room.id, db)!
        }
    }

    public func room(id: String) async throws -> Room? {
        try readWithoutHop { db in try Self.fetchRoom(id: id, db) }
    }

    /// A short read on the calling thread. Every chat token and connection needs its room and its caller's key; the async
    /// read would hop to a reader queue and back (two context switches) for a lookup that takes microseconds.
    /// No transaction either: a torn read of a room and its tags is harmless here, and BEGIN/COMMIT cost more than the read.
    private func readWithoutHop<T>(_ value: (Database) throws -> T) throws -> T {
        try writer.unsafeReentrantRead(value)
    }

    public func updateRoom(id: String, at time: Date, _ change: @escaping @Sendable (inout Room) throws -> Void) async throws -> Room {
        try await write { db in
            guard var room = try Self.fetchRoom(id: id, db) else { throw ParleyError.notFound(kind: .room, id: id) }
            let before = room
            try change(&room)
            room.updateTime = time
            try RoomRecord(room).update(db)
            if room.loggingConfigurationIDs != before.loggingConfigurationIDs {
                try RoomLoggingConfigurationRecord.filter(RoomLoggingConfigurationRecord.Columns.roomId == id).deleteAll(db)
                try Self.attach(room.loggingConfigurationIDs, toRoom: id, db)
            }
            return try Self.fetchRoom(id: id, db)!
        }
    }

    public func deleteRoom(id: String) async throws {
        try await write { db in
            guard try RoomRecord.deleteOne(db, key: id) else { throw ParleyError.notFound(kind: .room, id: id) }
        }
    }

    public func roomCount() async throws -> Int {
        try await writer.read { db in try RoomRecord.fetchCount(db) }
    }

    public func loggingConfigurationCount() async throws -> Int {
        try await writer.read { db in try LoggingConfigurationRecord.fetchCount(db) }
    }

    public func rooms(matching filter: RoomFilter, after cursor: PageCursor?, limit: Int) async throws -> [Room] {
        try await writer.read { db in
            var request = RoomRecord.all()
            if let name = filter.name { request = request.filter(RoomRecord.Columns.name == name) }
            if let uri = filter.messageReviewHandlerURI { request = request.filter(RoomRecord.Columns.reviewHandlerURI == uri) }
            if let configurationID = filter.loggingConfigurationID {
                request = request.filter(
                    sql: "id IN (SELECT roomId FROM roomLoggingConfiguration WHERE loggingConfigurationId = ?)",
                    arguments: [configurationID])
            }
            if let cursor {
                let time = cursor.updateTime.millisecondsSince1970
                request = request.filter(
                    RoomRecord.Columns.updateTime < time || (RoomRecord.Columns.updateTime == time && RoomRecord.Columns.id < cursor.id))
            }
            let records = try request.order(RoomRecord.Columns.updateTime.desc, RoomRecord.Columns.id.desc).limit(limit).fetchAll(db)
            return try records.map { try Self.assemble($0, db) }
        }
    }

    // Every chat token and connection reads its room: these statements are prepared once per connection and reused.
    private static func fetchRoom(id: String, _ db: Database) throws -> Room? {
        try SQLRequest<RoomRecord>(sql: "SELECT * FROM room WHERE id = ?", arguments: [id], cached: true).fetchOne(db)
            .map { try assemble($0, db) }
    }

    private static func assemble(_ record: RoomRecord, _ db: Database) throws -> Room {
        let links = try SQLRequest<String>(
            sql: "SELECT loggingConfigurationId FROM roomLoggingConfiguration WHERE roomId = ? ORDER BY position", arguments: [record.id],
            cached: true
        ).fetchAll(db)
        return record.room(loggingConfigurationIDs: links, tags: try fetchTags(.room, id: record.id, db))
    }

    private static func attach(_ configurationIDs: [String], toRoom roomID: String, _ db: Database) throws {
        for (position, configurationID) in configurationIDs.enumerated() {
            guard try LoggingConfigurationRecord.exists(db, key: configurationID) else {
                throw ParleyError.notFound(kind: .loggingConfiguration, id: configurationID)
            }
            try RoomLoggingConfigurationRecord(roomId: roomID, loggingConfigurationId: configurationID, position: position).insert(db)
        }
    }

    // MARK: Logging configurations

    public func insertLoggingConfiguration(_ configuration: LoggingConfiguration, quota: Int) async throws -> LoggingConfiguration {
        try await write { db in
            let count = try LoggingConfigurationRecord.fetchCount(db)
            guard count < quota else {
                throw ParleyError.quotaExceeded(
                    kind: .loggingConfiguration, id: configuration.id, limit: quota,
                    message: "The quota of \(quota) logging configurations has been reached.")
            }
            try LoggingConfigurationRecord(configuration).insert(db)
            try Self.replaceTags(.loggingConfiguration, id: configuration.id, with: configuration.tags, db)
            return try Self.fetchLoggingConfiguration(id: configuration.id, db)!
        }
    }

    public func loggingConfiguration(id: String) async throws -> LoggingConfiguration? {
        try await writer.read { db in try Self.fetchLoggingConfiguration(id: id, db) }
    }

    public func updateLoggingConfiguration(
        id: String, at time: Date, _ change: @escaping @Sendable (inout LoggingConfiguration) throws -> Void
    ) async throws -> LoggingConfiguration {
        try await write { db in
            guard var configuration = try Self.fetchLoggingConfiguration(id: id, db) else {
                throw ParleyError.notFound(kind: .loggingConfiguration, id: id)
            }
            try change(&configuration)
            configuration.updateTime = time
            try LoggingConfigurationRecord(configuration).update(db)
            return try Self.fetchLoggingConfiguration(id: id, db)!
        }
    }

    public func deleteLoggingConfiguration(id: String) async throws {
        try await write { db in
            guard try LoggingConfigurationRecord.exists(db, key: id) else {
                throw ParleyError.notFound(kind: .loggingConfiguration, id: id)
            }
            let users =
                try RoomLoggingConfigurationRecord
                .filter(RoomLoggingConfigurationRecord.Columns.loggingConfigurationId == id)
                .fetchCount(db)
            guard users == 0 else {
                throw ParleyError.conflict(
                    kind: .loggingConfiguration, id: id,
                    message: "Logging configuration \(id) is still used by \(users) room(s); detach it from them first.")
            }
            _ = try LoggingConfigurationRecord.deleteOne(db, key: id)
        }
    }

    public func loggingConfigurations(after cursor: PageCursor?, limit: Int) async throws -> [LoggingConfiguration] {
        try await writer.read { db in
            var request = LoggingConfigurationRecord.all()
            if let cursor {
                let updateTime = LoggingConfigurationRecord.Columns.updateTime
                let time = cursor.updateTime.millisecondsSince1970
                request = request.filter(updateTime < time || (updateTime == time && LoggingConfigurationRecord.Columns.id < cursor.id))
            }
            let records =
                try request
                .order(LoggingConfigurationRecord.Columns.updateTime.desc, LoggingConfigurationRecord.Columns.id.desc)
                .limit(limit).fetchAll(db)
            return try records.map { $0.loggingConfiguration(tags: try Self.fetchTags(.loggingConfiguration, id: $0.id, db)) }
        }
    }

    private static func fetchLoggingConfiguration(id: String, _ db: Database) throws -> LoggingConfiguration? {
        try LoggingConfigurationRecord.fetchOne(db, key: id).map {
            $0.loggingConfiguration(tags: try fetchTags(.loggingConfiguration, id: id, db))
        }
    }

    // MARK: Tags

    public func tagResource(_ kind: ResourceKind, id: String, tags: [String: String]) async throws {
        try await write { db in
            var merged = try Self.existingTags(kind, id: id, db)
            merged.merge(tags) { _, new in new }
            guard merged.count <= TagRules.maximumCount else {
                throw ParleyError.invalidField(
                    "tags", "a resource can have at most \(TagRules.maximumCount) tags; this would make \(merged.count)")
            }
            try Self.replaceTags(kind, id: id, with: merged, db)
        }
    }

    public func untagResource(_ kind: ResourceKind, id: String, keys: [String]) async throws {
        try await write { db in
            var remaining = try Self.existingTags(kind, id: id, db)
            for key in keys { remaining[key] = nil }
            try Self.replaceTags(kind, id: id, with: remaining, db)
        }
    }

    public func tags(of kind: ResourceKind, id: String) async throws -> [String: String] {
        try await writer.read { db in try Self.existingTags(kind, id: id, db) }
    }

    /// The tags of a resource that must exist.
    private static func existingTags(_ kind: ResourceKind, id: String, _ db: Database) throws -> [String: String] {
        let exists =
            switch kind {
            case .room: try RoomRecord.exists(db, key: id)
            case .loggingConfiguration: try LoggingConfigurationRecord.exists(db, key: id)
            }
        guard exists else { throw ParleyError.notFound(kind: kind, id: id) }
        return try fetchTags(kind, id: id, db)
    }

    private static func fetchTags(_ kind: ResourceKind, id: String, _ db: Database) throws -> [String: String] {
        let table = TagTable.of(kind)
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT key, value FROM \(table.name) WHERE \(table.ownerColumn) = ?"), arguments: [id])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as String, $0["value"] as String) })
    }

    private static func replaceTags(_ kind: ResourceKind, id: String, with tags: [String: String], _ db: Database) throws {
        let table = TagTable.of(kind)
        try db.execute(sql: "DELETE FROM \(table.name) WHERE \(table.ownerColumn) = ?", arguments: [id])
        for (key, value) in tags {
            try db.execute(
                sql: "INSERT INTO \(table.name) (\(table.ownerColumn), key, value) VALUES (?, ?, ?)", arguments: [id, key, value])
        }
    }

    // MARK: Access keys

    public func insertAccessKey(_ key: AccessKey) async throws {
        let sealed = serverKey.seal(Data(key.secretAccessKey.utf8), for: .accessKeySecret)
        try await write { db in
            try AccessKeyRecord(
                accessKeyId: key.accessKeyID, sealedSecret: sealed, createTime: key.createTime.millisecondsSince1970,
                revokeTime: key.revokeTime?.millisecondsSince1970
            )
            .insert(db, onConflict: .replace)
        }
    }

    public func activeSecret(accessKeyID: String) async throws -> String? {
        let record = try readWithoutHop { db in
            try SQLRequest<AccessKeyRecord>(
                sql: "SELECT * FROM accessKey WHERE accessKeyId = ? AND revokeTime IS NULL", arguments: [accessKeyID], cached: true
            ).fetchOne(db)
        }
        return record.flatMap(secret(of:))
    }

    public func accessKeys() async throws -> [AccessKey] {
        let records = try await writer.read { db in try AccessKeyRecord.order(AccessKeyRecord.Columns.createTime).fetchAll(db) }
        return records.map {
            AccessKey(
                accessKeyID: $0.accessKeyId, secretAccessKey: secret(of: $0) ?? "", createTime: Date(millisecondsSince1970: $0.createTime),
                revokeTime: $0.revokeTime.map(Date.init(millisecondsSince1970:)))
        }
    }

    public func revokeAccessKey(accessKeyID: String, at time: Date) async throws -> Bool {
        try await write { db in
            try AccessKeyRecord.filter(key: accessKeyID).filter(AccessKeyRecord.Columns.revokeTime == nil)
                .updateAll(db, AccessKeyRecord.Columns.revokeTime.set(to: time.millisecondsSince1970)) > 0
        }
    }

    private func secret(of record: AccessKeyRecord) -> String? {
        serverKey.open(record.sealedSecret, for: .accessKeySecret).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: Chat-log outbox

    public func appendToLogOutbox(_ records: [OutboxRecord]) async throws {
        guard !records.isEmpty else { return }
        try await write { db in
            for record in records {
                var row = LogOutboxRecord(record)
                try row.insert(db)
            }
        }
    }

    public func logOutbox(loggingConfigurationID: String, limit: Int) async throws -> [OutboxRecord] {
        try await writer.read { db in
            try LogOutboxRecord
                .filter(LogOutboxRecord.Columns.loggingConfigurationId == loggingConfigurationID)
                .order(LogOutboxRecord.Columns.sequence)
                .limit(limit)
                .fetchAll(db)
                .map(\.outboxRecord)
        }
    }

    public func loggingConfigurationsWithPendingRecords() async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT loggingConfigurationId FROM logOutbox")
        }
    }

    public func removeFromLogOutbox(sequences: [Int64]) async throws {
        guard !sequences.isEmpty else { return }
        try await write { db in
            _ = try LogOutboxRecord.filter(keys: sequences).deleteAll(db)
        }
    }

    public func logOutboxSize() async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(CAST(line AS BLOB))), 0) FROM logOutbox") ?? 0
        }
    }

    public func trimLogOutbox(toBytes bytes: Int) async throws -> Int {
        try await write { db in
            let total = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(CAST(line AS BLOB))), 0) FROM logOutbox") ?? 0
            guard total > bytes else { return 0 }
            var excess = total - bytes
            var dropped: [Int64] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT sequence, LENGTH(CAST(line AS BLOB)) AS size FROM logOutbox ORDER BY sequence")
            while excess > 0, let row = try rows.next() {
                dropped.append(row["sequence"])
                excess -= row["size"] as Int
            }
            _ = try LogOutboxRecord.filter(keys: dropped).deleteAll(db)
            return dropped.count
        }
    }

    // MARK: Metrics

    public func mergeMetricPoints(_ points: [MetricPoint]) async throws {
        guard !points.isEmpty else { return }
        try await write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO metricPoint (metric, dimensions, period, start, sum, sampleCount, minimum, maximum)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (metric, dimensions, period, start) DO UPDATE SET
                        sum = sum + excluded.sum, sampleCount = sampleCount + excluded.sampleCount,
                        minimum = MIN(minimum, excluded.minimum), maximum = MAX(maximum, excluded.maximum)
                    """)
            for point in points {
                try statement.execute(arguments: [
                    point.series.name, point.series.dimensionKey, point.period, point.start.millisecondsSince1970,
                    point.aggregate.sum, point.aggregate.sampleCount, point.aggregate.minimum, point.aggregate.maximum,
                ])
            }
        }
    }

    public func metricPoints(_ series: MetricSeries, period: Int, from: Date, to: Date) async throws -> [MetricPoint] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT start, sum, sampleCount, minimum, maximum FROM metricPoint
                    WHERE metric = ? AND dimensions = ? AND period = ? AND start >= ? AND start < ? ORDER BY start
                    """,
                arguments: [series.name, series.dimensionKey, period, from.millisecondsSince1970, to.millisecondsSince1970]
            ).map { row in
                MetricPoint(
                    series: series, period: period, start: Date(millisecondsSince1970: row["start"]),
                    aggregate: MetricAggregate(
                        sum: row["sum"], sampleCount: row["sampleCount"], minimum: row["minimum"], maximum: row["maximum"]))
            }
        }
    }

    public func metricSeries(named name: String) async throws -> [MetricSeries] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT dimensions FROM metricPoint WHERE metric = ?", arguments: [name]).map { key in
                MetricSeries(
                    name,
                    key.split(separator: ",").compactMap { pair in
                        let parts = pair.split(separator: "=", maxSplits: 1)
                        return parts.count == 2 ? MetricDimension(String(parts[0]), String(parts[1])) : nil
                    })
            }
        }
    }

    public func deleteMetricPoints(period: Int, startedBefore time: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM metricPoint WHERE period = ? AND start < ?", arguments: [period, time.millisecondsSince1970])
            return db.changesCount
        }
    }

    // MARK: Quotas, alarms, audit

    public func quotaOverrides() async throws -> [Quota: Int] {
        try await writer.read { db in
            var overrides: [Quota: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT quota, value FROM quotaOverride") {
                if let quota = Quota(rawValue: row["quota"]) { overrides[quota] = row["value"] }
            }
            return overrides
        }
    }

    public func setQuota(_ quota: Quota, to value: Int, entry: AuditEntry) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO quotaOverride (quota, value) VALUES (?, ?) ON CONFLICT (quota) DO UPDATE SET value = excluded.value",
                arguments: [quota.rawValue, value])
            try Self.insertAudit(entry, db)
        }
    }

    public func recordAlarm(_ alarm: QuotaAlarm) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO quotaAlarm (quota, usage, limitValue, time) VALUES (?, ?, ?, ?)",
                arguments: [alarm.quota.rawValue, alarm.usage, alarm.limit, alarm.time.millisecondsSince1970])
        }
    }

    public func alarms(limit: Int) async throws -> [QuotaAlarm] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT quota, usage, limitValue, time FROM quotaAlarm ORDER BY id DESC LIMIT ?", arguments: [limit])
                .compactMap { row in
                    Quota(rawValue: row["quota"]).map {
                        QuotaAlarm(quota: $0, usage: row["usage"], limit: row["limitValue"], time: Date(millisecondsSince1970: row["time"]))
                    }
                }
        }
    }

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await write { db in try Self.insertAudit(entry, db) }
    }

    public func auditEntries(limit: Int, before: Int64?) async throws -> [AuditEntry] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM auditEntry WHERE id < ? ORDER BY id DESC LIMIT ?",
                arguments: [before ?? Int64.max, limit]
            ).map { row in
                AuditEntry(
                    id: row["id"], time: Date(millisecondsSince1970: row["time"]), actor: row["actor"], action: row["action"],
                    target: row["target"], detail: row["detail"], address: row["address"])
            }
        }
    }

    private static func insertAudit(_ entry: AuditEntry, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO auditEntry (time, actor, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [entry.time.millisecondsSince1970, entry.actor, entry.action, entry.target, entry.detail, entry.address])
    }

    // MARK: Console users

    public func consoleUser(name: String) async throws -> ConsoleUser? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM consoleUser WHERE name = ?", arguments: [name]).map(Self.consoleUser)
        }
    }

    public func consoleUsers() async throws -> [ConsoleUser] {
        try await writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM consoleUser ORDER BY name").map(Self.consoleUser) }
    }

    public func saveConsoleUser(_ user: ConsoleUser) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO consoleUser (name, passwordHash, role, createTime) VALUES (?, ?, ?, ?)",
                arguments: [user.name, user.passwordHash, user.role.rawValue, user.createTime.millisecondsSince1970])
        }
    }

    private static func consoleUser(_ row: Row) -> ConsoleUser {
        ConsoleUser(
            name: row["name"], passwordHash: row["passwordHash"], role: ConsoleRole(rawValue: row["role"]) ?? .viewer,
            createTime: Date(millisecondsSince1970: row["createTime"]))
    }

    // MARK: Chat tokens

    public func redeemChatToken(id: String, expiresAt: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO redeemedChatToken (tokenId, expiresAt) VALUES (?, ?)",
                arguments: [id, expiresAt.millisecondsSince1970])
            return db.changesCount == 1
        }
    }

    // MARK: Console sessions

    public func endConsoleSession(id: String, expiresAt: Date, now: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM endedConsoleSession WHERE expiresAt < ?", arguments: [now.millisecondsSince1970])
            try db.execute(
                sql: "INSERT OR IGNORE INTO endedConsoleSession (sessionId, expiresAt) VALUES (?, ?)",
                arguments: [id, expiresAt.millisecondsSince1970])
        }
    }

    public func isConsoleSessionEnded(id: String) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM endedConsoleSession WHERE sessionId = ?)", arguments: [id]) ?? false
        }
    }

    public func forgetRedeemedChatTokens(expiredBefore time: Date) async throws {
        try await write { db in
            _ = try RedeemedChatTokenRecord.filter(RedeemedChatTokenRecord.Columns.expiresAt < time.millisecondsSince1970).deleteAll(db)
        }
    }
}
