import HummingbirdWebSocket
import Logging

/// A WebSocket echo route for protocol-compliance testing (the Autobahn cases expect a server that echoes every message).
///
/// It exists only when `ParleySettings.testEchoEndpoint` is set (`PARLEY_TEST_ECHO_ENDPOINT=1`), and it is served by the
/// same `ChatServerChannel` and WebSocket handler configuration as the messaging endpoint (frame size limit, automatic
/// pings, close timeout, UTF-8 validation), so what the cases exercise is the chat endpoint's WebSocket stack.
/// It needs no token and no subprotocol.
enum EchoEndpoint {
    static let path = "/_test/echo"

    /// The upgrade decision for a request to `path`.
    static func decision(maximumMessageSize: Int) -> ChatServerChannel.Decision {
        .upgrade(
            [:], { inbound, outbound, _ in try await echo(inbound: inbound, outbound: outbound, maximumMessageSize: maximumMessageSize) },
            attach: { _ in }, abandon: {})
    }

    /// Sends every complete message back as it came (text as text, binary as binary) until the client closes.
    /// Errors from the inbound stream are rethrown, so that the WebSocket layer closes with their code (1002, 1007, 1009).
    static func echo(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, maximumMessageSize: Int) async throws {
        for try await message in inbound.messages(maxSize: maximumMessageSize) {
            switch message {
            case .text(let text): try await outbound.write(.text(text))
            case .binary(let buffer): try await outbound.write(.binary(buffer))
            }
        }
    }
}
