import Foundation
import Testing

@testable import AWSSigV4

/// A request signed by botocore, stored under Fixtures/ by scripts/generate-sigv4-fixtures.py.
struct Fixture: Decodable, CustomTestStringConvertible {
    struct Credentials: Decodable {
        var accessKeyId: String
        var secretAccessKey: String
    }
    struct Request: Decodable {
        var method: String
        var target: String
        var headers: [[String]]
        var bodyBase64: String
    }
    var name: String
    var credentials: Credentials
    var signedAt: String
    var request: Request

    var testDescription: String { name }

    static func all() throws -> [Fixture] {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
            .map { try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: $0)) }
    }

    var signingTime: Date { ISO8601DateFormatter().date(from: signedAt)! }

    var signable: SignableRequest {
        SignableRequest(
            method: request.method, target: request.target,
            headers: request.headers.map { ($0[0], $0[1]) }, body: Data(base64Encoded: request.bodyBase64)!)
    }

    func verify(_ signable: SignableRequest, now: Date? = nil, secret: String? = nil) async throws -> String {
        try await SigV4Verifier(service: "ivschat", region: "us-east-1").verify(signable, now: now ?? signingTime) { keyID in
            keyID == credentials.accessKeyId ? (secret ?? credentials.secretAccessKey) : nil
        }
    }
}

/// Flips one byte of a string (a printable character stays printable and different).
func tampered(_ text: String, at offset: Int) -> String {
    var bytes = Array(text.utf8)
    let index = offset % bytes.count
    bytes[index] = bytes[index] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
    return String(decoding: bytes, as: UTF8.self)
}

@Suite struct BotocoreFixtureTests {
    @Test(arguments: try Fixture.all())
    func acceptsWhatBotocoreSigned(_ fixture: Fixture) async throws {
        // act
        let keyID = try await fixture.verify(fixture.signable)
        // verify
        #expect(keyID == fixture.credentials.accessKeyId)
    }

    @Test(arguments: try Fixture.all())
    func refusesATamperedMethodPathOrQuery(_ fixture: Fixture) async throws {
        // setup
        var otherMethod = fixture.signable
        otherMethod.method = fixture.request.method == "GET" ? "POST" : "GET"
        var otherPath = fixture.signable
        otherPath.path = tampered(otherPath.path, at: otherPath.path.utf8.count - 1)
        var extraQuery = fixture.signable
        extraQuery.query += extraQuery.query.isEmpty ? "extra=1" : "&extra=1"
        // act + verify
        for request in [otherMethod, otherPath, extraQuery] {
            await #expect(throws: SigV4Failure.self) { try await fixture.verify(request) }
        }
    }

    @Test(arguments: try Fixture.all())
    func refusesAnyTamperedSignedHeader(_ fixture: Fixture) async throws {
        // setup
        let signable = fixture.signable
        let signedNames = signedHeaderNames(signable)
        // act + verify: every signed header but host and the date gets one byte changed
        for (index, header) in signable.headers.enumerated() where signedNames.contains(header.name.lowercased()) {
            var request = signable
            request.headers[index].value = tampered(header.value, at: 0)
            await #expect(throws: SigV4Failure.self, "header \(header.name)") { try await fixture.verify(request) }
        }
    }

    @Test(arguments: try Fixture.all())
    func refusesATamperedBodyOrSignature(_ fixture: Fixture) async throws {
        // setup
        var body = Data(base64Encoded: fixture.request.bodyBase64)!
        if body.isEmpty { body = Data("x".utf8) } else { body[body.startIndex] ^= 0x01 }
        var changedBody = fixture.signable
        changedBody.bodyHash = SigV4.hexSHA256(body)
        var changedSignature = fixture.signable
        if let index = changedSignature.headers.firstIndex(where: { $0.name.lowercased() == "authorization" }) {
            changedSignature.headers[index].value = tampered(
                changedSignature.headers[index].value, at: changedSignature.headers[index].value.utf8.count - 1)
        } else {
            changedSignature.query = changedSignature.query.replacingOccurrences(of: "X-Amz-Signature=", with: "X-Amz-Signature=0")
        }
        // act + verify
        // A presigned request without a body, or one that declares UNSIGNED-PAYLOAD, does not sign its body.
        let isPresignedWithoutBody = fixture.signable.header("authorization") == nil && fixture.request.bodyBase64.isEmpty
        let isUnsignedPayload = fixture.signable.header("x-amz-content-sha256") == SigV4.unsignedPayload
        if !isPresignedWithoutBody && !isUnsignedPayload {
            await #expect(throws: SigV4Failure.self) { try await fixture.verify(changedBody) }
        }
        await #expect(throws: SigV4Failure.self) { try await fixture.verify(changedSignature) }
    }

    @Test(arguments: try Fixture.all())
    func refusesAWrongSecretAndAnUnknownKey(_ fixture: Fixture) async throws {
        await #expect(throws: SigV4Failure.self) {
            try await fixture.verify(fixture.signable, secret: "not-the-secret")
        }
        await #expect(throws: SigV4Failure.unrecognizedClient) {
            try await SigV4Verifier(service: "ivschat", region: "us-east-1").verify(fixture.signable, now: fixture.signingTime) { _ in nil }
        }
    }

    @Test(arguments: try Fixture.all().filter { $0.signable.header("authorization") != nil })
    func honoursTheFifteenMinuteClockSkewWindow(_ fixture: Fixture) async throws {
        _ = try await fixture.verify(fixture.signable, now: fixture.signingTime + 14 * 60)
        _ = try await fixture.verify(fixture.signable, now: fixture.signingTime - 14 * 60)
        await #expect(throws: SigV4Failure.self) { try await fixture.verify(fixture.signable, now: fixture.signingTime + 16 * 60) }
        await #expect(throws: SigV4Failure.self) { try await fixture.verify(fixture.signable, now: fixture.signingTime - 16 * 60) }
    }

    @Test(arguments: try Fixture.all().filter { $0.signable.header("authorization") == nil })
    func presignedRequestsExpire(_ fixture: Fixture) async throws {
        _ = try await fixture.verify(fixture.signable, now: fixture.signingTime + 299)
        await #expect(throws: SigV4Failure.self) { try await fixture.verify(fixture.signable, now: fixture.signingTime + 301) }
    }

    private func signedHeaderNames(_ request: SignableRequest) -> Set<String> {
        let list: String
        if let authorization = request.header("authorization"), let range = authorization.range(of: "SignedHeaders=") {
            list = String(authorization[range.upperBound...].prefix { $0 != "," })
        } else {
            list = request.queryItems.first { $0.name == "X-Amz-SignedHeaders" }?.value ?? ""
        }
        return Set(list.split(separator: ";").map(String.init))
    }
}

@Suite struct SigV4VerifierTests {
    let credentials = SigV4Credentials(accessKeyID: "AKIDTEST", secretAccessKey: "secret/with+chars")
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    func signed(_ method: String, _ target: String, body: String = "", extraHeaders: [(name: String, value: String)] = [])
        -> SignableRequest
    {
        var request = SignableRequest(
            method: method, target: target, headers: [("Host", "localhost:8080")] + extraHeaders, body: Data(body.utf8))
        request.headers += SigV4Signer(credentials: credentials, region: "us-east-1", service: "ivschat")
            .signatureHeaders(for: request, at: now)
        return request
    }

    func verify(_ request: SignableRequest, service: String = "ivschat") async throws -> String {
        try await SigV4Verifier(service: service, region: "us-east-1").verify(request, now: now) { [credentials] in
            $0 == credentials.accessKeyID ? credentials.secretAccessKey : nil
        }
    }

    @Test func signerAndVerifierAgree() async throws {
        let request = signed("DELETE", "/tags/arn%3Aaws%3Aivschat%3Aus-east-1%3A0%3Aroom%2Fabc?tagKeys=a&tagKeys=b%20c", body: "{}")
        #expect(try await verify(request) == "AKIDTEST")
    }

    @Test func missingAuthenticationIsNamedAsSuch() async throws {
        let request = SignableRequest(method: "POST", target: "/ListRooms", headers: [("Host", "h")], body: Data())
        await #expect(throws: SigV4Failure.missingAuthentication) { try await verify(request) }
    }

    @Test func aRequestScopedToAnotherServiceIsRefused() async throws {
        let request = signed("POST", "/ListRooms")
        await #expect(throws: SigV4Failure.self) { try await verify(request, service: "ivs") }
    }

    @Test func aDeclaredPayloadHashMustMatchTheBody() async throws {
        var request = signed("POST", "/CreateRoom", body: "{}", extraHeaders: [("X-Amz-Content-Sha256", SigV4.hexSHA256(Data("{}".utf8)))])
        #expect(try await verify(request) == "AKIDTEST")
        request.bodyHash = SigV4.hexSHA256(Data("{\"a\":1}".utf8))
        await #expect(throws: SigV4Failure.self) { try await verify(request) }
    }

    @Test func unsignedHostIsRefused() async throws {
        var request = SignableRequest(method: "POST", target: "/ListRooms", headers: [("X-Other", "1")], body: Data())
        request.headers += SigV4Signer(credentials: credentials, region: "us-east-1", service: "ivschat").signatureHeaders(
            for: request, at: now)
        request.headers.append(("Host", "h"))
        await #expect(throws: SigV4Failure.self) { try await verify(request) }
    }
}
