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

/// Frames waiting for the sockets of one event loop. Deliveries from any thread are collected, and the loop takes
/// them in one hop per batch, flushing each socket once however many frames it got (a busy loop coalesces writes).
final class EventLoopDeliveries: Sendable {
    private struct Pending: @unchecked Sendable {
        var items: [(WireFrameWriter, ByteBuffer)] = []
    }

    let eventLoop: any EventLoop
    private let pending = Mutex(Pending())

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func add(_ wire: ByteBuffer, for writer: WireFrameWriter) {
        let first = pending.withLock { pending in
            pending.items.append((writer, wire))
            return pending.items.count == 1
        }
        if first { eventLoop.execute { self.writeBatch() } }
    }

    private func writeBatch() {
        let batch = pending.withLock { pending in
            defer { pending.items.removeAll(keepingCapacity: true) }
            return pending.items
        }
        var touched: [WireFrameWriter] = []
        for (writer, wire) in batch where writer.writeWithoutFlush(wire) {
            touched.append(writer)
        }
        for writer in touched { writer.flush() }
    }

    /// One batch per event loop, shared by every connection on that loop.
    final class Registry: Sendable {
        private let batches = NIOLockedValueBox<[ObjectIdentifier: EventLoopDeliveries]>([:])

        init() {}

        func deliveries(for eventLoop: any EventLoop) -> EventLoopDeliveries {
            batches.withLockedValue { batches in
                if let existing = batches[ObjectIdentifier(eventLoop)] { return existing }
                let created = EventLoopDeliveries(eventLoop: eventLoop)
                batches[ObjectIdentifier(eventLoop)] = created
                return created
            }
        }
    }
}

/// A chat connection's transport. Frames delivered before the upgrade completes wait here (the connection joins its
/// room before the handshake, so nothing sent meanwhile is missed); afterwards they go to the socket's event loop.
/// A connection whose socket has more than `queueBytes` waiting is too slow: `enqueue` refuses and the room drops it.
final class SocketSink: ConnectionSink {
    typealias Closer = @Sendable (CloseCode, String) -> Void

    private enum State {
        case awaitingUpgrade([ByteBuffer], bytes: Int)
        case open(WireFrameWriter)
        case ended
    }

    private struct LockedState: @unchecked Sendable {
        var state: State = .awaitingUpgrade([], bytes: 0)
        var closer: Closer?
        /// A close asked for before the WebSocket layer could carry it out.
        var pendingClose: (CloseCode, String)?
    }

    private let channel: any Channel
    private let deliveries: EventLoopDeliveries
    private let queueBytes: Int
    private let state = Mutex(LockedState())

    init(channel: any Channel, deliveries: EventLoopDeliveries, queueBytes: Int) {
        self.channel = channel
        self.deliveries = deliveries
        self.queueBytes = queueBytes
    }

    func enqueue(_ frame: OutboundFrame) -> Bool {
        let writer = state.withLock { locked -> WireFrameWriter?? in
            switch locked.state {
            case .awaitingUpgrade(var frames, let bytes):
                let total = bytes + frame.wire.readableBytes
                guard total <= queueBytes else { return .some(nil) }
                frames.append(frame.wire)
                locked.state = .awaitingUpgrade(frames, bytes: total)
                return nil
            case .open(let writer): return writer
            case .ended: return nil
            }
        }
        switch writer {
        case .none: return true
        case .some(.none): return false
        case .some(.some(let writer)):
            // Writability is NIO's view of the bytes queued for the socket against the channel's high watermark.
            guard channel.isWritable else { return false }
            deliveries.add(frame.wire, for: writer)
            return true
        }
    }

    /// Called on the event loop once the upgrade is done: the writer takes over, and waiting frames are written first.
    func attach(_ writer: WireFrameWriter) throws {
        try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: queueBytes / 2, high: queueBytes))
        let waiting = state.withLock { locked -> [ByteBuffer] in
            guard case .awaitingUpgrade(let frames, _) = locked.state else { return [] }
            locked.state = .open(writer)
            return frames
        }
        for wire in waiting { _ = writer.writeWithoutFlush(wire) }
        if !waiting.isEmpty { writer.flush() }
    }

    /// How the WebSocket layer closes this connection (with a close frame); a close asked for earlier happens now.
    func closeWith(_ closer: @escaping Closer) {
        let pending = state.withLock { locked -> (CloseCode, String)? in
            locked.closer = closer
            defer { locked.pendingClose = nil }
            return locked.pendingClose
        }
        if let (code, reason) = pending { closer(code, reason) }
    }

    func close(_ code: CloseCode, reason: String) {
        let (closer, isOpen) = state.withLock { locked -> (Closer?, Bool) in
            if locked.closer == nil, locked.pendingClose == nil { locked.pendingClose = (code, reason) }
            if case .open = locked.state { return (locked.closer, true) }
            return (locked.closer, false)
        }
        // A socket that cannot take more would never get the close frame out: end it outright.
        if isOpen, !channel.isWritable {
            channel.close(promise: nil)
        }
        closer?(code, reason)
    }

    /// The connection is over: later deliveries are dropped.
    func finish() {
        state.withLock { $0.state = .ended }
    }
}
