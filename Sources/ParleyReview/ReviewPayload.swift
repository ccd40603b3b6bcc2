import Foundation
import ParleyDomain

/// The JSON a handler receives and the JSON it must answer with.
enum ReviewPayload {
    /// `{"Content","MessageId","RoomArn","Attributes","Sender":{"Attributes","UserId","Ip"}}`.
    static func encode(_ request: ReviewRequest, roomARN: String) -> Data {
        let payload: [String: Any] = [
            "Content": request.content,
            "MessageId": request.messageID,
            "RoomArn": roomARN,
            "Attributes": request.attributes,
            "Sender": ["Attributes": request.senderAttributes, "UserId": request.senderUserID, "Ip": request.senderIP],
        ]
        // Strings and maps of strings always serialize.
        return try! JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Reads `{"ReviewResult","Content","Attributes"}` strictly: ALLOW needs Content of 1…`maximumMessageLength`
    /// code points; Attributes, when present, map strings to strings within 1 KB.
    static func decode(_ data: Data, maximumMessageLength: Int) -> Result<ReviewVerdict, ReviewFailure> {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .failure(.invalidResponse("the answer is not a JSON object"))
        }
        var attributes: [String: String]?
        switch object["Attributes"] {
        case nil, is NSNull: attributes = nil
        case let map as [String: Any]:
            var strings: [String: String] = [:]
            for (key, value) in map {
                guard let text = value as? String else { return .failure(.invalidResponse("Attributes.\(key) is not a string")) }
                strings[key] = text
            }
            let size = MessageRules.attributesSize(strings)
            guard size <= MessageRules.maximumMessageAttributesBytes else {
                return .failure(.invalidResponse("Attributes are \(size) bytes, over \(MessageRules.maximumMessageAttributesBytes)"))
            }
            attributes = strings
        default: return .failure(.invalidResponse("Attributes is not an object"))
        }
        switch object["ReviewResult"] as? String {
        case "ALLOW":
            guard let content = object["Content"] as? String else { return .failure(.invalidResponse("ALLOW without a string Content")) }
            let length = content.unicodeScalars.count
            guard length >= 1, length <= maximumMessageLength else {
                return .failure(.invalidResponse("Content is \(length) characters, outside 1…\(maximumMessageLength)"))
            }
            return .success(.allow(content: content, attributes: attributes ?? [:]))
        case "DENY":
            return .success(.deny(reason: attributes?["Reason"] ?? ""))
        default:
            return .failure(.invalidResponse("ReviewResult must be ALLOW or DENY"))
        }
    }
}
