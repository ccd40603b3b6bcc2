import Foundation
import ParleyDomain
import ParleyStorage
import Testing

@Suite("Logging configurations in the store")
struct LoggingConfigurationStoreTests {
    @Test(
        "each destination kind reads back exactly",
        arguments: [
            LogDestination.s3(bucketName: "chat-logs"), .cloudWatchLogs(logGroupName: "/ivs/chat"),
            .firehose(deliveryStreamName: "chat-stream"),
        ]
    )
    func roundTrip(_ destination: LogDestination) async throws {
        let db = try await makeStore()
        let configuration = LoggingConfiguration(
            name: "logs", createTime: at(1), destination: destination, state: .active, tags: ["owner": "ops"])

        let inserted = try await db.insertLoggingConfiguration(configuration, quota: 10)

        #expect(inserted == configuration)
        #expect(try await db.loggingConfiguration(id: configuration.id) == configuration)
    }

    @Test("an update applies the change and stamps updateTime")
    func update() async throws {
        let db = try await makeStore()
        let configuration = try await db.makeLoggingConfiguration(name: "before")

        let updated = try await db.updateLoggingConfiguration(id: configuration.id, at: at(60)) {
            $0.name = "after"
            $0.destination = .firehose(deliveryStreamName: "s")
        }

        #expect(updated.name == "after")
        #expect(updated.destination == .firehose(deliveryStreamName: "s"))
        #expect(updated.updateTime == at(60))
        #expect(updated.createTime == configuration.createTime)
        #expect(try await db.loggingConfiguration(id: configuration.id) == updated)
    }

    @Test("inserting past the quota is quotaExceeded")
    func quota() async throws {
        let db = try await makeStore()
        _ = try await db.insertLoggingConfiguration(LoggingConfiguration(createTime: epoch, destination: .s3(bucketName: "abc")), quota: 1)

        let error = await #expect(throws: ParleyError.self) {
            try await db.insertLoggingConfiguration(LoggingConfiguration(createTime: epoch, destination: .s3(bucketName: "abc")), quota: 1)
        }

        guard case .quotaExceeded(.loggingConfiguration, _, 1, _) = error else {
            Issue.record("expected quotaExceeded for a logging configuration, got \(String(describing: error))")
            return
        }
        #expect(try await db.loggingConfigurations(after: nil, limit: 50).count == 1)
    }

    @Test("a configuration still attached to a room cannot be deleted; once detached it can")
    func deleteWhileAttached() async throws {
        // Setup.
        let db = try await makeStore()
        let configuration = try await db.makeLoggingConfiguration()
        let room = try await db.makeRoom(loggingConfigurationIDs: [configuration.id])

        // Act / verify: refused while attached.
        let error = await #expect(throws: ParleyError.self) { try await db.deleteLoggingConfiguration(id: configuration.id) }
        guard case .conflict(.loggingConfiguration, configuration.id, _) = error else {
            Issue.record("expected conflict, got \(String(describing: error))")
            return
        }
        #expect(try await db.loggingConfiguration(id: configuration.id) == configuration)

        // Act / verify: accepted once detached.
        _ = try await db.updateRoom(id: room.id, at: at(1)) { $0.loggingConfigurationIDs = [] }
        try await db.deleteLoggingConfiguration(id: configuration.id)
        #expect(try await db.loggingConfiguration(id: configuration.id) == nil)
    }

    @Test("deleting the room releases its logging configurations")
    func deleteRoomReleases() async throws {
        let db = try await makeStore()
        let configuration = try await db.makeLoggingConfiguration()
        let room = try await db.makeRoom(loggingConfigurationIDs: [configuration.id])

        try await db.deleteRoom(id: room.id)
        try await db.deleteLoggingConfiguration(id: configuration.id)

        #expect(try await db.loggingConfiguration(id: configuration.id) == nil)
    }

    @Test("deleting an unknown configuration is notFound")
    func deleteUnknown() async throws {
        let db = try await makeStore()

        await #expect(throws: ParleyError.notFound(kind: .loggingConfiguration, id: fixedID("u"))) {
            try await db.deleteLoggingConfiguration(id: fixedID("u"))
        }
    }

    @Test("configurations list newest first and page through a cursor")
    func listing() async throws {
        let db = try await makeStore()
        var configurations: [LoggingConfiguration] = []
        for second in 0..<5 {
            configurations.append(
                try await db.insertLoggingConfiguration(
                    LoggingConfiguration(createTime: at(second), destination: .s3(bucketName: "abc")), quota: 10))
        }

        let firstPage = try await db.loggingConfigurations(after: nil, limit: 3)
        let last = try #require(firstPage.last)
        let secondPage = try await db.loggingConfigurations(after: PageCursor(updateTime: last.updateTime, id: last.id), limit: 3)

        #expect((firstPage + secondPage).map(\.id) == configurations.reversed().map(\.id))
    }
}
