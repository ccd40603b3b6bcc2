import Foundation
import ParleyDomain
import Testing

let allPurposes: [ServerKey.Purpose] = [.chatToken, .accessKeySecret, .pageToken]

/// `data` with one byte flipped.
func flippingByte(at index: Int, of data: Data) -> Data {
    var altered = data
    altered[altered.startIndex + index] ^= 0x01
    return altered
}

@Suite("ServerKey")
struct ServerKeyTests {
    let key = ServerKey.generate()
    let plaintext = Data("the secret: wJalrXUtnFEMI/K7MDENG".utf8)

    @Test("a key must be 32 bytes", arguments: [0, 16, 31, 33, 64])
    func wrongLength(_ count: Int) {
        #expect(throws: ServerKey.KeyError.wrongLength(count)) {
            try ServerKey(rawRepresentation: Data(repeating: 7, count: count))
        }
    }

    @Test("generated keys are 32 random bytes")
    func generatedKeys() {
        let other = ServerKey.generate()
        #expect(key.rawRepresentation.count == 32)
        #expect(key.rawRepresentation != other.rawRepresentation)
    }

    @Test("a key rebuilt from its raw representation opens what the original sealed")
    func rawRepresentationRoundTrip() throws {
        let rebuilt = try ServerKey(rawRepresentation: key.rawRepresentation)
        let sealed = key.seal(plaintext, for: .accessKeySecret)

        #expect(rebuilt.open(sealed, for: .accessKeySecret) == plaintext)
    }

    @Test("a box opens for the purpose it was sealed for", arguments: allPurposes)
    func roundTrip(_ purpose: ServerKey.Purpose) {
        let sealed = key.seal(plaintext, for: purpose)

        #expect(key.open(sealed, for: purpose) == plaintext)
        #expect(key.open(key.seal(Data(), for: purpose), for: purpose) == Data())
    }

    @Test(
        "a box sealed for one purpose never opens for another",
        arguments: allPurposes.flatMap { sealed in allPurposes.filter { $0 != sealed }.map { (sealed, $0) } }
    )
    func purposesAreSeparate(sealedFor: ServerKey.Purpose, openedFor: ServerKey.Purpose) {
        let sealed = key.seal(plaintext, for: sealedFor)

        #expect(key.open(sealed, for: openedFor) == nil)
    }

    @Test("the sealed box hides the plaintext and differs on every seal")
    func sealingIsRandomized() {
        let first = key.seal(plaintext, for: .chatToken)
        let second = key.seal(plaintext, for: .chatToken)

        #expect(first != second)
        #expect(first.range(of: plaintext) == nil)
        #expect(first.range(of: Data("wJalrXUtnFEMI".utf8)) == nil)
    }

    @Test("flipping any byte of the box (nonce, ciphertext or tag) makes it fail to open")
    func tamperingFails() {
        let sealed = key.seal(plaintext, for: .accessKeySecret)

        for index in 0..<sealed.count {
            #expect(key.open(flippingByte(at: index, of: sealed), for: .accessKeySecret) == nil, "byte \(index)")
        }
    }

    @Test("truncated, extended or empty boxes fail to open")
    func malformedBoxesFail() {
        let sealed = key.seal(plaintext, for: .pageToken)

        #expect(key.open(sealed.dropLast(), for: .pageToken) == nil)
        #expect(key.open(sealed + Data([0]), for: .pageToken) == nil)
        #expect(key.open(Data(sealed.prefix(12)), for: .pageToken) == nil)
        #expect(key.open(Data(), for: .pageToken) == nil)
    }

    @Test("another key cannot open the box")
    func otherKeyFails() {
        let sealed = key.seal(plaintext, for: .chatToken)

        #expect(ServerKey.generate().open(sealed, for: .chatToken) == nil)
    }

    @Test("authentication codes are deterministic, 32 bytes, and depend on the purpose, the key and the data")
    func authenticationCodes() {
        let data = Data("cursor".utf8)
        let code = key.authenticationCode(for: data, purpose: .pageToken)

        #expect(code.count == 32)
        #expect(key.authenticationCode(for: data, purpose: .pageToken) == code)
        #expect(key.authenticationCode(for: data, purpose: .chatToken) != code)
        #expect(key.authenticationCode(for: Data("cursos".utf8), purpose: .pageToken) != code)
        #expect(ServerKey.generate().authenticationCode(for: data, purpose: .pageToken) != code)
    }
}

@Suite("Base64URL")
struct Base64URLTests {
    @Test("uses - and _ instead of + and /, without padding")
    func alphabet() {
        #expect(Base64URL.encode(Data([0xFB, 0xFF, 0xBF])) == "-_-_")
        #expect(Base64URL.encode(Data([0x00])) == "AA")
        #expect(Base64URL.encode(Data([0x00, 0x00])) == "AAA")
        #expect(Base64URL.encode(Data()) == "")
        #expect(Base64URL.encode(Data("hello".utf8)) == "aGVsbG8")
    }

    @Test("decodes what it encodes, for every length up to 64 bytes")
    func roundTrip() {
        var generator = SeededGenerator(state: 7)
        for length in 0...64 {
            let data = Data((0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            let text = Base64URL.encode(data)

            #expect(!text.contains { "+/=".contains($0) })
            #expect(Base64URL.decode(text) == data, "length \(length)")
        }
    }

    @Test(
        "refuses characters outside base64url and impossible lengths",
        arguments: ["+_-_", "/", "AA==", "AA=", "A", "AAAAA", "aGVs bG8", "aGVs\nbG8", "aGVsbG8!", "é"]
    )
    func rejects(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("decodes the URL alphabet")
    func decodesURLAlphabet() {
        #expect(Base64URL.decode("-_-_") == Data([0xFB, 0xFF, 0xBF]))
        #expect(Base64URL.decode("aGVsbG8") == Data("hello".utf8))
        #expect(Base64URL.decode("") == Data())
    }
}
