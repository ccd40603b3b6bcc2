import AWSSigV4
import Foundation
import ParleyDomain

/// How the API reads an operation's input from the wire, below Hummingbird: the JSON body, and the `{resourceArn}` label
/// and `tagKeys` query of the tag operations. Public for the fuzz targets (Fuzz/FuzzControlPlane).
public enum APIRequestDecoding {
    /// Decodes a JSON body; an empty body is `{}`. Malformed JSON and wrong types are ValidationExceptions.
    public static func decode<Input: Decodable>(_ type: Input.Type = Input.self, body: Data) throws -> Input {
        do {
            return try JSONDecoder().decode(Input.self, from: body.isEmpty ? Data("{}".utf8) : body)
        } catch let error as DecodingError {
            throw ParleyError(decoding: error)
        }
    }

    /// The `{resourceArn}` label of a `/tags/{resourceArn}` request-target, percent-decoded from the raw path.
    public static func resourceARN(target: String) -> String {
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        return SigV4.percentDecode(path.dropFirst("/tags/".count))
    }

    /// The `tagKeys` of an UntagResource request-target, in order; nil when there are none.
    public static func tagKeys(target: String) -> [String]? {
        let keys = SignableRequest(method: "DELETE", target: target, headers: [], body: Data())
            .queryItems.filter { $0.name == "tagKeys" }.map(\.value)
        return keys.isEmpty ? nil : keys
    }
}
