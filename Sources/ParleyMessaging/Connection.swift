import Foundation
import ParleyDomain
import Synchronization

/// WebSocket close codes Parley uses.
public enum CloseCode: UInt16, Sendable {
    case normal = 1000
    case goingAway = 1001
    case policyViolation = 1008
    case messageTooBig = 1009
}

/// The transport side of one connection: the WebSocket layer implements it.
public protocol ConnectionSink: AnyObject, Sendable {
    /// Queues a frame for the client without waiting; false when the connection is too far behind to take it.
    func enqueue(_ frame: OutboundFrame) -> Bool
    /// Closes the connection with a close frame.
    func close(_ code: CloseCode, reason: String)
    /// The group this connection is delivered to with (its socket's event loop), or nil to be sent broadcasts one by one.
    var fanOut: (any FanOutGroup)? { get }
}

extension ConnectionSink {
    public var fanOut: (any FanOutGroup)? { nil }
}

/// Connections whose broadcasts are written together: a broadcast reaches the group in one step, not one per connection.
public protocol FanOutGroup: AnyObject, Sendable {
    /// Delivers `frame` to every one of `connections` (all of this group), and reports those too far behind to take it.
    func deliver(_ frame: OutboundFrame, to connections: [LiveConnection], tooSlow: @escaping @Sendable (LiveConnection) -> Void)
}

/// Who is connected: what the console's live view lists.
public struct ConnectionInfo: Sendable, Equatable {
    public var connectionID: String
    public var roomID: String
    public var userID: String
    public var attributes: [String: String]
    public var capabilities: [ChatCapability]
    public var remoteAddress: String
    public var connectedAt: Date
    public var sessionExpirationTime: Date
}

/// One live chat connection.
public final class LiveConnection: Sendable {
    public let info: ConnectionInfo
    public let sink: any ConnectionSink
    let requestBucket: Mutex<TokenBucket>

    init(info: ConnectionInfo, sink: any ConnectionSink, requestsPerSecond: Int) {
        self.info = info
        self.sink = sink
        self.requestBucket = Mutex(TokenBucket(ratePerSecond: requestsPerSecond, now: info.connectedAt))
    }

    public var id: String { info.connectionID }
    public var roomID: String { info.roomID }
    public var userID: String { info.userID }

    func has(_ capability: ChatCapability) -> Bool { info.capabilities.contains(capability) }
}

/// A value behind a mutex, for small shared state.
final class MutexBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }
}
