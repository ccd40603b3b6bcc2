import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import NIOWebSocket
import ParleyApp
import ParleyChat
import ParleyDomain
import Testing

/// The messaging endpoint, end to end over real sockets.
@Suite struct ChatTests {
    let clock = ManualWallClock(Date())

    /// Creates a room (with `room` members) and a token for it; returns the room ARN and the token.
    func roomAndToken(
        _ client: some TestClientProtocol, room: [String: Any] = [:], userID: String = "viewer",
        capabilities: [String] = ["SEND_MESSAGE"], sessionMinutes: Int = 60
    ) async throws -> (arn: String, token: String) {
        let created = try await callAPI(client, "/CreateRoom", body: room, clock: clock)
        let arn = try #require(created["arn"] as? String)
        return (arn, try await token(client, arn: arn, userID: userID, capabilities: capabilities, sessionMinutes: sessionMinutes))
    }

    func token(
        _ client: some TestClientProtocol, arn: String, userID: String, capabilities: [String] = ["SEND_MESSAGE"], sessionMinutes: Int = 60
    ) async throws -> String {
        let issued = try await callAPI(
            client, "/CreateChatToken",
            body: ["roomIdentifier": arn, "userId": userID, "capabilities": capabilities, "sessionDurationInMinutes": sessionMinutes],
            clock: clock)
        return try #require(issued["token"] as? String)
    }

    func with(token: String) -> WebSocketClientConfiguration {
        WebSocketClientConfiguration(additionalHeaders: [.secWebSocketProtocol: token])
    }

    /// An upgrade request made by hand on a fresh connection (as browsers do), to read the status of a refused upgrade.
    func upgradeStatus(_ client: some TestClientProtocol, token: String?) async throws -> (HTTPResponse.Status, String) {
        let connection = TestClient(host: "localhost", port: try #require(client.port))
        connection.connect()
        defer { Task { try await connection.shutdown() } }
        var headers: HTTPFields = [
            .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13", .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
        ]
        if let token { headers[.secWebSocketProtocol] = token }
        let response = try await connection.execute(TestClient.Request("/", method: .get, headers: headers))
        return (response.status, response.body.map { String(buffer: $0) } ?? "")
    }

    /// A ParleyChat room that connects once with `token`.
    func chatRoom(_ client: some TestClientProtocol, token: String) throws -> ChatRoom {
        ChatRoom(url: URL(string: "ws://localhost:\(try #require(client.port))/")!, tokenProvider: { ChatToken(token: token) })
    }

    func json(_ message: WebSocketMessage?) throws -> [String: Any] {
        guard case .text(let text) = message else { throw TestFailure("expected a text frame, got \(String(describing: message))") }
        return try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func twoClientsChatAndTheTokenIsEchoedAsSubprotocol() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup
            let (arn, aliceToken) = try await roomAndToken(client, userID: "alice")
            let bobToken = try await token(client, arn: arn, userID: "bob")
            let alice = try chatRoom(client, token: aliceToken)
            var aliceMessages = alice.messages.makeAsyncIterator()
            // act: alice is connected (with ParleyChat) while bob joins with a raw socket and says hello (keys in any case)
            try await alice.connect()
            _ = try await client.ws("/", configuration: with(token: bobToken)) { bobInbound, bobOutbound, _ in
                try await bobOutbound.write(.text(#"{"action":"SEND_MESSAGE","requestid":"r-1","content":"hello 🎉","extra":1}"#))
                var bobFrames = bobInbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                let own = try json(try await bobFrames.next())
                #expect(own["RequestId"] as? String == "r-1")
            }
            // verify: the MESSAGE frame as alice's SDK read it
            let received = try #require(await aliceMessages.next())
            #expect(received.content == "hello 🎉")
            #expect(received.sender.userId == "bob")
            #expect(received.requestId == "r-1")
            #expect(ResourceID.isValid(received.id))
            alice.disconnect()
        }
    }

    @Test func refusedUpgradesSayWhy() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup: a token used once
            let (_, token) = try await roomAndToken(client)
            _ = try await client.ws("/", configuration: with(token: token)) { _, outbound, _ in
                try await outbound.close(.normalClosure, reason: nil)
            }
            // act
            let missing = try await upgradeStatus(client, token: nil)
            let garbled = try await upgradeStatus(client, token: "garbage")
            let reused = try await upgradeStatus(client, token: token)
            // verify
            #expect(missing.0 == .unauthorized)
            #expect(missing.1.contains("Missing chat token"))
            #expect(garbled.0 == .unauthorized)
            #expect(reused.0 == .unauthorized)
            #expect(reused.1.contains("already been used"))
        }
    }

    @Test func aDeletedRoomRefusesNewConnections() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            let (arn, token) = try await roomAndToken(client)
            _ = try await callAPI(client, "/DeleteRoom", body: ["identifier": arn], clock: clock)
            #expect(try await upgradeStatus(client, token: token).0 == .notFound)
        }
    }

    @Test func theConnectionQuotaRefusesWith429() async throws {
        let app = try await buildApplication(testSettings { $0.quotas[.concurrentChatConnections] = 1 }, clock: clock)
        try await app.test(.live) { client in
            let (arn, first) = try await roomAndToken(client)
            let second = try await token(client, arn: arn, userID: "second")
            _ = try await client.ws("/", configuration: with(token: first)) { _, _, _ in
                let refused = try await upgradeStatus(client, token: second)
                #expect(refused.0 == .tooManyRequests)
            }
        }
    }

    @Test func anExpiredTokenIsRefused() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            let (_, token) = try await roomAndToken(client)
            clock.advance(by: 61)
            let refused = try await upgradeStatus(client, token: token)
            #expect(refused.0 == .unauthorized)
            #expect(refused.1.contains("expired"))
        }
    }

    @Test func theServerClosesTheSocketWhenTheSessionEnds() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            let (_, token) = try await roomAndToken(client, sessionMinutes: 1)
            let close = try await client.ws("/", configuration: with(token: token)) { inbound, _, _ in
                clock.advance(by: 61)
                // The sweeper closes the session; the stream ends when it does.
                for try await _ in inbound.messages(maxSize: 1 << 16) {}
            }
            #expect(close?.closeCode == .normalClosure)
            #expect(close?.reason?.contains("Session expired") == true)
        }
    }

    @Test func aFrameOverTheLimitClosesWith1009() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            let (_, token) = try await roomAndToken(client)
            let close = try await client.ws("/", configuration: with(token: token)) { inbound, outbound, _ in
                try await outbound.write(.text(String(repeating: "x", count: 70 * 1024)))
                for try await _ in inbound.messages(maxSize: 1 << 16) {}
            }
            #expect(close?.closeCode == .messageTooLarge)
        }
    }

    @Test func disconnectUserClosesThatUsersSocketsWith1001() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup
            let (arn, moderatorToken) = try await roomAndToken(client, userID: "moderator", capabilities: ["DISCONNECT_USER"])
            let victimToken = try await token(client, arn: arn, userID: "victim")
            let moderator = try chatRoom(client, token: moderatorToken)
            // act: the moderator (with ParleyChat) disconnects the victim (a raw socket, to read its close frame)
            let victimClose = try await client.ws("/", configuration: with(token: victimToken)) { inbound, _, _ in
                try await moderator.connect()
                let confirmed = try await moderator.perform(request: DisconnectUserRequest(id: "victim", reason: "spam"))
                #expect(confirmed.userId == "victim")
                moderator.disconnect()
                var frames = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                let event = try json(try await frames.next())
                #expect(event["EventName"] as? String == "aws:DISCONNECT_USER")
                #expect(event["Attributes"] as? [String: String] == ["UserId": "victim", "Reason": "spam"])
                while try await frames.next() != nil {}
            }
            // verify
            #expect(victimClose?.closeCode == .goingAway)
            #expect(victimClose?.reason?.contains("spam") == true)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
