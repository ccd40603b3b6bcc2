import Foundation
import FuzzSupport
import NIOCore
import ParleyDomain
import ParleyMessaging
import Synchronization

// Fuzzes how a WebSocket text frame from a chat client becomes a request and its answer: `ClientRequest.decode`, then
// `LiveRooms.handle(frame:from:)` on a live connection with every capability (validation, rate limits, broadcast), and
// the frames the server writes back (`ServerFrame`'s hand-written JSON, `OutboundFrame`'s wire header, close reasons).
//
// An input is the frame's bytes, read as UTF-8 (the WebSocket layer refuses text frames that are not).
// Invariants beyond "no crash": every frame sent back is a JSON object of a known Type whose wire header matches its
// text; a MESSAGE carries exactly the Content, Attributes and RequestId that were sent; an ERROR carries the request's
// RequestId and one of IVS Chat's codes; close reasons are compact JSON of at most 123 bytes.

/// Records what the server sends to the fuzzed connection.
final class RecordingSink: ConnectionSink {
    struct Sent: Sendable {
        var frames: [OutboundFrame] = []
        var closeReasons: [String] = []
    }

    private let sent = Mutex(Sent())

    func enqueue(_ frame: OutboundFrame) -> Bool {
        sent.withLock { $0.frames.append(frame) }
        return true
    }

    func close(_ code: CloseCode, reason: String) {
        sent.withLock { $0.closeReasons.append(reason) }
    }

    func take() -> Sent {
        sent.withLock { sent in
            defer { sent = Sent() }
            return sent
        }
    }
}

/// One room with one connection, on a clock that moves a second per input so that rate limits never carry over.
final class Harness: Sendable {
    static let userID = "viewer-1"

    let clock = ManualWallClock()
    let live: LiveRooms
    let room: Room
    private let current: Mutex<(connection: LiveConnection, sink: RecordingSink)?> = Mutex(nil)

    init() {
        live = LiveRooms(limits: MessagingLimits(quotas: QuotaValues()), clock: clock, bus: LocalRoomBus())
        room = Room(name: "fuzz", createTime: clock.now())
    }

    /// The live connection, joined again after a DISCONNECT_USER of its own user closed it.
    func connection() -> (connection: LiveConnection, sink: RecordingSink) {
        if let current = current.withLock({ $0 }) { return current }
        let claims = ChatTokenClaims(
            roomID: room.id, userID: Self.userID, capabilities: [.sendMessage, .deleteMessage, .disconnectUser],
            attributes: ["displayName": "Fuzzy"], tokenExpirationTime: clock.now() + 60, sessionExpirationTime: clock.now() + 3_600)
        let sink = RecordingSink()
        do {
            let connection = try live.join(claims: claims, room: room, remoteAddress: "192.0.2.1", sink: sink)
            current.withLock { $0 = (connection, sink) }
            return (connection, sink)
        } catch {
            fuzzFailure("join refused: \(error)")
        }
    }

    func closed() {
        current.withLock { $0 = nil }
    }
}

let harness = Harness()

func fuzz(_ data: Data) {
    let text = String(decoding: data, as: UTF8.self)
    let decoded = Result { () throws(ClientRequestError) in try ClientRequest.decode(text) }
    switch decoded {
    case .success(let request):
        guard (try? ClientRequest.decode(text)) == request else { fuzzFailure("decoding is not deterministic") }
    case .failure(let error):
        guard [400, 413].contains(error.code) else { fuzzFailure("unexpected decoding error code \(error.code)") }
    }

    harness.clock.advance(by: 1)
    let (connection, sink) = harness.connection()
    runBlocking { await harness.live.handle(frame: text, from: connection) }
    let sent = sink.take()

    for frame in sent.frames {
        check(frame, answering: decoded)
    }
    for reason in sent.closeReasons {
        guard reason.utf8.count <= 123, (try? JSONSerialization.jsonObject(with: Data(reason.utf8))) is [String: Any] else {
            fuzzFailure("close reason is not compact JSON: \(reason)")
        }
    }
    if !sent.closeReasons.isEmpty { harness.closed() }
}

func check(_ frame: OutboundFrame, answering decoded: Result<ClientRequest, ClientRequestError>) {
    let bytes = Array(frame.text.utf8)
    let wire = frame.wire.getBytes(at: frame.wire.readerIndex, length: frame.wire.readableBytes) ?? []
    let headerLength = bytes.count < 126 ? 2 : bytes.count <= 0xFFFF ? 4 : 10
    guard wire.count == headerLength + bytes.count, wire.first == 0x81, Array(wire.dropFirst(headerLength)) == bytes else {
        fuzzFailure("wire bytes do not frame the text: \(frame.text)")
    }
    guard let json = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any], let type = json["Type"] as? String
    else { fuzzFailure("server frame is not a JSON object with a Type: \(frame.text)") }

    let requestID: String
    switch decoded {
    case .success(let request):
        switch request {
        case .sendMessage(let id, _, _), .deleteMessage(let id, _, _), .disconnectUser(let id, _, _): requestID = id
        }
    case .failure(let error): requestID = error.requestID
    }
    guard json["RequestId"] as? String == requestID else { fuzzFailure("RequestId not echoed: \(frame.text)") }

    switch (type, decoded) {
    case ("MESSAGE", .success(.sendMessage(_, let content, let attributes))):
        guard json["Content"] as? String == content, json["Attributes"] as? [String: String] == attributes else {
            fuzzFailure("MESSAGE does not carry what was sent: \(frame.text)")
        }
    case ("EVENT", .success(.deleteMessage(_, let id, let reason))):
        guard json["EventName"] as? String == "aws:DELETE_MESSAGE",
            json["Attributes"] as? [String: String] == ["MessageID": id, "MessageId": id, "Reason": reason]
        else { fuzzFailure("DELETE_MESSAGE event does not carry the request: \(frame.text)") }
    case ("EVENT", .success(.disconnectUser(_, let userID, let reason))):
        guard json["EventName"] as? String == "aws:DISCONNECT_USER",
            json["Attributes"] as? [String: String] == ["UserId": userID, "Reason": reason]
        else { fuzzFailure("DISCONNECT_USER event does not carry the request: \(frame.text)") }
    case ("ERROR", _):
        guard let code = json["ErrorCode"] as? Int, [400, 403, 404, 406, 413, 429].contains(code), json["ErrorMessage"] is String
        else { fuzzFailure("ERROR frame without a known code and a message: \(frame.text)") }
    default:
        fuzzFailure("unexpected \(type) frame for \(decoded): \(frame.text)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzz(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

#if FUZZING
    /// The process's `main` (SwiftPM links `main` to `<module>_main`): libFuzzer's driver.
    @_cdecl("FuzzClientFrames_main")
    public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        runLibFuzzer(argc, argv, fuzzerTestOneInput)
    }
#else
    @main
    enum Replay {
        static func main() {
            FuzzReplay.main(arguments: Array(CommandLine.arguments.dropFirst()), test: fuzz)
        }
    }
#endif
