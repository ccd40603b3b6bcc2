import Foundation
import Synchronization

/// Something that happened in a live room, for the console, metrics and logging.
public enum RoomActivity: Sendable, Equatable {
    case connected(ConnectionInfo)
    case disconnected(connectionID: String, roomID: String, userID: String, reason: String)
    /// A MESSAGE or EVENT delivered to the room, as the exact JSON clients received.
    case delivered(roomID: String, kind: DeliveryKind, json: String, at: Date)
    /// An ERROR sent to one connection.
    case rejected(roomID: String, connectionID: String, code: Int, message: String)
    /// A connection dropped because it could not keep up.
    case slowConsumerDropped(connectionID: String, roomID: String)

    public var roomID: String {
        switch self {
        case .connected(let info): info.roomID
        case .disconnected(_, let roomID, _, _), .delivered(let roomID, _, _, _), .rejected(let roomID, _, _, _),
            .slowConsumerDropped(_, let roomID):
            roomID
        }
    }
}

/// Fans room activity out to subscribers without ever waiting on them: a subscriber that falls
/// more than its buffer behind loses its oldest items, never slowing delivery.
public final class ActivityFeed: Sendable {
    private let subscribers = Mutex<[UInt64: AsyncStream<RoomActivity>.Continuation]>([:])
    private let nextID = Atomic<UInt64>(0)

    public init() {}

    /// A stream of every activity from now on; it ends when the feed finishes or the consumer stops iterating.
    public func subscribe(bufferSize: Int = 4_096) -> AsyncStream<RoomActivity> {
        let (stream, continuation) = AsyncStream.makeStream(of: RoomActivity.self, bufferingPolicy: .bufferingNewest(bufferSize))
        let id = nextID.add(1, ordering: .relaxed).newValue
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    func publish(_ activity: RoomActivity) {
        let targets = subscribers.withLock { Array($0.values) }
        for continuation in targets { continuation.yield(activity) }
    }

    /// Ends every subscription (graceful shutdown).
    public func finish() {
        let targets = subscribers.withLock { subscribers in
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        for continuation in targets { continuation.finish() }
    }
}
