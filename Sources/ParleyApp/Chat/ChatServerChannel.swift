import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
@_spi(WSInternal) import WSCore

/// An HTTP/1.1 channel that serves the routes and upgrades chat connections, like HummingbirdWebSocket's
/// `HTTP1WebSocketUpgradeChannel`, except that a refused upgrade is answered with the status and message
/// the chat endpoint chose (401, 404, 429 …) instead of a bare 400, as the IVS messaging endpoint does.
struct ChatServerChannel: ServerChildChannel, HTTPChannelHandler {
    /// A handler that throws the error it got from the inbound stream has the connection closed with that error's code
    /// (1002 for a protocol violation, 1007 for invalid UTF-8, 1009 for a message too large) instead of 1000.
    typealias Handler = @Sendable (WebSocketInboundStream, WebSocketOutboundWriter, Logger) async throws -> Void

    /// What to do with an upgrade request. `attach` runs on the event loop once the WebSocket pipeline is in place;
    /// `abandon` undoes an upgrade decision whose upgrade never happened.
    enum Decision: Sendable {
        case upgrade(HTTPFields, Handler, attach: @Sendable (any Channel) throws -> Void, abandon: @Sendable () -> Void)
        case refuse(HTTPResponse.Status, String)
    }

    enum UpgradeResult: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, Handler, Logger)
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, HTTPResponse.Status, String)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let decision: NIOLockedValueBox<Decision?>
        let channel: any Channel
    }

    let responder: Responder
    let configuration: HTTP1WebSocketUpgradeChannel.Configuration
    let requestHeadTimeout: Duration
    let decide: @Sendable (HTTPRequest, any Channel, Logger) async -> Decision

    init(
        responder: @escaping Responder, configuration: HTTP1WebSocketUpgradeChannel.Configuration, requestHeadTimeout: Duration,
        decide: @escaping @Sendable (HTTPRequest, any Channel, Logger) async -> Decision
    ) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.configuration = configuration
        self.requestHeadTimeout = requestHeadTimeout
        self.decide = decide
    }

    /// Only the first request of a connection can be upgraded. A later one asking for a WebSocket is sent back
    /// to the same URL with `Connection: close`, so the client retries on a fresh connection (as Hummingbird does).
    private static func redirectingLateUpgrades(_ responder: @escaping Responder) -> Responder {
        struct ClosingAfterRedirect: Error {}
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, writer, channel)
            }
            let response = HTTPResponse(
                status: .temporaryRedirect, headerFields: [.connection: "close", .location: request.head.path ?? "/"])
            try await writer.writeResponse(response)
            throw ClosingAfterRedirect()
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(CloseIdleConnectionOnQuiesce())
            let decision = NIOLockedValueBox<Decision?>(nil)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: configuration.ws.maxFrameSize,
                enableAutomaticErrorHandling: true,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        let request = try HTTPRequest(head, secure: false, splitCookie: false)
                        let outcome = await decide(request, channel, logger)
                        decision.withLockedValue { $0 = outcome }
                        guard case .upgrade(let headers, _, _, _) = outcome else { return nil }
                        return HTTPHeaders(headers)
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let asyncChannel = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        guard case .upgrade(_, let handler, let attach, _) = decision.withLockedValue({ $0 }) else {
                            preconditionFailure("upgraded without an upgrade decision")
                        }
                        try attach(channel)
                        return UpgradeResult.websocket(asyncChannel, handler, logger)
                    }
                })
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(configuration.http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(UnreadBodyLimit())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(
                                idleTimeout: configuration.http1.idleTimeout.map { .nanoseconds($0.nanoseconds) }, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if case .refuse(let status, let message) = decision.withLockedValue({ $0 }) {
                            return UpgradeResult.refused(asyncChannel, status, message)
                        }
                        return UpgradeResult.notUpgraded(asyncChannel)
                    }
                })
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgradeConfiguration)
            pipeline.enablePipelining = false
            pipeline.enableErrorHandling = false
            pipeline.enableResponseHeaderValidation = false
            pipeline.decoderConfiguration.maxHeaderFieldSize = configuration.http1.httpDecoder.maxHeaderFieldSize
            pipeline.decoderConfiguration.maxHeaderListSize = configuration.http1.httpDecoder.maxHeaderListSize
            pipeline.decoderConfiguration.maxHeaderFieldCount = configuration.http1.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<UpgradeResult>.self)
            try channel.pipeline.syncOperations.addHandler(
                FirstRequestHeadGuard(timeout: TimeAmount(requestHeadTimeout)), position: .before(upgradeHandler))
            return Value(upgradeResult: result, decision: decision, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        var upgraded = false
        defer {
            if !upgraded, case .upgrade(_, _, _, let abandon) = value.decision.withLockedValue({ $0 }) { abandon() }
        }
        do {
            switch try await value.upgradeResult.get() {
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .refused(let http1, let status, let message):
                await refuse(http1, status: status, message: message)
            case .websocket(let asyncChannel, let handler, let logger):
                upgraded = true
                do {
                    _ = try await WebSocketHandler.handle(
                        type: .server,
                        configuration: .init(
                            extensions: [], autoPing: configuration.ws.autoPing, closeTimeout: configuration.ws.closeTimeout,
                            validateUTF8: true, maxFrameSize: configuration.ws.maxFrameSize),
                        asyncChannel: asyncChannel, context: ChatSocketContext(logger: logger),
                        handler: { inbound, outbound, context in try await handler(inbound, outbound, context.logger) })
                } catch {
                    logger.debug("Chat connection ended with an error", metadata: ["error": "\(error)"])
                }
            }
        } catch {
            logger.debug("Connection setup failed", metadata: ["error": "\(error)"])
        }
    }

    /// Answers a refused upgrade with its status and a short JSON body, then closes the connection.
    private func refuse(_ channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, status: HTTPResponse.Status, message: String)
        async
    {
        try? await channel.executeThenClose { _, outbound in
            // A dictionary of one string always serializes.
            let body = ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: ["message": message]))
            let head = HTTPResponse(
                status: status,
                headerFields: [.connection: "close", .contentType: "application/json", .contentLength: String(body.readableBytes)])
            try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
        }
    }
}

struct ChatSocketContext: WebSocketContext {
    let logger: Logger
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with chat upgrades answered by `decide`; a connection must send its first request head within
    /// `requestHeadTimeout`.
    static func chat(
        configuration: HTTP1WebSocketUpgradeChannel.Configuration, requestHeadTimeout: Duration,
        decide: @escaping @Sendable (HTTPRequest, any Channel, Logger) async -> ChatServerChannel.Decision
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            ChatServerChannel(responder: responder, configuration: configuration, requestHeadTimeout: requestHeadTimeout, decide: decide)
        }
    }
}

/// Closes a connection that has not sent a byte when the server quiesces. Browsers open such connections
/// speculatively; nothing else would close them before their first request, and a graceful shutdown would wait forever.
final class CloseIdleConnectionOnQuiesce: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private var hasRead = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        hasRead = true
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !hasRead {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Guards a connection until its first request head has arrived. A connection that sends nothing, or trickles its head
/// byte by byte, is closed when `timeout` is up; until then it holds a descriptor that honest clients need. A head the
/// decoder refuses is answered (431 when its header fields are too large, 400 otherwise) and the connection closed;
/// without this the refused client would wait for an answer that never comes. Leaves the pipeline once the head has
/// arrived: from then on the idle timeout of the HTTP handlers or the WebSocket pings take over.
final class FirstRequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        if case .head = unwrapInboundIn(data) {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let status: HTTPResponseStatus = error == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: ["Connection": "close", "Content-Length": "0"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func startDeadline(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { context.close(promise: nil) }
    }
}

/// Closes a connection that keeps sending the body of a request already answered (a body over the API limit is
/// refused before it has all arrived). The server reads on, so the client can finish sending and read the answer,
/// but only up to `limit` more bytes: a body that never ends would otherwise be read for as long as it keeps coming.
final class UnreadBodyLimit: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limit: Int
    private var isRequestBeingRead = false
    /// Body bytes read since the answer to the request went out; nil while the request has not been answered.
    private var readAfterAnswer: Int?

    init(limit: Int = 4 << 20) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            isRequestBeingRead = true
            readAfterAnswer = nil
        case .body(let buffer):
            if let read = readAfterAnswer.map({ $0 + buffer.readableBytes }) {
                guard read <= limit else {
                    context.close(promise: nil)
                    return
                }
                readAfterAnswer = read
            }
        case .end:
            isRequestBeingRead = false
            readAfterAnswer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), isRequestBeingRead { readAfterAnswer = 0 }
        context.write(data, promise: promise)
    }
}
