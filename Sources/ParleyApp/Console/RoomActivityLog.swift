import Foundation
import ParleyDomain
import ParleyMessaging
import ServiceLifecycle
import Synchronization

/// Recent activity of every room, numbered, for the console's live view: a browser that reconnects with
/// `Last-Event-ID` gets exactly the lines it missed (as long as they are still among the last `capacity`),
/// and a slow browser reads at its own pace without ever slowing the room.
final class RoomActivityLog: Sendable {
    struct Entry: Sendable {
        var id: UInt64
        /// The SSE event name: connected, disconnected, delivery, rejected.
        var event: String
        var data: String
    }

    struct Room {
        var entries: [Entry] = []
        /// Ids count up per room, so a gap between ids is a line the buffer dropped.
        var lastID: UInt64 = 0
        var waiters: [UInt64: AsyncStream<Void>.Continuation] = [:]
    }

    let capacity: Int
    private let rooms = Mutex<[String: Room]>([:])
    private let nextWaiter = Atomic<UInt64>(1)

    init(capacity: Int = 1_000) {
        self.capacity = capacity
    }

    func append(roomID: String, event: String, data: String) {
        let waiters = rooms.withLock { rooms -> [AsyncStream<Void>.Continuation] in
            var room = rooms[roomID] ?? Room()
            room.lastID += 1
            room.entries.append(Entry(id: room.lastID, event: event, data: data))
            if room.entries.count > capacity { room.entries.removeFirst(room.entries.count - capacity) }
            rooms[roomID] = room
            return Array(room.waiters.values)
        }
        for waiter in waiters { waiter.yield() }
    }

    /// Entries after `id`, and how many lines after `id` the buffer no longer has.
    func entries(roomID: String, after id: UInt64) -> (entries: [Entry], missed: Int) {
        rooms.withLock { rooms in
            let entries = rooms[roomID]?.entries ?? []
            let newer = entries.filter { $0.id > id }
            let oldest = newer.first?.id ?? id + 1
            return (newer, Int(oldest - id - 1))
        }
    }

    /// The id of the newest entry of a room (0 when none).
    func latestID(roomID: String) -> UInt64 {
        rooms.withLock { $0[roomID]?.lastID ?? 0 }
    }

    /// A stream that yields whenever the room gets a new entry (its continuation can be poked for heartbeats);
    /// it unregisters when the consumer stops.
    func changes(roomID: String) -> (AsyncStream<Void>, AsyncStream<Void>.Continuation) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let key = nextWaiter.add(1, ordering: .relaxed).oldValue
        rooms.withLock { $0[roomID, default: Room()].waiters[key] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.rooms.withLock { $0[roomID]?.waiters.removeValue(forKey: key) }
        }
        return (stream, continuation)
    }

    /// Ends every open stream (graceful shutdown).
    func finish() {
        let waiters = rooms.withLock { rooms in rooms.values.flatMap { $0.waiters.values } }
        for waiter in waiters { waiter.finish() }
    }
}

/// Feeds the activity log from the live rooms' activity feed.
struct RoomActivityRecorder: Service {
    let feed: ActivityFeed
    let log: RoomActivityLog

    func run() async throws {
        let activity = feed.subscribe()
        await cancelWhenGracefulShutdown {
            for await item in activity {
                switch item {
                case .connected(let info):
                    log.append(roomID: info.roomID, event: "connected", data: LiveViewJSON.connection(info))
                case .disconnected(let connectionID, let roomID, let userID, let reason):
                    log.append(
                        roomID: roomID, event: "disconnected",
                        data: LiveViewJSON.object(["connectionId": connectionID, "userId": userID, "reason": reason]))
                case .delivered(let roomID, _, let json, _):
                    log.append(roomID: roomID, event: "delivery", data: json)
                case .rejected(let roomID, let connectionID, let code, let message):
                    log.append(
                        roomID: roomID, event: "rejected",
                        data: LiveViewJSON.object(["connectionId": connectionID, "code": code, "message": message]))
                case .slowConsumerDropped(let connectionID, let roomID):
                    log.append(
                        roomID: roomID, event: "rejected",
                        data: LiveViewJSON.object([
                            "connectionId": connectionID, "code": 429, "message": "Disconnected: too slow to keep up",
                        ]))
                }
            }
        }
        log.finish()
    }
}

/// The JSON the live view's SSE events carry.
enum LiveViewJSON {
    static func connection(_ info: ConnectionInfo) -> String {
        object([
            "connectionId": info.connectionID, "userId": info.userID, "attributes": info.attributes,
            "capabilities": info.capabilities.map(\.rawValue), "since": Timestamp.format(info.connectedAt),
            "remoteAddress": info.remoteAddress,
        ])
    }

    static func object(_ value: [String: Any]) -> String {
        // Strings, numbers, arrays and maps of them always serialize.
        String(
            decoding: try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}
