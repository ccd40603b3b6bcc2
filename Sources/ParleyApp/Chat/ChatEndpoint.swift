import Foundation
import HTTPTypes
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ParleyDomain
import ParleyMessaging
import ServiceLifecycle

/// The decision on a WebSocket upgrade request.
enum Admission: Sendable {
    case accepted(AcceptedConnection)
    case refused(HTTPResponse.Status, String)
}

/// A token that passed every check, already joined to its room (so nothing sent after the handshake is missed);
/// its frames wait in the sink until the upgrade attaches the socket's writer.
struct AcceptedConnection: Sendable {
    var subprotocol: String
    var connection: LiveConnection
    var sink: SocketSink
}

/// The messaging endpoint: admits upgrades by chat token, then pumps frames between a socket and its live room.
struct ChatEndpoint: Sendable {
    let live: LiveRooms
    let store: any ParleyStore
    let tokens: ChatTokenCodec
    let clock: any WallClock
    let clientAddresses: ClientAddressResolver
    let maximumFrameSize: Int
    let fanOutGroups = EventLoopFanOut.Registry()

    /// Checks the token carried in `Sec-WebSocket-Protocol`; a token is redeemed here, so it works once only.
    func admit(_ head: HTTPRequest, channel: any Channel) async -> Admission {
        let path = (head.path ?? "/").split(separator: "?", maxSplits: 1).first ?? "/"
        guard path == "/" else { return .refused(.notFound, "The messaging endpoint is at /.") }
        guard let header = head.headerFields[.secWebSocketProtocol],
            let token = header.split(separator: ",").first.map({ $0.trimmingCharacters(in: .whitespaces) }), !token.isEmpty
        else { return .refused(.unauthorized, "Missing chat token: pass it as the WebSocket subprotocol.") }
        let claims: ChatTokenClaims
        do {
            claims = try tokens.decode(token, now: clock.now())
        } catch .expired {
            return .refused(.unauthorized, "The chat token has expired.")
        } catch {
            return .refused(.unauthorized, "The chat token is not valid.")
        }
        do {
            var knownRoom = live.liveRoom(id: claims.roomID)
            if knownRoom == nil { knownRoom = try await store.room(id: claims.roomID) }
            guard let room = knownRoom else {
                return .refused(.notFound, "The room of this chat token does not exist.")
            }
            guard live.connectionCount < live.limits.maximumConcurrentConnections else {
                return .refused(.tooManyRequests, "The concurrent chat connection quota has been reached.")
            }
            guard try await store.redeemChatToken(id: claims.tokenID, expiresAt: claims.tokenExpirationTime) else {
                return .refused(.unauthorized, "The chat token has already been used.")
            }
            let sink = SocketSink(
                channel: channel, group: fanOutGroups.group(for: channel.eventLoop), queueBytes: live.limits.outboundQueueBytes)
            let remoteAddress = clientAddresses.clientAddress(peer: channel.remoteAddress, headers: head.headerFields)
            let connection = try live.join(claims: claims, room: room, remoteAddress: remoteAddress, sink: sink)
            return .accepted(AcceptedConnection(subprotocol: token, connection: connection, sink: sink))
        } catch is JoinRefusal {
            return .refused(.tooManyRequests, "The concurrent chat connection quota has been reached.")
        } catch ParleyError.storageFull {
            // Redeeming is a write; admitting without it would let the token be used twice.
            return .refused(
                .serviceUnavailable,
                "The server's disk is full, so it cannot accept new chat connections; this token is still unused, try again later.")
        } catch {
            return .refused(.internalServerError, "The chat token could not be checked; try again.")
        }
    }

    /// Hands an upgraded connection's socket to its sink; on the event loop, right after the handshake.
    func attach(_ accepted: AcceptedConnection, to channel: any Channel) throws {
        try accepted.sink.attach(WireFrameWriter.install(on: channel))
    }

    /// Undoes an admission whose upgrade never happened.
    func abandon(_ accepted: AcceptedConnection) {
        live.leave(accepted.connection, reason: "upgrade failed")
    }

    /// Runs one upgraded connection until either side closes it. A protocol violation by the client is rethrown,
    /// so that the WebSocket layer closes with its code (1002, 1007, 1009) rather than 1000.
    /// Frames go to the socket directly (see `SocketSink`); only closes pass through the WebSocket layer, and nothing
    /// but this loop runs per connection, which keeps an idle connection small.
    func serve(_ accepted: AcceptedConnection, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger)
        async throws
    {
        let connection = accepted.connection
        defer { live.leave(connection, reason: "connection closed") }
        accepted.sink.closeWith { code, reason in
            Task { try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code.rawValue)), reason: reason) }
        }
        // A server shutting down says goodbye (1001) so that clients reconnect elsewhere or later.
        try await withGracefulShutdownHandler {
            do {
                for try await message in inbound.messages(maxSize: maximumFrameSize) {
                    switch message {
                    case .text(let text): await live.handle(frame: text, from: connection)
                    case .binary:
                        live.reject(connection, requestID: "", code: 400, message: "Binary frames are not supported; send JSON text.")
                    }
                }
            } catch {
                logger.debug("Chat connection read failed", metadata: ["error": "\(error)"])
                throw error
            }
        } onGracefulShutdown: {
            accepted.sink.close(.goingAway, reason: "Server shutting down")
        }
    }
}

/// Who the client is: the socket's peer, or the address a trusted reverse proxy forwarded.
struct ClientAddressResolver: Sendable {
    let trustedProxies: Set<String>

    func clientAddress(peer: SocketAddress?, headers: HTTPFields) -> String {
        let peerAddress = peer?.ipAddress ?? "unknown"
        guard trustedProxies.contains(peerAddress), let forwarded = headers[HTTPField.Name("X-Forwarded-For")!] else {
            return peerAddress
        }
        // The nearest address that is not one of our proxies is the client.
        let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return hops.last { !trustedProxies.contains($0) } ?? hops.first ?? peerAddress
    }

}
