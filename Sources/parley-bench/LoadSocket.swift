import Foundation
import NIOCore
import NIOPosix

/// A minimal WebSocket client for load generation: it does the handshake by hand, reads the server's (unmasked)
/// frames in place, answers pings, and hands each text payload to `onText` on its event loop, without allocating per
/// frame. Its state is touched only on that loop.
final class LoadSocket: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase { case handshaking, open, closed }

    struct HandshakeRefused: Error, CustomStringConvertible {
        var statusLine: String
        var description: String { "handshake refused: \(statusLine)" }
    }

    private var phase = Phase.handshaking
    private var received: ByteBuffer?
    private var context: ChannelHandlerContext?
    private let handshake: String
    private let opened: EventLoopPromise<Void>
    /// Called with each text frame's payload.
    var onText: (UnsafeRawBufferPointer) -> Void = { _ in }
    /// Called once when the connection ends.
    var onClose: () -> Void = {}

    init(host: String, port: Int, path: String, subprotocol: String?, opened: EventLoopPromise<Void>) {
        var request =
            "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
        if let subprotocol { request += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        handshake = request + "\r\n"
        self.opened = opened
    }

    /// Opens a connection from `source` (a 127.0.0.x address spreads connections over more ephemeral ports).
    /// A `receiveBufferBytes` smaller than the system's default makes a reader that stops reading back up sooner.
    static func open(
        on eventLoop: any EventLoop, host: String, port: Int, path: String, subprotocol: String?, source: String?,
        receiveBufferBytes: Int? = nil, configure: @escaping (LoadSocket) -> Void
    ) -> EventLoopFuture<LoadSocket> {
        let opened = eventLoop.makePromise(of: Void.self)
        let socket = LoadSocket(host: host, port: port, path: path, subprotocol: subprotocol, opened: opened)
        configure(socket)
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(socket) }
            }
        if let source, let address = try? SocketAddress(ipAddress: source, port: 0) {
            bootstrap = bootstrap.bind(to: address)
        }
        if let receiveBufferBytes {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferBytes))
        }
        return bootstrap.connect(host: host, port: port).flatMap { _ in opened.futureResult }.map { socket }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: handshake)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase == .handshaking { opened.fail(ChannelError.eof) }
        if phase != .closed {
            phase = .closed
            onClose()
        }
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil || received!.readableBytes == 0 {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
        if phase == .handshaking, !readHandshake(context: context) { return }
        if phase == .open { readFrames(context: context) }
        if let buffer = received, buffer.readableBytes == 0 { received = nil }
    }

    private func readHandshake(context: ChannelHandlerContext) -> Bool {
        guard let buffer = received,
            let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8))
        else { return false }
        let headEnd = end.upperBound - buffer.readerIndex
        let head = buffer.getString(at: buffer.readerIndex, length: headEnd) ?? ""
        received!.moveReaderIndex(forwardBy: headEnd)
        let statusLine = String(head.prefix { $0 != "\r" })
        guard statusLine.hasPrefix("HTTP/1.1 101") else {
            phase = .closed
            opened.fail(HandshakeRefused(statusLine: statusLine))
            context.close(promise: nil)
            return false
        }
        phase = .open
        opened.succeed()
        return true
    }

    private func readFrames(context: ChannelHandlerContext) {
        while phase == .open, let buffer = received, buffer.readableBytes >= 2 {
            let start = buffer.readerIndex
            let first = buffer.getInteger(at: start, as: UInt8.self)!
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)!
            var headerLength = 2
            var length = Int(second & 0x7F)
            if length == 126 {
                guard buffer.readableBytes >= 4 else { return }
                length = Int(buffer.getInteger(at: start + 2, as: UInt16.self)!)
                headerLength = 4
            } else if length == 127 {
                guard buffer.readableBytes >= 10 else { return }
                length = Int(buffer.getInteger(at: start + 2, as: UInt64.self)!)
                headerLength = 10
            }
            guard buffer.readableBytes >= headerLength + length else { return }
            switch first & 0x0F {
            case 0x0, 0x1, 0x2:
                buffer.withUnsafeReadableBytes { bytes in
                    onText(UnsafeRawBufferPointer(rebasing: bytes[headerLength..<(headerLength + length)]))
                }
            case 0x8:
                send(opcode: 0x8, payload: buffer.getSlice(at: start + headerLength, length: min(length, 2)) ?? ByteBuffer())
                phase = .closed
                onClose()
                context.close(promise: nil)
            case 0x9:
                send(opcode: 0xA, payload: buffer.getSlice(at: start + headerLength, length: length) ?? ByteBuffer())
            default:
                break
            }
            received!.moveReaderIndex(forwardBy: headerLength + length)
        }
    }

    /// Sends a text frame; call on the socket's event loop.
    func sendText(_ text: String) {
        send(opcode: 0x1, payload: ByteBuffer(string: text))
    }

    /// Stops or resumes reading from the socket, as a client that has stalled would; call on the socket's event loop.
    func setReading(_ reading: Bool) {
        guard let context else { return }
        try? context.channel.syncOptions?.setOption(.autoRead, value: reading)
        if reading { context.read() }
    }

    /// Closes the connection with a close frame; call on the socket's event loop.
    func close() {
        guard phase == .open else { return }
        var code = ByteBuffer()
        code.writeInteger(UInt16(1000))
        send(opcode: 0x8, payload: code)
        phase = .closed
        context?.close(promise: nil)
    }

    private func send(opcode: UInt8, payload: ByteBuffer) {
        guard let context else { return }
        var frame = context.channel.allocator.buffer(capacity: payload.readableBytes + 14)
        frame.writeInteger(0x80 | opcode)
        let length = payload.readableBytes
        if length < 126 {
            frame.writeInteger(UInt8(0x80 | length))
        } else if length <= 0xFFFF {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(length))
        } else {
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(length))
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame.writeBytes(mask)
        payload.withUnsafeReadableBytes { bytes in
            for (index, byte) in bytes.enumerated() { frame.writeInteger(byte ^ mask[index & 3]) }
        }
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}

/// Finds `bench:<sequence>:<nanoseconds>` in a payload: the mark every benchmark message carries.
enum BenchMark {
    static func text(sequence: Int, sentAt nanoseconds: UInt64) -> String { "bench:\(sequence):\(nanoseconds)" }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> (sequence: Int, sentAt: UInt64)? {
        let mark: [UInt8] = Array("bench:".utf8)
        guard bytes.count >= mark.count else { return nil }
        var index = 0
        search: while index <= bytes.count - mark.count {
            for offset in 0..<mark.count where bytes[index + offset] != mark[offset] {
                index += 1
                continue search
            }
            var position = index + mark.count
            func number() -> UInt64? {
                var value: UInt64 = 0
                let start = position
                while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
                    value = value * 10 + UInt64(bytes[position] - 48)
                    position += 1
                }
                return position > start ? value : nil
            }
            guard let sequence = number(), position < bytes.count, bytes[position] == 58 else { return nil }
            position += 1
            guard let sentAt = number() else { return nil }
            return (Int(sequence), sentAt)
        }
        return nil
    }
}

/// Monotonic nanoseconds, comparable across the benchmark's own connections.
func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
