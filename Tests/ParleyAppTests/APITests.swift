import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ParleyApp
import ParleyDomain
import Testing

@Suite struct APITests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_795_000_000))

    @Test func healthAnswersOnceReady() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/health", method: .get)
            #expect(response.status == .ok)
        }
    }

    @Test func aRoomRoundTripsThroughTheAPI() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let created = try await callAPI(client, "/CreateRoom", body: ["name": "lobby", "tags": ["team": "a"]], clock: clock)
            let fetched = try await callAPI(client, "/GetRoom", body: ["identifier": created["arn"]!], clock: clock)
            // verify
            #expect(created.status == .ok)
            let id = try #require(created["id"] as? String)
            #expect(ResourceID.isValid(id))
            #expect(created["arn"] as? String == "arn:aws:ivschat:us-east-1:000000000000:room/\(id)")
            #expect(created["maximumMessageLength"] as? Int == 500)
            #expect(created["maximumMessageRatePerSecond"] as? Int == 10)
            #expect(created["createTime"] as? String == "2026-11-18T11:06:40.000Z")
            #expect(fetched["tags"] as? [String: String] == ["team": "a"])
        }
    }

    @Test func deletesAnswer204() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let created = try await callAPI(client, "/CreateRoom", clock: clock)
            let deleted = try await callAPI(client, "/DeleteRoom", body: ["identifier": created["arn"]!], clock: clock)
            let again = try await callAPI(client, "/GetRoom", body: ["identifier": created["arn"]!], clock: clock)
            #expect(deleted.status == .noContent)
            #expect(again.status == .notFound)
        }
    }

    @Test func errorsHaveTheAWSShape() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let missing = try await callAPI(
                client, "/GetRoom", body: ["identifier": "arn:aws:ivschat:us-east-1:000000000000:room/AAAAAAAAAAAA"], clock: clock)
            let invalid = try await callAPI(client, "/CreateRoom", body: ["maximumMessageLength": 501, "name": "bad name"], clock: clock)
            let wrongType = try await callAPI(client, "/CreateRoom", body: ["maximumMessageLength": "ten"], clock: clock)
            let malformed = try await callAPI(client, "/CreateRoom", rawBody: "{\"name\":", clock: clock)
            // verify
            #expect(missing.status == .notFound)
            #expect(missing.errorType == "ResourceNotFoundException")
            #expect(missing["resourceId"] as? String == "AAAAAAAAAAAA")
            #expect(missing["resourceType"] as? String == "ROOM")
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorType == "ValidationException")
            #expect(invalid["reason"] as? String == "FIELD_VALIDATION_FAILED")
            let fields = (invalid["fieldList"] as? [[String: String]] ?? []).compactMap { $0["name"] }
            #expect(Set(fields) == ["name", "maximumMessageLength"])
            #expect(wrongType.status == .badRequest)
            #expect((wrongType["fieldList"] as? [[String: String]])?.first?["name"] == "maximumMessageLength")
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorType == "ValidationException")
        }
    }

    @Test func requestsMustBeSignedWithAKnownKey() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let unsigned = try await callAPI(client, "/ListRooms", clock: clock, signed: false)
            #expect(unsigned.status == .forbidden)
            #expect(unsigned.errorType == "MissingAuthenticationTokenException")

            let skewed = ManualWallClock(clock.now() - 20 * 60)
            let stale = try await callAPI(client, "/ListRooms", clock: skewed)
            #expect(stale.status == .forbidden)
            #expect(stale.errorType == "InvalidSignatureException")
        }
    }

    @Test func theQuotaOfRoomsIsASetting() async throws {
        let app = try await buildApplication(testSettings { $0.quotas[.rooms] = 1 }, clock: clock)
        try await app.test(.router) { client in
            _ = try await callAPI(client, "/CreateRoom", clock: clock)
            let refused = try await callAPI(client, "/CreateRoom", clock: clock)
            #expect(refused.status.code == 402)
            #expect(refused.errorType == "ServiceQuotaExceededException")
            #expect(refused["limit"] as? Int == 1)
        }
    }

    @Test func tagsLiveAtTheResourceARN() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let created = try await callAPI(client, "/CreateRoom", clock: clock)
            let arn = try #require(created["arn"] as? String)
            let path = "/tags/" + arn.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            _ = try await callAPI(client, path, body: ["tags": ["a": "1", "b": "2"]], clock: clock)
            _ = try await callAPI(client, path + "?tagKeys=a", method: .delete, body: nil, clock: clock)
            let listed = try await callAPI(client, path, method: .get, body: nil, clock: clock)
            #expect(listed["tags"] as? [String: String] == ["b": "2"])
        }
    }

    @Test func theFirstStartWithoutAKeyPrintsOneOnce() async throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = testSettings()
        settings.dataDirectory = directory
        settings.adminAccessKey = nil
        let printed = PrintedLines()
        // act: two starts on the same data directory
        for _ in 0..<2 {
            let app = try await buildApplication(settings, clock: clock, output: { printed.append($0) })
            try await app.test(.router) { client in
                let health = try await client.execute(uri: "/health", method: .get)
                #expect(health.status == .ok)
            }
        }
        // verify
        #expect(printed.lines.count == 1)
        #expect(printed.lines.first?.contains("SecretAccessKey: ") == true)
        #expect(printed.lines.first?.contains("aws ivschat") == true)
    }
}

final class PrintedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }
}
