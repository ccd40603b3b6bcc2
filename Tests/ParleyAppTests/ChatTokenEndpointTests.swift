import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import NIOCore
import ParleyApp
import ParleyDomain
import Testing

/// `POST /console/chat-token`: CreateChatToken for signed-in console users, called with fetch() by the Chatterbox
/// example and the JavaScript SDK.
@Suite struct ChatTokenEndpointTests {
    let clock = ManualWallClock(Date())
    let console = ConsoleTests()

    /// A JSON answer of the endpoint.
    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var json: [String: Any]
    }

    /// The headers a same-origin `fetch()` from a page of this server sends (the test client's authority is `localhost`).
    static let sameOrigin: [(String, String)] = [("X-Parley-CSRF", "1"), ("Origin", "http://localhost"), ("Sec-Fetch-Site", "same-origin")]

    func requestToken(
        _ client: some TestClientProtocol, cookie: String?, body: [String: Any], headers: [(String, String)] = Self.sameOrigin
    ) async throws -> Answer {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let cookie { fields[.cookie] = cookie }
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let response = try await client.execute(
            uri: "/console/chat-token", method: .post, headers: fields,
            body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
        return Answer(status: response.status, headers: response.headers, json: json)
    }

    func createRoom(_ client: some TestClientProtocol) async throws -> (id: String, arn: String) {
        let room = try await callAPI(client, "/CreateRoom", body: ["name": "chatterbox"], clock: clock)
        return (try #require(room["id"] as? String), try #require(room["arn"] as? String))
    }

    @Test func signedOutCallersGet401() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let room = try await createRoom(client)
            let body: [String: Any] = ["roomIdentifier": room.arn, "userId": "mike"]
            // act
            let anonymous = try await requestToken(client, cookie: nil, body: body)
            let forged = try await requestToken(client, cookie: "parley_session=forged", body: body)
            // verify
            for answer in [anonymous, forged] {
                #expect(answer.status == .unauthorized)
                #expect((answer.json["error"] as? String)?.contains("Sign in") == true, "\(answer.json)")
                #expect(answer.headers[.contentType] == "application/json")
                #expect(answer.json["token"] == nil)
            }
        }
    }

    @Test func requestsWithoutTheHeaderOrFromAnotherOriginAreRefused() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let room = try await createRoom(client)
            let cookie = try await console.signIn(client)
            let body: [String: Any] = ["roomIdentifier": room.arn, "userId": "mike", "capabilities": ["SEND_MESSAGE"]]
            // act
            let refused = [
                try await requestToken(client, cookie: cookie, body: body, headers: [("Origin", "http://localhost")]),
                try await requestToken(client, cookie: cookie, body: body, headers: [("X-Parley-CSRF", "1")]),
                try await requestToken(
                    client, cookie: cookie, body: body, headers: [("X-Parley-CSRF", "1"), ("Origin", "https://evil.example")]),
                try await requestToken(
                    client, cookie: cookie, body: body, headers: [("X-Parley-CSRF", "1"), ("Origin", "http://localhost.evil.example")]),
                try await requestToken(
                    client, cookie: cookie, body: body,
                    headers: [("X-Parley-CSRF", "1"), ("Origin", "http://localhost"), ("Sec-Fetch-Site", "same-site")]),
            ]
            // a form post with the session's CSRF token does not stand in for the header either
            let csrf = try console.csrf(in: try await console.get(client, "/console", cookie: cookie).html)
            let form = try await console.post(
                client, "/console/chat-token", cookie: cookie, [("csrf", csrf), ("roomIdentifier", room.arn), ("userId", "mike")])
            // verify
            for answer in refused {
                #expect(answer.status == .forbidden)
                #expect((answer.json["error"] as? String)?.contains("CSRF check failed") == true, "\(answer.json)")
                #expect(answer.json["token"] == nil)
            }
            #expect(form.status == .forbidden)
            #expect(form.html.contains("CSRF check failed"))
            let audit = try await console.get(client, "/console/audit", cookie: cookie)
            #expect(!audit.html.contains(">CreateChatToken<"), "nothing was issued")
        }
    }

    @Test func viewersMayNotCreateTokens() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let room = try await createRoom(client)
            let admin = try await console.signIn(client)
            try await console.createUser(client, cookie: admin, name: "vera", role: "viewer")
            let viewer = try await console.signIn(client, user: "vera", password: "password-of-vera")
            // act
            let answer = try await requestToken(client, cookie: viewer, body: ["roomIdentifier": room.arn, "userId": "vera"])
            // verify
            #expect(answer.status == .forbidden)
            #expect((answer.json["error"] as? String)?.contains("moderator") == true, "\(answer.json)")
        }
    }

    @Test func signedInModeratorsGetCreateChatTokensAnswer() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let room = try await createRoom(client)
            let cookie = try await console.signIn(client)
            // act
            let byARN = try await requestToken(
                client, cookie: cookie,
                body: [
                    "roomIdentifier": room.arn, "userId": "mike", "capabilities": ["SEND_MESSAGE", "DELETE_MESSAGE"],
                    "attributes": ["displayName": "Mike"], "sessionDurationInMinutes": 5,
                ])
            let byID = try await requestToken(client, cookie: cookie, body: ["roomIdentifier": room.id, "userId": "anna"])
            let invalid = try await requestToken(
                client, cookie: cookie, body: ["roomIdentifier": room.id, "userId": "mike", "capabilities": ["FLY"]])
            let missing = try await requestToken(client, cookie: cookie, body: ["roomIdentifier": "AAAAAAAAAAAA", "userId": "mike"])
            let malformed = try await requestToken(client, cookie: cookie, body: ["roomIdentifier": room.id, "userId": 7])
            // verify: CreateChatToken's shape and times
            #expect(byARN.status == .ok, "\(byARN.json)")
            #expect(byARN.headers[.cacheControl] == "no-store")
            #expect(Set(byARN.json.keys) == ["token", "tokenExpirationTime", "sessionExpirationTime"])
            let token = try #require(byARN.json["token"] as? String)
            #expect(!token.isEmpty && token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            let rfc3339 = ISO8601DateFormatter()
            rfc3339.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let sessionText = try #require(byARN.json["sessionExpirationTime"] as? String)
            let expiryText = try #require(byARN.json["tokenExpirationTime"] as? String)
            let session = try #require(rfc3339.date(from: sessionText))
            let expiry = try #require(rfc3339.date(from: expiryText))
            #expect(abs(session.timeIntervalSince(clock.now()) - 300) < 1)
            #expect(expiry > clock.now() && expiry <= session)
            #expect(byID.status == .ok, "a bare room id is accepted: \(byID.json)")
            #expect(byID.json["token"] is String)
            #expect(invalid.status == .badRequest)
            #expect((invalid.json["error"] as? String)?.contains("capabilities") == true, "\(invalid.json)")
            #expect(missing.status == .notFound)
            #expect(malformed.status == .badRequest)
            // and the console audits it like its other actions
            let audit = try await console.get(client, "/console/audit", cookie: cookie)
            #expect(audit.html.contains(#"<td class="mono">CreateChatToken</td>"#))
            #expect(audit.html.contains("mike"))
        }
    }

    @Test func theTokenJoinsTheRoom() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup
            let room = try await createRoom(client)
            let cookie = try await console.signIn(client)
            let answer = try await requestToken(
                client, cookie: cookie, body: ["roomIdentifier": room.id, "userId": "mike", "capabilities": ["SEND_MESSAGE"]])
            let token = try #require(answer.json["token"] as? String, "\(answer.status) \(answer.json)")
            // act
            _ = try await client.ws("/", configuration: WebSocketClientConfiguration(additionalHeaders: [.secWebSocketProtocol: token])) {
                inbound, outbound, _ in
                try await outbound.write(.text(#"{"Action":"SEND_MESSAGE","RequestId":"r-1","Content":"hello from chatterbox"}"#))
                var frames = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                guard case .text(let text) = try await frames.next() else { throw TestFailure("expected a text frame") }
                let received = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                // verify
                #expect(received["Type"] as? String == "MESSAGE", "\(received)")
                #expect(received["RequestId"] as? String == "r-1")
                #expect((received["Sender"] as? [String: Any])?["UserId"] as? String == "mike")
            }
        }
    }

    @Test func signingInCanReturnToTheBundledExamples() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let example = try await console.post(
                client, "/console/sign-in", cookie: nil,
                [("user", "admin"), ("password", testAdminPassword), ("next", "/assets/examples/chatterbox.html?room=AAAAAAAAAAAA")])
            let elsewhere = try await console.post(
                client, "/console/sign-in", cookie: nil,
                [("user", "admin"), ("password", testAdminPassword), ("next", "/assets/console.js")])
            // verify
            #expect(example.location == "/assets/examples/chatterbox.html?room=AAAAAAAAAAAA")
            #expect(elsewhere.location == "/console")
        }
    }
}
