import AWSSigV4
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One keep-alive HTTP/1.1 connection; requests are answered in order. Touched only on its event loop.
final class HTTPConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    struct Answer {
        var status: Int
        var body: ByteBuffer
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:] }
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    private var waiting = CircularBuffer<EventLoopPromise<Answer>>()
    private var status = 0
    private var body = ByteBuffer()
    private var context: ChannelHandlerContext?
    private let connected = Atomic<Bool>(false)
    let eventLoop: any EventLoop
    let host: String
    let port: Int

    private init(eventLoop: any EventLoop, host: String, port: Int) {
        self.eventLoop = eventLoop
        self.host = host
        self.port = port
    }

    /// Whether the connection is still up (the server closes keep-alive connections that idle too long); any thread.
    var isOpen: Bool { connected.load(ordering: .relaxed) }

    static func open(on eventLoop: any EventLoop, host: String, port: Int) -> EventLoopFuture<HTTPConnection> {
        let connection = HTTPConnection(eventLoop: eventLoop, host: host, port: port)
        return ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(host: host, port: port)
            .map { _ in connection }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        connected.store(true, ordering: .relaxed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        connected.store(false, ordering: .relaxed)
        while let promise = waiting.popFirst() { promise.fail(ChannelError.eof) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            waiting.popFirst()?.succeed(Answer(status: status, body: body))
        }
    }

    /// Sends a request; several may be in flight when the server pipelines.
    func send(method: HTTPMethod, path: String, headers: [(String, String)], body: ByteBuffer) -> EventLoopFuture<Answer> {
        precondition(eventLoop.inEventLoop, "HTTPConnection.send must be called on its event loop")
        guard let context else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let promise = eventLoop.makePromise(of: Answer.self)
        waiting.append(promise)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        return promise.futureResult
    }

    func close() { context?.close(promise: nil) }
}

/// Parley's control plane, signed with SigV4 as an AWS SDK would.
struct ParleyAPI: Sendable {
    let eventLoop: any EventLoop
    let host: String
    let port: Int
    let signer: SigV4Signer

    init(eventLoop: any EventLoop, host: String, port: Int, accessKeyID: String, secretAccessKey: String, region: String) {
        self.eventLoop = eventLoop
        self.host = host
        self.port = port
        signer = SigV4Signer(
            credentials: SigV4Credentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey), region: region, service: "ivschat")
    }

    func connect() async throws -> HTTPConnection {
        try await HTTPConnection.open(on: eventLoop, host: host, port: port).get()
    }

    /// Calls an operation on `connection` and returns its JSON answer; anything but 200 throws.
    func call(_ operation: String, _ input: [String: Any], on connection: HTTPConnection) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: input)
        let hostHeader = "\(host):\(port)"
        let request = SignableRequest(
            method: "POST", target: "/\(operation)", headers: [("host", hostHeader), ("content-type", "application/json")], body: body)
        let signature = signer.signatureHeaders(for: request, at: Date())
        let headers = [("Content-Type", "application/json")] + signature.map { ($0.name, $0.value) }
        let answer = try await eventLoop.flatSubmit {
            connection.send(method: .POST, path: "/\(operation)", headers: headers, body: ByteBuffer(bytes: body))
        }.get()
        guard answer.status == 200 else {
            throw HTTPConnection.Failed(description: "\(operation) answered \(answer.status): \(String(buffer: answer.body))")
        }
        return answer.json
    }

    func createRoom(on connection: HTTPConnection) async throws -> String {
        let room = try await call(
            "CreateRoom", ["name": "bench", "maximumMessageRatePerSecond": 100, "maximumMessageLength": 500], on: connection)
        guard let identifier = room["arn"] as? String else { throw HTTPConnection.Failed(description: "CreateRoom gave no arn") }
        return identifier
    }

    func createChatToken(room: String, user: String, capabilities: [String], on connection: HTTPConnection) async throws -> String {
        let answer = try await call(
            "CreateChatToken", ["roomIdentifier": room, "userId": user, "capabilities": capabilities], on: connection)
        guard let token = answer["token"] as? String else { throw HTTPConnection.Failed(description: "CreateChatToken gave no token") }
        return token
    }
}
