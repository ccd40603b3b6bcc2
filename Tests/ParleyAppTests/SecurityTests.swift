import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ParleyApp
import ParleyDomain
import Testing

/// The security review of the console and the API (RELIABILITY.md, "Security review"): one test per checklist item
/// that is not already covered by ConsoleTests, ChatTokenEndpointTests or APITests.
@Suite struct SecurityTests {
    let clock = ManualWallClock(Date())
    let console = ConsoleTests()

    /// An answer with its body as text.
    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: String

        var location: String? { headers[.location] }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    /// Any request, with the headers given.
    func send(
        _ client: some TestClientProtocol, _ path: String, method: HTTPRequest.Method = .get, headers: [(String, String)] = [],
        body: String = ""
    ) async throws -> Answer {
        var fields: HTTPFields = [:]
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let response = try await client.execute(uri: path, method: method, headers: fields, body: ByteBuffer(string: body))
        return Answer(status: response.status, headers: response.headers, body: String(buffer: response.body))
    }

    /// `POST /console/sign-in` with the headers a browser adds.
    func postSignIn(
        _ client: some TestClientProtocol, user: String = "admin", password: String = testAdminPassword, next: String = "/console",
        headers: [(String, String)] = [], cookie: String? = nil
    ) async throws -> Answer {
        var all = [("Content-Type", "application/x-www-form-urlencoded")] + headers
        if let cookie { all.append(("Cookie", cookie)) }
        return try await send(
            client, "/console/sign-in", method: .post, headers: all,
            body: ConsoleTests.form([("user", user), ("password", password), ("next", next)]))
    }

    /// `POST /console/sign-out` with the page's CSRF token.
    func signOut(_ client: some TestClientProtocol, cookie: String) async throws -> ConsoleTests.Page {
        let csrf = try console.csrf(in: try await console.get(client, "/console", cookie: cookie).html)
        return try await console.post(client, "/console/sign-out", cookie: cookie, [("csrf", csrf)])
    }

    /// The session cookie a sign-in answer sets.
    func sessionCookie(_ answer: Answer) throws -> String {
        let setCookie = try #require(answer.headers[.setCookie], "no session cookie: \(answer.status) \(answer.body.prefix(300))")
        return String(try #require(setCookie.split(separator: ";").first))
    }

    // MARK: Session management

    @Test func signingOutEndsTheSessionOnTheServer() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup: a cookie, and a copy of it kept elsewhere
            let cookie = try await console.signIn(client)
            let csrf = try console.csrf(in: try await console.get(client, "/console", cookie: cookie).html)
            // act
            let signedOut = try await signOut(client, cookie: cookie)
            let replayedPage = try await console.get(client, "/console/keys", cookie: cookie)
            let replayedForm = try await console.post(client, "/console/keys", cookie: cookie, [("csrf", csrf)])
            let replayedToken = try await send(
                client, "/console/chat-token", method: .post,
                headers: [("Cookie", cookie), ("Content-Type", "application/json")] + ChatTokenEndpointTests.sameOrigin, body: "{}")
            // verify
            #expect(signedOut.status == .seeOther)
            #expect(signedOut.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(replayedPage.status == .seeOther)
            #expect(replayedPage.location?.hasPrefix("/console/sign-in") == true)
            #expect(replayedForm.status == .forbidden)
            #expect(replayedToken.status == .unauthorized)
        }
    }

    @Test func signingInStartsAFreshSessionAndEndsTheOneBefore() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let before = try await console.signIn(client)
            // act: the same browser signs in again, still carrying its old cookie
            let again = try await postSignIn(client, cookie: before)
            let after = try sessionCookie(again)
            // verify
            #expect(after != before)
            #expect(try await console.get(client, "/console", cookie: before).status == .seeOther, "the old session ended")
            #expect(try await console.get(client, "/console", cookie: after).status == .ok)
            let tampered = String(after.dropLast(2)) + (after.hasSuffix("AA") ? "BB" : "AA")
            #expect(try await console.get(client, "/console", cookie: tampered).status == .seeOther, "sealed: no forgery")
        }
    }

    @Test func changingAUsersRoleOrPasswordEndsTheirSessions() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let admin = try await console.signIn(client)
            try await console.createUser(client, cookie: admin, name: "mona", role: "moderator")
            let mona = try await console.signIn(client, user: "mona", password: "password-of-mona")
            #expect(try await console.get(client, "/console/rooms/new", cookie: mona).status == .ok)
            // act: an administrator demotes mona
            try await console.createUser(client, cookie: admin, name: "mona", role: "viewer")
            // verify: her old cookie no longer carries the moderator role, or any
            let stale = try await console.get(client, "/console/rooms/new", cookie: mona)
            #expect(stale.status == .seeOther)
            #expect(stale.location?.hasPrefix("/console/sign-in") == true)
            let demoted = try await console.signIn(client, user: "mona", password: "password-of-mona")
            #expect(try await console.get(client, "/console/rooms/new", cookie: demoted).status == .forbidden)
            #expect(try await console.get(client, "/console", cookie: admin).status == .ok, "other users keep their sessions")
        }
    }

    // MARK: Sign-in

    @Test func signInFormsPostedFromAnotherSiteAreRefused() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let foreignOrigin = try await postSignIn(client, headers: [("Origin", "https://attacker.example")])
            let crossSite = try await postSignIn(client, headers: [("Sec-Fetch-Site", "cross-site")])
            let sameOrigin = try await postSignIn(
                client, headers: [("Origin", "http://localhost"), ("Sec-Fetch-Site", "same-origin")])
            let script = try await postSignIn(client)
            // verify
            for refused in [foreignOrigin, crossSite] {
                #expect(refused.status == .forbidden)
                #expect(refused.headers[.setCookie] == nil)
                #expect(refused.body.contains("CSRF check failed"))
            }
            #expect(sameOrigin.status == .seeOther)
            #expect(script.status == .seeOther, "clients that send neither header still sign in")
        }
    }

    @Test func unknownUserNamesTakeAsLongAsWrongPasswords() async throws {
        let app = try await buildApplication(testSettings { $0.bcryptCost = 10 }, clock: clock)
        try await app.test(.router) { client in
            // setup: the decoy hash is made on first use
            _ = try await postSignIn(client, user: "warm-up", password: "x")
            func seconds(_ user: String) async throws -> Double {
                let started = ContinuousClock.now
                let answer = try await postSignIn(client, user: user, password: "not-the-password")
                #expect(answer.status == .unauthorized)
                let elapsed = ContinuousClock.now - started
                return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            }
            // act
            var known: [Double] = []
            var unknown: [Double] = []
            for attempt in 0..<3 {
                known.append(try await seconds("admin"))
                unknown.append(try await seconds("nobody-\(attempt)"))
            }
            // verify: both pay for a bcrypt check (cost 10 is tens of milliseconds; a lookup alone is well under one)
            let knownMedian = known.sorted()[1]
            let unknownMedian = unknown.sorted()[1]
            #expect(unknownMedian > knownMedian * 0.3, "unknown \(unknown), known \(known)")
        }
    }

    @Test func signInFailuresAreThrottledPerAddressAcrossUserNames() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act: 30 guesses, each at another user name, then the right password for admin
            for attempt in 1...30 {
                let guess = try await postSignIn(client, user: "user-\(attempt)", password: "guess")
                #expect(guess.status == .unauthorized)
            }
            let blocked = try await postSignIn(client)
            clock.advance(by: 61)
            let later = try await postSignIn(client)
            // verify
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.headers[.setCookie] == nil)
            #expect(later.status == .seeOther)
        }
    }

    @Test func signInReturnsOnlyToPlainConsolePaths() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            let followed = ["/console", "/console/rooms?name=a%20b", "/assets/examples/chatterbox.html?room=AAAAAAAAAAAA"]
            let refused = [
                "//attacker.example/", "/\\attacker.example", "https://attacker.example/console", "/console.attacker.example",
                "/console/../../elsewhere", "/console//attacker.example", "/console\\\\attacker.example", "/console/%2e%2e/x",
                "/console\r\nSet-Cookie: x=1", "javascript:alert(1)", "/assets/other.html", "",
            ]
            for next in followed {
                // act
                let answer = try await postSignIn(client, next: next)
                // verify
                #expect(answer.location == next, "\(next)")
            }
            for next in refused {
                let answer = try await postSignIn(client, next: next)
                #expect(answer.location == "/console", "\(next) → \(answer.location ?? "")")
                let page = try await send(
                    client, "/console/sign-in?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
                #expect(page.body.contains(#"name="next" value="/console""#), "\(next)")
            }
        }
    }

    @Test func reflectedTextIsEscaped() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let cookie = try await console.signIn(client)
            let payload = #""><script>alert(1)</script>"#
            let encoded = payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            // act
            let next = try await send(client, "/console/sign-in?next=/console/" + encoded)
            let user = try await postSignIn(client, user: payload, password: "x")
            let notice = try await console.get(client, "/console?notice=" + encoded, cookie: cookie)
            // verify
            for html in [next.body, user.body, notice.html] {
                #expect(!html.contains("<script>"), "\(html.prefix(2_000))")
                #expect(html.contains("&quot;&gt;&lt;script&gt;"), "quotes are escaped too: no way out of an attribute")
            }
        }
    }

    // MARK: Chat tokens

    @Test func consoleChatTokensAreRateLimitedPerUser() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let room = try await callAPI(client, "/CreateRoom", body: ["name": "busy"], clock: clock)
            let id = try #require(room["id"] as? String)
            let admin = try await console.signIn(client)
            try await console.createUser(client, cookie: admin, name: "mona", role: "moderator")
            let mona = try await console.signIn(client, user: "mona", password: "password-of-mona")
            let csrf = try console.csrf(in: try await console.get(client, "/console/rooms/\(id)", cookie: admin).html)
            // act: eleven tokens within one second, through both endpoints
            var statuses: [HTTPResponse.Status] = []
            for _ in 1...5 {
                statuses.append(
                    try await console.post(
                        client, "/console/rooms/\(id)/test-token", cookie: admin, [("csrf", csrf), ("userId", "me")]
                    ).status)
            }
            for _ in 1...6 {
                statuses.append(
                    try await ChatTokenEndpointTests().requestToken(client, cookie: admin, body: ["roomIdentifier": id, "userId": "me"])
                        .status)
            }
            let otherUser = try await ChatTokenEndpointTests().requestToken(
                client, cookie: mona, body: ["roomIdentifier": id, "userId": "mona"])
            clock.advance(by: 1)
            let later = try await ChatTokenEndpointTests().requestToken(
                client, cookie: admin, body: ["roomIdentifier": id, "userId": "me"])
            // verify
            #expect(statuses == Array(repeating: .ok, count: 10) + [.tooManyRequests])
            #expect(otherUser.status == .ok, "each user has their own allowance")
            #expect(later.status == .ok)
        }
    }

    // MARK: Headers, errors, assets

    @Test func everyAnswerCarriesTheSecurityHeaders() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let answers = [
                ("chatterbox", try await send(client, "/assets/examples/chatterbox.html")),
                ("console.js", try await send(client, "/assets/console.js")),
                ("missing asset", try await send(client, "/assets/nothing-here.html")),
                ("missing console page", try await send(client, "/console/nothing-here")),
                ("health", try await send(client, "/health")),
                ("API error", try await send(client, "/ListRooms", method: .post, body: "{}")),
                ("sign-in", try await send(client, "/console/sign-in")),
            ]
            // verify
            for (name, answer) in answers {
                let policy = answer.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                #expect(policy.contains("frame-ancestors 'none'"), "\(name)")
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "\(name)")
                #expect(answer.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(name)")
                #expect(answer.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(name)")
                #expect(answer.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin", "\(name)")
                #expect(answer.headers[HTTPField.Name("Strict-Transport-Security")!] == nil, "\(name): plain HTTP")
            }
            #expect(answers[0].1.status == .ok)
            #expect(answers[0].1.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(answers[1].1.headers[.contentType]?.hasPrefix("text/javascript") == true)
        }
    }

    @Test func staticAssetsStayInsideThePublicDirectory() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act
            let escapes = [
                "/assets/../Package.swift", "/assets/%2e%2e/Package.swift", "/assets/..%2fPackage.swift",
                "/assets/examples/../../README.md",
            ]
            for path in escapes {
                let answer = try await send(client, path)
                // verify
                #expect(answer.status == .badRequest || answer.status == .notFound, "\(path): \(answer.status)")
                #expect(!answer.body.contains("PackageDescription") && !answer.body.contains("# Parley"), "\(path)")
            }
        }
    }

    @Test func crossOriginRequestsAreNeverGranted() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // act: the preflight a page on another site would need before sending X-Parley-CSRF or calling the API
            let preflights = [
                try await send(
                    client, "/console/chat-token", method: .options,
                    headers: [
                        ("Origin", "https://attacker.example"), ("Access-Control-Request-Method", "POST"),
                        ("Access-Control-Request-Headers", "x-parley-csrf,content-type"),
                    ]),
                try await send(
                    client, "/CreateChatToken", method: .options,
                    headers: [("Origin", "https://attacker.example"), ("Access-Control-Request-Method", "POST")]),
                try await send(client, "/console/sign-in", headers: [("Origin", "https://attacker.example")]),
            ]
            // verify
            for answer in preflights {
                #expect(answer.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil)
                #expect(answer.headers[HTTPField.Name("Access-Control-Allow-Headers")!] == nil)
                #expect(answer.headers[HTTPField.Name("Access-Control-Allow-Credentials")!] == nil)
            }
        }
    }

    @Test func oversizedBodiesAreRefusedWithoutInternals() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            let cookie = try await console.signIn(client)
            let csrf = try console.csrf(in: try await console.get(client, "/console", cookie: cookie).html)
            let huge = String(repeating: "a", count: 2 << 20)
            // act
            let api = try await callAPI(client, "/CreateRoom", rawBody: #"{"name":""# + huge + #""}"#, clock: clock)
            let form = try await console.post(client, "/console/rooms", cookie: cookie, [("csrf", csrf), ("name", huge)])
            let token = try await send(
                client, "/console/chat-token", method: .post,
                headers: [("Cookie", cookie), ("Content-Type", "application/json")] + ChatTokenEndpointTests.sameOrigin,
                body: #"{"userId":""# + String(repeating: "a", count: 100_000) + #""}"#)
            // verify
            #expect(api.status == .badRequest)
            #expect(api.errorType == "ValidationException")
            #expect((api["message"] as? String)?.contains("too large") == true)
            #expect(form.status == .contentTooLarge)
            #expect(token.status == .contentTooLarge)
            #expect(token.json["error"] != nil)
            for body in [String(describing: api.json), form.html, token.body] {
                #expect(!body.contains("NIO") && !body.contains("Error(") && !body.contains(".swift"), "\(body.prefix(500))")
            }
        }
    }

    @Test func theMetricsEndpointNeedsTheTokenOrAnUnforwardedLocalClient() async throws {
        let open = try await buildApplication(testSettings(), clock: clock)
        try await open.test(.live) { client in
            // act
            let local = try await send(client, "/metrics")
            let forwarded = try await send(client, "/metrics", headers: [("X-Forwarded-For", "203.0.113.9")])
            // verify
            #expect(local.status == .ok)
            #expect(forwarded.status == .forbidden, "a proxy on this host forwards other people's requests")
        }
        let guarded = try await buildApplication(testSettings { $0.metricsToken = "metrics-token-0123" }, clock: clock)
        try await guarded.test(.live) { client in
            let right = try await send(client, "/metrics", headers: [("Authorization", "Bearer metrics-token-0123")])
            let wrong = try await send(client, "/metrics", headers: [("Authorization", "Bearer metrics-token-0124")])
            let prefix = try await send(client, "/metrics", headers: [("Authorization", "Bearer metrics-token-012")])
            #expect(right.status == .ok)
            #expect(wrong.status == .unauthorized)
            #expect(prefix.status == .unauthorized)
        }
    }

    // MARK: Audit

    @Test func signInsFailuresAndSignOutsAreAudited() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.router) { client in
            // setup
            _ = try await postSignIn(client, password: "wrong")
            let first = try await console.signIn(client)
            _ = try await signOut(client, cookie: first)
            let cookie = try await console.signIn(client)
            // act
            let audit = try await console.get(client, "/console/audit", cookie: cookie)
            // verify
            for action in ["SignInFailed", "SignIn", "SignOut"] {
                #expect(audit.html.contains(#"<td class="mono">\#(action)</td>"#), "the audit log lacks \(action)")
            }
            #expect(!audit.html.contains("wrong"), "passwords are never recorded")
        }
    }
}
