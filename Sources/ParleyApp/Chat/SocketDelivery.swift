import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import ParleyMessaging
import Synchronization

/// Writes a chat connection's frames straight into its pipeline, below the WebSocket encoder: a broadcast is
/// encoded once (`OutboundFrame.wire`) and the same bytes go to every socket, without a task hop or a copy per delivery.
/// Its state is touched only on the channel's event loop, which is what makes sharing it across threads safe.
final class WireFrameWriter: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    /// Set once a close frame has gone out: nothing may follow it.
    fileprivate var closeSent = false
    fileprivate var needsFlush = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes an encoded frame; returns true when it was the first unflushed write.
    fileprivate func writeWithoutFlush(_ wire: ByteBuffer) -> Bool {
        guard let context, !closeSent else { return false }
        context.write(wrapOutboundOut(wire), promise: nil)
        defer { needsFlush = true }
        return !needsFlush
    }

    fileprivate func flush() {
        needsFlush = false
        context?.flush()
    }

    /// Watches the WebSocket layer's own frames (above the encoder) for the close frame.
    final class CloseWatcher: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        private let writer: WireFrameWriter

        init(writer: WireFrameWriter) { self.writer = writer }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if unwrapOutboundIn(data).opcode == .connectionClose { writer.closeSent = true }
            context.write(data, promise: promise)
        }
    }

    /// Puts a writer and its close watcher around the channel's WebSocket encoder; call on the event loop, after the upgrade.
    static func install(on channel: any Channel) throws -> WireFrameWriter {
        let writer = WireFrameWriter()
        let operations = channel.pipeline.syncOperations
        let encoder = try operations.handler(type: WebSocketFrameEncoder.self)
        try operations.addHandler(writer, position: .before(encoder))
        try operations.addHandler(CloseWatcher(writer: writer), position: .after(encoder))
        return writer
    }
}

/// The connections of one event loop, as a fan-out group: a broadcast reaches the loop in one hop with its list of
/// connections, and is written there with no lock or allocation per connection. Writes are flushed by a task queued
/// behind them, so a busy loop that has several broadcasts waiting writes them all before flushing, one `writev` per
/// socket for all of them. Its mutable state is touched only on the loop.
final class EventLoopFanOut: FanOutGroup, @unchecked Sendable {
    let eventLoop: any EventLoop
    private var unflushed: [WireFrameWriter] = []
    private var flushQueued = false

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func deliver(_ frame: OutboundFrame, to connections: [LiveConnection], tooSlow: @escaping @Sendable (LiveConnection) -> Void) {
        eventLoop.execute {
            for connection in connections {
                // Every connection of this group has a SocketSink: only SocketSink hands out an EventLoopFanOut.
                let sink = unsafeDowncast(connection.sink, to: SocketSink.self)
                switch sink.write(frame.wire) {
                case .written(let firstUnflushed): if let firstUnflushed { self.unflushed.append(firstUnflushed) }
                case .tooSlow: tooSlow(connection)
                }
            }
            self.queueFlush()
        }
    }

    /// Writes one frame to one connection (an ERROR to its sender, say).
    func deliver(_ wire: ByteBuffer, to sink: SocketSink) {
        eventLoop.execute {
            if case .written(let firstUnflushed?) = sink.write(wire) { self.unflushed.append(firstUnflushed) }
            self.queueFlush()
        }
    }

    private func queueFlush() {
        guard !flushQueued, !unflushed.isEmpty else { return }
        flushQueued = true
        eventLoop.execute {
            self.flushQueued = false
            for writer in self.unflushed { writer.flush() }
            self.unflushed.removeAll(keepingCapacity: true)
        }
    }

    /// One group per event loop, shared by every connection on that loop.
    final class Registry: Sendable {
        private let groups = NIOLockedValueBox<[ObjectIdentifier: EventLoopFanOut]>([:])

        init() {}

        func group(for eventLoop: any EventLoop) -> EventLoopFanOut {
            groups.withLockedValue { groups in
                if let existing = groups[ObjectIdentifier(eventLoop)] { return existing }
                let created = EventLoopFanOut(eventLoop: eventLoop)
                groups[ObjectIdentifier(eventLoop)] = created
                return created
            }
        }
    }
}

/// A chat connection's transport. Frames delivered before the upgrade completes wait here (the connection joins its
/// room before the handshake, so nothing sent meanwhile is missed); afterwards they go straight to the socket.
/// A connection with more than `queueBytes` waiting (NIO's writability, against the channel's high watermark) is too
/// slow, and its room drops it. Frame state is touched only on the channel's event loop.
final class SocketSink: ConnectionSink, @unchecked Sendable {
    typealias Closer = @Sendable (CloseCode, String) -> Void

    enum WriteOutcome {
        /// Written; carries the writer when it had nothing unflushed before, so that it gets flushed.
        case written(WireFrameWriter?)
        case tooSlow
    }

    private let channel: any Channel
    private let group: EventLoopFanOut
    private let queueBytes: Int
    // On the event loop only:
    private var writer: WireFrameWriter?
    private var waiting: [ByteBuffer] = []
    private var waitingBytes = 0
    // Closing, from any thread:
    private struct Closing: @unchecked Sendable {
        var closer: Closer?
        /// A close asked for before the WebSocket layer could carry it out.
        var pending: (CloseCode, String)?
    }
    private let closing = Mutex(Closing())

    /// The kernel send buffer asked for on each chat socket (Linux doubles it for its own bookkeeping).
    static let kernelSendBufferBytes = 64 * 1_024

    init(channel: any Channel, group: EventLoopFanOut, queueBytes: Int) {
        self.channel = channel
        self.group = group
        self.queueBytes = queueBytes
    }

    var fanOut: (any FanOutGroup)? { group }

    func enqueue(_ frame: OutboundFrame) -> Bool {
        guard channel.isWritable else { return false }
        group.deliver(frame.wire, to: self)
        return true
    }

    /// On the event loop.
    func write(_ wire: ByteBuffer) -> WriteOutcome {
        guard let writer else {
            waitingBytes += wire.readableBytes
            guard waitingBytes <= queueBytes else { return .tooSlow }
            waiting.append(wire)
            return .written(nil)
        }
        guard channel.isWritable else { return .tooSlow }
        return .written(writer.writeWithoutFlush(wire) ? writer : nil)
    }

    /// On the event loop, once the upgrade is done: the writer takes over, and waiting frames are written first.
    func attach(_ writer: WireFrameWriter) throws {
        try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: queueBytes / 2, high: queueBytes))
        // Linux lets a socket's send buffer grow to megabytes (tcp_wmem), so a reader that stalls would pin that much
        // kernel memory and go unnoticed for minutes. A fixed buffer keeps what a stalled reader costs near `queueBytes`.
        try channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(Self.kernelSendBufferBytes))
        self.writer = writer
        for wire in waiting { _ = writer.writeWithoutFlush(wire) }
        if !waiting.isEmpty { writer.flush() }
        waiting = []
    }

    /// How the WebSocket layer closes this connection (with a close frame); a close asked for earlier happens now.
    func closeWith(_ closer: @escaping Closer) {
        let pending = closing.withLock { closing -> (CloseCode, String)? in
            closing.closer = closer
            defer { closing.pending = nil }
            return closing.pending
        }
        if let (code, reason) = pending { closer(code, reason) }
    }

    func close(_ code: CloseCode, reason: String) {
        let closer = closing.withLock { closing -> Closer? in
            if closing.closer == nil, closing.pending == nil { closing.pending = (code, reason) }
            return closing.closer
        }
        // A socket that cannot take more would never get the close frame out: end it outright.
        if closer != nil, !channel.isWritable {
            channel.close(promise: nil)
        }
        closer?(code, reason)
    }
}
