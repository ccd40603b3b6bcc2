import Foundation

/// A participant of a chat room: the `userId` and attributes given to `CreateChatToken`.
public struct ChatUser: Sendable, Equatable, Hashable {
    /// The user's id.
    public var userId: String
    /// The user's attributes, if any.
    public var attributes: [String: String]?

    /// Creates a user.
    public init(userId: String, attributes: [String: String]? = nil) {
        self.userId = userId
        self.attributes = attributes
    }
}

/// A chat message delivered to the room (a `MESSAGE` frame).
public struct ChatMessage: Sendable, Equatable, Hashable, Identifiable {
    /// The message id (12 characters), the one ``DeleteMessageRequest`` takes.
    public var id: String
    /// Who sent it.
    public var sender: ChatUser
    /// The text, as delivered (a review handler may have changed it).
    public var content: String
    /// When the server sent it.
    public var sendTime: Date
    /// The request id of the `SEND_MESSAGE` that caused it, if the sender gave one.
    public var requestId: String?
    /// The message's attributes, if any.
    public var attributes: [String: String]?

    /// Creates a message.
    public init(
        id: String, sender: ChatUser, content: String, sendTime: Date, requestId: String? = nil, attributes: [String: String]? = nil
    ) {
        self.id = id
        self.sender = sender
        self.content = content
        self.sendTime = sendTime
        self.requestId = requestId
        self.attributes = attributes
    }
}

/// An event delivered to the room (an `EVENT` frame): custom events sent with the control plane's `SendEvent`.
///
/// The service's own events arrive as ``DeletedMessageEvent`` (`aws:DELETE_MESSAGE`) and ``DisconnectUserEvent``
/// (`aws:DISCONNECT_USER`) instead.
public struct ChatEvent: Sendable, Equatable, Hashable, Identifiable {
    /// The event id.
    public var id: String
    /// The event's name.
    public var eventName: String
    /// When the server sent it.
    public var sendTime: Date
    /// The request id of the request that caused it, if any.
    public var requestId: String?
    /// The event's attributes, if any.
    public var attributes: [String: String]?

    /// Creates an event.
    public init(id: String, eventName: String, sendTime: Date, requestId: String? = nil, attributes: [String: String]? = nil) {
        self.id = id
        self.eventName = eventName
        self.sendTime = sendTime
        self.requestId = requestId
        self.attributes = attributes
    }
}

/// A moderator deleted a message (`aws:DELETE_MESSAGE`): remove it from what you show.
public struct DeletedMessageEvent: Sendable, Equatable, Hashable, Identifiable {
    /// The event id.
    public var id: String
    /// The id of the deleted message.
    public var messageID: String
    /// Why, if the moderator said.
    public var reason: String?
    /// When the server sent the event.
    public var sendTime: Date
    /// The request id of the `DELETE_MESSAGE` that caused it, if any.
    public var requestId: String?
    /// The event's attributes (`MessageID`, `MessageId`, `Reason`).
    public var attributes: [String: String]?

    /// Creates a deleted-message event.
    public init(
        id: String, messageID: String, reason: String? = nil, sendTime: Date, requestId: String? = nil,
        attributes: [String: String]? = nil
    ) {
        self.id = id
        self.messageID = messageID
        self.reason = reason
        self.sendTime = sendTime
        self.requestId = requestId
        self.attributes = attributes
    }
}

/// A moderator disconnected a user (`aws:DISCONNECT_USER`); the server then closes that user's connections.
public struct DisconnectUserEvent: Sendable, Equatable, Hashable, Identifiable {
    /// The event id.
    public var id: String
    /// The id of the disconnected user.
    public var userId: String
    /// Why, if the moderator said.
    public var reason: String?
    /// When the server sent the event.
    public var sendTime: Date
    /// The request id of the `DISCONNECT_USER` that caused it, if any.
    public var requestId: String?
    /// The event's attributes (`UserId`, `Reason`).
    public var attributes: [String: String]?

    /// Creates a disconnect-user event.
    public init(
        id: String, userId: String, reason: String? = nil, sendTime: Date, requestId: String? = nil, attributes: [String: String]? = nil
    ) {
        self.id = id
        self.userId = userId
        self.reason = reason
        self.sendTime = sendTime
        self.requestId = requestId
        self.attributes = attributes
    }
}

/// Anything the room delivers: what a ``ChatRequest`` reads its response from.
public enum ChatDelivery: Sendable, Equatable {
    /// A chat message.
    case message(ChatMessage)
    /// A custom event.
    case event(ChatEvent)
    /// A message was deleted.
    case deletedMessage(DeletedMessageEvent)
    /// A user was disconnected.
    case disconnectedUser(DisconnectUserEvent)

    /// The request id the delivery carries, if any.
    public var requestId: String? {
        switch self {
        case .message(let message): message.requestId
        case .event(let event): event.requestId
        case .deletedMessage(let event): event.requestId
        case .disconnectedUser(let event): event.requestId
        }
    }
}

/// A frame from the server, read leniently: every key optional.
struct InboundFrame: Decodable {
    struct Sender: Decodable {
        var userId: String?
        var attributes: [String: String]?
        enum CodingKeys: String, CodingKey {
            case userId = "UserId", attributes = "Attributes"
        }
    }

    var type: String?
    var id: String?
    var requestId: String?
    var attributes: [String: String]?
    var content: String?
    var sendTime: String?
    var sender: Sender?
    var eventName: String?
    var errorCode: Int?
    var errorMessage: String?

    enum CodingKeys: String, CodingKey {
        case type = "Type", id = "Id", requestId = "RequestId", attributes = "Attributes", content = "Content"
        case sendTime = "SendTime", sender = "Sender", eventName = "EventName", errorCode = "ErrorCode", errorMessage = "ErrorMessage"
    }

    /// What the frame says: a delivery, an error for a request, or nothing this SDK understands.
    enum Meaning {
        case delivery(ChatDelivery)
        case error(ChatError)
        case unknown
    }

    static func read(_ text: String) -> Meaning {
        guard let frame = try? JSONDecoder().decode(InboundFrame.self, from: Data(text.utf8)) else { return .unknown }
        return frame.meaning
    }

    var meaning: Meaning {
        let requestId = self.requestId.flatMap { $0.isEmpty ? nil : $0 }
        let attributes = self.attributes.flatMap { $0.isEmpty ? nil : $0 }
        let sendTime = self.sendTime.flatMap(PreciseISO8601.date(from:)) ?? Date()
        let id = self.id ?? ""
        switch type {
        case "MESSAGE":
            let sender = ChatUser(
                userId: self.sender?.userId ?? "", attributes: self.sender?.attributes.flatMap { $0.isEmpty ? nil : $0 })
            return .delivery(
                .message(
                    ChatMessage(
                        id: id, sender: sender, content: content ?? "", sendTime: sendTime, requestId: requestId, attributes: attributes)))
        case "EVENT":
            let reason = self.attributes?["Reason"].flatMap { $0.isEmpty ? nil : $0 }
            switch eventName {
            case "aws:DELETE_MESSAGE":
                let messageID = self.attributes?["MessageID"] ?? self.attributes?["MessageId"] ?? ""
                return .delivery(
                    .deletedMessage(
                        DeletedMessageEvent(
                            id: id, messageID: messageID, reason: reason, sendTime: sendTime, requestId: requestId, attributes: attributes))
                )
            case "aws:DISCONNECT_USER":
                return .delivery(
                    .disconnectedUser(
                        DisconnectUserEvent(
                            id: id, userId: self.attributes?["UserId"] ?? "", reason: reason, sendTime: sendTime, requestId: requestId,
                            attributes: attributes)))
            default:
                return .delivery(
                    .event(ChatEvent(id: id, eventName: eventName ?? "", sendTime: sendTime, requestId: requestId, attributes: attributes)))
            }
        case "ERROR":
            return .error(
                ChatError(
                    errorCode: ChatError.Code(serverCode: errorCode ?? 500), errorMessage: errorMessage ?? "", id: self.id,
                    requestId: requestId))
        default:
            return .unknown
        }
    }
}
