import Foundation
import ParleyChat
import Testing

/// The Swift SDK against a real Parley server over real sockets.
@Suite(.timeLimit(.minutes(1)))
struct ChatRoomTests {
    @Test func connectsSendsAndReceivesMatchingTheResponseByRequestId() async throws {
        try await TestServer.run { server in
            // setup
            let arn = try await server.createRoom()
            let (alice, _) = server.chatRoom(arn, user: "alice")
            let (bob, _) = server.chatRoom(arn, user: "bob")
            let recorder = DelegateRecorder()
            alice.delegate = recorder
            var aliceStates = alice.state.makeAsyncIterator()
            var aliceMessages = alice.messages.makeAsyncIterator()
            // act
            try await alice.connect()
            try await bob.connect()
            let sent = try await bob.perform(request: SendMessageRequest(content: "hello 🎉", attributes: ["emote": "kraken"]))
            let received = try #require(await aliceMessages.next())
            // verify
            #expect(await aliceStates.states(until: .connected) == [.disconnected(reason: nil), .connecting, .connected])
            #expect(sent.content == "hello 🎉")
            #expect(sent.sender.userId == "bob")
            #expect(sent.attributes == ["emote": "kraken"])
            #expect(sent.requestId != nil)
            #expect(sent.id.count == 12)
            #expect(abs(sent.sendTime.timeIntervalSince(server.clock.now())) < 1)
            #expect(received.id == sent.id)
            #expect(received.requestId == sent.requestId)
            #expect(received.sender == ChatUser(userId: "bob"))
            #expect(recorder.entries == ["connecting", "connected", "message hello 🎉"])
            alice.disconnect()
            bob.disconnect()
        }
    }

    @Test func aModeratorDeletesAMessage() async throws {
        try await TestServer.run { server in
            // setup
            let arn = try await server.createRoom()
            let (viewer, _) = server.chatRoom(arn, user: "viewer")
            let (moderator, _) = server.chatRoom(arn, user: "moderator", capabilities: ["DELETE_MESSAGE"])
            var deletions = viewer.deletedMessages.makeAsyncIterator()
            try await viewer.connect()
            try await moderator.connect()
            let message = try await viewer.perform(request: SendMessageRequest(content: "spoiler!"))
            // act
            let event = try await moderator.perform(request: DeleteMessageRequest(id: message.id, reason: "No spoilers"))
            // verify
            #expect(event.messageID == message.id)
            #expect(event.reason == "No spoilers")
            #expect(await deletions.next() == event)
        }
    }

    @Test func aModeratorDisconnectsAUserWhoIsNotReconnected() async throws {
        try await TestServer.run { server in
            // setup
            let arn = try await server.createRoom()
            let (victim, victimTokens) = server.chatRoom(arn, user: "victim")
            let (moderator, _) = server.chatRoom(arn, user: "moderator", capabilities: ["DISCONNECT_USER"])
            var victimStates = victim.state.makeAsyncIterator()
            var seenByVictim = victim.disconnectedUsers.makeAsyncIterator()
            try await victim.connect()
            try await moderator.connect()
            // act
            let event = try await moderator.perform(request: DisconnectUserRequest(id: "victim", reason: "spam"))
            // verify
            #expect(event.userId == "victim")
            #expect(event.reason == "spam")
            #expect(await seenByVictim.next() == event)
            let states = await victimStates.states(until: .disconnected(reason: .serverDisconnect))
            #expect(states.last == .disconnected(reason: .serverDisconnect))
            #expect(states.filter { $0 == .connected }.count == 1)
            #expect(victimTokens.callCount == 1)
            #expect(moderator.currentState == .connected)
        }
    }

    @Test func serverErrorsAreMappedToChatErrors() async throws {
        try await TestServer.run { server in
            // setup
            let arn = try await server.createRoom(["maximumMessageLength": 10])
            let (viewer, _) = server.chatRoom(arn, user: "viewer", capabilities: [])
            let (sender, _) = server.chatRoom(arn, user: "sender")
            try await viewer.connect()
            try await sender.connect()
            // act
            let noCapability = await chatError { try await viewer.perform(request: SendMessageRequest(content: "hi")) }
            let noDeleteCapability = await chatError { try await sender.perform(request: DeleteMessageRequest(id: "abcdefABCDEF")) }
            let tooLong = await chatError {
                try await sender.perform(request: SendMessageRequest(content: String(repeating: "x", count: 11)))
            }
            let badID = await chatError {
                try await viewer.perform(request: DisconnectUserRequest(id: String(repeating: "u", count: 200)))
            }
            let bigAttributes = await chatError {
                try await sender.perform(request: SendMessageRequest(content: "hi", attributes: ["a": String(repeating: "x", count: 2000)]))
            }
            viewer.disconnect()
            _ = await viewer.state.states(until: .disconnected(reason: .clientDisconnect))
            let notConnected = await chatError { try await viewer.perform(request: SendMessageRequest(content: "hi")) }
            // verify
            #expect(noCapability?.errorCode == .forbidden)
            #expect(noCapability?.errorMessage.contains("SEND_MESSAGE") == true)
            #expect(noCapability?.requestId != nil)
            #expect(noDeleteCapability?.errorCode == .forbidden)
            #expect(tooLong?.errorCode == .invalidParameter)
            #expect(tooLong?.errorMessage.contains("1 to 10 characters") == true)
            #expect(badID?.errorCode == .forbidden)
            #expect(bigAttributes?.errorCode == .tooLarge)
            #expect(notConnected?.errorCode == .notConnected)
            #expect(sender.currentState == .connected)
        }
    }

    @Test func reconnectsWithAFreshTokenAfterTheServerDropsTheSocket() async throws {
        // The server closes a connection whose frame is over its frame limit (1009).
        try await TestServer.run(configure: { $0.maximumFrameSize = 1024 }) { server in
            // setup
            let arn = try await server.createRoom()
            let backoff = BackoffRecorder()
            let (room, tokens) = server.chatRoom(arn, user: "alice", backoff: backoff.backoff)
            var states = room.state.makeAsyncIterator()
            try await room.connect()
            _ = await states.states(until: .connected)
            // act
            let dropped = await chatError {
                try await room.perform(request: SendMessageRequest(content: String(repeating: "x", count: 2000)))
            }
            let reconnection = await states.states(until: .connected)
            let afterwards = try await room.perform(request: SendMessageRequest(content: "still here"))
            // verify
            #expect(dropped?.errorCode == .notConnected)
            #expect(reconnection == [.connecting, .connected])
            #expect(tokens.callCount == 2)
            #expect(backoff.attempts == [1])
            #expect(afterwards.content == "still here")
            room.disconnect()
            #expect(await states.states(until: .disconnected(reason: .clientDisconnect)).last == .disconnected(reason: .clientDisconnect))
        }
    }

    @Test func givesUpAfterMaxReconnectAttempts() async throws {
        try await TestServer.run(configure: { $0.maximumFrameSize = 1024 }) { server in
            // setup
            let arn = try await server.createRoom()
            let backoff = BackoffRecorder()
            let (room, tokens) = server.chatRoom(arn, user: "alice", backoff: backoff.backoff)
            var states = room.state.makeAsyncIterator()
            try await room.connect()
            _ = await states.states(until: .connected)
            tokens.failFromNowOn()
            // act: the server drops the socket, and the backend is down
            _ = await chatError { try await room.perform(request: SendMessageRequest(content: String(repeating: "x", count: 2000))) }
            let afterwards = await states.states(until: .disconnected(reason: .fetchTokenError))
            // verify
            #expect(afterwards == [.connecting, .connecting, .connecting, .disconnected(reason: .fetchTokenError)])
            #expect(tokens.callCount == 1 + 3)
            #expect(backoff.attempts == [1, 2, 3])
        }
    }

    @Test func refreshesTheTokenWhenTheSessionExpires() async throws {
        try await TestServer.run { server in
            // setup: a one-minute session
            let arn = try await server.createRoom()
            let backoff = BackoffRecorder()
            let (room, tokens) = server.chatRoom(arn, user: "alice", sessionMinutes: 1, backoff: backoff.backoff)
            var states = room.state.makeAsyncIterator()
            try await room.connect()
            _ = await states.states(until: .connected)
            // act: the session ends; the server's sweeper closes the connection with 401
            server.clock.advance(by: 61)
            let reconnection = await states.states(until: .connected)
            let afterwards = try await room.perform(request: SendMessageRequest(content: "new session"))
            // verify
            #expect(reconnection == [.connecting, .connected])
            #expect(tokens.callCount == 2)
            #expect(backoff.attempts == [], "a session's end is followed by an immediate reconnection")
            #expect(afterwards.content == "new session")
            room.disconnect()
        }
    }

    @Test func aFailingTokenProviderFailsTheConnection() async throws {
        try await TestServer.run { server in
            // setup
            let room = ChatRoom(url: server.url, tokenProvider: { throw TestFailure("no token for you") })
            let recorder = DelegateRecorder()
            room.delegate = recorder
            // act
            let error = await #expect(throws: ChatConnectionError.self) { try await room.connect() }
            // verify
            #expect(error?.reason == .fetchTokenError)
            #expect("\(error?.underlyingError ?? TestFailure(""))" == "no token for you")
            #expect(room.currentState == .disconnected(reason: .fetchTokenError))
            #expect(recorder.entries == ["connecting", "disconnected"])
        }
    }

    @Test func aUsedTokenFailsTheConnectionAsASocketError() async throws {
        try await TestServer.run { server in
            // setup: one token for two connections
            let arn = try await server.createRoom()
            let token = try await server.token(room: arn, user: "alice")
            let first = ChatRoom(url: server.url, tokenProvider: { token })
            let second = ChatRoom(url: server.url, tokenProvider: { token })
            try await first.connect()
            // act
            let error = await #expect(throws: ChatConnectionError.self) { try await second.connect() }
            // verify
            #expect(error?.reason == .socketError)
            #expect(second.currentState == .disconnected(reason: .socketError))
            first.disconnect()
        }
    }

    /// The ChatError `body` threw, if it threw one.
    func chatError(_ body: () async throws -> Any) async -> ChatError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? ChatError
        }
    }
}

/// Dates and tokens as `CreateChatToken` writes them.
@Suite struct ChatTokenTests {
    @Test func decodesACreateChatTokenResponseWithPreciseDates() throws {
        let json = Data(
            #"{"token":"abc","tokenExpirationTime":"2026-11-29T04:01:00.123456789Z","sessionExpirationTime":"2026-11-29T06:00:00+02:00"}"#
                .utf8)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .preciseISO8601
        let token = try decoder.decode(ChatToken.self, from: json)
        #expect(token.token == "abc")
        let expected = try #require(
            Calendar(identifier: .gregorian).date(
                from: DateComponents(timeZone: TimeZone(identifier: "UTC"), year: 2026, month: 11, day: 29, hour: 4, minute: 1)))
        #expect(abs(try #require(token.tokenExpirationTime).timeIntervalSince(expected) - 0.123456789) < 0.000_001)
        #expect(token.sessionExpirationTime == expected.addingTimeInterval(-60))
        // A plain decoder reads the strings too.
        #expect(try JSONDecoder().decode(ChatToken.self, from: json) == token)
    }

    @Test func rejectsDatesThatAreNotISO8601() {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .preciseISO8601
        #expect(throws: DecodingError.self) {
            try decoder.decode(ChatToken.self, from: Data(#"{"token":"abc","tokenExpirationTime":"yesterday"}"#.utf8))
        }
    }
}

/// ERROR frame codes as `ChatError.Code`s.
@Suite struct ChatErrorCodeTests {
    @Test func serverCodesMapBothWays() {
        let codes: [(Int, ChatError.Code)] = [
            (400, .invalidParameter), (401, .unauthorized), (403, .forbidden), (404, .notFound), (406, .rejected), (413, .tooLarge),
            (429, .tooManyRequests), (500, .internalServerError), (418, .other(418)),
        ]
        for (number, code) in codes {
            #expect(ChatError.Code(serverCode: number) == code)
            #expect(code.serverCode == number)
        }
        #expect(ChatError.Code.notConnected.serverCode == nil)
    }
}
