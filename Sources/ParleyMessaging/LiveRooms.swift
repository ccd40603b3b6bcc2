import Foundation
import ParleyDomain
import Synchronization

/// Why a connection was refused before the upgrade.
public enum JoinRefusal: Error, Sendable, Equatable {
    case connectionQuotaReached(limit: Int)
}

/// Every live room on this node: who is connected, the limits in force, and delivery through the room bus.
/// A broadcast takes the room's lock once to snapshot its connections, then queues one shared frame per connection.
public final class LiveRooms: Sendable {
    struct RoomState {
        var room: Room
        var deleted = false
        var connections: [String: LiveConnection] = [:]
        var messageBucket: TokenBucket
    }

    struct State {
        var rooms: [String: RoomState] = [:]
        var connectionCount = 0
        /// Rooms deleted while this node runs; a connection admitted just before the deletion still sees it.
        var deletedRoomIDs: Set<String> = []
    }

    public let activity = ActivityFeed()
    private let currentLimits: Mutex<MessagingLimits>
    private let observer: (any MessagingObserver)?
    private let clock: any WallClock
    private let bus: any RoomBus
    private let reviewer: (any MessageReviewer)?
    private let chatLog: (any ChatLog)?
    private let state = Mutex(State())
    private let sendMessageBucket: SharedTokenBucket
    private let deleteMessageBucket: SharedTokenBucket
    private let disconnectUserBucket: SharedTokenBucket
    private let sendEventBucket: SharedTokenBucket
    private let slowConsumerDrops = Atomic<Int>(0)

    /// - Parameters:
    ///   - reviewer: calls rooms' review handlers; without one, handlers are not called (for tests of other parts).
    ///   - chatLog: archives deliveries of rooms with logging configurations; without one, nothing is archived.
    ///   - observer: told of requests, deliveries and connections (metrics).
    public init(
        limits: MessagingLimits, clock: any WallClock, bus: any RoomBus, reviewer: (any MessageReviewer)? = nil,
        chatLog: (any ChatLog)? = nil, observer: (any MessagingObserver)? = nil
    ) {
        self.currentLimits = Mutex(limits)
        self.observer = observer
        self.clock = clock
        self.bus = bus
        self.reviewer = reviewer
        self.chatLog = chatLog
        let now = clock.now()
        sendMessageBucket = SharedTokenBucket(ratePerSecond: limits.sendMessagePerSecond, now: now)
        deleteMessageBucket = SharedTokenBucket(ratePerSecond: limits.deleteMessagePerSecond, now: now)
        disconnectUserBucket = SharedTokenBucket(ratePerSecond: limits.disconnectUserPerSecond, now: now)
        sendEventBucket = SharedTokenBucket(ratePerSecond: limits.sendEventPerSecond, now: now)
        bus.setReceiver { [weak self] delivery in self?.deliverLocally(delivery) }
    }

    /// The limits in force.
    public var limits: MessagingLimits { currentLimits.withLock { $0 } }

    /// Applies new limits at once (adjusted quotas).
    public func updateLimits(_ limits: MessagingLimits) {
        currentLimits.withLock { $0 = limits }
        sendMessageBucket.setRate(limits.sendMessagePerSecond)
        deleteMessageBucket.setRate(limits.deleteMessagePerSecond)
        disconnectUserBucket.setRate(limits.disconnectUserPerSecond)
        sendEventBucket.setRate(limits.sendEventPerSecond)
    }

    // MARK: Connections

    /// Registers a connection for a token's claims in `room`.
    public func join(
        claims: ChatTokenClaims, room: Room, remoteAddress: String, sink: any ConnectionSink
    ) throws(JoinRefusal) -> LiveConnection {
        let info = ConnectionInfo(
            connectionID: ResourceID.generate(), roomID: room.id, userID: claims.userID, attributes: claims.attributes,
            capabilities: claims.capabilities, remoteAddress: remoteAddress, connectedAt: clock.now(),
            sessionExpirationTime: claims.sessionExpirationTime)
        let limits = self.limits
        let connection = LiveConnection(info: info, sink: sink, requestsPerSecond: limits.requestsPerConnectionPerSecond)
        let accepted = state.withLock { state -> (total: Int, inRoom: Int)? in
            guard state.connectionCount < limits.maximumConcurrentConnections else { return nil }
            state.connectionCount += 1
            let fresh = RoomState(
                room: room, deleted: state.deletedRoomIDs.contains(room.id),
                messageBucket: TokenBucket(ratePerSecond: room.maximumMessageRatePerSecond, now: info.connectedAt))
            state.rooms[room.id, default: fresh].connections[info.connectionID] = connection
            return (state.connectionCount, state.rooms[room.id]!.connections.count)
        }
        guard let accepted else { throw .connectionQuotaReached(limit: limits.maximumConcurrentConnections) }
        observer?.connectionsChanged(total: accepted.total, roomID: room.id, inRoom: accepted.inRoom)
        activity.publish(.connected(info))
        return connection
    }

    /// Forgets a connection once its socket is gone.
    public func leave(_ connection: LiveConnection, reason: String) {
        let removed = state.withLock { state -> (total: Int, inRoom: Int)? in
            guard state.rooms[connection.roomID]?.connections.removeValue(forKey: connection.id) != nil else { return nil }
            state.connectionCount -= 1
            let remaining = state.rooms[connection.roomID]?.connections.count ?? 0
            if remaining == 0 { state.rooms[connection.roomID] = nil }
            return (state.connectionCount, remaining)
        }
        if let removed {
            observer?.connectionsChanged(total: removed.total, roomID: connection.roomID, inRoom: removed.inRoom)
            activity.publish(
                .disconnected(connectionID: connection.id, roomID: connection.roomID, userID: connection.userID, reason: reason))
        }
    }

    /// Connections on this node, across all rooms.
    public var connectionCount: Int { state.withLock { $0.connectionCount } }

    /// A room with connections on this node, as this node knows it (kept current by `roomChanged`); nil for a room
    /// without live connections or one that was deleted. Saves a database read per connection to a busy room.
    public func liveRoom(id: String) -> Room? {
        state.withLock { state in state.rooms[id].flatMap { $0.deleted ? nil : $0.room } }
    }

    /// Connections on this node, by room.
    public func connectionCountsByRoom() -> [String: Int] {
        state.withLock { $0.rooms.mapValues(\.connections.count) }
    }

    /// Who is connected to a room on this node.
    public func connections(inRoom roomID: String) -> [ConnectionInfo] {
        state.withLock { $0.rooms[roomID]?.connections.values.map(\.info) ?? [] }.sorted { $0.connectedAt < $1.connectedAt }
    }

    /// Connections dropped because their outbound queue overflowed, since start.
    public var slowConsumersDropped: Int { slowConsumerDrops.load(ordering: .relaxed) }

    /// Closes every connection whose session has ended; returns how many.
    @discardableResult
    public func closeExpiredSessions() -> Int {
        let now = clock.now()
        let expired = state.withLock { state in
            state.rooms.values.flatMap { $0.connections.values.filter { $0.info.sessionExpirationTime <= now } }
        }
        for connection in expired {
            connection.sink.close(.normal, reason: Self.closeReason(code: 401, message: "Session expired"))
            leave(connection, reason: "session expired")
        }
        return expired.count
    }

    // MARK: Room changes

    /// Applies a room's new limits to its live connections at once.
    public func roomChanged(_ room: Room) {
        state.withLock { state in
            guard state.rooms[room.id] != nil else { return }
            state.rooms[room.id]!.room = room
            state.rooms[room.id]!.messageBucket.setRate(room.maximumMessageRatePerSecond)
        }
    }

    /// A deleted room keeps its live connections (as IVS does) but accepts no more requests.
    public func roomDeleted(id: String) {
        state.withLock { state in
            state.deletedRoomIDs.insert(id)
            state.rooms[id]?.deleted = true
        }
    }

    // MARK: Requests from clients

    /// Handles one text frame from a connection. Errors go back to that connection only.
    /// A message for a room with a review handler waits for the review (at most the handler timeout).
    public func handle(frame text: String, from connection: LiveConnection) async {
        // Every frame counts against the connection's rate, readable or not.
        let now = clock.now()
        let withinLimit = connection.requestBucket.withLock { $0.take(now: now) }
        let request: ClientRequest
        do {
            request = try ClientRequest.decode(text)
        } catch {
            reject(connection, requestID: error.requestID, code: withinLimit ? error.code : 429, message: error.message)
            return
        }
        observer?.requested(request.action, roomID: connection.roomID)
        guard withinLimit else {
            reject(
                connection, requestID: request.requestID, code: 429,
                message: "Too many requests on this connection (limit \(limits.requestsPerConnectionPerSecond)/s).")
            return
        }
        let result: Result<String, MessagingError>
        switch request {
        case .sendMessage(let requestID, let content, let attributes):
            result = await sendMessage(from: connection, requestID: requestID, content: content, attributes: attributes, now: now)
        case .deleteMessage(let requestID, let id, let reason):
            result =
                connection.has(.deleteMessage)
                ? await deleteMessage(roomID: connection.roomID, messageID: id, reason: reason, requestID: requestID)
                : .failure(.forbidden("DELETE_MESSAGE"))
        case .disconnectUser(let requestID, let userID, let reason):
            result =
                connection.has(.disconnectUser)
                ? await disconnectUser(roomID: connection.roomID, userID: userID, reason: reason, requestID: requestID)
                : .failure(.forbidden("DISCONNECT_USER"))
        }
        if case .failure(let error) = result {
            reject(connection, requestID: request.requestID, code: error.code, message: error.message)
        }
    }

    /// Sends an ERROR frame to one connection.
    public func reject(_ connection: LiveConnection, requestID: String, code: Int, message: String) {
        let frame = OutboundFrame(ServerFrame.error(id: ResourceID.generate(), requestID: requestID, code: code, message: message))
        if !connection.sink.enqueue(frame) { dropSlowConsumer(connection) }
        activity.publish(.rejected(roomID: connection.roomID, connectionID: connection.id, code: code, message: message))
    }

    private func sendMessage(
        from connection: LiveConnection, requestID: String, content: String, attributes: [String: String], now: Date
    ) async -> Result<String, MessagingError> {
        guard connection.has(.sendMessage) else { return .failure(.forbidden("SEND_MESSAGE")) }
        let room: Room
        switch roomForRequest(connection.roomID, storedRoom: nil, now: now, takingMessageToken: false) {
        case .success(let found): room = found
        case .failure(let error): return .failure(error)
        }
        let length = content.unicodeScalars.count
        guard length >= 1, length <= room.maximumMessageLength else {
            return .failure(.invalid("Content must be 1 to \(room.maximumMessageLength) characters, got \(length)."))
        }
        let size = MessageRules.attributesSize(attributes)
        guard size <= MessageRules.maximumMessageAttributesBytes else {
            return .failure(.tooLarge("Attributes must be at most \(MessageRules.maximumMessageAttributesBytes) bytes, got \(size)."))
        }
        // Only valid messages spend the room's rate, so a stream of invalid ones cannot starve valid senders.
        if case .failure(let error) = roomForRequest(connection.roomID, storedRoom: nil, now: now, takingMessageToken: true) {
            return .failure(error)
        }
        guard sendMessageBucket.take(now: now) else {
            return .failure(.throttled("SendMessage is limited to \(limits.sendMessagePerSecond) requests a second across all rooms."))
        }
        let id = ResourceID.generate()
        var content = content
        var attributes = attributes
        if let handler = room.messageReviewHandler, let reviewer {
            let request = ReviewRequest(
                content: content, messageID: id, roomID: room.id, attributes: attributes, senderUserID: connection.userID,
                senderAttributes: connection.info.attributes, senderIP: connection.info.remoteAddress)
            switch await reviewer.review(request, handler: handler, maximumMessageLength: room.maximumMessageLength) {
            case .allow(let reviewedContent, let reviewedAttributes):
                content = reviewedContent
                attributes = reviewedAttributes
            case .deny(let reason):
                return .failure(.denied(reason.isEmpty ? "The message was denied by the room's review handler." : reason))
            }
        }
        let sendTime = clock.now()
        let frame = ServerFrame.message(
            id: id, requestID: requestID, attributes: attributes, content: content, sendTime: sendTime,
            senderUserID: connection.userID, senderAttributes: connection.info.attributes)
        await broadcast(frame, action: .sendMessage, in: room, at: sendTime)
        return .success(id)
    }

    // MARK: Actions shared by both planes
    // The control plane passes the stored room (`storedRoom`), which may have nobody connected on this node;
    // requests from a connection act on its live room.

    /// Broadcasts `aws:DELETE_MESSAGE`; returns the event id.
    public func deleteMessage(
        roomID: String, storedRoom: Room? = nil, messageID: String, reason: String, requestID: String
    ) async -> Result<String, MessagingError> {
        if storedRoom != nil { observer?.requested(.deleteMessage, roomID: roomID) }
        guard ResourceID.isValid(messageID) else { return .failure(.invalid("Id must be 12 characters of [a-zA-Z0-9].")) }
        guard reason.unicodeScalars.count <= MessageRules.reasonLength.upperBound else {
            return .failure(.invalid("Reason must be at most \(MessageRules.reasonLength.upperBound) characters."))
        }
        let now = clock.now()
        let room: Room
        switch roomForAction(.deleteMessage, roomID, storedRoom, deleteMessageBucket, limits.deleteMessagePerSecond, now) {
        case .success(let found): room = found
        case .failure(let error): return .failure(error)
        }
        let attributes = ["MessageID": messageID, "MessageId": messageID, "Reason": reason]
        return .success(
            await broadcastEvent(
                in: room, action: .deleteMessage, name: "aws:DELETE_MESSAGE", attributes: attributes, requestID: requestID, now: now))
    }

    /// Broadcasts `aws:DISCONNECT_USER`, then closes every connection of the user in the room; returns the event id.
    public func disconnectUser(
        roomID: String, storedRoom: Room? = nil, userID: String, reason: String, requestID: String
    ) async -> Result<String, MessagingError> {
        if storedRoom != nil { observer?.requested(.disconnectUser, roomID: roomID) }
        guard ChatTokenRules.userIDLength.contains(userID.unicodeScalars.count) else {
            return .failure(.invalid("UserId must be 1 to \(ChatTokenRules.userIDLength.upperBound) characters."))
        }
        guard reason.unicodeScalars.count <= MessageRules.reasonLength.upperBound else {
            return .failure(.invalid("Reason must be at most \(MessageRules.reasonLength.upperBound) characters."))
        }
        let now = clock.now()
        let room: Room
        switch roomForAction(.disconnectUser, roomID, storedRoom, disconnectUserBucket, limits.disconnectUserPerSecond, now) {
        case .success(let found): room = found
        case .failure(let error): return .failure(error)
        }
        let id = await broadcastEvent(
            in: room, action: .disconnectUser, name: "aws:DISCONNECT_USER", attributes: ["UserId": userID, "Reason": reason],
            requestID: requestID, now: now)
        let message = reason.isEmpty ? "Disconnected by a moderator" : reason
        bus.publish(.disconnect(roomID: roomID, userID: userID, closeReason: Self.closeReason(code: 403, message: message)))
        return .success(id)
    }

    /// Broadcasts a custom event (control-plane SendEvent); returns its id.
    public func sendEvent(storedRoom: Room, name: String, attributes: [String: String]) async -> Result<String, MessagingError> {
        observer?.requested(.sendEvent, roomID: storedRoom.id)
        let now = clock.now()
        let room: Room
        switch roomForAction(.sendEvent, storedRoom.id, storedRoom, sendEventBucket, limits.sendEventPerSecond, now) {
        case .success(let found): room = found
        case .failure(let error): return .failure(error)
        }
        return .success(await broadcastEvent(in: room, action: .sendEvent, name: name, attributes: attributes, requestID: "", now: now))
    }

    /// The room an action under a shared rate limit acts on, once the action's bucket lets it through.
    private func roomForAction(
        _ action: MessagingAction, _ roomID: String, _ storedRoom: Room?, _ bucket: SharedTokenBucket, _ limit: Int, _ now: Date
    ) -> Result<Room, MessagingError> {
        roomForRequest(roomID, storedRoom: storedRoom, now: now, takingMessageToken: false).flatMap { room in
            bucket.take(now: now) ? .success(room) : .failure(.throttled("\(action.rawValue) is limited to \(limit) requests a second."))
        }
    }

    private func broadcastEvent(
        in room: Room, action: MessagingAction, name: String, attributes: [String: String], requestID: String, now: Date
    ) async -> String {
        let id = ResourceID.generate()
        let frame = ServerFrame.event(id: id, requestID: requestID, name: name, attributes: attributes, sendTime: now)
        await broadcast(frame, action: action, in: room, at: now)
        return id
    }

    /// Archives a frame for the room's logging configurations (durably, first), then delivers it to the room.
    private func broadcast(_ frame: String, action: MessagingAction, in room: Room, at time: Date) async {
        if let chatLog, !room.loggingConfigurationIDs.isEmpty {
            await chatLog.record(
                LoggedDelivery(
                    roomID: room.id, loggingConfigurationIDs: room.loggingConfigurationIDs, type: action.deliveryKind.rawValue,
                    payload: frame, time: time))
        }
        bus.publish(.frame(roomID: room.id, action: action, text: frame))
    }

    /// The room a request acts on: the live room here, else the stored one; 404 once deleted, 429 past its message rate.
    private func roomForRequest(_ roomID: String, storedRoom: Room?, now: Date, takingMessageToken: Bool) -> Result<Room, MessagingError> {
        state.withLock { state -> Result<Room, MessagingError> in
            guard var roomState = state.rooms[roomID] else {
                guard let storedRoom else { return .failure(.notFound("The room has no live connections.")) }
                return .success(storedRoom)
            }
            guard !roomState.deleted else { return .failure(.notFound("The room has been deleted.")) }
            if takingMessageToken {
                guard roomState.messageBucket.take(now: now) else {
                    return .failure(.throttled("The room allows \(roomState.room.maximumMessageRatePerSecond) messages a second."))
                }
                state.rooms[roomID] = roomState
            }
            return .success(roomState.room)
        }
    }

    // MARK: Delivery

    /// Delivers to this node's connections of the room; called by the bus.
    func deliverLocally(_ delivery: RoomDelivery) {
        switch delivery {
        case .frame(let roomID, let action, let text):
            let targets = state.withLock { $0.rooms[roomID].map { Array($0.connections.values) } ?? [] }
            deliver(OutboundFrame(text), to: targets)
            observer?.delivered(action, roomID: roomID, recipients: targets.count)
            activity.publish(.delivered(roomID: roomID, kind: action.deliveryKind, json: text, at: clock.now()))
        case .disconnect(let roomID, let userID, let closeReason):
            let targets = state.withLock { $0.rooms[roomID]?.connections.values.filter { $0.userID == userID } ?? [] }
            for connection in targets {
                connection.sink.close(.goingAway, reason: closeReason)
                leave(connection, reason: "disconnected by a moderator")
            }
        }
    }

    /// Hands a broadcast to each fan-out group in one step (usually one group: the server's event loop), and to
    /// connections without a group one by one.
    private func deliver(_ frame: OutboundFrame, to targets: [LiveConnection]) {
        let tooSlow: @Sendable (LiveConnection) -> Void = { [weak self] in self?.dropSlowConsumer($0) }
        if let group = targets.first?.sink.fanOut, targets.allSatisfy({ $0.sink.fanOut === group }) {
            group.deliver(frame, to: targets, tooSlow: tooSlow)
            return
        }
        var groups: [ObjectIdentifier: (group: any FanOutGroup, connections: [LiveConnection])] = [:]
        for connection in targets {
            if let group = connection.sink.fanOut {
                groups[ObjectIdentifier(group), default: (group, [])].connections.append(connection)
            } else if !connection.sink.enqueue(frame) {
                dropSlowConsumer(connection)
            }
        }
        for (group, connections) in groups.values { group.deliver(frame, to: connections, tooSlow: tooSlow) }
    }

    private func dropSlowConsumer(_ connection: LiveConnection) {
        slowConsumerDrops.add(1, ordering: .relaxed)
        connection.sink.close(.policyViolation, reason: Self.closeReason(code: 429, message: "Too slow: outbound queue full"))
        leave(connection, reason: "too slow to keep up")
        activity.publish(.slowConsumerDropped(connectionID: connection.id, roomID: connection.roomID))
    }

    /// A close reason carrying a compact JSON error; WebSocket close reasons are limited to 123 bytes.
    static func closeReason(code: Int, message: String) -> String {
        var text = message
        while true {
            let reason =
                "{\"ErrorCode\":\(code),\"ErrorMessage\":"
                + {
                    var quoted = ""
                    JSONWriter.appendString(text, to: &quoted)
                    return quoted
                }() + "}"
            if reason.utf8.count <= 123 { return reason }
            text.removeLast()
        }
    }
}

/// A messaging request that failed, with the ERROR code IVS Chat uses for it.
public enum MessagingError: Error, Sendable, Equatable {
    case invalid(String)
    case forbidden(String)
    case notFound(String)
    case tooLarge(String)
    case throttled(String)
    case denied(String)

    public var code: Int {
        switch self {
        case .invalid: 400
        case .forbidden: 403
        case .notFound: 404
        case .tooLarge: 413
        case .throttled: 429
        case .denied: 406
        }
    }

    public var message: String {
        switch self {
        case .invalid(let message), .notFound(let message), .tooLarge(let message), .throttled(let message), .denied(let message):
            message
        case .forbidden(let capability): "The token lacks the \(capability) capability."
        }
    }
}

extension ClientRequest {
    var action: MessagingAction {
        switch self {
        case .sendMessage: .sendMessage
        case .deleteMessage: .deleteMessage
        case .disconnectUser: .disconnectUser
        }
    }

    var requestID: String {
        switch self {
        case .sendMessage(let requestID, _, _), .deleteMessage(let requestID, _, _), .disconnectUser(let requestID, _, _): requestID
        }
    }
}
