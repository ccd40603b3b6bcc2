import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyDomain
import ParleyMessaging
import ServiceLifecycle

/// The live room view: activity over server-sent events, moderation, and the viewer's-eye test client.
struct LiveViewController: Sendable {
    let console: ConsoleController

    func addRoutes(to router: RouterGroup<ParleyRequestContext>) {
        router.get("rooms/:id/events") { request, context in try await events(request, context) }
        router.post("rooms/:id/moderation/:action") { request, context in try await moderate(request, context) }
        router.post("rooms/:id/test-token") { request, context in try await testToken(request, context) }
    }

    /// Lines of the room's activity as SSE: a snapshot of who is connected, the recent lines (or, after a reconnect,
    /// exactly those after `Last-Event-ID`), then every new line as it happens, with a heartbeat every 15 seconds.
    private func events(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        _ = try context.session()
        let roomID = try console.roomID(context)
        let log = console.activity
        let live = console.live
        let lastEventID = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { UInt64($0) }
        let headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(
            status: .ok, headers: headers,
            body: .init { writer in
                let (changes, poke) = log.changes(roomID: roomID)
                let heartbeat = Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(15))
                        poke.yield()
                    }
                }
                defer {
                    heartbeat.cancel()
                    poke.finish()
                }
                let connections = live.connections(inRoom: roomID).map(LiveViewJSON.connection).joined(separator: ",")
                try await writer.write(ByteBuffer(string: "event: snapshot\ndata: {\"connections\":[\(connections)]}\n\n"))
                // A reconnecting browser resumes where it left off; a fresh page starts with the last 50 lines.
                let latest = log.latestID(roomID: roomID)
                var cursor = lastEventID ?? (latest > 50 ? latest - 50 : 0)
                func flush(_ writer: inout any ResponseBodyWriter) async throws {
                    let (entries, missed) = log.entries(roomID: roomID, after: cursor)
                    var text = missed > 0 ? "event: gap\ndata: {\"missed\":\(missed)}\n\n" : ""
                    for entry in entries {
                        text += "id: \(entry.id)\nevent: \(entry.event)\ndata: \(entry.data)\n\n"
                        cursor = entry.id
                    }
                    try await writer.write(ByteBuffer(string: text.isEmpty ? ": keep-alive\n\n" : text))
                }
                try await flush(&writer)
                // The stream ends when the browser leaves or the server shuts down gracefully.
                try await withGracefulShutdownHandler {
                    for await _ in changes {
                        try await flush(&writer)
                    }
                } onGracefulShutdown: {
                    poke.finish()
                }
                try await writer.finish(nil)
            })
    }

    private func moderate(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        let session = try context.session(atLeast: .moderator)
        let roomID = try console.roomID(context)
        let arn = console.controlPlane.namespace.arn(.room, id: roomID)
        let form = try await FormData.body(of: request)
        let reason = form.text("reason")
        do {
            switch context.parameters.get("action") {
            case "delete-message":
                let id = try await console.controlPlane.deleteMessage(
                    DeleteMessageInput(roomIdentifier: arn, id: form.text("id"), reason: reason))
                try await console.audit(context, "DeleteMessage", roomID, form.text("id") ?? "")
                return .json(["ok": true, "id": id])
            case "disconnect-user":
                try await console.controlPlane.disconnectUser(
                    DisconnectUserInput(roomIdentifier: arn, userId: form.text("userId"), reason: reason))
                try await console.audit(context, "DisconnectUser", roomID, form.text("userId") ?? "")
                return .json(["ok": true])
            case "send-event":
                var attributes: [String: String]?
                if let text = form.text("attributes") {
                    guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
                        object.values.allSatisfy({ $0 is String })
                    else { return .json(["error": "Attributes must be a JSON object of strings."], status: .badRequest) }
                    attributes = object.mapValues { $0 as! String }
                }
                let id = try await console.controlPlane.sendEvent(
                    SendEventInput(roomIdentifier: arn, eventName: form.text("eventName"), attributes: attributes))
                try await console.audit(context, "SendEvent", roomID, form.text("eventName") ?? "")
                return .json(["ok": true, "id": id])
            case "disconnect-everyone":
                let users = Set(console.live.connections(inRoom: roomID).map(\.userID))
                for user in users {
                    try await console.controlPlane.disconnectUser(DisconnectUserInput(roomIdentifier: arn, userId: user, reason: reason))
                }
                try await console.audit(context, "DisconnectEveryone", roomID, "\(users.count) users by \(session.user)")
                return .json(["ok": true, "disconnected": users.count])
            default:
                throw ConsoleError.notFound("No such moderation action.")
            }
        } catch let error as ParleyError {
            return .json(["error": error.message], status: .badRequest)
        }
    }

    /// A short-lived chat token for the operator's own test client, and the URL to connect it to.
    private func testToken(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        let session = try context.session(atLeast: .moderator)
        let roomID = try console.roomID(context)
        guard console.tokenLimiter.take(user: session.user, now: console.clock.now()) else {
            return .json(["error": console.tokenLimiter.refusal], status: .tooManyRequests)
        }
        let form = try await FormData.body(of: request)
        do {
            let token = try await console.controlPlane.createChatToken(
                CreateChatTokenInput(
                    roomIdentifier: console.controlPlane.namespace.arn(.room, id: roomID), userId: form.text("userId"),
                    capabilities: form.all("capabilities"),
                    sessionDurationInMinutes: form.text("sessionDurationInMinutes").flatMap { Int($0) }))
            let scheme = console.secureWebSockets ? "wss" : "ws"
            let host = request.head.authority ?? "127.0.0.1"
            try await console.audit(context, "CreateTestChatToken", roomID, form.text("userId") ?? "")
            return .json([
                "token": token.token, "url": "\(scheme)://\(host)/", "sessionExpirationTime": Timestamp.format(token.sessionExpirationTime),
            ])
        } catch let error as ParleyError {
            return .json(["error": error.message], status: .badRequest)
        }
    }
}
