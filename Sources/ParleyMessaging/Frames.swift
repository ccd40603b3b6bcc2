import Foundation
import NIOCore
import ParleyDomain

/// The JSON frames the server sends, written by hand so that keys keep IVS Chat's order and every key is always present.
public enum ServerFrame {
    public static func message(
        id: String, requestID: String, attributes: [String: String], content: String, sendTime: Date,
        senderUserID: String, senderAttributes: [String: String]
    ) -> String {
        var json = JSONWriter()
        json.object {
            $0.member("Type", "MESSAGE")
            $0.member("Id", id)
            $0.member("RequestId", requestID)
            $0.member("Attributes", attributes)
            $0.member("Content", content)
            $0.member("SendTime", Timestamp.format(sendTime))
            $0.key("Sender")
            $0.object {
                $0.member("UserId", senderUserID)
                $0.member("Attributes", senderAttributes)
            }
        }
        return json.text
    }

    public static func event(id: String, requestID: String, name: String, attributes: [String: String], sendTime: Date) -> String {
        var json = JSONWriter()
        json.object {
            $0.member("Type", "EVENT")
            $0.member("Id", id)
            $0.member("RequestId", requestID)
            $0.member("EventName", name)
            $0.member("Attributes", attributes)
            $0.member("SendTime", Timestamp.format(sendTime))
        }
        return json.text
    }

    public static func error(id: String, requestID: String, code: Int, message: String) -> String {
        var json = JSONWriter()
        json.object {
            $0.member("Type", "ERROR")
            $0.member("Id", id)
            $0.member("RequestId", requestID)
            $0.member("ErrorCode", code)
            $0.member("ErrorMessage", message)
        }
        return json.text
    }
}

/// A minimal JSON writer for the server's own frames (and other JSON made on a hot path, like the console's live view):
/// keys keep the order they are written in.
public struct JSONWriter {
    public private(set) var text = ""
    private var needsComma = false

    public init() {}

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        if needsComma { text += "," }
        text += "{"
        needsComma = false
        body(&self)
        text += "}"
        needsComma = true
    }

    public mutating func key(_ name: String) {
        if needsComma { text += "," }
        Self.appendString(name, to: &text)
        text += ":"
        needsComma = false
    }

    public mutating func member(_ name: String, _ value: String) {
        key(name)
        Self.appendString(value, to: &text)
        needsComma = true
    }

    public mutating func member(_ name: String, _ value: Int) {
        key(name)
        text += String(value)
        needsComma = true
    }

    public mutating func member(_ name: String, _ value: [String: String]) {
        key(name)
        text += "{"
        for (index, (key, item)) in value.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { text += "," }
            Self.appendString(key, to: &text)
            text += ":"
            Self.appendString(item, to: &text)
        }
        text += "}"
        needsComma = true
    }

    public mutating func member(_ name: String, _ value: [String]) {
        key(name)
        text += "["
        for (index, item) in value.enumerated() {
            if index > 0 { text += "," }
            Self.appendString(item, to: &text)
        }
        text += "]"
        needsComma = true
    }

    public static func appendString(_ value: String, to text: inout String) {
        text += "\""
        // Most strings (ids, tokens, plain chat) need no escaping: append them whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xE2 }) {
            text += value
            text += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{2028}": text += "\\u2028"
            case "\u{2029}": text += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    text += String(format: "\\u%04x", scalar.value)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}

/// A request frame from a client, decoded with keys matched case-insensitively and unknown keys ignored.
public enum ClientRequest: Sendable, Equatable {
    case sendMessage(requestID: String, content: String, attributes: [String: String])
    case deleteMessage(requestID: String, id: String, reason: String)
    case disconnectUser(requestID: String, userID: String, reason: String)
}

/// Why a client frame could not be read: answered with ERROR 400 (413 for oversized fields).
public struct ClientRequestError: Error, Sendable, Equatable {
    public var code: Int
    public var requestID: String
    public var message: String
}

extension ClientRequest {
    /// Decodes a text frame.
    public static func decode(_ text: String) throws(ClientRequestError) -> ClientRequest {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw ClientRequestError(code: 400, requestID: "", message: "The frame is not a JSON object.")
        }
        // A frame may spell one member several ways ("UserId" and "USERID"); which one counts must not depend on the
        // dictionary's iteration order, which differs between runs: IVS Chat's spelling wins, else the first in byte order.
        var spellings: [String: String] = [:]
        var members: [String: Any] = [:]
        for (key, value) in object {
            let name = key.lowercased()
            if let other = spellings[name], !Self.spelling(key, winsOver: other, for: name) { continue }
            spellings[name] = key
            members[name] = value
        }
        let requestID: String
        switch members["requestid"] {
        case nil, is NSNull: requestID = ""
        case let value as String: requestID = value
        default: throw ClientRequestError(code: 400, requestID: "", message: "RequestId must be a string.")
        }
        func string(_ name: String, required: Bool) throws(ClientRequestError) -> String? {
            switch members[name.lowercased()] {
            case nil, is NSNull:
                if required { throw ClientRequestError(code: 400, requestID: requestID, message: "\(name) is required.") }
                return nil
            case let value as String: return value
            default: throw ClientRequestError(code: 400, requestID: requestID, message: "\(name) must be a string.")
            }
        }
        let action = try string("Action", required: true) ?? ""
        switch action {
        case "SEND_MESSAGE":
            let content = try string("Content", required: true) ?? ""
            var attributes: [String: String] = [:]
            switch members["attributes"] {
            case nil, is NSNull: break
            case let map as [String: Any]:
                for (key, value) in map {
                    guard let value = value as? String else {
                        throw ClientRequestError(code: 400, requestID: requestID, message: "Attributes values must be strings.")
                    }
                    attributes[key] = value
                }
            default: throw ClientRequestError(code: 400, requestID: requestID, message: "Attributes must be an object of strings.")
            }
            return .sendMessage(requestID: requestID, content: content, attributes: attributes)
        case "DELETE_MESSAGE":
            return .deleteMessage(
                requestID: requestID, id: try string("Id", required: true) ?? "", reason: try string("Reason", required: false) ?? "")
        case "DISCONNECT_USER":
            return .disconnectUser(
                requestID: requestID, userID: try string("UserId", required: true) ?? "",
                reason: try string("Reason", required: false) ?? "")
        default:
            throw ClientRequestError(code: 400, requestID: requestID, message: "Unknown Action '\(action)'.")
        }
    }

    /// The members a request frame can have, as IVS Chat spells them, by lowercased name.
    private static let spellings = [
        "action": "Action", "requestid": "RequestId", "content": "Content", "attributes": "Attributes", "id": "Id",
        "reason": "Reason", "userid": "UserId",
    ]

    /// Whether `key` is the spelling of member `name` to read when the frame also has `other`.
    private static func spelling(_ key: String, winsOver other: String, for name: String) -> Bool {
        let canonical = spellings[name]
        if other == canonical { return false }
        if key == canonical { return true }
        return key.utf8.lexicographicallyPrecedes(other.utf8)
    }
}

/// A server frame encoded once for every connection that receives it: its JSON text, and its bytes on the wire
/// (an unmasked WebSocket text frame, header included) that every connection's socket writes as they are.
public struct OutboundFrame: Sendable {
    public let text: String
    public let wire: ByteBuffer

    public init(_ text: String) {
        self.text = text
        let length = text.utf8.count
        var wire = ByteBuffer()
        wire.reserveCapacity(length + 10)
        wire.writeInteger(UInt8(0x81))  // FIN, text
        switch length {
        case ..<126:
            wire.writeInteger(UInt8(length))
        case ...0xFFFF:
            wire.writeInteger(UInt8(126))
            wire.writeInteger(UInt16(length))
        default:
            wire.writeInteger(UInt8(127))
            wire.writeInteger(UInt64(length))
        }
        wire.writeString(text)
        self.wire = wire
    }
}
