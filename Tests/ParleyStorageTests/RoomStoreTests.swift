import Foundation
import ParleyDomain
import ParleyStorage
import Testing

@Suite("Rooms in the store")
struct RoomStoreTests {
    @Test("an inserted room reads back exactly, with its handler, logging links and tags")
    func insertAndGet() async throws {
        // Setup.
        let db = try await makeStore()
        let first = try await db.makeLoggingConfiguration()
        let second = try await db.makeLoggingConfiguration()
        let room = Room(
            name: "lobby", createTime: at(10), maximumMessageRatePerSecond: 42, maximumMessageLength: 120,
            messageReviewHandler: MessageReviewHandler(uri: "https://example.com/review", fallbackResult: .deny),
            loggingConfigurationIDs: [second.id, first.id], tags: ["team": "blue", "env": "prod"])

        // Act.
        let inserted = try await db.insertRoom(room, quota: 10)
        let fetched = try await db.room(id: room.id)

        // Verify.
        #expect(inserted == room)
        #expect(fetched == room)
        #expect(fetched?.updateTime == at(10))
    }

    @Test("an unknown room reads as nil")
    func unknownRoom() async throws {
        let db = try await makeStore()

        #expect(try await db.room(id: fixedID("z")) == nil)
    }

    @Test("logging configuration links keep the order they were given in, not id order")
    func linkOrder() async throws {
        let db = try await makeStore()
        for character in "abc" { try await db.makeLoggingConfiguration(id: fixedID(character)) }
        let order = [fixedID("c"), fixedID("a"), fixedID("b")]

        let room = try await db.makeRoom(loggingConfigurationIDs: order)

        #expect(room.loggingConfigurationIDs == order)
        #expect(try await db.room(id: room.id)?.loggingConfigurationIDs == order)
    }

    @Test("an update applies the change, stamps updateTime, keeps createTime and re-links logging in the new order")
    func update() async throws {
        // Setup.
        let db = try await makeStore()
        for character in "abc" { try await db.makeLoggingConfiguration(id: fixedID(character)) }
        let room = try await db.makeRoom(name: "before", loggingConfigurationIDs: [fixedID("a"), fixedID("b")], tags: ["k": "v"])

        // Act.
        let updated = try await db.updateRoom(id: room.id, at: at(300)) { room in
            room.name = "after"
            room.maximumMessageLength = 7
            room.messageReviewHandler = MessageReviewHandler(uri: "arn:aws:lambda:us-west-2:123456789012:function:f")
            room.loggingConfigurationIDs = [fixedID("c"), fixedID("a")]
        }

        // Verify.
        var expected = room
        expected.name = "after"
        expected.maximumMessageLength = 7
        expected.messageReviewHandler = MessageReviewHandler(uri: "arn:aws:lambda:us-west-2:123456789012:function:f")
        expected.loggingConfigurationIDs = [fixedID("c"), fixedID("a")]
        expected.updateTime = at(300)
        #expect(updated == expected)
        #expect(try await db.room(id: room.id) == expected)
        #expect(updated.createTime == room.createTime)
    }

    @Test("an update can detach the review handler and every logging configuration")
    func updateDetaches() async throws {
        let db = try await makeStore()
        let configuration = try await db.makeLoggingConfiguration()
        let room = try await db.makeRoom(reviewHandlerURI: "https://example.com/h", loggingConfigurationIDs: [configuration.id])

        _ = try await db.updateRoom(id: room.id, at: at(5)) { room in
            room.messageReviewHandler = nil
            room.loggingConfigurationIDs = []
        }

        let fetched = try #require(try await db.room(id: room.id))
        #expect(fetched.messageReviewHandler == nil)
        #expect(fetched.loggingConfigurationIDs.isEmpty)
    }

    @Test("an update of an unknown room is notFound")
    func updateUnknown() async throws {
        let db = try await makeStore()

        await #expect(throws: ParleyError.notFound(kind: .room, id: fixedID("q"))) {
            try await db.updateRoom(id: fixedID("q"), at: at(1)) { $0.name = "x" }
        }
    }

    @Test("a failed update leaves the room untouched: a throwing change, or an unknown logging configuration")
    func failedUpdateChangesNothing() async throws {
        let db = try await makeStore()
        let room = try await db.makeRoom(name: "stable")

        await #expect(throws: ParleyError.invalidField("name", "nope")) {
            try await db.updateRoom(id: room.id, at: at(9)) { room in
                room.name = "changed"
                throw ParleyError.invalidField("name", "nope")
            }
        }
        await #expect(throws: ParleyError.notFound(kind: .loggingConfiguration, id: fixedID("m"))) {
            try await db.updateRoom(id: room.id, at: at(9)) { room in
                room.name = "changed"
                room.loggingConfigurationIDs = [fixedID("m")]
            }
        }

        #expect(try await db.room(id: room.id) == room)
    }

    @Test("a deleted room is gone, with its tags; deleting it again is notFound")
    func delete() async throws {
        let db = try await makeStore()
        let room = try await db.makeRoom(tags: ["a": "b"])
        let other = try await db.makeRoom()

        try await db.deleteRoom(id: room.id)

        #expect(try await db.room(id: room.id) == nil)
        #expect(try await db.room(id: other.id) == other)
        await #expect(throws: ParleyError.notFound(kind: .room, id: room.id)) { try await db.tags(of: .room, id: room.id) }
        await #expect(throws: ParleyError.notFound(kind: .room, id: room.id)) { try await db.deleteRoom(id: room.id) }
    }

    @Test("inserting past the room quota is quotaExceeded and stores nothing")
    func quota() async throws {
        // Setup: fill a quota of 2.
        let db = try await makeStore()
        for _ in 0..<2 { _ = try await db.insertRoom(Room(createTime: epoch), quota: 2) }
        let third = Room(createTime: epoch)

        // Act.
        let error = await #expect(throws: ParleyError.self) { try await db.insertRoom(third, quota: 2) }

        // Verify.
        guard case .quotaExceeded(let kind, _, let limit, _) = error else {
            Issue.record("expected quotaExceeded, got \(String(describing: error))")
            return
        }
        #expect(kind == .room)
        #expect(limit == 2)
        #expect(try await db.room(id: third.id) == nil)
        #expect(try await db.rooms(matching: RoomFilter(), after: nil, limit: 50).count == 2)
    }

    @Test("a room naming an unknown logging configuration is notFound and nothing of it is stored")
    func unknownLoggingConfiguration() async throws {
        let db = try await makeStore()
        let known = try await db.makeLoggingConfiguration()
        let room = Room(createTime: epoch, loggingConfigurationIDs: [known.id, fixedID("x")], tags: ["k": "v"])

        await #expect(throws: ParleyError.notFound(kind: .loggingConfiguration, id: fixedID("x"))) {
            try await db.insertRoom(room, quota: 10)
        }

        #expect(try await db.room(id: room.id) == nil)
        #expect(try await db.rooms(matching: RoomFilter(), after: nil, limit: 50).isEmpty)
        // The known configuration was not left linked to the vanished room.
        try await db.deleteLoggingConfiguration(id: known.id)
    }
}

@Suite("Listing rooms")
struct RoomListingTests {
    @Test("rooms are listed newest updateTime first, ties by id")
    func order() async throws {
        let db = try await makeStore()
        try await db.makeRoom(id: fixedID("a"), updatedAt: 1)
        try await db.makeRoom(id: fixedID("b"), updatedAt: 3)
        try await db.makeRoom(id: fixedID("c"), updatedAt: 2)
        try await db.makeRoom(id: fixedID("d"), updatedAt: 2)

        let listed = try await db.rooms(matching: RoomFilter(), after: nil, limit: 50)

        #expect(listed.map(\.id) == [fixedID("b"), fixedID("d"), fixedID("c"), fixedID("a")])
    }

    @Test("an updated room moves to the front")
    func updateMovesToFront() async throws {
        let db = try await makeStore()
        let old = try await db.makeRoom(updatedAt: 1)
        let newer = try await db.makeRoom(updatedAt: 2)

        _ = try await db.updateRoom(id: old.id, at: at(3)) { $0.name = "touched" }

        #expect(try await db.rooms(matching: RoomFilter(), after: nil, limit: 50).map(\.id) == [old.id, newer.id])
    }

    @Test("limit caps a page", arguments: [1, 2, 5])
    func limit(_ limit: Int) async throws {
        let db = try await makeStore()
        for second in 0..<4 { try await db.makeRoom(updatedAt: second) }

        #expect(try await db.rooms(matching: RoomFilter(), after: nil, limit: limit).count == min(limit, 4))
    }

    @Test("pages neither skip nor repeat rooms, even with equal update times", arguments: [1, 2, 3, 7])
    func pagesCoverEverything(_ pageSize: Int) async throws {
        // Setup: seven rooms, three sharing one update time.
        let db = try await makeStore()
        var expected: [Room] = []
        for (character, second) in zip("abcdefg", [1, 2, 2, 2, 3, 4, 5]) {
            expected.append(try await db.makeRoom(id: fixedID(character), updatedAt: second))
        }

        // Act.
        let listed = try await db.allRooms(pageSize: pageSize)

        // Verify.
        let newestFirst = expected.sorted { ($0.updateTime, $0.id) > ($1.updateTime, $1.id) }
        #expect(listed.map(\.id) == newestFirst.map(\.id))
    }

    @Test("rooms created between pages neither shift nor repeat the rooms of the listing")
    func insertsBetweenPages() async throws {
        // Setup: six rooms.
        let db = try await makeStore()
        var original: [Room] = []
        for second in 0..<6 { original.append(try await db.makeRoom(updatedAt: second)) }

        // Act: after each page, two newer rooms appear.
        let listed = try await db.allRooms(pageSize: 2) { page in
            for extra in 0..<2 { try await db.makeRoom(name: "late", updatedAt: 100 + page * 10 + extra) }
        }

        // Verify: exactly the original rooms, newest first, each once.
        #expect(listed.map(\.id) == original.reversed().map(\.id))
        #expect(try await db.rooms(matching: RoomFilter(name: "late"), after: nil, limit: 50).count == 6)
    }

    @Test("rooms deleted between pages do not shift the rooms after them")
    func deletesBetweenPages() async throws {
        let db = try await makeStore()
        var original: [Room] = []
        for second in 0..<6 { original.append(try await db.makeRoom(updatedAt: second)) }
        let newestFirst = Array(original.reversed())

        // After the first page (rooms 5 and 4), delete room 4 (already listed) and room 3 (not yet listed).
        let listed = try await db.allRooms(pageSize: 2) { page in
            guard page == 1 else { return }
            try await db.deleteRoom(id: newestFirst[1].id)
            try await db.deleteRoom(id: newestFirst[2].id)
        }

        #expect(listed.map(\.id) == [newestFirst[0], newestFirst[1], newestFirst[3], newestFirst[4], newestFirst[5]].map(\.id))
    }

    @Test("the name filter matches the exact name")
    func filterByName() async throws {
        let db = try await makeStore()
        let lobby = try await db.makeRoom(name: "lobby", updatedAt: 1)
        let lobby2 = try await db.makeRoom(name: "lobby", updatedAt: 2)
        try await db.makeRoom(name: "lobby-2", updatedAt: 3)
        try await db.makeRoom(name: "", updatedAt: 4)

        let listed = try await db.rooms(matching: RoomFilter(name: "lobby"), after: nil, limit: 50)

        #expect(listed.map(\.id) == [lobby2.id, lobby.id])
    }

    @Test("the review handler filter matches the handler's uri")
    func filterByReviewHandler() async throws {
        let db = try await makeStore()
        let uri = "https://example.com/review"
        let reviewed = try await db.makeRoom(reviewHandlerURI: uri)
        try await db.makeRoom(reviewHandlerURI: "https://example.com/other")
        try await db.makeRoom()

        let listed = try await db.rooms(matching: RoomFilter(messageReviewHandlerURI: uri), after: nil, limit: 50)

        #expect(listed.map(\.id) == [reviewed.id])
    }

    @Test("the logging configuration filter matches rooms linked to it, whatever its position")
    func filterByLoggingConfiguration() async throws {
        let db = try await makeStore()
        let wanted = try await db.makeLoggingConfiguration()
        let other = try await db.makeLoggingConfiguration()
        let first = try await db.makeRoom(updatedAt: 1, loggingConfigurationIDs: [wanted.id])
        let second = try await db.makeRoom(updatedAt: 2, loggingConfigurationIDs: [other.id, wanted.id])
        try await db.makeRoom(updatedAt: 3, loggingConfigurationIDs: [other.id])
        try await db.makeRoom(updatedAt: 4)

        let listed = try await db.rooms(matching: RoomFilter(loggingConfigurationID: wanted.id), after: nil, limit: 50)

        #expect(listed.map(\.id) == [second.id, first.id])
    }

    @Test("filters combine and page with a cursor")
    func filtersPage() async throws {
        let db = try await makeStore()
        var lobbies: [Room] = []
        for second in 0..<5 {
            lobbies.append(try await db.makeRoom(name: "lobby", updatedAt: second * 2))
            try await db.makeRoom(name: "other", updatedAt: second * 2 + 1)
        }

        let listed = try await db.allRooms(matching: RoomFilter(name: "lobby"), pageSize: 2)

        #expect(listed.map(\.id) == lobbies.reversed().map(\.id))
    }
}
