import AWSSigV4
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

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The operations console: its pages, forms, roles and safeguards, through the router.
@Suite struct ConsoleTests {
    let clock = ManualWallClock(Date())

    static let script = "<script>alert(1)</script>"
    static let escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"
    static let lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:review"

    /// A console answer.
    struct Page {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var html: String

        var location: String? { headers[.location] }
    }

    /// A form body, every value percent-encoded.
    static func form(_ fields: [(String, String)]) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text }
        return fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    func get(_ client: some TestClientProtocol, _ path: String, cookie: String?) async throws -> Page {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        let response = try await client.execute(uri: path, method: .get, headers: headers)
        return Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
    }

    func post(_ client: some TestClientProtocol, _ path: String, cookie: String?, _ fields: [(String, String)]) async throws -> Page {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let cookie { headers[.cookie] = cookie }
        let response = try await client.execute(
            uri: path, method: .post, headers: headers, body: ByteBuffer(string: Self.form(fields)))
        return Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
    }

    /// Signs in through the form; returns the `Cookie` header value that carries the session.
    func signIn(_ client: some TestClientProtocol, user: String = "admin", password: String = testAdminPassword) async throws -> String {
        let answer = try await post(
            client, "/console/sign-in", cookie: nil, [("user", user), ("password", password), ("next", "/console")])
        #expect(answer.status == .seeOther, "signing in as \(user): \(answer.html)")
        let setCookie = try #require(answer.headers[.setCookie])
        let pair = try #require(setCookie.split(separator: ";").first)
        #expect(pair.hasPrefix("parley_session="))
        return String(pair)
    }

    /// The CSRF token of a page's forms.
    func csrf(in html: String) throws -> String {
        guard let match = html.firstMatch(of: /name="csrf" value="([^"]+)"/) else { throw TestFailure("no CSRF field in the page") }
        return String(match.1)
    }

    /// The room id a room form redirected to.
    func roomID(from page: Page) throws -> String {
        guard let location = page.location, let match = location.firstMatch(of: /^\/console\/rooms\/([A-Za-z0-9]{12})/) else {
            throw TestFailure("not a redirect to a room: \(page.status) \(page.location ?? "") \(page.html.prefix(500))")
        }
        return String(match.1)
    }

    func createUser(_ client: some TestClientProtocol, cookie: String, name: String, role: String) async throws {
        let csrf = try csrf(in: try await get(client, "/console/users", cookie: cookie).html)
        let created = try await post(
            client, "/console/users", cookie: cookie,
            [("csrf", csrf), ("name", name), ("password", "password-of-\(name)"), ("role", role)])
        #expect(created.status == .seeOther)
        #expect(created.location?.hasPrefix("/console/users") == true)
    }

    // MARK: Pages

    @Test func everyPageAnswersForAnAdministrator() async throws {
        let app = try await buildApplication(testSettings { $0.verifyLogDestinations = false }, clock: clock)
        try await app.test(.router) { client in
            // setup
            let room = try await callAPI(
                client, "/CreateRoom", body: ["name": "lobby", "tags": ["team": "blue"], "messageReviewHandler": ["uri": Self.lambdaARN]],
                clock: clock)
            let roomID = try #require(room["id"] as? String)
            let configuration = try await callAPI(
                client, "/CreateLoggingConfiguration",
                body: ["name": "archive", "destinationConfiguration": ["s3": ["bucketName": "chat-archive"]]], clock: clock)
            let configurationID = try #require(configuration["id"] as? String)
            let cookie = try await signIn(client)
            let pages: [(String, [String])] = [
                ("/console", ["<h1>Dashboard</h1>", "Connections now", "Busiest rooms"]),
                ("/console/rooms", ["<h1>Rooms</h1>", "lobby", roomID, Self.lambdaARN]),
                ("/console/rooms?name=lobby", ["lobby", "Clear filters"]),
                ("/console/rooms/new", ["<h1>Create room</h1>", #"name="maximumMessageLength""#, "archive"]),
                (
                    "/console/rooms/\(roomID)",
                    [
                        "<h1>lobby</h1>", "arn:aws:ivschat:us-east-1:000000000000:room/\(roomID)", "500 characters", "10 per second",
                        "team", "blue", #"data-events-url="/console/rooms/\#(roomID)/events""#,
                    ]
                ),
                ("/console/rooms/\(roomID)/edit", ["Edit room lobby", #"value="lobby""#, "team=blue", Self.lambdaARN]),
                ("/console/logging", ["<h1>Logging configurations</h1>", "archive", "chat-archive", "ACTIVE"]),
                ("/console/logging/new", ["<h1>Create logging configuration</h1>", #"name="bucketName""#]),
                ("/console/logging/\(configurationID)/edit", ["Edit logging configuration archive", #"value="chat-archive""#]),
                ("/console/handlers", ["<h1>Message review handlers</h1>", Self.lambdaARN, "lobby"]),
                ("/console/quotas", ["<h1>Service quotas</h1>", "ConcurrentChatConnections", "RoomOperationsTPS"]),
                ("/console/metrics", ["<h1>Metrics</h1>", "Concurrent chat connections", "<svg"]),
                ("/console/metrics?room=\(roomID)&period=300&range=21600", ["Connections in the room", "<svg"]),
                ("/console/keys", ["<h1>API keys</h1>", testCredentials.accessKeyID]),
                ("/console/users", ["<h1>Console users</h1>", "admin", "Add a user"]),
                ("/console/audit", ["<h1>Audit log</h1>", "SignIn", "console:admin"]),
            ]
            for (path, contents) in pages {
                let page = try await get(client, path, cookie: cookie)
                #expect(page.status == .ok, "\(path) answered \(page.status)")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                for content in contents {
                    #expect(page.html.contains(content), "\(path) lacks \(content)")
                }
                #expect(page.html.contains(#"href="/console/keys""#), "\(path): an admin sees the API keys link")
            }
            let signInPage = try await get(client, "/console/sign-in", cookie: nil)
            #expect(signInPage.status == .ok)
            #expect(signInPage.html.contains(#"name="password""#))
            let root = try await get(client, "/", cookie: nil)
            #expect(root.status == .seeOther)
            #expect(root.location == "/console")
            let missing = try await get(client, "/console/rooms/AAAAAAAAAAAA", cookie: cookie)
            #expect(missing.status == .notFound)
            #expect(missing.html.contains("Not found"))
        }
    }

    @Test func signedOutVisitorsAreSentToSignIn() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let rooms = try await get(client, "/console/rooms?name=x", cookie: nil)
            let keys = try await get(client, "/console/keys", cookie: "parley_session=forged")
            let anonymousPost = try await post(client, "/console/rooms", cookie: nil, [("name", "x")])
            let back = try await post(
                client, "/console/sign-in", cookie: nil,
                [("user", "admin"), ("password", testAdminPassword), ("next", "/console/rooms?name=x")])
            let elsewhere = try await post(
                client, "/console/sign-in", cookie: nil,
                [("user", "admin"), ("password", testAdminPassword), ("next", "https://example.com/")])
            // verify
            #expect(rooms.status == .seeOther)
            #expect(rooms.location == "/console/sign-in?next=%2Fconsole%2Frooms%3Fname%3Dx")
            #expect(keys.status == .seeOther)
            #expect(keys.location == "/console/sign-in?next=%2Fconsole%2Fkeys")
            #expect(anonymousPost.status == .forbidden)
            #expect(anonymousPost.html.contains("sign in again"))
            #expect(back.location == "/console/rooms?name=x")
            #expect(elsewhere.location == "/console")
            let signInPage = try await get(client, try #require(rooms.location), cookie: nil)
            #expect(signInPage.html.contains(#"name="next" value="/console/rooms?name=x""#))
        }
    }

    @Test func formsNeedTheSessionsCSRFToken() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let cookie = try await signIn(client)
            // act
            let without = try await post(client, "/console/rooms", cookie: cookie, [("name", "sneaky")])
            let wrong = try await post(client, "/console/rooms", cookie: cookie, [("csrf", "not-the-token"), ("name", "sneaky")])
            let signOut = try await post(client, "/console/sign-out", cookie: cookie, [])
            // verify
            for refused in [without, wrong, signOut] {
                #expect(refused.status == .forbidden)
                #expect(refused.html.contains("CSRF check failed"))
            }
            let listed = try await callAPI(client, "/ListRooms", clock: clock)
            #expect((listed["rooms"] as? [Any])?.isEmpty == true)
            // and with the token, signing out ends the session cookie
            let csrf = try csrf(in: try await get(client, "/console", cookie: cookie).html)
            let signedOut = try await post(client, "/console/sign-out", cookie: cookie, [("csrf", csrf)])
            #expect(signedOut.status == .seeOther)
            #expect(signedOut.location == "/console/sign-in")
            #expect(signedOut.headers[.setCookie]?.contains("Max-Age=0") == true)
        }
    }

    @Test func wrongPasswordsAreRefusedThenThrottled() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act: ten wrong passwords, then an eleventh try within the minute
            var statuses: [HTTPResponse.Status] = []
            for attempt in 1...10 {
                let page = try await post(
                    client, "/console/sign-in", cookie: nil, [("user", "admin"), ("password", "wrong-\(attempt)"), ("next", "/console")])
                statuses.append(page.status)
                #expect(page.headers[.setCookie] == nil)
                #expect(page.html.contains("Wrong user name or password."))
            }
            let blocked = try await post(
                client, "/console/sign-in", cookie: nil, [("user", "admin"), ("password", testAdminPassword), ("next", "/console")])
            let otherUser = try await post(
                client, "/console/sign-in", cookie: nil, [("user", "nobody"), ("password", "x"), ("next", "/console")])
            clock.advance(by: 61)
            let later = try await post(
                client, "/console/sign-in", cookie: nil, [("user", "admin"), ("password", testAdminPassword), ("next", "/console")])
            // verify
            #expect(statuses == Array(repeating: .unauthorized, count: 10))
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.html.contains("Too many failed attempts"))
            #expect(blocked.headers[.setCookie] == nil)
            #expect(otherUser.status == .unauthorized)
            #expect(later.status == .seeOther)
        }
    }

    @Test func responsesCarrySecurityHeadersAndAStrictCookie() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let signedIn = try await post(
                client, "/console/sign-in", cookie: nil, [("user", "admin"), ("password", testAdminPassword), ("next", "/console")])
            let cookie = try await signIn(client)
            let answers = [
                signedIn,
                try await get(client, "/console/sign-in", cookie: nil),
                try await get(client, "/console", cookie: cookie),
                try await get(client, "/console/rooms", cookie: nil),
                try await get(client, "/console/rooms/AAAAAAAAAAAA", cookie: cookie),
                try await post(client, "/console/rooms", cookie: cookie, []),
            ]
            // verify
            let setCookie = try #require(signedIn.headers[.setCookie])
            let attributes = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(attributes.contains("HttpOnly"))
            #expect(attributes.contains("SameSite=Strict"))
            #expect(attributes.contains("Path=/console"))
            #expect(!attributes.contains("Secure"), "plain HTTP test server")
            for answer in answers {
                let policy = answer.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                #expect(policy.contains("script-src 'self'"), "\(answer.status): \(policy)")
                #expect(!policy.contains("unsafe-inline"))
                #expect(policy.contains("frame-ancestors 'none'"))
                #expect(answer.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(answer.status)")
            }
            for html in answers.map(\.html) where !html.isEmpty {
                #expect(!html.contains("<script>"), "no inline script")
                #expect(!html.contains(" style="), "no inline style")
            }
        }
    }

    // MARK: Roles

    @Test func rolesLimitWhatOperatorsMayDo() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let admin = try await signIn(client)
            try await createUser(client, cookie: admin, name: "vera", role: "viewer")
            try await createUser(client, cookie: admin, name: "mona", role: "moderator")
            let users = try await get(client, "/console/users", cookie: admin)
            #expect(users.html.contains("vera") && users.html.contains("mona"))
            let tooShort = try await post(
                client, "/console/users", cookie: admin,
                [("csrf", try csrf(in: users.html)), ("name", "x"), ("password", "short"), ("role", "viewer")])
            #expect(tooShort.status == .badRequest)
            #expect(tooShort.html.contains("at least 8 characters"))

            // viewer: reads, changes nothing
            let viewer = try await signIn(client, user: "vera", password: "password-of-vera")
            let viewerDashboard = try await get(client, "/console", cookie: viewer)
            let viewerCSRF = try csrf(in: viewerDashboard.html)
            #expect(!viewerDashboard.html.contains(#"href="/console/keys""#))
            #expect(try await get(client, "/console/rooms", cookie: viewer).status == .ok)
            #expect(try await get(client, "/console/audit", cookie: viewer).status == .ok)
            let viewerCreates = try await post(client, "/console/rooms", cookie: viewer, [("csrf", viewerCSRF), ("name", "nope")])
            #expect(viewerCreates.status == .forbidden)
            #expect(viewerCreates.html.contains("moderator"))
            #expect(try await get(client, "/console/rooms/new", cookie: viewer).status == .forbidden)
            #expect(try await get(client, "/console/keys", cookie: viewer).status == .forbidden)

            // moderator: manages rooms, not the server
            let moderator = try await signIn(client, user: "mona", password: "password-of-mona")
            let moderatorCSRF = try csrf(in: try await get(client, "/console", cookie: moderator).html)
            let created = try await post(
                client, "/console/rooms", cookie: moderator,
                [("csrf", moderatorCSRF), ("name", "modroom"), ("limits", "default"), ("handler", "disabled"), ("logging", "disabled")])
            #expect(created.status == .seeOther)
            _ = try roomID(from: created)
            #expect(try await get(client, "/console/keys", cookie: moderator).status == .forbidden)
            #expect(try await get(client, "/console/users", cookie: moderator).status == .forbidden)
            #expect(try await get(client, "/console/logging/new", cookie: moderator).status == .forbidden)
            let quota = try await post(client, "/console/quotas/Rooms", cookie: moderator, [("csrf", moderatorCSRF), ("value", "7")])
            #expect(quota.status == .forbidden)
            let user = try await post(
                client, "/console/users", cookie: moderator,
                [("csrf", moderatorCSRF), ("name", "evil"), ("password", "password-x"), ("role", "admin")])
            #expect(user.status == .forbidden)
            let key = try await post(client, "/console/keys", cookie: moderator, [("csrf", moderatorCSRF)])
            #expect(key.status == .forbidden)
            let logging = try await post(
                client, "/console/logging", cookie: moderator, [("csrf", moderatorCSRF), ("type", "s3"), ("bucketName", "b")])
            #expect(logging.status == .forbidden)
        }
    }

    // MARK: Rooms

    @Test func roomsCreatedThroughTheFormShowInTheListAndDetail() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let cookie = try await signIn(client)
            let csrf = try csrf(in: try await get(client, "/console/rooms/new", cookie: cookie).html)
            // act
            let plain = try await post(
                client, "/console/rooms", cookie: cookie,
                [
                    ("csrf", csrf), ("name", "plain-room"), ("limits", "default"), ("maximumMessageLength", "500"),
                    ("maximumMessageRatePerSecond", "10"), ("handler", "disabled"), ("handlerURI", ""), ("fallbackResult", "ALLOW"),
                    ("logging", "disabled"), ("tags", ""),
                ])
            let custom = try await post(
                client, "/console/rooms", cookie: cookie,
                [
                    ("csrf", csrf), ("name", "stage_1"), ("limits", "custom"), ("maximumMessageLength", "200"),
                    ("maximumMessageRatePerSecond", "5"), ("handler", "enabled"), ("handlerURI", Self.lambdaARN),
                    ("fallbackResult", "DENY"), ("logging", "disabled"), ("tags", "team=blue\r\nstage = main\r\n"),
                ])
            // verify
            let plainID = try roomID(from: plain)
            let customID = try roomID(from: custom)
            #expect(plain.location == "/console/rooms/\(plainID)?notice=Room%20created%2E")
            let plainPage = try await get(client, try #require(plain.location), cookie: cookie)
            #expect(plainPage.status == .ok)
            #expect(plainPage.html.contains("Room created."))
            #expect(plainPage.html.contains("500 characters") && plainPage.html.contains("10 per second"))
            let customPage = try await get(client, "/console/rooms/\(customID)", cookie: cookie)
            #expect(customPage.html.contains("<h1>stage_1</h1>"))
            #expect(customPage.html.contains("200 characters") && customPage.html.contains("5 per second"))
            #expect(customPage.html.contains(Self.lambdaARN) && customPage.html.contains("fallback DENY"))
            #expect(customPage.html.contains(#"<span class="tag-key">stage</span><span class="tag-value">main</span>"#))
            let list = try await get(client, "/console/rooms", cookie: cookie)
            #expect(list.html.contains("plain-room") && list.html.contains("stage_1"))
            #expect(list.html.contains(#"href="/console/rooms/\#(customID)""#))
            let api = try await callAPI(
                client, "/GetRoom", body: ["identifier": "arn:aws:ivschat:us-east-1:000000000000:room/\(customID)"], clock: clock)
            #expect(api["maximumMessageLength"] as? Int == 200)
            #expect(api["maximumMessageRatePerSecond"] as? Int == 5)
            #expect(api["tags"] as? [String: String] == ["team": "blue", "stage": "main"])
            let handler = api["messageReviewHandler"] as? [String: String]
            #expect(handler == ["uri": Self.lambdaARN, "fallbackResult": "DENY"])

            // editing: back to default limits, no handler, one tag fewer
            let edited = try await post(
                client, "/console/rooms/\(customID)", cookie: cookie,
                [
                    ("csrf", csrf), ("name", "stage_2"), ("limits", "default"), ("handler", "disabled"), ("logging", "disabled"),
                    ("tags", "team=red"),
                ])
            #expect(edited.status == .seeOther)
            let after = try await callAPI(
                client, "/GetRoom", body: ["identifier": "arn:aws:ivschat:us-east-1:000000000000:room/\(customID)"], clock: clock)
            #expect(after["name"] as? String == "stage_2")
            #expect(after["maximumMessageLength"] as? Int == 500)
            #expect(after["messageReviewHandler"] == nil || (after["messageReviewHandler"] as? [String: String])?["uri"] == nil)
            #expect(after["tags"] as? [String: String] == ["team": "red"])

            // deleting
            let deleted = try await post(client, "/console/rooms/\(plainID)/delete", cookie: cookie, [("csrf", csrf)])
            #expect(deleted.status == .seeOther)
            #expect(try await get(client, "/console/rooms/\(plainID)", cookie: cookie).status == .notFound)
        }
    }

    @Test func invalidRoomFormsComeBackWithTheFieldError() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let cookie = try await signIn(client)
            let csrf = try csrf(in: try await get(client, "/console/rooms/new", cookie: cookie).html)
            func submit(_ fields: [(String, String)]) async throws -> Page {
                // The first of repeated fields counts: the defaults go last.
                try await post(
                    client, "/console/rooms", cookie: cookie,
                    [("csrf", csrf)] + fields + [("handler", "disabled"), ("logging", "disabled")])
            }
            // act
            let badName = try await submit([("name", "bad name!"), ("limits", "default"), ("tags", "team=blue")])
            let tooLong = try await submit([
                ("name", "ok"), ("limits", "custom"), ("maximumMessageLength", "501"), ("maximumMessageRatePerSecond", "10"),
            ])
            let notNumber = try await submit([
                ("name", "ok"), ("limits", "custom"), ("maximumMessageLength", "ten"), ("maximumMessageRatePerSecond", "10"),
            ])
            let badTags = try await submit([("name", "ok"), ("limits", "default"), ("tags", "team=blue\nnovalue")])
            let badHandler = try await submit([("name", "ok"), ("limits", "default"), ("handler", "enabled"), ("handlerURI", "ftp://x")])
            // verify
            #expect(badName.status == .badRequest)
            #expect(badName.html.contains(#"id="room-name-error""#))
            #expect(badName.html.contains(#"value="bad name!""#), "the entries are kept")
            #expect(badName.html.contains("team=blue</textarea>"))
            #expect(badName.html.contains(#"aria-invalid="true""#))
            #expect(tooLong.status == .badRequest)
            #expect(tooLong.html.contains(#"id="room-length-error""#))
            #expect(tooLong.html.contains(#"value="501""#))
            #expect(notNumber.status == .badRequest)
            #expect(notNumber.html.contains(#"id="room-length-error""#))
            #expect(badTags.status == .badRequest)
            #expect(badTags.html.contains(#"id="room-tags-error""#))
            #expect(badTags.html.contains("key=value"))
            #expect(badHandler.status == .badRequest)
            #expect(badHandler.html.contains(#"id="room-handler-error""#) || badHandler.html.contains(#"id="form-error""#))
            for page in [badName, tooLong, notNumber, badTags, badHandler] {
                #expect(page.html.contains("<h1>Create room</h1>"))
            }
            let listed = try await callAPI(client, "/ListRooms", clock: clock)
            #expect((listed["rooms"] as? [Any])?.isEmpty == true)
        }
    }

    // MARK: Escaping and the live view

    @Test func userContentIsEscapedOnEveryPage() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup: a tag value, a user id, message content and an event attribute, all markup
            let cookie = try await signIn(client)
            let csrf = try csrf(in: try await get(client, "/console/rooms/new", cookie: cookie).html)
            let created = try await post(
                client, "/console/rooms", cookie: cookie,
                [
                    ("csrf", csrf), ("name", "xss"), ("limits", "default"), ("handler", "disabled"), ("logging", "disabled"),
                    ("tags", "payload=\(Self.script)"),
                ])
            let roomID = try roomID(from: created)
            let arn = "arn:aws:ivschat:us-east-1:000000000000:room/\(roomID)"
            let issued = try await callAPI(
                client, "/CreateChatToken",
                body: [
                    "roomIdentifier": arn, "userId": Self.script, "capabilities": ["SEND_MESSAGE"], "attributes": ["nick": Self.script],
                ],
                clock: clock)
            let token = try #require(issued["token"] as? String)
            let invalid = try await post(
                client, "/console/rooms/\(roomID)", cookie: cookie,
                [("csrf", csrf), ("name", "bad name"), ("limits", "default"), ("tags", "payload=\(Self.script)")])
            #expect(invalid.status == .badRequest)
            #expect(!invalid.html.contains(Self.script))
            #expect(invalid.html.contains(Self.escapedScript))

            // act: while the user is connected and has spoken, read every page
            _ = try await client.ws("/", configuration: WebSocketClientConfiguration(additionalHeaders: [.secWebSocketProtocol: token])) {
                inbound, outbound, _ in
                try await outbound.write(.text(#"{"Action":"SEND_MESSAGE","RequestId":"1","Content":"\#(Self.script)"}"#))
                var frames = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                let echo = try #require(try await frames.next())
                guard case .text(let text) = echo else { throw TestFailure("not a text frame") }
                #expect(text.contains("alert(1)"))
                _ = try await callAPI(
                    client, "/SendEvent", body: ["roomIdentifier": arn, "eventName": "app:x", "attributes": ["a": Self.script]],
                    clock: clock)
                let paths = [
                    "/console", "/console/rooms", "/console/rooms/\(roomID)", "/console/rooms/\(roomID)/edit", "/console/handlers",
                    "/console/metrics", "/console/metrics?room=\(roomID)", "/console/quotas", "/console/logging", "/console/keys",
                    "/console/users", "/console/audit",
                ]
                // verify
                for path in paths {
                    let page = try await get(client, path, cookie: cookie)
                    #expect(page.status == .ok, "\(path)")
                    #expect(!page.html.contains(Self.script), "\(path) has unescaped markup")
                    #expect(!page.html.contains("<script>"), "\(path) has an inline script")
                }
                let show = try await get(client, "/console/rooms/\(roomID)", cookie: cookie)
                #expect(show.html.contains(#"<span class="tag-value">\#(Self.escapedScript)</span>"#))
                let edit = try await get(client, "/console/rooms/\(roomID)/edit", cookie: cookie)
                #expect(edit.html.contains("payload=\(Self.escapedScript)</textarea>"))
                let dashboard = try await get(client, "/console", cookie: cookie)
                #expect(dashboard.html.contains("1 connected"))
            }
        }
    }

    /// Reads `path` as a stream over a plain socket until `enough` holds for what arrived (or 10 seconds pass).
    static func readStream(port: Int, path: String, cookie: String, until enough: @escaping @Sendable (String) -> Bool) async throws
        -> String
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingRead(port: port, path: path, cookie: cookie, until: enough) })
            }
        }
    }

    static func blockingRead(port: Int, path: String, cookie: String, until enough: (String) -> Bool) throws -> String {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect() failed") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nCookie: \(cookie)\r\nAccept: text/event-stream\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw TestFailure("send() failed")
        }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !enough(received) {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw TestFailure("the stream ended or stalled; got:\n\(received)") }
            received += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        return received
    }

    @Test func theLiveViewStreamsASnapshotThenTheRoomsActivity() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup
            let cookie = try await signIn(client)
            let room = try await callAPI(client, "/CreateRoom", body: ["name": "live"], clock: clock)
            let (roomID, arn) = (try #require(room["id"] as? String), try #require(room["arn"] as? String))
            let issued = try await callAPI(
                client, "/CreateChatToken", body: ["roomIdentifier": arn, "userId": "alice", "capabilities": ["SEND_MESSAGE"]],
                clock: clock)
            let token = try #require(issued["token"] as? String)
            let port = try #require(client.port)
            let refused = try await get(client, "/console/rooms/\(roomID)/events", cookie: nil)
            #expect(refused.status == .seeOther, "the stream needs a session too")

            _ = try await client.ws("/", configuration: WebSocketClientConfiguration(additionalHeaders: [.secWebSocketProtocol: token])) {
                inbound, outbound, _ in
                try await outbound.write(.text(#"{"Action":"SEND_MESSAGE","RequestId":"1","Content":"hello live view"}"#))
                var frames = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                _ = try await frames.next()
                // act
                let stream = try await Self.readStream(port: port, path: "/console/rooms/\(roomID)/events", cookie: cookie) {
                    $0.contains("event: snapshot") && $0.contains("hello live view")
                }
                // verify
                let head = try #require(stream.range(of: "\r\n\r\n")).lowerBound
                let headers = stream[..<head].lowercased()
                #expect(headers.hasPrefix("http/1.1 200"))
                #expect(headers.contains("content-type: text/event-stream"))
                let body = stream[head...]
                let snapshot = try #require(body.range(of: "event: snapshot\ndata: "))
                let delivery = try #require(body.range(of: "event: delivery\ndata: "))
                #expect(snapshot.lowerBound < delivery.lowerBound, "the snapshot comes first")
                #expect(body[snapshot.upperBound...].hasPrefix(#"{"connections":[{"#))
                #expect(body.contains(#""userId":"alice""#))
            }
        }
    }

    // MARK: Logging, quotas, keys, audit

    @Test func loggingConfigurationsAreManagedThroughForms() async throws {
        let app = try await buildApplication(testSettings { $0.verifyLogDestinations = false }, clock: clock)
        try await app.test(.router) { client in
            let cookie = try await signIn(client)
            let csrf = try csrf(in: try await get(client, "/console/logging/new", cookie: cookie).html)
            // create
            let created = try await post(
                client, "/console/logging", cookie: cookie,
                [("csrf", csrf), ("name", "archive"), ("type", "s3"), ("bucketName", "chat-log")])
            #expect(created.status == .seeOther)
            #expect(created.location?.hasPrefix("/console/logging?notice=") == true)
            var list = try await get(client, try #require(created.location), cookie: cookie)
            #expect(list.html.contains("archive") && list.html.contains("chat-log") && list.html.contains("ACTIVE"))
            let id = try #require(list.html.firstMatch(of: /\/console\/logging\/([A-Za-z0-9]{12})\/edit/)).1
            // invalid
            let invalid = try await post(
                client, "/console/logging", cookie: cookie, [("csrf", csrf), ("name", "bad name"), ("type", "s3"), ("bucketName", "")])
            #expect(invalid.status == .badRequest)
            #expect(invalid.html.contains(#"id="logging-name-error""#) || invalid.html.contains(#"id="logging-destination-error""#))
            // edit
            let edited = try await post(
                client, "/console/logging/\(id)", cookie: cookie,
                [("csrf", csrf), ("name", "archive2"), ("type", "cloudWatchLogs"), ("logGroupName", "chat-group")])
            #expect(edited.status == .seeOther)
            list = try await get(client, "/console/logging", cookie: cookie)
            #expect(list.html.contains("archive2") && list.html.contains("chat-group") && list.html.contains("CloudWatch Logs"))
            let form = try await get(client, "/console/logging/\(id)/edit", cookie: cookie)
            #expect(form.html.contains(#"value="chat-group""#))
            #expect(form.html.contains(#"value="cloudWatchLogs" checked"#))
            // delete
            let deleted = try await post(client, "/console/logging/\(id)/delete", cookie: cookie, [("csrf", csrf)])
            #expect(deleted.status == .seeOther)
            list = try await get(client, "/console/logging", cookie: cookie)
            #expect(!list.html.contains("archive2"))
            #expect(try await get(client, "/console/logging/\(id)/edit", cookie: cookie).status == .notFound)
        }
    }

    @Test func quotasAreAdjustedThroughTheForm() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let cookie = try await signIn(client)
            let csrf = try csrf(in: try await get(client, "/console/quotas", cookie: cookie).html)
            // act
            let adjusted = try await post(client, "/console/quotas/Rooms", cookie: cookie, [("csrf", csrf), ("value", "1234")])
            let fixed = try await post(client, "/console/quotas/RoomOperationsTPS", cookie: cookie, [("csrf", csrf), ("value", "9")])
            let zero = try await post(client, "/console/quotas/Rooms", cookie: cookie, [("csrf", csrf), ("value", "0")])
            let unknown = try await post(client, "/console/quotas/Nope", cookie: cookie, [("csrf", csrf), ("value", "9")])
            // verify
            #expect(adjusted.status == .seeOther)
            let page = try await get(client, try #require(adjusted.location), cookie: cookie)
            #expect(page.html.contains("set to 1234"))
            // The quota book picks up stored values every few seconds.
            var shown = page.html.contains(#"id="quota-Rooms" type="number" name="value" value="1234""#)
            for _ in 0..<40 where !shown {
                try await Task.sleep(for: .milliseconds(250))
                shown = try await get(client, "/console/quotas", cookie: cookie).html.contains(
                    #"id="quota-Rooms" type="number" name="value" value="1234""#)
            }
            #expect(shown, "the new value shows on the quotas page")
            #expect(fixed.status == .badRequest)
            #expect(fixed.html.contains("is fixed"))
            #expect(zero.status == .badRequest)
            #expect(zero.html.contains("positive whole number"))
            #expect(unknown.status == .notFound)
        }
    }

    @Test func apiKeysShowTheirSecretOnceAndCanBeRevoked() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let cookie = try await signIn(client)
            let csrf = try csrf(in: try await get(client, "/console/keys", cookie: cookie).html)
            // act
            let created = try await post(client, "/console/keys", cookie: cookie, [("csrf", csrf)])
            // verify
            #expect(created.status == .ok)
            let codes = created.html.matches(of: /<code class="secret" data-copy>([^<]+)<\/code>/).map { String($0.1) }
            #expect(codes.count == 2)
            let credentials = SigV4Credentials(accessKeyID: codes[0], secretAccessKey: codes[1])
            let works = try await callAPI(client, "/ListRooms", clock: clock, credentials: credentials)
            #expect(works.status == .ok)
            let later = try await get(client, "/console/keys", cookie: cookie)
            #expect(later.html.contains(credentials.accessKeyID))
            #expect(!later.html.contains(credentials.secretAccessKey), "the secret is shown once")

            let revoked = try await post(client, "/console/keys/\(credentials.accessKeyID)/revoke", cookie: cookie, [("csrf", csrf)])
            #expect(revoked.status == .seeOther)
            let refused = try await callAPI(client, "/ListRooms", clock: clock, credentials: credentials)
            #expect(refused.status == .forbidden)
            let again = try await post(client, "/console/keys/\(credentials.accessKeyID)/revoke", cookie: cookie, [("csrf", csrf)])
            #expect(again.status == .notFound)
            #expect(try await get(client, "/console/keys", cookie: cookie).html.contains("Revoked"))
        }
    }

    @Test func theAuditLogListsConsoleChanges() async throws {
        let app = try await buildApplication(testSettings { $0.verifyLogDestinations = false }, clock: clock)
        try await app.test(.router) { client in
            // setup: one change of each kind
            let cookie = try await signIn(client)
            let csrf = try csrf(in: try await get(client, "/console", cookie: cookie).html)
            let room = try roomID(
                from: try await post(
                    client, "/console/rooms", cookie: cookie, [("csrf", csrf), ("name", "audited"), ("limits", "default")]))
            _ = try await post(
                client, "/console/rooms/\(room)", cookie: cookie, [("csrf", csrf), ("name", "audited2"), ("limits", "default")])
            _ = try await post(client, "/console/logging", cookie: cookie, [("csrf", csrf), ("type", "s3"), ("bucketName", "b-1")])
            _ = try await post(client, "/console/quotas/Rooms", cookie: cookie, [("csrf", csrf), ("value", "99")])
            _ = try await post(client, "/console/keys", cookie: cookie, [("csrf", csrf)])
            try await createUser(client, cookie: cookie, name: "otto", role: "viewer")
            _ = try await post(client, "/console/rooms/\(room)/delete", cookie: cookie, [("csrf", csrf)])
            // act
            let audit = try await get(client, "/console/audit", cookie: cookie)
            // verify
            #expect(audit.status == .ok)
            for action in [
                "SignIn", "CreateRoom", "UpdateRoom", "CreateLoggingConfiguration", "SetQuota", "CreateAccessKey", "SaveConsoleUser",
                "DeleteRoom",
            ] {
                #expect(audit.html.contains(#"<td class="mono">\#(action)</td>"#), "the audit log lacks \(action)")
            }
            #expect(audit.html.contains("console:admin"))
            #expect(audit.html.contains(room))
            let newest = try #require(audit.html.firstMatch(of: /<td class="mono">([A-Za-z]+)<\/td>/)).1
            #expect(newest == "DeleteRoom", "newest first")
        }
    }

    @Test func theAuditLogListsAPIChangesWithTheSigningKey() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let cookie = try await signIn(client)
            // act
            let created = try await callAPI(client, "/CreateRoom", body: ["name": "via-api"], clock: clock)
            let id = try #require(created["id"] as? String)
            _ = try await callAPI(client, "/DeleteRoom", body: ["identifier": created["arn"]!], clock: clock)
            // verify
            let audit = try await get(client, "/console/audit", cookie: cookie)
            #expect(audit.html.contains("api:\(testCredentials.accessKeyID)"))
            #expect(audit.html.contains(#"<td class="mono">CreateRoom</td>"#))
            #expect(audit.html.contains(id))
        }
    }
}
