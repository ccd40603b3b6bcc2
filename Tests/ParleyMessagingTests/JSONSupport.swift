import Foundation
import Testing

/// The keys of every JSON object in `json`, in the order they appear in the text, with their depth (1 = top level).
/// Keys are read raw (escapes are not decoded); the frames' own keys never need escaping.
func keysInOrder(_ json: String) -> [(depth: Int, key: String)] {
    var result: [(depth: Int, key: String)] = []
    var depth = 0
    var inString = false
    var escaped = false
    var current = ""
    var lastString: String?
    for scalar in json.unicodeScalars {
        if inString {
            if escaped {
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                inString = false
                lastString = current
                continue
            }
            current.unicodeScalars.append(scalar)
            continue
        }
        switch scalar {
        case "\"":
            inString = true
            current = ""
        case ":":
            if let key = lastString { result.append((depth, key)) }
            lastString = nil
        case "{", "[":
            depth += 1
            lastString = nil
        case "}", "]":
            depth -= 1
            lastString = nil
        case " ", "\n", "\r", "\t":
            break
        default:
            lastString = nil
        }
    }
    return result
}

/// The top-level keys of a JSON object, in text order.
func topLevelKeys(_ json: String) -> [String] {
    keysInOrder(json).filter { $0.depth == 1 }.map(\.key)
}

/// `json` parsed with JSONSerialization as an object.
func jsonObject(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], sourceLocation: sourceLocation)
}

/// A client request frame with the given members, as a client would send it.
func requestFrame(_ members: [String: Any]) -> String {
    // Only strings, dictionaries and numbers go in: serialization cannot fail.
    String(decoding: try! JSONSerialization.data(withJSONObject: members, options: [.sortedKeys]), as: UTF8.self)
}
