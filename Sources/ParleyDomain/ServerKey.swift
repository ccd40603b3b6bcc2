import Crypto
import Foundation

/// The server's secret key, kept in the data directory. Each use derives its own subkey,
/// so a chat token can never be opened as an access-key secret or the other way round.
public struct ServerKey: Sendable {
    /// What a sealed box is for; part of the key derivation.
    public enum Purpose: String, Sendable, CaseIterable {
        case chatToken = "parley chat token v1"
        case accessKeySecret = "parley access key secret v1"
        case pageToken = "parley page token v1"
        case consoleSession = "parley console session v1"
    }

    private let master: SymmetricKey
    /// Derived once: every chat token, page token and session cookie uses one.
    private let subkeys: [Purpose: SymmetricKey]

    public init(rawRepresentation: Data) throws(KeyError) {
        guard rawRepresentation.count == 32 else { throw .wrongLength(rawRepresentation.count) }
        let master = SymmetricKey(data: rawRepresentation)
        self.master = master
        subkeys = Dictionary(
            uniqueKeysWithValues: Purpose.allCases.map { purpose in
                (purpose, HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data(purpose.rawValue.utf8), outputByteCount: 32))
            })
    }

    /// A fresh random key.
    public static func generate() -> ServerKey {
        // A 32-byte key is always the right length.
        try! ServerKey(rawRepresentation: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    public var rawRepresentation: Data { master.withUnsafeBytes { Data($0) } }

    public enum KeyError: Error, Equatable {
        case wrongLength(Int)
    }

    private func subkey(_ purpose: Purpose) -> SymmetricKey {
        // Every purpose is derived in `init`.
        subkeys[purpose]!
    }

    /// Authenticated encryption (ChaCha20-Poly1305): nonce, ciphertext and tag in one blob.
    public func seal(_ plaintext: Data, for purpose: Purpose) -> Data {
        // Sealing with a valid key and a random nonce cannot fail.
        try! ChaChaPoly.seal(plaintext, using: subkey(purpose)).combined
    }

    /// Opens a blob made by `seal(_:for:)` with the same purpose; nil if it was forged, altered or sealed for another purpose.
    public func open(_ sealed: Data, for purpose: Purpose) -> Data? {
        guard let box = try? ChaChaPoly.SealedBox(combined: sealed) else { return nil }
        return try? ChaChaPoly.open(box, using: subkey(purpose))
    }

    /// A keyed MAC over `data`, for values that must be tamper-evident but need not be secret.
    public func authenticationCode(for data: Data, purpose: Purpose) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: data, using: subkey(purpose)))
    }
}

/// Base64url without padding: the alphabet of HTTP tokens, safe in a WebSocket subprotocol.
public enum Base64URL {
    // Byte-wise mapping: chat tokens are encoded and decoded on every connection, and Foundation's string replacing is slow.
    public static func encode(_ data: Data) -> String {
        var bytes = Array(data.base64EncodedData())
        while bytes.last == UInt8(ascii: "=") { bytes.removeLast() }
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "+"): bytes[index] = UInt8(ascii: "-")
            case UInt8(ascii: "/"): bytes[index] = UInt8(ascii: "_")
            default: break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func decode(_ text: String) -> Data? {
        var bytes = Array(text.utf8)
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "-"): bytes[index] = UInt8(ascii: "+")
            case UInt8(ascii: "_"): bytes[index] = UInt8(ascii: "/")
            case let byte where ResourceID.isAlphanumeric(byte): break
            default: return nil
            }
        }
        let remainder = bytes.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { bytes += Array(repeating: UInt8(ascii: "="), count: 4 - remainder) }
        return Data(base64Encoded: Data(bytes))
    }
}
