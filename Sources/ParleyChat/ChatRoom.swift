import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers

/// A connection to one chat room of Parley (or Amazon IVS Chat) over its WebSocket messaging API.
///
/// ```swift
/// let room = ChatRoom(url: URL(string: "ws://127.0.0.1:8080")!, tokenProvider: backend.fetchChatToken)
/// let messages = room.messages          // subscribe before connecting so that nothing is missed
/// try await room.connect()
/// let sent = try await room.perform(request: SendMessageRequest(content: "hello"))
/// for await message in messages { print(message.sender.userId, message.content) }
/// ```
///
/// The room asks its token provider for a fresh token each time it connects. When the connection is lost (a socket
/// failure, the server closing it, the session's end) it reconnects with a new token, up to ``maxReconnectAttempts``
/// times in a row with ``ReconnectBackoff`` between attempts (at once when the session ended); a user disconnected by a
/// moderator is not reconnected.
/// Dropping the last reference to the room disconnects it.
public final class ChatRoom: Sendable {
    /// The room's connection state.
    public enum State: Sendable, Equatable {
        /// Fetching a token or opening the socket (also while reconnecting).
        case connecting
        /// Connected: requests can be performed.
        case connected
        /// Not connected; `reason` is nil before the first connection.
        case disconnected(reason: DisconnectReason?)
    }

    /// Why the room is disconnected.
    public enum DisconnectReason: String, Sendable, Equatable {
        /// ``ChatRoom/disconnect()`` was called.
        case clientDisconnect
        /// The server closed the connection: a moderator disconnected the user, or the server kept closing it.
        case serverDisconnect
        /// The socket failed or could not be opened.
        case socketError
        /// The token provider threw.
        case fetchTokenError
    }

    /// The messaging endpoint.
    public let url: URL
    /// How many times in a row the room tries to reconnect after losing its connection.
    public let maxReconnectAttempts: Int
    private let engine: RoomEngine

    /// Creates a room that connects to `url` with tokens from `tokenProvider`.
    /// - Parameters:
    ///   - url: the messaging endpoint, `ws://` or `wss://` (Parley's own address, path `/`).
    ///   - tokenProvider: fetches a fresh ``ChatToken`` each time the room connects.
    ///   - maxReconnectAttempts: reconnection attempts in a row after a lost connection (default 3).
    ///   - backoff: the wait before each attempt (default ``ReconnectBackoff/exponential``).
    ///   - logger: where the socket logs; silent by default.
    public convenience init(
        url: URL, tokenProvider: any ChatTokenProvider, maxReconnectAttempts: Int = 3, backoff: ReconnectBackoff = .exponential,
        logger: Logger? = nil
    ) {
        self.init(
            url: url, tokenProvider: { try await tokenProvider.getChatToken() }, maxReconnectAttempts: maxReconnectAttempts,
            backoff: backoff, logger: logger)
    }

    /// Creates a room that connects to `url` with tokens from an async function.
    /// - Parameters:
    ///   - url: the messaging endpoint, `ws://` or `wss://` (Parley's own address, path `/`).
    ///   - tokenProvider: fetches a fresh ``ChatToken`` each time the room connects.
    ///   - maxReconnectAttempts: reconnection attempts in a row after a lost connection (default 3).
    ///   - backoff: the wait before each attempt (default ``ReconnectBackoff/exponential``).
    ///   - logger: where the socket logs; silent by default.
    public init(
        url: URL, tokenProvider: @escaping @Sendable () async throws -> ChatToken, maxReconnectAttempts: Int = 3,
        backoff: ReconnectBackoff = .exponential, logger: Logger? = nil
    ) {
        self.url = url
        self.maxReconnectAttempts = max(0, maxReconnectAttempts)
        var address = url.absoluteString
        if url.path.isEmpty, url.query == nil { address += "/" }
        engine = RoomEngine(
            url: address, tokenProvider: tokenProvider, maxReconnectAttempts: self.maxReconnectAttempts, backoff: backoff,
            logger: logger ?? Logger(label: "ParleyChat", factory: { _ in SwiftLogNoOpLogHandler() }))
        engine.setRoom(self)
    }

    /// Creates a room on Amazon IVS Chat's messaging endpoint of `awsRegion`, as the IVS SDK does.
    public convenience init(
        awsRegion: String, tokenProvider: @escaping @Sendable () async throws -> ChatToken, maxReconnectAttempts: Int = 3
    ) {
        self.init(
            url: URL(string: "wss://edge.ivschat.\(awsRegion).amazonaws.com/")!, tokenProvider: tokenProvider,
            maxReconnectAttempts: maxReconnectAttempts)
    }

    deinit {
        engine.shutDown()
    }

    /// Receives the room's deliveries and state changes (held weakly), on the room's own task: hop to the main actor
    /// yourself to touch UI.
    public var delegate: (any ChatRoomDelegate)? {
        get { engine.delegate }
        set { engine.delegate = newValue }
    }

    /// The state now.
    public var currentState: State { engine.currentState }

    /// The state, starting with the current one, then every change. Each access is a new subscription.
    public var state: AsyncStream<State> { engine.states() }

    /// Chat messages delivered from now on (the user's own included). Each access is a new subscription: subscribe
    /// before ``connect()`` so that nothing is missed.
    public var messages: AsyncStream<ChatMessage> { engine.messageStream.subscribe() }

    /// Custom events (the control plane's `SendEvent`) delivered from now on.
    public var events: AsyncStream<ChatEvent> { engine.eventStream.subscribe() }

    /// Messages deleted by moderators from now on.
    public var deletedMessages: AsyncStream<DeletedMessageEvent> { engine.deletedMessageStream.subscribe() }

    /// Users disconnected by moderators from now on.
    public var disconnectedUsers: AsyncStream<DisconnectUserEvent> { engine.disconnectedUserStream.subscribe() }

    /// Connects, fetching a token from the provider; returns once connected (at once if already connected).
    /// - Throws: ``ChatConnectionError`` if the token could not be fetched or the socket could not be opened.
    public func connect() async throws {
        try await engine.connect()
    }

    /// Disconnects (closing the socket cleanly) and stops reconnecting; the state becomes
    /// `.disconnected(reason: .clientDisconnect)`.
    public func disconnect() {
        engine.disconnect()
    }

    /// Sends `request` and waits for the delivery carrying its request id back.
    ///
    /// `SendMessageRequest` returns the ``ChatMessage``, `DeleteMessageRequest` the ``DeletedMessageEvent`` and
    /// `DisconnectUserRequest` the ``DisconnectUserEvent``. Whether the user may do it is the server's decision.
    /// - Throws: ``ChatError``: the server's answer (`forbidden` without the capability, `invalidParameter`,
    ///   `tooManyRequests`, …), or `notConnected`.
    @discardableResult
    public func perform<Request: ChatRequest>(request: Request) async throws -> Request.Response {
        try await engine.perform(request)
    }
}

/// Why ``ChatRoom/connect()`` failed.
public struct ChatConnectionError: Error, CustomStringConvertible {
    /// The state's disconnect reason.
    public var reason: ChatRoom.DisconnectReason
    /// What failed: the token provider's error, the socket's, or a ``ChatError``.
    public var underlyingError: (any Error)?

    /// Creates a connection error.
    public init(reason: ChatRoom.DisconnectReason, underlyingError: (any Error)? = nil) {
        self.reason = reason
        self.underlyingError = underlyingError
    }

    /// `Could not connect (fetchTokenError): …`.
    public var description: String {
        "Could not connect (\(reason.rawValue))" + (underlyingError.map { ": \($0)" } ?? "")
    }
}

/// Told about a room's deliveries and connection changes; every method has an empty default.
///
/// Methods are called on the room's own task, in order.
public protocol ChatRoomDelegate: AnyObject, Sendable {
    /// A chat message was delivered.
    func room(_ room: ChatRoom, didReceive message: ChatMessage)
    /// A custom event was delivered.
    func room(_ room: ChatRoom, didReceive event: ChatEvent)
    /// A moderator deleted a message.
    func room(_ room: ChatRoom, didDelete message: DeletedMessageEvent)
    /// A moderator disconnected a user.
    func room(_ room: ChatRoom, didDisconnect user: DisconnectUserEvent)
    /// The room is fetching a token or opening its socket.
    func roomIsConnecting(_ room: ChatRoom)
    /// The room is connected.
    func roomDidConnect(_ room: ChatRoom)
    /// The room is disconnected (``ChatRoom/currentState`` carries the reason).
    func roomDidDisconnect(_ room: ChatRoom)
}

extension ChatRoomDelegate {
    /// Does nothing.
    public func room(_ room: ChatRoom, didReceive message: ChatMessage) {}
    /// Does nothing.
    public func room(_ room: ChatRoom, didReceive event: ChatEvent) {}
    /// Does nothing.
    public func room(_ room: ChatRoom, didDelete message: DeletedMessageEvent) {}
    /// Does nothing.
    public func room(_ room: ChatRoom, didDisconnect user: DisconnectUserEvent) {}
    /// Does nothing.
    public func roomIsConnecting(_ room: ChatRoom) {}
    /// Does nothing.
    public func roomDidConnect(_ room: ChatRoom) {}
    /// Does nothing.
    public func roomDidDisconnect(_ room: ChatRoom) {}
}

/// The room's machinery, apart from the `ChatRoom` object so that dropping the room can stop it.
final class RoomEngine: Sendable {
    enum Outgoing: Sendable {
        case text(String)
        case close
    }

    /// How one socket ended.
    enum Ending {
        case clientClosed
        case kicked
        case serverClosed(WebSocketCloseFrame)
        case failed(any Error)
    }

    struct Inner: Sendable {
        var state: ChatRoom.State = .disconnected(reason: nil)
        weak var delegate: (any ChatRoomDelegate)?
        weak var room: ChatRoom?
        var running: Task<Void, Never>?
        var disconnectRequested = false
        var outgoing: AsyncStream<Outgoing>.Continuation?
        var pending: [String: CheckedContinuation<ChatDelivery, any Error>] = [:]
        var connectWaiters: [CheckedContinuation<Void, any Error>] = []
    }

    let url: String
    let tokenProvider: @Sendable () async throws -> ChatToken
    let maxReconnectAttempts: Int
    let backoff: ReconnectBackoff
    let logger: Logger
    let maxFrameSize = 1 << 16
    let inner = NIOLockedValueBox(Inner())
    let stateStream = Broadcaster<ChatRoom.State>()
    let messageStream = Broadcaster<ChatMessage>()
    let eventStream = Broadcaster<ChatEvent>()
    let deletedMessageStream = Broadcaster<DeletedMessageEvent>()
    let disconnectedUserStream = Broadcaster<DisconnectUserEvent>()

    init(
        url: String, tokenProvider: @escaping @Sendable () async throws -> ChatToken, maxReconnectAttempts: Int,
        backoff: ReconnectBackoff, logger: Logger
    ) {
        self.url = url
        self.tokenProvider = tokenProvider
        self.maxReconnectAttempts = maxReconnectAttempts
        self.backoff = backoff
        self.logger = logger
    }

    func setRoom(_ room: ChatRoom) {
        inner.withLockedValue { $0.room = room }
    }

    var delegate: (any ChatRoomDelegate)? {
        get { inner.withLockedValue { $0.delegate } }
        set { inner.withLockedValue { $0.delegate = newValue } }
    }

    var currentState: ChatRoom.State { inner.withLockedValue { $0.state } }

    func states() -> AsyncStream<ChatRoom.State> {
        inner.withLockedValue { stateStream.subscribe(initial: $0.state) }
    }

    private var disconnectRequested: Bool { inner.withLockedValue { $0.disconnectRequested } }

    // MARK: Connecting

    func connect() async throws {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            inner.withLockedValue { inner in
                if case .connected = inner.state {
                    waiter.resume()
                    return
                }
                inner.connectWaiters.append(waiter)
                if inner.running == nil {
                    inner.disconnectRequested = false
                    inner.running = Task { await self.run() }
                }
            }
        }
    }

    func disconnect() {
        inner.withLockedValue { inner in
            guard let running = inner.running else { return }
            inner.disconnectRequested = true
            if let outgoing = inner.outgoing {
                outgoing.yield(.close)
            } else {
                running.cancel()
            }
        }
    }

    func shutDown() {
        disconnect()
        for stream in [messageStream, eventStream, deletedMessageStream, disconnectedUserStream] as [any Finishable] {
            stream.finish()
        }
        stateStream.finish()
    }

    /// Connects, then reconnects as long as it should; ends in a disconnected state.
    private func run() async {
        var failures = 0
        var everConnected = false
        while true {
            if disconnectRequested { return finish(.clientDisconnect, nil) }
            transition(to: .connecting)
            let token: ChatToken
            do {
                token = try await tokenProvider()
            } catch {
                if disconnectRequested { return finish(.clientDisconnect, nil) }
                logger.debug("Chat token fetch failed", metadata: ["error": "\(error)"])
                if await retry(&failures, everConnected: everConnected) { continue }
                return finish(.fetchTokenError, error)
            }
            if disconnectRequested { return finish(.clientDisconnect, nil) }
            let (connected, ending) = await openSocket(token)
            if connected {
                everConnected = true
                failures = 0
            }
            failPendingRequests()
            let reason: ChatRoom.DisconnectReason
            let error: (any Error)?
            var wait = true
            switch ending {
            case .clientClosed:
                return finish(.clientDisconnect, nil)
            case .kicked:
                return finish(.serverDisconnect, nil)
            case .serverClosed(let frame):
                logger.debug(
                    "Chat connection closed by the server", metadata: ["code": "\(frame.closeCode)", "reason": "\(frame.reason ?? "")"])
                (reason, error) = (.serverDisconnect, Self.closeError(frame))
                // The session ended (401): a fresh token is all it takes, so reconnect at once.
                wait = Self.closeError(frame)?.errorCode != .unauthorized
            case .failed(let failure):
                logger.debug("Chat connection failed", metadata: ["error": "\(failure)"])
                (reason, error) = (.socketError, failure)
            }
            if disconnectRequested { return finish(.clientDisconnect, nil) }
            if await retry(&failures, everConnected: everConnected, wait: wait) { continue }
            return finish(reason, error)
        }
    }

    /// Whether to try again; waits the backoff first (unless told not to). Only a room that has been connected reconnects.
    private func retry(_ failures: inout Int, everConnected: Bool, wait: Bool = true) async -> Bool {
        guard everConnected, failures < maxReconnectAttempts else { return false }
        failures += 1
        if wait { try? await backoff.sleep(backoff.delay(failures)) }
        return true
    }

    /// Opens one socket and runs it until it closes; says whether it was ever open, and how it ended.
    private func openSocket(_ token: ChatToken) async -> (connected: Bool, ending: Ending) {
        let opened = NIOLockedValueBox(false)
        var configuration = WebSocketClientConfiguration(maxFrameSize: maxFrameSize)
        configuration.additionalHeaders[.secWebSocketProtocol] = token.token
        let client = WebSocketClient(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
            let (outgoing, continuation) = AsyncStream.makeStream(of: Outgoing.self)
            guard self.didOpen(continuation) else {
                try await outbound.close(.normalClosure, reason: nil)
                for try await _ in inbound.messages(maxSize: self.maxFrameSize) {}
                return
            }
            opened.withLockedValue { $0 = true }
            defer { self.didClose() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await item in outgoing {
                        switch item {
                        case .text(let text):
                            try await outbound.write(.text(text))
                        case .close:
                            try await outbound.close(.normalClosure, reason: nil)
                            return
                        }
                    }
                }
                defer {
                    continuation.finish()
                    group.cancelAll()
                }
                for try await message in inbound.messages(maxSize: self.maxFrameSize) {
                    if case .text(let text) = message { self.receive(text) }
                }
            }
        }
        let ending: Ending
        do {
            if let frame = try await client.run() {
                if disconnectRequested {
                    ending = .clientClosed
                } else if Self.closeError(frame)?.errorCode == .forbidden {
                    ending = .kicked
                } else {
                    ending = .serverClosed(frame)
                }
            } else {
                ending = disconnectRequested ? .clientClosed : .failed(ChatError.notConnected("The connection was lost."))
            }
        } catch {
            ending = disconnectRequested ? .clientClosed : .failed(error)
        }
        return (opened.withLockedValue { $0 }, ending)
    }

    /// The `{"ErrorCode","ErrorMessage"}` a server close reason carries, if any.
    static func closeError(_ frame: WebSocketCloseFrame) -> ChatError? {
        struct Reason: Decodable {
            var ErrorCode: Int
            var ErrorMessage: String?
        }
        guard let text = frame.reason, let reason = try? JSONDecoder().decode(Reason.self, from: Data(text.utf8)) else { return nil }
        return ChatError(errorCode: ChatError.Code(serverCode: reason.ErrorCode), errorMessage: reason.ErrorMessage ?? "")
    }

    /// The socket is open: become connected, unless a disconnect came first.
    private func didOpen(_ outgoing: AsyncStream<Outgoing>.Continuation) -> Bool {
        let waiters = inner.withLockedValue { inner -> [CheckedContinuation<Void, any Error>]? in
            guard !inner.disconnectRequested else { return nil }
            inner.outgoing = outgoing
            defer { inner.connectWaiters = [] }
            return inner.connectWaiters
        }
        guard let waiters else { return false }
        transition(to: .connected)
        for waiter in waiters { waiter.resume() }
        return true
    }

    private func didClose() {
        inner.withLockedValue { $0.outgoing = nil }
    }

    /// Ends the run in a disconnected state; a `connect()` still waiting learns why.
    private func finish(_ reason: ChatRoom.DisconnectReason, _ error: (any Error)?) {
        let waiters = inner.withLockedValue { inner in
            inner.running = nil
            inner.outgoing = nil
            defer { inner.connectWaiters = [] }
            return inner.connectWaiters
        }
        failPendingRequests()
        transition(to: .disconnected(reason: reason))
        for waiter in waiters { waiter.resume(throwing: ChatConnectionError(reason: reason, underlyingError: error)) }
    }

    private func transition(to state: ChatRoom.State) {
        let (delegate, room) = inner.withLockedValue { inner in
            inner.state = state
            stateStream.yield(state)
            return (inner.delegate, inner.room)
        }
        guard let delegate, let room else { return }
        switch state {
        case .connecting: delegate.roomIsConnecting(room)
        case .connected: delegate.roomDidConnect(room)
        case .disconnected: delegate.roomDidDisconnect(room)
        }
    }

    // MARK: Frames

    private func receive(_ text: String) {
        switch InboundFrame.read(text) {
        case .delivery(let delivery):
            let (delegate, room) = inner.withLockedValue { ($0.delegate, $0.room) }
            switch delivery {
            case .message(let message):
                if let delegate, let room { delegate.room(room, didReceive: message) }
                messageStream.yield(message)
            case .event(let event):
                if let delegate, let room { delegate.room(room, didReceive: event) }
                eventStream.yield(event)
            case .deletedMessage(let event):
                if let delegate, let room { delegate.room(room, didDelete: event) }
                deletedMessageStream.yield(event)
            case .disconnectedUser(let event):
                if let delegate, let room { delegate.room(room, didDisconnect: event) }
                disconnectedUserStream.yield(event)
            }
            if let requestId = delivery.requestId, let waiter = takePending(requestId) {
                waiter.resume(returning: delivery)
            }
        case .error(let error):
            if let requestId = error.requestId, let waiter = takePending(requestId) {
                waiter.resume(throwing: error)
            } else {
                logger.debug("Chat error frame", metadata: ["error": "\(error)"])
            }
        case .unknown:
            logger.debug("Unrecognised chat frame", metadata: ["frame": "\(text)"])
        }
    }

    private func takePending(_ requestId: String) -> CheckedContinuation<ChatDelivery, any Error>? {
        inner.withLockedValue { $0.pending.removeValue(forKey: requestId) }
    }

    private func failPendingRequests() {
        let pending = inner.withLockedValue { inner in
            defer { inner.pending = [:] }
            return inner.pending
        }
        for (requestId, waiter) in pending {
            waiter.resume(throwing: ChatError.notConnected("The connection closed before the server answered.", requestId: requestId))
        }
    }

    // MARK: Requests

    func perform<Request: ChatRequest>(_ request: Request) async throws -> Request.Response {
        let requestId = UUID().uuidString
        let text = try request.encodeFrame(requestId: requestId)
        let delivery = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<ChatDelivery, any Error>) in
                let refusal = inner.withLockedValue { inner -> (any Error)? in
                    guard !Task.isCancelled else { return CancellationError() }
                    guard case .connected = inner.state, let outgoing = inner.outgoing else {
                        return ChatError.notConnected("The room is not connected.", requestId: requestId)
                    }
                    inner.pending[requestId] = waiter
                    outgoing.yield(.text(text))
                    return nil
                }
                if let refusal { waiter.resume(throwing: refusal) }
            }
        } onCancel: {
            takePending(requestId)?.resume(throwing: CancellationError())
        }
        guard let response = request.response(from: delivery) else {
            throw ChatError(
                errorCode: .other(0), errorMessage: "The server answered the request with an unexpected delivery.", requestId: requestId)
        }
        return response
    }
}

/// Anything that can end its subscribers' streams.
protocol Finishable {
    func finish()
}

extension Broadcaster: Finishable {}
