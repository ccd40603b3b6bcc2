import Foundation

/// A request a connected ``ChatRoom`` can ``ChatRoom/perform(request:)``: the room sends it with a fresh request id and
/// returns the delivery that carries that id back, or throws the ``ChatError`` the server answered with.
public protocol ChatRequest: Sendable {
    /// What the request returns: the delivery that confirms it.
    associatedtype Response: Sendable

    /// The request as a messaging API frame (JSON text) carrying `requestId`.
    func encodeFrame(requestId: String) throws -> String

    /// The response, if `delivery` is the one that confirms this request.
    func response(from delivery: ChatDelivery) -> Response?
}

/// Sends a message to the room (needs the `SEND_MESSAGE` capability); answered by the ``ChatMessage`` as delivered.
public struct SendMessageRequest: ChatRequest {
    /// The text: 1 to the room's maximum message length (500 by default) characters.
    public var content: String
    /// Metadata delivered with the message (at most 1 KB in all).
    public var attributes: [String: String]?

    /// Creates a send-message request.
    public init(content: String, attributes: [String: String]? = nil) {
        self.content = content
        self.attributes = attributes
    }

    /// `{"Action":"SEND_MESSAGE","RequestId","Content","Attributes"?}`.
    public func encodeFrame(requestId: String) throws -> String {
        try ClientFrame(action: "SEND_MESSAGE", requestId: requestId, content: content, attributes: attributes).json()
    }

    /// The message delivered back to the sender.
    public func response(from delivery: ChatDelivery) -> ChatMessage? {
        if case .message(let message) = delivery { message } else { nil }
    }
}

/// Deletes a message for everyone (needs `DELETE_MESSAGE`); answered by the ``DeletedMessageEvent``.
public struct DeleteMessageRequest: ChatRequest {
    /// The id of the message to delete.
    public var id: String
    /// Why, shown to the room's users.
    public var reason: String?

    /// Creates a delete-message request.
    public init(id: String, reason: String? = nil) {
        self.id = id
        self.reason = reason
    }

    /// `{"Action":"DELETE_MESSAGE","RequestId","Id","Reason"?}`.
    public func encodeFrame(requestId: String) throws -> String {
        try ClientFrame(action: "DELETE_MESSAGE", requestId: requestId, id: id, reason: reason).json()
    }

    /// The `aws:DELETE_MESSAGE` event.
    public func response(from delivery: ChatDelivery) -> DeletedMessageEvent? {
        if case .deletedMessage(let event) = delivery { event } else { nil }
    }
}

/// Disconnects every connection of a user from the room (needs `DISCONNECT_USER`); answered by the
/// ``DisconnectUserEvent``.
public struct DisconnectUserRequest: ChatRequest {
    /// The id of the user to disconnect (``ChatUser/userId``).
    public var id: String
    /// Why, shown to the room's users.
    public var reason: String?

    /// Creates a disconnect-user request.
    public init(id: String, reason: String? = nil) {
        self.id = id
        self.reason = reason
    }

    /// `{"Action":"DISCONNECT_USER","RequestId","UserId","Reason"?}`.
    public func encodeFrame(requestId: String) throws -> String {
        try ClientFrame(action: "DISCONNECT_USER", requestId: requestId, userId: id, reason: reason).json()
    }

    /// The `aws:DISCONNECT_USER` event.
    public func response(from delivery: ChatDelivery) -> DisconnectUserEvent? {
        if case .disconnectedUser(let event) = delivery { event } else { nil }
    }
}

/// A client frame; absent fields are left out.
struct ClientFrame: Encodable {
    var action: String
    var requestId: String
    var content: String?
    var attributes: [String: String]?
    var id: String?
    var userId: String?
    var reason: String?

    enum CodingKeys: String, CodingKey {
        case action = "Action", requestId = "RequestId", content = "Content", attributes = "Attributes", id = "Id"
        case userId = "UserId", reason = "Reason"
    }

    func json() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }
}
