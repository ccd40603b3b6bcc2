import Foundation
import ParleyDomain
import ParleyMessaging
import ServiceLifecycle
import Synchronization

/// Recent activity of every room, numbered, for the console's live view: a browser that reconnects with
/// `Last-Event-ID` gets exactly the lines it missed (as long as they are still among the last `capacity`),
/// and a slow browser reads at its own pace without ever slowing the room. A room nobody is watching keeps only its
/// last `unwatchedCapacity` lines, enough to fill a live view when it opens: every chatting room keeping a thousand
/// lines would cost hundreds of kilobytes each.
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
    let unwatchedCapacity: Int
    private let rooms = Mutex<[String: Room]>([:])
    private let nextWaiter = Atomic<UInt64>(1)

    init(capacity: Int = 1_000, unwatchedCapacity: Int = 100) {
        self.capacity = capacity
        self.unwatchedCapacity = unwatchedCapacity
    }

    func append(roomID: String, event: String, data: String) {
        let waiters = rooms.withLock { rooms -> [AsyncStream<Void>.Continuation] in
            Self.append(
                event: event, data: data, to: &rooms[roomID, default: Room()], capacity: capacity, unwatchedCapacity: unwatchedCapacity)
        }
        for waiter in waiters { waiter.yield() }
    }

    /// Appends in place (a copy of the room would copy its whole buffer on every line), trimming the oldest lines
    /// a quarter of the capacity at a time so that trimming costs O(1) per line.
    private static func append(
        event: String, data: String, to room: inout Room, capacity: Int, unwatchedCapacity: Int
    ) -> [AsyncStream<Void>.Continuation] {
        room.lastID += 1
        room.entries.append(Entry(id: room.lastID, event: event, data: data))
        let limit = room.waiters.isEmpty ? unwatchedCapacity : capacity
        if room.entries.count > limit + limit / 4 { room.entries.removeFirst(room.entries.count - limit) }
        return room.waiters.isEmpty ? [] : Array(room.waiters.values)
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
                        data: LiveViewJSON.disconnection(connectionID: connectionID, userID: userID, reason: reason))
                case .delivered(let roomID, _, let json, _):
                    log.append(roomID: roomID, event: "delivery", data: json)
                case .rejected(let roomID, let connectionID, let code, let message):
                    log.append(
                        roomID: roomID, event: "rejected",
                        data: LiveViewJSON.rejection(connectionID: connectionID, code: code, message: message))
                case .slowConsumerDropped(let connectionID, let roomID):
                    log.append(
                        roomID: roomID, event: "rejected",
                        data: LiveViewJSON.rejection(connectionID: connectionID, code: 429, message: "Disconnected: too slow to keep up"))
                }
            }
        }
        log.finish()
    }
}

/// The JSON the live view's SSE events carry.
enum LiveViewJSON {
    static func connection(_ info: ConnectionInfo) -> String {
        var json = JSONWriter()
        json.object {
            $0.member("connectionId", info.connectionID)
            $0.member("userId", info.userID)
            $0.member("attributes", info.attributes)
            $0.member("capabilities", info.capabilities.map(\.rawValue))
            $0.member("since", Timestamp.format(info.connectedAt))
            $0.member("remoteAddress", info.remoteAddress)
        }
        return json.text
    }

    static func disconnection(connectionID: String, userID: String, reason: String) -> String {
        var json = JSONWriter()
        json.object {
            $0.member("connectionId", connectionID)
            $0.member("userId", userID)
            $0.member("reason", reason)
        }
        return json.text
    }

    static func rejection(connectionID: String, code: Int, message: String) -> String {
        var json = JSONWriter()
        json.object {
            $0.member("connectionId", connectionID)
            $0.member("code", code)
            $0.member("message", message)
        }
        return json.text
    }
}
