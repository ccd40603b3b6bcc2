import Crypto
import Foundation

/// An HTTP request as SigV4 sees it: the request line as sent on the wire, the headers in order, and the payload hash.
public struct SignableRequest: Sendable {
    public var method: String
    /// The path as it appears on the request line, still percent-encoded.
    public var path: String
    /// The query string as it appears on the request line (without `?`), still percent-encoded.
    public var query: String
    /// Header fields in the order received; repeated names stay repeated.
    public var headers: [(name: String, value: String)]
    /// The SHA-256 of the body, lowercase hex.
    public var bodyHash: String

    public init(method: String, path: String, query: String, headers: [(name: String, value: String)], bodyHash: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.bodyHash = bodyHash
    }

    /// Splits a request-target (`/path?query`) into path and query.
    public init(method: String, target: String, headers: [(name: String, value: String)], body: Data) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.init(
            method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
            headers: headers, bodyHash: SigV4.hexSHA256(body)
        )
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Query parameters, percent-decoded (`+` read as a space, as form encoding and AWS read it), in wire order.
    public var queryItems: [(name: String, value: String)] {
        guard !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = SigV4.percentDecode(parts[0].replacingOccurrences(of: "+", with: " "))
            let value = parts.count > 1 ? SigV4.percentDecode(parts[1].replacingOccurrences(of: "+", with: " ")) : ""
            return (name, value)
        }
    }
}

/// The pieces of the SigV4 algorithm shared by the signer and the verifier.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public static func hexSHA256(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters (and `/` when `keepSlash`).
    public static func uriEncode(_ text: some StringProtocol, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            let isUnreserved =
                (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if isUnreserved || (keepSlash && byte == 0x2F) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Decodes `%XX` escapes; malformed escapes stay as they are.
    public static func percentDecode(_ text: some StringProtocol) -> String {
        var bytes = [UInt8]()
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == 0x25, iterator.count >= 2, let high = hexValue(iterator[iterator.startIndex]),
                let low = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// The canonical URI: the path with dot segments removed, then URI-encoded again (non-S3 services encode twice).
    static func canonicalURI(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        let normalized = "/" + segments.filter { !$0.isEmpty }.joined(separator: "/")
        let keepTrailingSlash = path.hasSuffix("/") && normalized != "/"
        return uriEncode(normalized + (keepTrailingSlash ? "/" : ""), keepSlash: true)
    }

    /// The canonical query: every parameter decoded, re-encoded, sorted by name then value; `X-Amz-Signature` left out.
    static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        var pairs: [(name: String, value: String)] = []
        for item in items where item.name != "X-Amz-Signature" {
            pairs.append((uriEncode(item.name), uriEncode(item.value)))
        }
        pairs.sort { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
        return pairs.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// Trims a header value and folds runs of spaces into one, as the canonical form requires.
    static func canonicalHeaderValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// The canonical request; nil when a signed header is missing from the request.
    static func canonicalRequest(_ request: SignableRequest, signedHeaders: [String], payloadHash: String) -> String? {
        var values: [String: [String]] = [:]
        for (name, value) in request.headers {
            values[name.lowercased(), default: []].append(canonicalHeaderValue(value))
        }
        var canonicalHeaders = ""
        for name in signedHeaders {
            guard let headerValues = values[name] else { return nil }
            canonicalHeaders += "\(name):\(headerValues.joined(separator: ","))\n"
        }
        return [
            request.method.uppercased(),
            canonicalURI(request.path),
            canonicalQuery(request.queryItems),
            canonicalHeaders,
            signedHeaders.joined(separator: ";"),
            payloadHash,
        ].joined(separator: "\n")
    }

    static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope, hexSHA256(Data(canonicalRequest.utf8))].joined(separator: "\n")
    }

    static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    static func signature(stringToSign: String, key: SymmetricKey) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    static func parseAmzDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[range] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int32(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
