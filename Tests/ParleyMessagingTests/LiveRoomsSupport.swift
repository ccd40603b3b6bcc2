import Foundation
import ParleyDomain
import ParleyMessaging
import Synchronization
import Testing

/// A connection's transport that records what it was sent and how it was closed.
/// With a `capacity`, `enqueue` refuses frames once that many are waiting, as a full outbound queue does.
final class RecordingSink: ConnectionSink {
    enum Entry: Equatable {
        case frame(String)
        case close(CloseCode, reason: String)
    }

    private let capacity: Int
    private let entries = Mutex<[Entry]>([])

    init(capacity: Int = .max) {
        self.capacity = capacity
    }

    func enqueue(_ frame: OutboundFrame) -> Bool {
        entries.withLock { entries in
            guard entries.count(where: { if case .frame = $0 { true } else { false } }) < capacity else { return false }
            entries.append(.frame(frame.text))
            return true
        }
    }

    func close(_ code: CloseCode, reason: String) {
        entries.withLock { $0.append(.close(code, reason: reason)) }
    }

    /// Everything that happened, in order.
    var log: [Entry] { entries.withLock { $0 } }

    /// The frames received, raw.
    var frames: [String] {
        log.compactMap { if case .frame(let text) = $0 { text } else { nil } }
    }

    /// The close calls received.
    var closes: [(code: CloseCode, reason: String)] {
        log.compactMap { if case .close(let code, let reason) = $0 { (code, reason) } else { nil } }
    }

    /// The frames received, decoded.
    func received(sourceLocation: SourceLocation = #_sourceLocation) throws -> [ReceivedFrame] {
        try frames.map { text in
            do {
                return try JSONDecoder().decode(ReceivedFrame.self, from: Data(text.utf8))
            } catch {
                Issue.record("undecodable frame \(text): \(error)", sourceLocation: sourceLocation)
                throw error
            }
        }
    }
}

/// Any server frame, with the members its type has.
struct ReceivedFrame: Decodable, Equatable {
    struct Sender: Decodable, Equatable {
        var userID: String
        var attributes: [String: String]

        enum CodingKeys: String, CodingKey {
            case userID = "UserId"
            case attributes = "Attributes"
        }
    }

    var type: String
    var id: String
    var requestID: String
    var attributes: [String: String]?
    var content: String?
    var sendTime: String?
    var sender: Sender?
    var eventName: String?
    var errorCode: Int?
    var errorMessage: String?

    enum CodingKeys: String, CodingKey {
        case type = "Type"
        case id = "Id"
        case requestID = "RequestId"
        case attributes = "Attributes"
        case content = "Content"
        case sendTime = "SendTime"
        case sender = "Sender"
        case eventName = "EventName"
        case errorCode = "ErrorCode"
        case errorMessage = "ErrorMessage"
    }
}

/// A joined connection and its recording transport.
struct Client {
    let connection: LiveConnection
    let sink: RecordingSink

    var id: String { connection.id }
}

/// Live rooms on a manual clock and a local bus, with helpers for rooms, connections and requests.
struct Harness {
    let clock = ManualWallClock()
    let live: LiveRooms

    init(limits: MessagingLimits = MessagingLimits()) {
        live = LiveRooms(limits: limits, clock: clock, bus: LocalRoomBus())
    }

    func makeRoom(rate: Int = RoomRules.defaultMaximumMessageRatePerSecond, length: Int = RoomRules.defaultMaximumMessageLength)
        -> Room
    {
        Room(createTime: clock.now(), maximumMessageRatePerSecond: rate, maximumMessageLength: length)
    }

    /// Joins `user` to `room` with a token granting `capabilities` and a session of `sessionSeconds`.
    func join(
        _ room: Room, user: String, capabilities: [ChatCapability] = ChatCapability.allCases, attributes: [String: String] = [:],
        sessionSeconds: TimeInterval = 3600, capacity: Int = .max
    ) throws -> Client {
        let now = clock.now()
        let claims = ChatTokenClaims(
            roomID: room.id, userID: user, capabilities: capabilities, attributes: attributes,
            tokenExpirationTime: now.addingTimeInterval(60), sessionExpirationTime: now.addingTimeInterval(sessionSeconds))
        let sink = RecordingSink(capacity: capacity)
        return Client(connection: try live.join(claims: claims, room: room, remoteAddress: "192.0.2.1", sink: sink), sink: sink)
    }

    /// `client` sends SEND_MESSAGE.
    func sendMessage(_ content: String, from client: Client, requestID: String = "send", attributes: [String: String]? = nil) async {
        var members: [String: Any] = ["Action": "SEND_MESSAGE", "RequestId": requestID, "Content": content]
        if let attributes { members["Attributes"] = attributes }
        await live.handle(frame: requestFrame(members), from: client.connection)
    }

    /// `client` sends DELETE_MESSAGE.
    func deleteMessage(_ messageID: String, reason: String, from client: Client, requestID: String = "delete") async {
        await live.handle(
            frame: requestFrame(["Action": "DELETE_MESSAGE", "RequestId": requestID, "Id": messageID, "Reason": reason]),
            from: client.connection)
    }

    /// `client` sends DISCONNECT_USER.
    func disconnectUser(_ userID: String, reason: String, from client: Client, requestID: String = "disconnect") async {
        await live.handle(
            frame: requestFrame(["Action": "DISCONNECT_USER", "RequestId": requestID, "UserId": userID, "Reason": reason]),
            from: client.connection)
    }

    /// The connection ids in a room.
    func connectionIDs(inRoom room: Room) -> Set<String> {
        Set(live.connections(inRoom: room.id).map(\.connectionID))
    }
}

extension Array where Element == ReceivedFrame {
    var messages: [ReceivedFrame] { filter { $0.type == "MESSAGE" } }
    var events: [ReceivedFrame] { filter { $0.type == "EVENT" } }
    var errors: [ReceivedFrame] { filter { $0.type == "ERROR" } }
}
