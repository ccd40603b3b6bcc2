import AWSSigV4
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ParleyApp
import ParleyChat
import ParleyDomain

/// The access key the test servers start with.
let testCredentials = SigV4Credentials(accessKeyID: "AKIDPARLEYCHAT", secretAccessKey: "chat-test-secret-0123456789")

/// A real Parley server on a real socket (port 0), with a clock the test moves.
struct TestServer: Sendable {
    let client: any TestClientProtocol
    let clock: ManualWallClock

    /// Builds the application from in-memory settings and runs `body` against it, live.
    static func run(
        clock: ManualWallClock = ManualWallClock(Date()), configure: @Sendable (inout ParleySettings) -> Void = { _ in },
        _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        var settings = ParleySettings()
        settings.dataDirectory = nil
        settings.port = 0
        settings.adminAccessKey = (testCredentials.accessKeyID, testCredentials.secretAccessKey)
        settings.adminPassword = "admin-password-for-chat-tests"
        settings.bcryptCost = 4
        configure(&settings)
        let app = try await buildApplication(settings, clock: clock, output: { _ in })
        try await app.test(.live) { client in
            try await body(TestServer(client: client, clock: clock))
        }
    }

    /// The messaging endpoint.
    var url: URL { URL(string: "ws://127.0.0.1:\(client.port!)/")! }

    /// Calls the control-plane API, SigV4-signed at the server clock's time; returns the status and the body.
    func call(_ target: String, _ body: [String: Any]) async throws -> (status: HTTPResponse.Status, body: Data) {
        let bytes = try JSONSerialization.data(withJSONObject: body)
        var headers: HTTPFields = [.contentType: "application/json"]
        let signable = SignableRequest(
            method: "POST", target: target, headers: [("host", "localhost"), ("content-type", "application/json")], body: bytes)
        for (name, value) in SigV4Signer(credentials: testCredentials, region: "us-east-1", service: "ivschat")
            .signatureHeaders(for: signable, at: clock.now())
        {
            headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        let response = try await client.execute(uri: target, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
        return (response.status, Data(buffer: response.body))
    }

    /// Creates a room; returns its ARN.
    func createRoom(_ members: [String: Any] = [:]) async throws -> String {
        let (status, body) = try await call("/CreateRoom", members)
        guard status == .ok, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any], let arn = json["arn"] as? String
        else { throw TestFailure("CreateRoom answered \(status): \(String(decoding: body, as: UTF8.self))") }
        return arn
    }

    /// A chat token, decoded from the `CreateChatToken` response as an app would.
    func token(room arn: String, user: String, capabilities: [String] = ["SEND_MESSAGE"], sessionMinutes: Int = 60) async throws
        -> ChatToken
    {
        let (status, body) = try await call(
            "/CreateChatToken",
            ["roomIdentifier": arn, "userId": user, "capabilities": capabilities, "sessionDurationInMinutes": sessionMinutes])
        guard status == .ok else { throw TestFailure("CreateChatToken answered \(status): \(String(decoding: body, as: UTF8.self))") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .preciseISO8601
        return try decoder.decode(ChatToken.self, from: body)
    }

    /// A token provider for `user` that counts its calls and can be told to fail.
    func provider(room arn: String, user: String, capabilities: [String] = ["SEND_MESSAGE"], sessionMinutes: Int = 60) -> TokenSource {
        TokenSource { try await self.token(room: arn, user: user, capabilities: capabilities, sessionMinutes: sessionMinutes) }
    }

    /// A room for `user`, with tokens from a fresh ``TokenSource`` and no real waits between reconnections.
    func chatRoom(
        _ arn: String, user: String, capabilities: [String] = ["SEND_MESSAGE"], sessionMinutes: Int = 60,
        backoff: ReconnectBackoff = .immediate
    ) -> (ChatRoom, TokenSource) {
        let source = provider(room: arn, user: user, capabilities: capabilities, sessionMinutes: sessionMinutes)
        return (ChatRoom(url: url, tokenProvider: source, backoff: backoff), source)
    }
}

/// A ``ChatTokenProvider`` that counts its calls and fails once told to.
final class TokenSource: ChatTokenProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0
    private var failing = false
    private let fetch: @Sendable () async throws -> ChatToken

    init(_ fetch: @escaping @Sendable () async throws -> ChatToken) {
        self.fetch = fetch
    }

    var callCount: Int { lock.withLock { calls } }

    func failFromNowOn() { lock.withLock { failing = true } }

    func getChatToken() async throws -> ChatToken {
        let fails = lock.withLock {
            calls += 1
            return failing
        }
        if fails { throw TestFailure("the backend is down") }
        return try await fetch()
    }
}

/// Records what a ``ChatRoomDelegate`` is told.
final class DelegateRecorder: ChatRoomDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []

    var entries: [String] { lock.withLock { log } }

    private func record(_ entry: String) { lock.withLock { log.append(entry) } }

    func room(_ room: ChatRoom, didReceive message: ChatMessage) { record("message \(message.content)") }
    func room(_ room: ChatRoom, didReceive event: ChatEvent) { record("event \(event.eventName)") }
    func room(_ room: ChatRoom, didDelete message: DeletedMessageEvent) { record("deleted \(message.messageID)") }
    func room(_ room: ChatRoom, didDisconnect user: DisconnectUserEvent) { record("disconnected \(user.userId)") }
    func roomIsConnecting(_ room: ChatRoom) { record("connecting") }
    func roomDidConnect(_ room: ChatRoom) { record("connected") }
    func roomDidDisconnect(_ room: ChatRoom) { record("disconnected") }
}

/// Records the reconnection attempts a backoff was asked about; never sleeps.
final class BackoffRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Int] = []

    var attempts: [Int] { lock.withLock { recorded } }

    var backoff: ReconnectBackoff {
        ReconnectBackoff(
            delay: { attempt in
                self.lock.withLock { self.recorded.append(attempt) }
                return .milliseconds(attempt * 100)
            }, sleep: { _ in })
    }
}

extension AsyncStream where Element == ChatRoom.State {
    /// States up to and including the first that matches `last`.
    func states(until last: ChatRoom.State) async -> [ChatRoom.State] {
        var seen: [ChatRoom.State] = []
        for await state in self {
            seen.append(state)
            if state == last { break }
        }
        return seen
    }
}

extension AsyncStream.Iterator where Element == ChatRoom.State {
    /// States up to and including the first that matches `last`.
    mutating func states(until last: ChatRoom.State) async -> [ChatRoom.State] {
        var seen: [ChatRoom.State] = []
        while let state = await next() {
            seen.append(state)
            if state == last { break }
        }
        return seen
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
