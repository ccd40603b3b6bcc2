import Crypto
import Foundation

/// How a webhook handler can tell a request came from Parley: an HMAC-SHA256, keyed with the review secret,
/// over `<timestamp>.<body>`, sent as `X-Parley-Signature: v1=<hex>` next to `X-Parley-Timestamp: <unix seconds>`.
/// A receiver recomputes it and rejects stale timestamps to stop replays.
public enum WebhookSignature {
    public static let timestampHeader = "X-Parley-Timestamp"
    public static let signatureHeader = "X-Parley-Signature"

    public static func headers(body: Data, secret: String, at time: Date) -> [(String, String)] {
        let timestamp = String(Int(time.timeIntervalSince1970))
        return [(timestampHeader, timestamp), (signatureHeader, "v1=" + signature(body: body, secret: secret, timestamp: timestamp))]
    }

    public static func signature(body: Data, secret: String, timestamp: String) -> String {
        var message = Data(timestamp.utf8)
        message.append(UInt8(ascii: "."))
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}
