import Foundation
import ParleyDomain
import ParleyStorage
import Testing

@Suite("The database on disk")
struct OnDiskStoreTests {
    /// Every byte of every file in `directory` (the database, its WAL and shared-memory files).
    func bytesOfFiles(in directory: URL) throws -> Data {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        return try files.reduce(into: Data()) { bytes, file in bytes += try Data(contentsOf: file) }
    }

    /// Opens and migrates the database at `path`.
    func open(_ path: String, serverKey: ServerKey) async throws -> AppDatabase {
        let db = try AppDatabase.onDisk(path: path, serverKey: serverKey)
        try await db.migrate()
        return db
    }

    @Test("what is written survives re-opening, secrets stay sealed on disk, and the file is sound")
    func writeReopenRead() async throws {
        // Setup: a fresh data directory.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("parley.sqlite").path
        let serverKey = ServerKey.generate()
        let accessKey = AccessKey.generate(at: at(1))
        let marker = "plainly-stored-room-name-marker"

        // Act: write, then let the database close.
        let room: Room
        do {
            let db = try await open(path, serverKey: serverKey)
            let configuration = try await db.makeLoggingConfiguration(name: "disk-logs")
            room = try await db.makeRoom(name: marker, loggingConfigurationIDs: [configuration.id], tags: ["env": "disk"])
            try await db.insertAccessKey(accessKey)
            #expect(try await db.redeemChatToken(id: "disk-token", expiresAt: at(60)))
            #expect(try await db.integrityCheck() == ["ok"])
        }

        // Verify the bytes: the room name is there in clear (so the scan sees the data), the secret is not.
        let bytes = try bytesOfFiles(in: directory)
        #expect(bytes.range(of: Data(marker.utf8)) != nil)
        #expect(bytes.range(of: Data(accessKey.secretAccessKey.utf8)) == nil)
        #expect(bytes.range(of: Data(accessKey.accessKeyID.utf8)) != nil)

        // Verify re-opened with the same key: everything reads back.
        do {
            let db = try await open(path, serverKey: serverKey)
            #expect(try await db.room(id: room.id) == room)
            #expect(try await db.tags(of: .room, id: room.id) == ["env": "disk"])
            #expect(try await db.activeSecret(accessKeyID: accessKey.accessKeyID) == accessKey.secretAccessKey)
            #expect(try await db.redeemChatToken(id: "disk-token", expiresAt: at(60)) == false)
            #expect(try await db.integrityCheck() == ["ok"])
        }

        // Verify re-opened with another server key: the data reads, the secret does not open.
        do {
            let db = try await open(path, serverKey: .generate())
            #expect(try await db.room(id: room.id) == room)
            #expect(try await db.activeSecret(accessKeyID: accessKey.accessKeyID) == nil)
        }
    }
}
