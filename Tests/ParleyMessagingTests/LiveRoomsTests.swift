import Foundation
import ParleyDomain
import ParleyMessaging
import Testing

@Suite("LiveRooms: connections")
struct LiveRoomConnectionTests {
    @Test("joined connections are listed per room with their token's details; leaving removes them once")
    func joinAndLeave() throws {
        // Setup.
        let harness = Harness()
        let lobby = harness.makeRoom()
        let stage = harness.makeRoom()

        // Act.
        let alice = try harness.join(lobby, user: "alice", capabilities: [.sendMessage], attributes: ["color": "red"], sessionSeconds: 600)
        let bob = try harness.join(lobby, user: "bob")
        let carol = try harness.join(stage, user: "carol")

        // Verify.
        #expect(harness.connectionIDs(inRoom: lobby) == [alice.id, bob.id])
        #expect(harness.connectionIDs(inRoom: stage) == [carol.id])
        #expect(harness.live.connectionCount == 3)
        let info = try #require(harness.live.connections(inRoom: lobby.id).first { $0.userID == "alice" })
        #expect(info.roomID == lobby.id)
        #expect(info.capabilities == [.sendMessage])
        #expect(info.attributes == ["color": "red"])
        #expect(info.remoteAddress == "192.0.2.1")
        #expect(info.connectedAt == harness.clock.now())
        #expect(info.sessionExpirationTime == harness.clock.now().addingTimeInterval(600))
        #expect(ResourceID.isValid(alice.id))
        #expect(alice.id != bob.id)

        harness.live.leave(alice.connection, reason: "bye")
        harness.live.leave(alice.connection, reason: "bye again")

        #expect(harness.connectionIDs(inRoom: lobby) == [bob.id])
        #expect(harness.live.connectionCount == 2)
        harness.live.leave(bob.connection, reason: "bye")
        #expect(harness.live.connections(inRoom: lobby.id).isEmpty)
        #expect(harness.live.connectionCount == 1)
    }

    @Test("joins past the connection quota are refused, across rooms, until someone leaves")
    func connectionQuota() throws {
        let harness = Harness(limits: MessagingLimits(maximumConcurrentConnections: 2))
        let lobby = harness.makeRoom()
        let stage = harness.makeRoom()
        let first = try harness.join(lobby, user: "a")
        _ = try harness.join(stage, user: "b")

        #expect(throws: JoinRefusal.connectionQuotaReached(limit: 2)) { try harness.join(stage, user: "c") }
        #expect(harness.live.connectionCount == 2)
        #expect(harness.live.connections(inRoom: stage.id).count == 1)

        harness.live.leave(first.connection, reason: "bye")
        let replacement = try harness.join(stage, user: "c")
        #expect(harness.connectionIDs(inRoom: stage).contains(replacement.id))
    }

    @Test("closeExpiredSessions closes only the sessions that have ended")
    func expiredSessions() throws {
        // Setup: sessions of one and two minutes.
        let harness = Harness()
        let room = harness.makeRoom()
        let short = try harness.join(room, user: "short", sessionSeconds: 60)
        let long = try harness.join(room, user: "long", sessionSeconds: 120)

        // Nothing has ended yet.
        #expect(harness.live.closeExpiredSessions() == 0)
        harness.clock.advance(by: 59.5)
        #expect(harness.live.closeExpiredSessions() == 0)
        #expect(short.sink.closes.isEmpty)

        // Act: the first session ends.
        harness.clock.advance(by: 0.5)
        #expect(harness.live.closeExpiredSessions() == 1)

        // Verify.
        #expect(short.sink.closes.count == 1)
        #expect(long.sink.closes.isEmpty)
        #expect(harness.connectionIDs(inRoom: room) == [long.id])

        harness.clock.advance(by: 60)
        #expect(harness.live.closeExpiredSessions() == 1)
        #expect(long.sink.closes.count == 1)
        #expect(short.sink.closes.count == 1)
        #expect(harness.live.connectionCount == 0)
    }
}

@Suite("LiveRooms: SEND_MESSAGE")
struct LiveRoomSendMessageTests {
    @Test("a message reaches every connection of the room, the sender included, and no other room")
    func broadcast() async throws {
        // Setup.
        let harness = Harness()
        let lobby = harness.makeRoom()
        let alice = try harness.join(lobby, user: "alice", attributes: ["displayName": "Alice"])
        let bob = try harness.join(lobby, user: "bob", capabilities: [])
        let carol = try harness.join(harness.makeRoom(), user: "carol")

        // Act.
        await harness.sendMessage("hello", from: alice, requestID: "req-1", attributes: ["k": "v"])

        // Verify.
        #expect(alice.sink.frames.count == 1)
        #expect(bob.sink.frames == alice.sink.frames)
        #expect(carol.sink.frames.isEmpty)
        let message = try #require(try alice.sink.received().first)
        #expect(message.type == "MESSAGE")
        #expect(ResourceID.isValid(message.id))
        #expect(message.requestID == "req-1")
        #expect(message.content == "hello")
        #expect(message.attributes == ["k": "v"])
        #expect(message.sendTime == Timestamp.format(harness.clock.now()))
        #expect(message.sender == ReceivedFrame.Sender(userID: "alice", attributes: ["displayName": "Alice"]))
    }

    @Test(
        "a request needing a capability the token lacks gets ERROR 403, to the sender only",
        arguments: [
            (#"{"Action":"SEND_MESSAGE","RequestId":"no-cap","Content":"hi"}"#, ChatCapability.sendMessage),
            (#"{"Action":"DELETE_MESSAGE","RequestId":"no-cap","Id":"AbCdEf123456"}"#, .deleteMessage),
            (#"{"Action":"DISCONNECT_USER","RequestId":"no-cap","UserId":"other"}"#, .disconnectUser),
        ]
    )
    func missingCapability(frame: String, capability: ChatCapability) async throws {
        // Setup: the sender has every capability but the one needed.
        let harness = Harness()
        let room = harness.makeRoom()
        let sender = try harness.join(room, user: "sender", capabilities: ChatCapability.allCases.filter { $0 != capability })
        let other = try harness.join(room, user: "other")

        // Act.
        await harness.live.handle(frame: frame, from: sender.connection)

        // Verify.
        let received = try sender.sink.received()
        #expect(received.map(\.type) == ["ERROR"])
        #expect(received.first?.errorCode == 403)
        #expect(received.first?.requestID == "no-cap")
        #expect(other.sink.log.isEmpty)
        #expect(sender.sink.closes.isEmpty)
    }

    @Test(
        "content length is counted in code points against the room's maximum: emoji count as one",
        arguments: [
            ("🎉🎉🎉🎉🎉", true), ("héllo", true), ("abcde", true), ("🎉🎉🎉🎉🎉🎉", false), ("abcdef", false), ("", false),
        ]
    )
    func contentLength(content: String, accepted: Bool) async throws {
        let harness = Harness()
        let room = harness.makeRoom(length: 5)
        let sender = try harness.join(room, user: "sender")

        await harness.sendMessage(content, from: sender, requestID: "len")

        let received = try sender.sink.received()
        #expect(received.count == 1)
        if accepted {
            #expect(received.first?.type == "MESSAGE")
            #expect(received.first?.content == content)
        } else {
            #expect(received.first?.type == "ERROR")
            #expect(received.first?.errorCode == 400)
            #expect(received.first?.requestID == "len")
        }
    }

    @Test("attributes up to 1024 bytes are delivered; over that is ERROR 413")
    func attributesSize() async throws {
        let harness = Harness()
        let room = harness.makeRoom()
        let sender = try harness.join(room, user: "sender")
        let listener = try harness.join(room, user: "listener")

        await harness.sendMessage("fits", from: sender, requestID: "fits", attributes: ["k": String(repeating: "a", count: 1023)])
        await harness.sendMessage("too big", from: sender, requestID: "big", attributes: ["k": String(repeating: "a", count: 1024)])
        // Multi-byte characters count in bytes: 342 × "é" is 684 bytes, plus 342 × "ü" 684 bytes.
        await harness.sendMessage(
            "too big too", from: sender, requestID: "bytes",
            attributes: ["é": String(repeating: "é", count: 342), "ü": String(repeating: "ü", count: 342)])

        let received = try sender.sink.received()
        #expect(received.map(\.type) == ["MESSAGE", "ERROR", "ERROR"])
        #expect(received.errors.map(\.errorCode) == [413, 413])
        #expect(received.errors.map(\.requestID) == ["big", "bytes"])
        #expect(try listener.sink.received().map(\.type) == ["MESSAGE"])
    }

    @Test("a connection may make 10 requests a second: the 11th in the same instant is 429, then allowed after a second")
    func perConnectionRate() async throws {
        // Setup: a room whose own rate does not interfere.
        let harness = Harness()
        let room = harness.makeRoom(rate: 100)
        let sender = try harness.join(room, user: "sender")
        let listener = try harness.join(room, user: "listener")

        // Act.
        for index in 1...11 { await harness.sendMessage("m\(index)", from: sender, requestID: "r\(index)") }

        // Verify.
        var received = try sender.sink.received()
        #expect(received.messages.count == 10)
        #expect(received.errors.map(\.errorCode) == [429])
        #expect(received.errors.map(\.requestID) == ["r11"])
        #expect(try listener.sink.received().map(\.type) == Array(repeating: "MESSAGE", count: 10))

        harness.clock.advance(by: 1)
        await harness.sendMessage("again", from: sender, requestID: "r12")

        received = try sender.sink.received()
        #expect(received.last?.type == "MESSAGE")
        #expect(received.last?.requestID == "r12")
        #expect(try listener.sink.received().messages.count == 11)
    }

    @Test("the room's message rate applies to all senders together")
    func roomRate() async throws {
        // Setup: a room allowing 3 messages a second.
        let harness = Harness()
        let room = harness.makeRoom(rate: 3)
        let alice = try harness.join(room, user: "alice")
        let bob = try harness.join(room, user: "bob")

        // Act: 2 + 1 messages fill the second; bob's next is refused.
        await harness.sendMessage("a1", from: alice)
        await harness.sendMessage("a2", from: alice)
        await harness.sendMessage("b1", from: bob)
        await harness.sendMessage("b2", from: bob, requestID: "over")

        // Verify.
        let bobReceived = try bob.sink.received()
        #expect(bobReceived.messages.map(\.content) == ["a1", "a2", "b1"])
        #expect(bobReceived.errors.map(\.errorCode) == [429])
        #expect(bobReceived.errors.map(\.requestID) == ["over"])
        #expect(try alice.sink.received().errors.isEmpty)

        harness.clock.advance(by: 1)
        await harness.sendMessage("b3", from: bob)
        #expect(try alice.sink.received().messages.last?.content == "b3")
    }

    @Test("SendMessage is limited across all rooms")
    func accountWideRate() async throws {
        let harness = Harness(limits: MessagingLimits(sendMessagePerSecond: 2))
        let alice = try harness.join(harness.makeRoom(), user: "alice")
        let bob = try harness.join(harness.makeRoom(), user: "bob")

        await harness.sendMessage("a", from: alice)
        await harness.sendMessage("b", from: bob)
        await harness.sendMessage("c", from: bob, requestID: "over")

        #expect(try alice.sink.received().map(\.type) == ["MESSAGE"])
        #expect(try bob.sink.received().map(\.type) == ["MESSAGE", "ERROR"])
        #expect(try bob.sink.received().errors.first?.errorCode == 429)
    }

    @Test("roomChanged lowers the rate at once")
    func roomChangedRate() async throws {
        let harness = Harness()
        var room = harness.makeRoom(rate: 10)
        let sender = try harness.join(room, user: "sender")

        room.maximumMessageRatePerSecond = 1
        harness.live.roomChanged(room)
        await harness.sendMessage("one", from: sender)
        await harness.sendMessage("two", from: sender, requestID: "over")

        let received = try sender.sink.received()
        #expect(received.messages.map(\.content) == ["one"])
        #expect(received.errors.map(\.errorCode) == [429])
    }

    @Test("roomChanged raises the rate at once: the bucket refills at the new rate")
    func roomChangedRaisesRate() async throws {
        let harness = Harness()
        var room = harness.makeRoom(rate: 1)
        let sender = try harness.join(room, user: "sender")
        await harness.sendMessage("one", from: sender)

        room.maximumMessageRatePerSecond = 4
        harness.live.roomChanged(room)
        harness.clock.advance(by: 0.25)
        await harness.sendMessage("two", from: sender)

        #expect(try sender.sink.received().map(\.type) == ["MESSAGE", "MESSAGE"])
    }

    @Test("roomChanged applies a new maximum message length at once")
    func roomChangedLength() async throws {
        let harness = Harness()
        var room = harness.makeRoom(length: 500)
        let sender = try harness.join(room, user: "sender")

        room.maximumMessageLength = 3
        harness.live.roomChanged(room)
        await harness.sendMessage("abcd", from: sender, requestID: "long")
        await harness.sendMessage("abc", from: sender, requestID: "short")

        let received = try sender.sink.received()
        #expect(received.map(\.type) == ["ERROR", "MESSAGE"])
        #expect(received.first?.errorCode == 400)
        #expect(received.first?.requestID == "long")
    }

    @Test("a malformed frame gets ERROR 400 to the sender only")
    func malformed() async throws {
        let harness = Harness()
        let room = harness.makeRoom()
        let sender = try harness.join(room, user: "sender")
        let other = try harness.join(room, user: "other")

        await harness.live.handle(frame: "not json", from: sender.connection)
        await harness.live.handle(frame: #"{"Action":"SEND_MESSAGE","RequestId":"r"}"#, from: sender.connection)

        let received = try sender.sink.received()
        #expect(received.map(\.errorCode) == [400, 400])
        #expect(received.map(\.requestID) == ["", "r"])
        #expect(other.sink.log.isEmpty)
    }
}

@Suite("LiveRooms: deletion, moderation and slow consumers")
struct LiveRoomModerationTests {
    @Test(
        "after roomDeleted, connections stay open but every request gets ERROR 404",
        arguments: [
            #"{"Action":"SEND_MESSAGE","RequestId":"gone","Content":"hi"}"#,
            #"{"Action":"DELETE_MESSAGE","RequestId":"gone","Id":"AbCdEf123456"}"#,
            #"{"Action":"DISCONNECT_USER","RequestId":"gone","UserId":"other"}"#,
        ]
    )
    func deletedRoom(_ frame: String) async throws {
        let harness = Harness()
        let room = harness.makeRoom()
        let sender = try harness.join(room, user: "sender")
        let other = try harness.join(room, user: "other")

        harness.live.roomDeleted(id: room.id)
        await harness.live.handle(frame: frame, from: sender.connection)

        let received = try sender.sink.received()
        #expect(received.map(\.type) == ["ERROR"])
        #expect(received.first?.errorCode == 404)
        #expect(received.first?.requestID == "gone")
        #expect(other.sink.log.isEmpty)
        #expect(sender.sink.closes.isEmpty)
        #expect(harness.connectionIDs(inRoom: room) == [sender.id, other.id])
    }

    @Test("a room deleted while nobody is connected stays deleted for a connection admitted just before (later actions get 404)")
    func deletedBeforeJoin() async throws {
        // Setup: the endpoint has read the room, then the control plane deletes it before the connection joins.
        let harness = Harness()
        let room = harness.makeRoom()
        harness.live.roomDeleted(id: room.id)

        // Act.
        let late = try harness.join(room, user: "late")
        await harness.sendMessage("hi", from: late, requestID: "late-1")

        // Verify.
        let received = try late.sink.received()
        #expect(received.map(\.type) == ["ERROR"])
        #expect(received.first?.errorCode == 404)
    }

    @Test("DELETE_MESSAGE broadcasts the aws:DELETE_MESSAGE event to the room")
    func deleteMessage() async throws {
        // Setup.
        let harness = Harness()
        let room = harness.makeRoom()
        let moderator = try harness.join(room, user: "moderator", capabilities: [.deleteMessage])
        let viewer = try harness.join(room, user: "viewer", capabilities: [])
        let elsewhere = try harness.join(harness.makeRoom(), user: "elsewhere")

        // Act.
        await harness.deleteMessage("AbCdEf123456", reason: "spam", from: moderator, requestID: "del-1")

        // Verify.
        #expect(viewer.sink.frames == moderator.sink.frames)
        #expect(elsewhere.sink.log.isEmpty)
        let event = try #require(try viewer.sink.received().first)
        #expect(event.type == "EVENT")
        #expect(event.eventName == "aws:DELETE_MESSAGE")
        #expect(event.requestID == "del-1")
        #expect(event.attributes == ["MessageID": "AbCdEf123456", "MessageId": "AbCdEf123456", "Reason": "spam"])
        #expect(ResourceID.isValid(event.id))
        #expect(event.sendTime == Timestamp.format(harness.clock.now()))
    }

    @Test("DELETE_MESSAGE with an id that is not 12 alphanumerics is ERROR 400", arguments: ["short", "AbCdEf12345!", ""])
    func deleteMessageBadID(_ messageID: String) async throws {
        let harness = Harness()
        let room = harness.makeRoom()
        let moderator = try harness.join(room, user: "moderator")
        let viewer = try harness.join(room, user: "viewer")

        await harness.deleteMessage(messageID, reason: "", from: moderator, requestID: "bad-id")

        #expect(try moderator.sink.received().map(\.errorCode) == [400])
        #expect(viewer.sink.log.isEmpty)
    }

    @Test("DISCONNECT_USER broadcasts aws:DISCONNECT_USER, then closes with 1001 every connection of that user in the room, only theirs")
    func disconnectUser() async throws {
        // Setup: bob twice in the lobby, once in another room.
        let harness = Harness()
        let lobby = harness.makeRoom()
        let moderator = try harness.join(lobby, user: "moderator", capabilities: [.disconnectUser])
        let alice = try harness.join(lobby, user: "alice")
        let bobPhone = try harness.join(lobby, user: "bob")
        let bobLaptop = try harness.join(lobby, user: "bob")
        let bobElsewhere = try harness.join(harness.makeRoom(), user: "bob")

        // Act.
        await harness.disconnectUser("bob", reason: "spam", from: moderator, requestID: "dis-1")

        // Verify: everyone in the lobby got the event.
        for client in [moderator, alice, bobPhone, bobLaptop] {
            let events = try client.sink.received()
            #expect(events.map(\.eventName) == ["aws:DISCONNECT_USER"])
            #expect(events.first?.attributes == ["UserId": "bob", "Reason": "spam"])
            #expect(events.first?.requestID == "dis-1")
        }
        // Bob's lobby connections were closed after the event, with 1001.
        for bob in [bobPhone, bobLaptop] {
            #expect(bob.sink.log.count == 2)
            guard case .frame = bob.sink.log.first, case .close(let code, let reason) = bob.sink.log.last else {
                Issue.record("expected the event, then a close; got \(bob.sink.log)")
                continue
            }
            #expect(code == .goingAway)
            #expect(reason.utf8.count <= 123)
        }
        // Nobody else was closed; bob is gone from the lobby only.
        #expect(moderator.sink.closes.isEmpty)
        #expect(alice.sink.closes.isEmpty)
        #expect(bobElsewhere.sink.log.isEmpty)
        #expect(harness.connectionIDs(inRoom: lobby) == [moderator.id, alice.id])
        #expect(harness.live.connectionCount == 3)
    }

    @Test("the control plane's disconnectUser and sendEvent act on the live room like their WebSocket counterparts")
    func controlPlaneActions() async throws {
        let harness = Harness()
        let room = harness.makeRoom()
        let alice = try harness.join(room, user: "alice")
        let bob = try harness.join(room, user: "bob")

        let eventID = try await harness.live.sendEvent(storedRoom: room, name: "app:poll", attributes: ["q": "why"]).get()
        _ = try await harness.live.disconnectUser(roomID: room.id, userID: "bob", reason: "", requestID: "").get()

        let aliceReceived = try alice.sink.received()
        #expect(aliceReceived.map(\.eventName) == ["app:poll", "aws:DISCONNECT_USER"])
        #expect(aliceReceived.first?.id == eventID)
        #expect(aliceReceived.first?.requestID == "")
        #expect(aliceReceived.first?.attributes == ["q": "why"])
        #expect(bob.sink.closes.map(\.code) == [.goingAway])
        #expect(harness.connectionIDs(inRoom: room) == [alice.id])
    }

    @Test("a connection whose queue is full is closed with 1008 and removed, and the others still receive")
    func slowConsumer() async throws {
        // Setup: a connection that cannot take a single frame.
        let harness = Harness()
        let room = harness.makeRoom()
        let alice = try harness.join(room, user: "alice")
        let slow = try harness.join(room, user: "slow", capacity: 0)
        let bob = try harness.join(room, user: "bob")

        // Act.
        await harness.sendMessage("first", from: alice)
        await harness.sendMessage("second", from: alice)

        // Verify.
        #expect(slow.sink.frames.isEmpty)
        #expect(slow.sink.closes.map(\.code) == [.policyViolation])
        #expect(harness.connectionIDs(inRoom: room) == [alice.id, bob.id])
        #expect(harness.live.slowConsumersDropped == 1)
        #expect(harness.live.connectionCount == 2)
        #expect(try alice.sink.received().messages.map(\.content) == ["first", "second"])
        #expect(try bob.sink.received().messages.map(\.content) == ["first", "second"])
    }

    @Test("an ERROR that does not fit the queue also drops the connection")
    func slowConsumerOnError() async throws {
        let harness = Harness()
        let room = harness.makeRoom()
        let slow = try harness.join(room, user: "slow", capabilities: [], capacity: 0)

        await harness.sendMessage("forbidden", from: slow)

        #expect(slow.sink.closes.map(\.code) == [.policyViolation])
        #expect(harness.live.slowConsumersDropped == 1)
        #expect(harness.live.connections(inRoom: room.id).isEmpty)
    }
}

@Suite("LiveRooms: activity feed")
struct LiveRoomActivityTests {
    @Test("subscribers receive connected, delivered, rejected and disconnected, in order")
    func activity() async throws {
        // Setup: two subscribers before anything happens.
        let harness = Harness()
        let room = harness.makeRoom()
        let first = harness.live.activity.subscribe()
        let second = harness.live.activity.subscribe()

        // Act.
        let alice = try harness.join(room, user: "alice", capabilities: [.sendMessage])
        await harness.sendMessage("hi", from: alice)
        await harness.live.handle(frame: "garbage", from: alice.connection)
        harness.live.leave(alice.connection, reason: "closed by client")
        harness.live.activity.finish()

        // Verify: the finished streams end, so reading them is bounded.
        var activities: [RoomActivity] = []
        for await activity in first { activities.append(activity) }
        var secondCount = 0
        for await _ in second { secondCount += 1 }

        #expect(activities.count == 4)
        #expect(secondCount == 4)
        guard activities.count == 4 else { return }
        if case .connected(let connected) = activities[0] {
            #expect(connected.connectionID == alice.id)
            #expect(connected.userID == "alice")
            #expect(connected.roomID == room.id)
        } else {
            Issue.record("expected connected, got \(activities[0])")
        }
        #expect(activities[1] == .delivered(roomID: room.id, kind: .message, json: alice.sink.frames[0], at: harness.clock.now()))
        if case .rejected(let roomID, let connectionID, let code, _) = activities[2] {
            #expect(roomID == room.id)
            #expect(connectionID == alice.id)
            #expect(code == 400)
        } else {
            Issue.record("expected rejected, got \(activities[2])")
        }
        #expect(activities[3] == .disconnected(connectionID: alice.id, roomID: room.id, userID: "alice", reason: "closed by client"))
    }

    @Test("an iterator reads each activity once, then ends when the feed finishes")
    func iterator() async throws {
        // Setup.
        let harness = Harness()
        let room = harness.makeRoom()
        var activities = harness.live.activity.subscribe().makeAsyncIterator()

        // Act.
        let alice = try harness.join(room, user: "alice")
        await harness.deleteMessage("AbCdEf123456", reason: "", from: alice)
        harness.live.activity.finish()

        // Verify.
        let connected = await activities.next()
        let delivered = await activities.next()
        let end = await activities.next()
        #expect(connected?.roomID == room.id)
        #expect(end == nil)
        guard case .delivered(_, .event, let json, _) = delivered else {
            Issue.record("expected an event delivery, got \(String(describing: delivered))")
            return
        }
        #expect(json == alice.sink.frames.first)
    }
}
