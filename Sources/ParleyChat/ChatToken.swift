import Foundation

/// A chat token and its times, as a `CreateChatToken` response carries them.
///
/// Your backend calls `CreateChatToken` (Parley's control-plane API or the console's token endpoint) and hands the
/// result to the app; the room asks for a fresh one every time it connects, because a token is accepted once only.
///
/// `ChatToken` decodes straight from a `CreateChatToken` response body. Its dates are ISO 8601 strings with fractional
/// seconds; set ``Foundation/JSONDecoder/DateDecodingStrategy/preciseISO8601`` on your decoder (a plain
/// `JSONDecoder()` works too: the token falls back to reading the strings itself).
public struct ChatToken: Sendable, Equatable, Decodable {
    /// The opaque token, sent as the WebSocket subprotocol.
    public var token: String
    /// Until when the token may be used to connect, if known.
    public var tokenExpirationTime: Date?
    /// When the server will end the connection made with this token, if known.
    public var sessionExpirationTime: Date?

    /// Creates a token from the fields of a `CreateChatToken` response.
    public init(token: String, tokenExpirationTime: Date? = nil, sessionExpirationTime: Date? = nil) {
        self.token = token
        self.tokenExpirationTime = tokenExpirationTime
        self.sessionExpirationTime = sessionExpirationTime
    }

    private enum CodingKeys: String, CodingKey {
        case token, tokenExpirationTime, sessionExpirationTime
    }

    /// Decodes a `CreateChatToken` response.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        token = try container.decode(String.self, forKey: .token)
        tokenExpirationTime = try Self.date(container, .tokenExpirationTime)
        sessionExpirationTime = try Self.date(container, .sessionExpirationTime)
    }

    /// A date decoded with the decoder's strategy, or, failing that, read as a precise ISO 8601 string.
    private static func date(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Date? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let date = try? container.decode(Date.self, forKey: key) { return date }
        let text = try container.decode(String.self, forKey: key)
        guard let date = PreciseISO8601.date(from: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "Not an ISO 8601 date: \(text)")
        }
        return date
    }
}

/// Supplies chat tokens to a ``ChatRoom``: called each time the room connects or reconnects.
public protocol ChatTokenProvider: Sendable {
    /// Fetches a fresh chat token, usually from your backend.
    func getChatToken() async throws -> ChatToken
}

extension JSONDecoder.DateDecodingStrategy {
    /// ISO 8601 dates with any number of fractional-second digits (or none), as `CreateChatToken` and the messaging
    /// API write them; `.iso8601` rejects fractional seconds.
    public static var preciseISO8601: JSONDecoder.DateDecodingStrategy {
        .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = PreciseISO8601.date(from: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "Not an ISO 8601 date: \(text)")
            }
            return date
        }
    }
}

/// A parser for RFC 3339 / ISO 8601 internet timestamps: `2026-11-29T04:00:00.123456789Z`, `…+02:00`.
enum PreciseISO8601 {
    static func date(from text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
            expect("Tt "), let hour = digits(2), expect(":"), let minute = digits(2), expect(":"), let second = digits(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > start, let value = Double("0." + String(decoding: bytes[start..<index], as: UTF8.self)) else { return nil }
            fraction = value
        }
        var offset = 0
        if expect("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = digits(2) else { return nil }
            _ = expect(":")
            guard let minutes = digits(2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let seconds = daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
