import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import ParleyChat
import Synchronization

/// Which server a run measures: Parley, or nginx with the nchan module as the peer.
enum TargetKind: String, ExpressibleByArgument, Sendable {
    case parley, nchan
}

/// Where the server is and how to reach it; shared by every socket scenario.
struct TargetOptions: ParsableArguments {
    @Option(help: "parley or nchan.") var target: TargetKind = .parley
    @Option(help: "The server's host.") var host = "127.0.0.1"
    @Option(help: "The server's port (Parley: API and chat; nchan: /sub/<channel> and /pub/<channel>).") var port = 8080
    @Option(help: "Access key id for Parley's API (default: AWS_ACCESS_KEY_ID).") var accessKeyId: String?
    @Option(help: "Secret access key for Parley's API (default: AWS_SECRET_ACCESS_KEY).") var secretAccessKey: String?
    @Option(help: "Region Parley's API signs for.") var region = "us-east-1"
    @Option(help: "Process id of the server, for its RSS (repeat for several processes).") var serverPid: [Int32] = []
    @Option(help: "Spread client connections over this many source addresses 127.0.0.1…N.") var sourceAddresses = 8
    @Option(help: "Connections opened at once while setting up.") var openConcurrency = 64
    @Option(help: "Characters of padding in every message sent, to make deliveries bigger.") var padding = 0

    func makeTarget(on eventLoop: any EventLoop) -> Target {
        Target(options: self, eventLoop: eventLoop)
    }
}

/// Opens rooms, subscribers and publishers on either kind of server.
final class Target: Sendable {
    let options: TargetOptions
    let eventLoop: any EventLoop
    private let api: ParleyAPI?
    private let apiConnections = Mutex<[HTTPConnection]>([])

    init(options: TargetOptions, eventLoop: any EventLoop) {
        self.options = options
        self.eventLoop = eventLoop
        if options.target == .parley {
            let environment = ProcessInfo.processInfo.environment
            api = ParleyAPI(
                eventLoop: eventLoop, host: options.host, port: options.port,
                accessKeyID: options.accessKeyId ?? environment["AWS_ACCESS_KEY_ID"] ?? "",
                secretAccessKey: options.secretAccessKey ?? environment["AWS_SECRET_ACCESS_KEY"] ?? "", region: options.region)
        } else {
            api = nil
        }
    }

    var kind: TargetKind { options.target }

    /// The control plane; only Parley has one.
    func parleyAPI() throws -> ParleyAPI {
        guard let api else { throw ValidationError("This scenario needs --target parley.") }
        return api
    }

    /// Borrows a keep-alive API connection for one call.
    func withAPIConnection<Result>(_ body: (ParleyAPI, HTTPConnection) async throws -> Result) async throws -> Result {
        let api = try parleyAPI()
        let connection: HTTPConnection
        let pooled = apiConnections.withLock { connections -> HTTPConnection? in
            connections.removeAll { !$0.isOpen }
            return connections.popLast()
        }
        if let pooled {
            connection = pooled
        } else {
            connection = try await api.connect()
        }
        let result = try await body(api, connection)
        apiConnections.withLock { $0.append(connection) }
        return result
    }

    /// A new room (Parley) or channel (nchan).
    func makeRoom() async throws -> String {
        switch kind {
        case .parley: try await withAPIConnection { api, connection in try await api.createRoom(on: connection) }
        case .nchan: "bench\(UInt32.random(in: 0...UInt32.max))"
        }
    }

    func sourceAddress(_ index: Int) -> String? {
        options.sourceAddresses > 1 ? "127.0.0.\(1 + index % options.sourceAddresses)" : nil
    }

    /// A chat token for one user of `room` (Parley only).
    func token(room: String, user: String, capabilities: [String] = []) async throws -> String {
        try await withAPIConnection { api, connection in
            try await api.createChatToken(room: room, user: user, capabilities: capabilities, on: connection)
        }
    }

    /// Where subscriber `index` of `room` connects: Parley's gets a fresh token first, as its subprotocol.
    func subscription(room: String, index: Int) async throws -> (path: String, subprotocol: String?) {
        switch kind {
        case .parley: ("/", try await token(room: room, user: "viewer-\(index)"))
        case .nchan: ("/sub/\(room)", nil)
        }
    }

    /// Opens one subscriber.
    func subscribe(
        room: String, index: Int, receiveBufferBytes: Int? = nil, configure: @escaping (LoadSocket) -> Void
    ) async throws -> LoadSocket {
        let (path, subprotocol) = try await subscription(room: room, index: index)
        return try await openSocket(
            path: path, subprotocol: subprotocol, index: index, receiveBufferBytes: receiveBufferBytes, configure: configure)
    }

    func openSocket(
        path: String, subprotocol: String?, index: Int, receiveBufferBytes: Int? = nil, configure: @escaping (LoadSocket) -> Void
    ) async throws -> LoadSocket {
        try await LoadSocket.open(
            on: eventLoop, host: options.host, port: options.port, path: path, subprotocol: subprotocol, source: sourceAddress(index),
            receiveBufferBytes: receiveBufferBytes, configure: configure
        ).get()
    }

    /// Opens `count` subscribers, `openConcurrency` at a time.
    func subscribeAll(
        room: String, count: Int, firstIndex: Int = 0, receiveBufferBytes: Int? = nil,
        configure: @escaping @Sendable (Int, LoadSocket) -> Void
    ) async throws -> [LoadSocket] {
        try await concurrently(count, width: options.openConcurrency) { index in
            try await self.subscribe(room: room, index: firstIndex + index, receiveBufferBytes: receiveBufferBytes) {
                configure(index, $0)
            }
        }
    }

    /// A benchmark message: the mark, then `padding` characters.
    private func message(_ sequence: Int) -> String {
        let mark = BenchMark.text(sequence: sequence, sentAt: monotonicNanoseconds())
        return options.padding > 0 ? mark + " " + String(repeating: "x", count: options.padding) : mark
    }

    /// The sender of a room: a chat connection allowed to send (Parley) or an HTTP publisher (nchan).
    func makePublisher(room: String, index: Int) async throws -> Publisher {
        switch kind {
        case .parley:
            // The sender is an ordinary ParleyChat client (one connection, a few hundred messages a second at most:
            // the SDK costs the load generator nothing that matters); subscribers use LoadSocket, which must be lean.
            let sender = ChatRoom(
                url: URL(string: "ws://\(options.host):\(options.port)/")!,
                tokenProvider: { [self] in
                    ChatToken(token: try await token(room: room, user: "sender-\(index)", capabilities: ["SEND_MESSAGE"]))
                }, maxReconnectAttempts: 0)
            try await sender.connect()
            let publisher = Publisher()
            publisher.send = { sequence in
                let request = SendMessageRequest(content: self.message(sequence))
                Task {
                    do { _ = try await sender.perform(request: request) } catch { publisher.reject() }
                }
            }
            publisher.close = { sender.disconnect() }
            return publisher
        case .nchan:
            let connection = try await HTTPConnection.open(on: eventLoop, host: options.host, port: options.port).get()
            let publisher = Publisher()
            publisher.send = { sequence in
                let body = ByteBuffer(string: self.message(sequence))
                connection.send(method: .POST, path: "/pub/\(room)", headers: [], body: body).whenComplete { result in
                    if case .success(let answer) = result, (200..<300).contains(answer.status) { return }
                    publisher.reject()
                }
            }
            publisher.close = { connection.close() }
            return publisher
        }
    }
}

/// Sends numbered messages into one room; `send` and `close` are called on the benchmark's event loop.
final class Publisher: @unchecked Sendable {
    var send: (Int) -> Void = { _ in }
    var close: () -> Void = {}
    private let refused = Atomic<Int>(0)

    /// Messages the server refused (Parley's ERROR answers, nchan's non-2xx answers).
    var rejected: Int { refused.load(ordering: .relaxed) }

    func reject() { refused.add(1, ordering: .relaxed) }
}
