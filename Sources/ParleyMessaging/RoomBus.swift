/// What travels from the node that accepted a request to every node holding connections of the room.
public enum RoomDelivery: Sendable {
    /// A MESSAGE or EVENT frame, encoded once, for every connection of the room.
    case frame(roomID: String, action: MessagingAction, text: String)
    /// Closes every connection of a user in the room.
    case disconnect(roomID: String, userID: String, closeReason: String)
}

/// Whether a frame is a chat message or an event.
public enum DeliveryKind: String, Sendable {
    case message = "MESSAGE"
    case event = "EVENT"
}

/// The messaging actions, as the Requests and Deliveries metrics name them.
public enum MessagingAction: String, Sendable, CaseIterable {
    case sendMessage = "SendMessage"
    case deleteMessage = "DeleteMessage"
    case disconnectUser = "DisconnectUser"
    case sendEvent = "SendEvent"

    public var deliveryKind: DeliveryKind { self == .sendMessage ? .message : .event }
}

/// Told of every messaging request, delivery and connection change, on the caller's task: it must not block.
/// Metrics implement it; a delivery is reported once per broadcast with its recipient count.
public protocol MessagingObserver: Sendable {
    func requested(_ action: MessagingAction, roomID: String)
    func delivered(_ action: MessagingAction, roomID: String, recipients: Int)
    func connectionsChanged(total: Int, roomID: String, inRoom: Int)
}

/// How a delivery reaches every connection of a room. The local bus hands it straight to this node's rooms;
/// a bus for several nodes would carry it through a shared broker to each node's receiver.
public protocol RoomBus: Sendable {
    /// Sends a delivery to every node's receiver, this one's included.
    func publish(_ delivery: RoomDelivery)
    /// Sets this node's receiver. Called once, before the first publish.
    func setReceiver(_ receiver: @escaping @Sendable (RoomDelivery) -> Void)
}

/// The single-node bus: publishing is a direct call.
public final class LocalRoomBus: RoomBus {
    private let receiver = MutexBox<(@Sendable (RoomDelivery) -> Void)?>(nil)

    public init() {}

    public func publish(_ delivery: RoomDelivery) {
        receiver.value?(delivery)
    }

    public func setReceiver(_ receiver: @escaping @Sendable (RoomDelivery) -> Void) {
        self.receiver.value = receiver
    }
}
