import Foundation
import ParleyDomain
import ParleyStorage
import Testing

@Suite("Tags in the store")
struct TagStoreTests {
    /// `count` distinct tags whose keys start with `prefix`.
    func tags(_ count: Int, prefix: String = "key") -> [String: String] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { ("\(prefix)\($0)", "value\($0)") })
    }

    /// A store holding one resource of `kind`; returns its id.
    func storeWithResource(_ kind: ResourceKind, tags: [String: String] = [:]) async throws -> (AppDatabase, String) {
        let db = try await makeStore()
        switch kind {
        case .room:
            return (db, try await db.makeRoom(tags: tags).id)
        case .loggingConfiguration:
            let id = try await db.makeLoggingConfiguration().id
            if !tags.isEmpty { try await db.tagResource(kind, id: id, tags: tags) }
            return (db, id)
        }
    }

    @Test("tagging merges: new keys are added, existing keys take the new value, others stay", arguments: ResourceKind.allCases)
    func merge(_ kind: ResourceKind) async throws {
        let (db, id) = try await storeWithResource(kind, tags: ["keep": "1", "change": "old"])

        try await db.tagResource(kind, id: id, tags: ["change": "new", "add": "2"])

        #expect(try await db.tags(of: kind, id: id) == ["keep": "1", "change": "new", "add": "2"])
    }

    @Test("untagging removes the named keys and ignores absent ones", arguments: ResourceKind.allCases)
    func untag(_ kind: ResourceKind) async throws {
        let (db, id) = try await storeWithResource(kind, tags: ["a": "1", "b": "2", "c": "3"])

        try await db.untagResource(kind, id: id, keys: ["a", "c", "absent"])

        #expect(try await db.tags(of: kind, id: id) == ["b": "2"])
    }

    @Test("tags of one resource do not leak to another")
    func isolation() async throws {
        let db = try await makeStore()
        let tagged = try await db.makeRoom(tags: ["a": "1"])
        let plain = try await db.makeRoom()

        #expect(try await db.tags(of: .room, id: plain.id).isEmpty)
        #expect(try await db.room(id: tagged.id)?.tags == ["a": "1"])
    }

    @Test("a resource may reach 50 tags, and re-tag existing keys at 50", arguments: ResourceKind.allCases)
    func upToFifty(_ kind: ResourceKind) async throws {
        let (db, id) = try await storeWithResource(kind, tags: tags(49))

        try await db.tagResource(kind, id: id, tags: ["key49": "last"])
        try await db.tagResource(kind, id: id, tags: ["key0": "overwritten"])

        let stored = try await db.tags(of: kind, id: id)
        #expect(stored.count == 50)
        #expect(stored["key0"] == "overwritten")
    }

    @Test("tagging past 50 tags is a validation error and changes nothing", arguments: ResourceKind.allCases)
    func overFifty(_ kind: ResourceKind) async throws {
        let (db, id) = try await storeWithResource(kind, tags: tags(49))

        let error = await #expect(throws: ParleyError.self) {
            try await db.tagResource(kind, id: id, tags: ["key0": "changed", "extra1": "x", "extra2": "y"])
        }

        guard case .validation(.fieldValidationFailed, _, let fields) = error else {
            Issue.record("expected a validation error, got \(String(describing: error))")
            return
        }
        #expect(fields.map(\.name) == ["tags"])
        #expect(try await db.tags(of: kind, id: id) == tags(49))
    }

    @Test("tags of an unknown resource are notFound, for every operation", arguments: ResourceKind.allCases)
    func unknownResource(_ kind: ResourceKind) async throws {
        let db = try await makeStore()
        let missing = ParleyError.notFound(kind: kind, id: fixedID("n"))

        await #expect(throws: missing) { try await db.tagResource(kind, id: fixedID("n"), tags: ["a": "b"]) }
        await #expect(throws: missing) { try await db.untagResource(kind, id: fixedID("n"), keys: ["a"]) }
        await #expect(throws: missing) { try await db.tags(of: kind, id: fixedID("n")) }
    }

    @Test("a room's id does not name a logging configuration")
    func kindsAreSeparate() async throws {
        let db = try await makeStore()
        let room = try await db.makeRoom()

        await #expect(throws: ParleyError.notFound(kind: .loggingConfiguration, id: room.id)) {
            try await db.tagResource(.loggingConfiguration, id: room.id, tags: ["a": "b"])
        }
    }
}
