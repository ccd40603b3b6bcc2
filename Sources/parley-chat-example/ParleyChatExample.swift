import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import ParleyChat

/// A terminal chat on ParleyChat: lines typed are sent; messages and moderation events are printed.
@main
struct ParleyChatExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-chat-example",
        abstract: "A tiny terminal chat client for Parley (or Amazon IVS Chat).",
        discussion: """
            Type a line to send it. Commands: /delete MESSAGE_ID [reason], /kick USER_ID [reason], /quit.
            Tokens come from a token endpoint (POST {roomIdentifier, userId, capabilities}, answered with a
            CreateChatToken JSON; a fresh token on every reconnection): by default Parley's console endpoint, after
            signing in with --console-user; or, for one connection only, from --token.
            """)

    @Option(help: "The messaging endpoint, e.g. ws://127.0.0.1:8080.")
    var url: String

    @Option(help: "The room's ARN or id, sent to the token endpoint.")
    var room: String?

    @Option(help: "Your user id, sent to the token endpoint.")
    var user = "swift-\(Int.random(in: 1000...9999))"

    @Option(help: "A capability to ask for (repeatable): SEND_MESSAGE, DELETE_MESSAGE, DISCONNECT_USER.")
    var capability: [String] = ["SEND_MESSAGE"]

    @Option(help: "Sign in to the console as this user (a moderator) to use its token endpoint.")
    var consoleUser: String?

    @Option(help: "The console user's password (default: $PARLEY_CONSOLE_PASSWORD).")
    var consolePassword: String?

    @Option(help: "The URL that issues tokens (default: the console's /console/chat-token on --url's host).")
    var tokenEndpoint: String?

    @Option(help: "A Cookie header for the token endpoint, instead of signing in (e.g. parley_session=...).")
    var cookie: String?

    @Option(help: "An extra 'Name: value' header for the token endpoint (repeatable).")
    var header: [String] = []

    @Option(help: "A chat token to use as is, instead of a token endpoint (it works for one connection only).")
    var token: String?

    func validate() throws {
        guard let url = URL(string: url), url.scheme == "ws" || url.scheme == "wss" else {
            throw ValidationError("--url must be ws:// or wss://.")
        }
        if token == nil, room == nil { throw ValidationError("Give --room (and a way to get tokens), or --token.") }
    }

    func run() async throws {
        let chatRoom = ChatRoom(url: URL(string: url)!, tokenProvider: try await tokenProvider())
        let states = chatRoom.state
        let messages = chatRoom.messages
        let events = chatRoom.events
        let deleted = chatRoom.deletedMessages
        let kicked = chatRoom.disconnectedUsers
        Task {
            for await message in messages { print("[\(message.id)] \(message.sender.userId): \(message.content)") }
        }
        Task { for await event in events { print("* event \(event.eventName) \(event.attributes ?? [:])") } }
        Task { for await event in deleted { print("* message \(event.messageID) deleted \(event.reason.map { "(\($0))" } ?? "")") } }
        Task { for await event in kicked { print("* \(event.userId) was disconnected \(event.reason.map { "(\($0))" } ?? "")") } }
        Task {
            for await state in states {
                switch state {
                case .connecting: print("… connecting")
                case .connected: print("… connected")
                case .disconnected(let reason):
                    if let reason {
                        print("… disconnected (\(reason.rawValue))")
                        Foundation.exit(reason == .clientDisconnect ? 0 : 1)
                    }
                }
            }
        }
        try await chatRoom.connect()
        print("Type a message and press return. /delete ID, /kick USER, /quit.")
        for await line in Self.standardInputLines() {
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            do {
                switch words.first {
                case "/quit":
                    chatRoom.disconnect()
                    try await Task.sleep(for: .seconds(2))
                    return
                case "/delete" where words.count >= 2:
                    try await chatRoom.perform(request: DeleteMessageRequest(id: words[1], reason: words.count > 2 ? words[2] : nil))
                case "/kick" where words.count >= 2:
                    try await chatRoom.perform(request: DisconnectUserRequest(id: words[1], reason: words.count > 2 ? words[2] : nil))
                default:
                    guard !line.isEmpty else { continue }
                    try await chatRoom.perform(request: SendMessageRequest(content: line))
                }
            } catch let error as ChatError {
                print("! \(error.errorCode): \(error.errorMessage)")
            }
        }
        chatRoom.disconnect()
    }

    /// Where tokens come from: the token endpoint (signing in to the console first if asked), or the one token given.
    func tokenProvider() async throws -> @Sendable () async throws -> ChatToken {
        if let token { return { ChatToken(token: token) } }
        let messaging = URL(string: url)!
        let site =
            "\(messaging.scheme == "wss" ? "https" : "http")://\(messaging.host ?? "127.0.0.1")\(messaging.port.map { ":\($0)" } ?? "")"
        let endpoint = tokenEndpoint ?? site + "/console/chat-token"
        let http = Self.http
        var cookie = self.cookie
        if let consoleUser {
            cookie = try await Self.signIn(
                http, site: site, user: consoleUser,
                password: consolePassword ?? ProcessInfo.processInfo.environment["PARLEY_CONSOLE_PASSWORD"] ?? "")
        }
        // The console's endpoint wants its CSRF header and this server's Origin; other backends ignore them.
        var headers = [("Content-Type", "application/json"), ("X-Parley-CSRF", "1"), ("Origin", Self.origin(of: endpoint))]
        if let cookie { headers.append(("Cookie", cookie)) }
        for line in header {
            guard let colon = line.firstIndex(of: ":") else { throw ValidationError("--header takes 'Name: value'.") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let body = try JSONSerialization.data(withJSONObject: ["roomIdentifier": room!, "userId": user, "capabilities": capability])
        return { [headers] in
            var request = HTTPClientRequest(url: endpoint)
            request.method = .POST
            for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
            request.body = .bytes(body)
            let response = try await http.execute(request, timeout: .seconds(10))
            let data = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else {
                throw ValidationError("The token endpoint answered \(response.status): \(String(buffer: data))")
            }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .preciseISO8601
            return try decoder.decode(ChatToken.self, from: Data(buffer: data))
        }
    }

    /// The HTTP client for the token endpoint; it lives as long as the program. Redirects are not followed, so that
    /// the sign-in's cookie can be read.
    static let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    /// Signs in to the console; returns the session cookie.
    static func signIn(_ http: HTTPClient, site: String, user: String, password: String) async throws -> String {
        var request = HTTPClientRequest(url: site + "/console/sign-in")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let form = [("user", user), ("password", password)].map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        }
        request.body = .bytes(ByteBuffer(string: form.joined(separator: "&")))
        let response = try await http.execute(request, timeout: .seconds(10))
        guard let setCookie = response.headers["Set-Cookie"].first(where: { $0.hasPrefix("parley_session=") }),
            let cookie = setCookie.split(separator: ";").first
        else { throw ValidationError("Signing in to the console as \(user) failed (\(response.status)).") }
        return String(cookie)
    }

    /// `http://host:port` of a URL.
    static func origin(of address: String) -> String {
        guard let url = URL(string: address), let scheme = url.scheme, let host = url.host else { return "null" }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
    }

    /// Lines typed on standard input, read on a thread of their own.
    static func standardInputLines() -> AsyncStream<String> {
        AsyncStream { continuation in
            Thread.detachNewThread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
        }
    }
}
