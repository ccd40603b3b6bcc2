/// A message waiting for a room's review handler, as the handler receives it.
public struct ReviewRequest: Sendable, Equatable {
    public var content: String
    public var messageID: String
    public var roomID: String
    public var attributes: [String: String]
    public var senderUserID: String
    public var senderAttributes: [String: String]
    public var senderIP: String

    public init(
        content: String, messageID: String, roomID: String, attributes: [String: String], senderUserID: String,
        senderAttributes: [String: String], senderIP: String
    ) {
        self.content = content
        self.messageID = messageID
        self.roomID = roomID
        self.attributes = attributes
        self.senderUserID = senderUserID
        self.senderAttributes = senderAttributes
        self.senderIP = senderIP
    }
}

/// What happens to a reviewed message.
public enum ReviewVerdict: Sendable, Equatable {
    /// Deliver this content and these attributes (the handler's, or the original on an ALLOW fallback).
    case allow(content: String, attributes: [String: String])
    /// Tell only the sender, with the handler's reason.
    case deny(reason: String)
}

/// Reviews messages for rooms that have a `messageReviewHandler`. Never throws: failures become the room's fallback.
public protocol MessageReviewer: Sendable {
    func review(_ request: ReviewRequest, handler: MessageReviewHandler, maximumMessageLength: Int) async -> ReviewVerdict
}
