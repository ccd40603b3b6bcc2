import Foundation
import ParleyDomain
import ParleyStorage
import Testing

/// A fixed instant with whole milliseconds, as the store keeps times.
let epoch = Date(millisecondsSince1970: 1_795_000_000_000)

/// `seconds` after `epoch`.
func at(_ seconds: Int) -> Date {
    epoch.addingTimeInterval(TimeInterval(seconds))
}

/// A migrated in-memory database.
func makeStore(serverKey: ServerKey = .generate()) async throws -> AppDatabase {
    let db = try AppDatabase.inMemory(serverKey: serverKey)
    try await db.migrate()
    return db
}

/// A 12-character id made of one repeated character, so that ids sort predictably.
func fixedID(_ character: Character) -> String {
    String(repeating: character, count: 12)
}

extension ParleyStore {
    /// Inserts a room under a generous quota.
    @discardableResult
    func makeRoom(
        id: String = ResourceID.generate(), name: String = "", updatedAt seconds: Int = 0,
        reviewHandlerURI: String? = nil, loggingConfigurationIDs: [String] = [], tags: [String: String] = [:]
    ) async throws -> Room {
        try await insertRoom(
            Room(
                id: id, name: name, createTime: at(seconds), messageReviewHandler: reviewHandlerURI.map { MessageReviewHandler(uri: $0) },
                loggingConfigurationIDs: loggingConfigurationIDs, tags: tags),
            quota: 1_000)
    }

    /// Inserts an S3 logging configuration under a generous quota.
    @discardableResult
    func makeLoggingConfiguration(id: String = ResourceID.generate(), name: String = "") async throws -> LoggingConfiguration {
        try await insertLoggingConfiguration(
            LoggingConfiguration(id: id, name: name, createTime: epoch, destination: .s3(bucketName: "chat-logs")), quota: 1_000)
    }

    /// Every room matching `filter`, read in pages of `pageSize`, calling `betweenPages` after each page.
    func allRooms(
        matching filter: RoomFilter = RoomFilter(), pageSize: Int, betweenPages: (Int) async throws -> Void = { _ in }
    ) async throws -> [Room] {
        var result: [Room] = []
        var cursor: PageCursor?
        var pageNumber = 0
        while pageNumber < 100 {
            let page = try await rooms(matching: filter, after: cursor, limit: pageSize)
            #expect(page.count <= pageSize)
            result += page
            guard let last = page.last, page.count == pageSize else { return result }
            cursor = PageCursor(updateTime: last.updateTime, id: last.id)
            pageNumber += 1
            try await betweenPages(pageNumber)
        }
        Issue.record("listing did not end after 100 pages")
        return result
    }
}
