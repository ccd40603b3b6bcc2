import Foundation

/// What a chat token grants: who, where, what, and until when. Sealed into the opaque token string.
public struct ChatTokenClaims: Sendable, Equatable {
    /// Unique per token, so the messaging endpoint can accept each token once.
    public var tokenID: String
    public var roomID: String
    public var userID: String
    public var capabilities: [ChatCapability]
    public var attributes: [String: String]
    public var tokenExpirationTime: Date
    public var sessionExpirationTime: Date

    public init(
        tokenID: String = ChatTokenClaims.newTokenID(),
        roomID: String,
        userID: String,
        capabilities: [ChatCapability],
        attributes: [String: String],
        tokenExpirationTime: Date,
        sessionExpirationTime: Date
    ) {
        self.tokenID = tokenID
        self.roomID = roomID
        self.userID = userID
        self.capabilities = capabilities
        self.attributes = attributes
        self.tokenExpirationTime = tokenExpirationTime
        self.sessionExpirationTime = sessionExpirationTime
    }

    /// 128 random bits, base64url.
    public static func newTokenID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = Data(count: 16)
        for index in bytes.indices { bytes[index] = generator.next() }
        return Base64URL.encode(bytes)
    }

    public func has(_ capability: ChatCapability) -> Bool { capabilities.contains(capability) }
}

/// Why a presented chat token was refused.
public enum ChatTokenError: Error, Sendable, Equatable {
    /// Not a token this server issued: garbled, forged or altered.
    case invalid
    case expired
    case alreadyUsed
}

/// Turns claims into opaque, authenticated-encrypted token strings and back.
public struct ChatTokenCodec: Sendable {
    private let key: ServerKey

    public init(key: ServerKey) {
        self.key = key
    }

    /// The claims sealed with the server key, as base64url without padding.
    public func encode(_ claims: ChatTokenClaims) -> String {
        let wire = WireClaims(
            t: claims.tokenID, r: claims.roomID, u: claims.userID,
            c: claims.capabilities.map(\.rawValue), a: claims.attributes,
            te: claims.tokenExpirationTime.millisecondsSince1970, se: claims.sessionExpirationTime.millisecondsSince1970
        )
        // Encoding a struct of strings and integers cannot fail.
        let plaintext = try! JSONEncoder().encode(wire)
        return Base64URL.encode(key.seal(plaintext, for: .chatToken))
    }

    /// Opens a token and checks its own validity window at `now`. Single use is the caller's to enforce.
    public func decode(_ token: String, now: Date) throws(ChatTokenError) -> ChatTokenClaims {
        guard token.utf8.count <= 8192, let sealed = Base64URL.decode(token),
            let plaintext = key.open(sealed, for: .chatToken),
            let wire = try? JSONDecoder().decode(WireClaims.self, from: plaintext)
        else { throw .invalid }
        let claims = ChatTokenClaims(
            tokenID: wire.t, roomID: wire.r, userID: wire.u,
            capabilities: wire.c.compactMap(ChatCapability.init(rawValue:)), attributes: wire.a,
            tokenExpirationTime: Date(millisecondsSince1970: wire.te), sessionExpirationTime: Date(millisecondsSince1970: wire.se)
        )
        guard now < claims.tokenExpirationTime else { throw .expired }
        return claims
    }

    private struct WireClaims: Codable {
        var t: String
        var r: String
        var u: String
        var c: [String]
        var a: [String: String]
        var te: Int64
        var se: Int64
    }
}
