import Foundation
import ParleyDomain
import Testing

@Suite("ChatTokenCodec")
struct ChatTokenCodecTests {
    let key = ServerKey.generate()
    let issuedAt = Date(millisecondsSince1970: 1_795_000_000_000)
    let userID = "viewer-with-a-distinctive-name-42"

    var codec: ChatTokenCodec { ChatTokenCodec(key: key) }

    /// Claims valid for a minute from `issuedAt`, with a session of an hour.
    func makeClaims(capabilities: [ChatCapability] = [.sendMessage, .deleteMessage]) -> ChatTokenClaims {
        ChatTokenClaims(
            roomID: "AbCdEf123456", userID: userID, capabilities: capabilities,
            attributes: ["displayName": "Zoë 🎉", "color": "#ff0000"],
            tokenExpirationTime: issuedAt.addingTimeInterval(60), sessionExpirationTime: issuedAt.addingTimeInterval(3600))
    }

    func expectInvalid(_ token: String, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: ChatTokenError.invalid, comment, sourceLocation: sourceLocation) {
            try codec.decode(token, now: issuedAt)
        }
    }

    @Test("a token decodes to the claims it was made from", arguments: [[], ChatCapability.allCases, [.disconnectUser]])
    func roundTrip(_ capabilities: [ChatCapability]) throws {
        let claims = makeClaims(capabilities: capabilities)

        let decoded = try codec.decode(codec.encode(claims), now: issuedAt)

        #expect(decoded == claims)
        #expect(decoded.has(.sendMessage) == capabilities.contains(.sendMessage))
    }

    @Test("a codec with the same key material decodes tokens of another instance")
    func sameKeyAcrossInstances() throws {
        let claims = makeClaims()
        let token = codec.encode(claims)
        let reopened = ChatTokenCodec(key: try ServerKey(rawRepresentation: key.rawRepresentation))

        #expect(try reopened.decode(token, now: issuedAt) == claims)
    }

    @Test("tokens use only base64url characters and reveal neither user, room nor attributes")
    func opaqueAndHTTPTokenSafe() throws {
        let claims = makeClaims()
        let token = codec.encode(claims)

        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(!token.isEmpty)
        #expect(token.allSatisfy { allowed.contains($0) }, "\(token)")
        #expect(!token.contains(userID))
        #expect(!token.contains(claims.roomID))
        // Not merely encoded either: the decoded bytes carry no readable claim.
        let bytes = try #require(Base64URL.decode(token))
        #expect(bytes.range(of: Data(userID.utf8)) == nil)
        #expect(bytes.range(of: Data(claims.roomID.utf8)) == nil)
        #expect(bytes.range(of: Data("displayName".utf8)) == nil)
    }

    @Test("the same claims make a different token every time, each with its own token id")
    func tokensAreUnique() {
        let first = codec.encode(makeClaims())
        let second = codec.encode(makeClaims())
        let third = makeClaims()
        let fourth = makeClaims()

        #expect(first != second)
        #expect(third.tokenID != fourth.tokenID)
        #expect(Base64URL.decode(third.tokenID)?.count == 16)
    }

    @Test(
        "garbled or forged strings are invalid",
        arguments: [
            "", "not a token", "abc", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "eyJ1IjoiYWRtaW4ifQ", String(repeating: "A", count: 9000),
        ]
    )
    func garbledIsInvalid(_ token: String) {
        expectInvalid(token)
    }

    @Test("a token with padding or the standard base64 alphabet is invalid")
    func wrongAlphabetIsInvalid() throws {
        let token = codec.encode(makeClaims())
        let bytes = try #require(Base64URL.decode(token))

        expectInvalid(bytes.base64EncodedString() + "==")
        expectInvalid(token + "=")
    }

    @Test("a forged token of well-formed claims sealed with a random key is invalid")
    func forgedIsInvalid() {
        let forger = ChatTokenCodec(key: .generate())

        expectInvalid(forger.encode(makeClaims()))
    }

    @Test("claims sealed by this server key for another purpose are invalid")
    func otherPurposeIsInvalid() throws {
        let token = codec.encode(makeClaims())
        let sealed = try #require(Base64URL.decode(token))
        let plaintext = try #require(key.open(sealed, for: .chatToken))

        expectInvalid(Base64URL.encode(key.seal(plaintext, for: .accessKeySecret)))
        expectInvalid(Base64URL.encode(key.seal(plaintext, for: .pageToken)))
    }

    @Test("altering any single byte of a token makes it invalid")
    func alteredIsInvalid() throws {
        let bytes = try #require(Base64URL.decode(codec.encode(makeClaims())))

        for index in 0..<bytes.count {
            expectInvalid(Base64URL.encode(flippingByte(at: index, of: bytes)), "byte \(index)")
        }
        expectInvalid(Base64URL.encode(bytes.dropLast()))
    }

    @Test("a token is accepted until just before its expiration, and expired from then on")
    func expiry() throws {
        let claims = makeClaims()
        let token = codec.encode(claims)

        #expect(try codec.decode(token, now: claims.tokenExpirationTime.addingTimeInterval(-0.001)) == claims)
        #expect(throws: ChatTokenError.expired) { try codec.decode(token, now: claims.tokenExpirationTime) }
        #expect(throws: ChatTokenError.expired) { try codec.decode(token, now: claims.tokenExpirationTime.addingTimeInterval(3600)) }
    }

    @Test("an expired token from another server is invalid, not expired")
    func invalidBeatsExpired() {
        let token = ChatTokenCodec(key: .generate()).encode(makeClaims())

        #expect(throws: ChatTokenError.invalid) { try codec.decode(token, now: issuedAt.addingTimeInterval(7200)) }
    }

    @Test("a token of another server key is invalid")
    func anotherServerKeyIsInvalid() {
        let token = codec.encode(makeClaims())

        #expect(throws: ChatTokenError.invalid) { try ChatTokenCodec(key: .generate()).decode(token, now: issuedAt) }
    }
}
