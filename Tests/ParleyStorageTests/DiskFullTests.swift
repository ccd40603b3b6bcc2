import Foundation
import GRDB
import Logging
import ParleyDomain
import Synchronization
import Testing

@testable import ParleyStorage

@Suite("A full disk")
struct DiskFullTests {
    /// A migrated in-memory database whose file may not grow past the pages it has: SQLite then answers SQLITE_FULL,
    /// as it does when the disk has no block left.
    func makeFullStore(logger: Logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) async throws -> (
        AppDatabase, DatabaseQueue
    ) {
        let queue = try DatabaseQueue()
        let store = AppDatabase(queue, serverKey: .generate(), logger: logger)
        try await store.migrate()
        try await queue.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")!
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        return (store, queue)
    }

    func makeSpace(in queue: DatabaseQueue) async throws {
        try await queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1000000") }
    }

    /// A room too big for the free space left in the pages the database has.
    func bigRoom() -> Room {
        let tags = Dictionary(uniqueKeysWithValues: (0..<40).map { ("key\($0)", String(repeating: "v", count: 250)) })
        return Room(id: ResourceID.generate(), name: "big", createTime: at(1), tags: tags)
    }

    @Test("SQLITE_FULL from GRDB is the domain's storageFull; other database errors stay what they are")
    func mapping() {
        // Act & verify
        #expect(AppDatabase.storageError(DatabaseError(resultCode: .SQLITE_FULL)) == .storageFull)
        #expect(AppDatabase.storageError(DatabaseError(resultCode: .SQLITE_IOERR)) == nil)
        #expect(AppDatabase.storageError(DatabaseError(resultCode: .SQLITE_CONSTRAINT)) == nil)
    }

    @Test("a write on a full disk throws storageFull and keeps nothing; reads work; writes succeed once there is room")
    func refusedWriteThenRecovery() async throws {
        // Setup: a room stored before the disk fills.
        let (store, queue) = try await makeFullStore()
        let room = bigRoom()

        // Act
        await #expect(throws: ParleyError.storageFull) { try await store.insertRoom(room, quota: 10) }

        // Verify: nothing of the room, and reads still answer.
        #expect(try await store.room(id: room.id) == nil)
        #expect(try await store.roomCount() == 0)

        // Act: space returns.
        try await makeSpace(in: queue)
        let stored = try await store.insertRoom(room, quota: 10)

        // Verify
        #expect(stored.tags == room.tags)
        #expect(try await store.integrityCheck() == ["ok"])
    }

    @Test("an episode is logged once when writes start failing and once when they succeed again")
    func episodeIsLoggedOnce() async throws {
        // Setup
        let lines = LoggedLines()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        let (store, queue) = try await makeFullStore(logger: logger)

        // Act: three refused writes, space returns, two writes succeed, the disk fills again.
        for _ in 0..<3 { _ = try? await store.insertRoom(bigRoom(), quota: 100) }
        try await makeSpace(in: queue)
        for _ in 0..<2 { _ = try await store.insertRoom(bigRoom(), quota: 100) }
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA max_page_count = \(try Int.fetchOne(db, sql: "PRAGMA page_count")!)")
        }
        _ = try? await store.insertRoom(bigRoom(), quota: 100)

        // Verify
        #expect(
            lines.all == [
                "error The data directory's disk is full: API writes, new chat connections and chat-log records are refused until space is freed",
                "notice The data directory's disk takes writes again refusedWrites=3",
                "error The data directory's disk is full: API writes, new chat connections and chat-log records are refused until space is freed",
            ])
    }
}

final class LoggedLines: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var all: [String] { lines.withLock { $0 } }
}

/// Keeps each line logged as "level message key=value".
struct CapturingLogHandler: LogHandler {
    let lines: LoggedLines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        lines.append("\(event.level) \(event.message)\(fields)")
    }
}
