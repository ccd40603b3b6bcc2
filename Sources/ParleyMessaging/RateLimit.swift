import Foundation
import ParleyDomain
import Synchronization

/// A token bucket: `rate` requests a second, bursting up to `rate`. Not thread-safe; wrap it or own it.
public struct TokenBucket: Sendable {
    public private(set) var rate: Double
    private var tokens: Double
    private var lastRefill: Date

    public init(ratePerSecond: Int, now: Date) {
        rate = Double(ratePerSecond)
        tokens = Double(ratePerSecond)
        lastRefill = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: Date) -> Bool {
        // Callers read the clock before taking the lock, so times can arrive slightly out of order:
        // only time moving forward refills the bucket.
        if now > lastRefill {
            tokens = min(rate, tokens + now.timeIntervalSince(lastRefill) * rate)
            lastRefill = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Changes the rate, keeping at most the new burst.
    public mutating func setRate(_ ratePerSecond: Int) {
        rate = Double(ratePerSecond)
        tokens = min(tokens, rate)
    }
}

/// A token bucket shared across tasks.
public final class SharedTokenBucket: Sendable {
    private let bucket: Mutex<TokenBucket>

    public init(ratePerSecond: Int, now: Date) {
        bucket = Mutex(TokenBucket(ratePerSecond: ratePerSecond, now: now))
    }

    public func take(now: Date) -> Bool {
        bucket.withLock { $0.take(now: now) }
    }

    public func setRate(_ ratePerSecond: Int) {
        bucket.withLock { $0.setRate(ratePerSecond) }
    }
}

/// The messaging limits; server settings with IVS Chat's defaults.
public struct MessagingLimits: Sendable, Equatable {
    /// Requests a second per connection (IVS: 10, fixed).
    public var requestsPerConnectionPerSecond: Int
    /// SendMessage requests a second across all rooms.
    public var sendMessagePerSecond: Int
    /// DeleteMessage requests a second across all rooms and both planes.
    public var deleteMessagePerSecond: Int
    /// DisconnectUser requests a second across all rooms and both planes.
    public var disconnectUserPerSecond: Int
    /// SendEvent requests a second.
    public var sendEventPerSecond: Int
    /// Concurrent chat connections across all rooms.
    public var maximumConcurrentConnections: Int
    /// Bytes a slow connection may have waiting to be written before it is disconnected.
    public var outboundQueueBytes: Int

    public init(
        requestsPerConnectionPerSecond: Int = 10, sendMessagePerSecond: Int = 1_000, deleteMessagePerSecond: Int = 100,
        disconnectUserPerSecond: Int = 100, sendEventPerSecond: Int = 100, maximumConcurrentConnections: Int = 50_000,
        outboundQueueBytes: Int = 256 * 1_024
    ) {
        self.requestsPerConnectionPerSecond = requestsPerConnectionPerSecond
        self.sendMessagePerSecond = sendMessagePerSecond
        self.deleteMessagePerSecond = deleteMessagePerSecond
        self.disconnectUserPerSecond = disconnectUserPerSecond
        self.sendEventPerSecond = sendEventPerSecond
        self.maximumConcurrentConnections = maximumConcurrentConnections
        self.outboundQueueBytes = outboundQueueBytes
    }
}

extension MessagingLimits {
    /// The limits the quotas in force set.
    public init(quotas: QuotaValues, outboundQueueBytes: Int = 256 * 1_024) {
        self.init(
            requestsPerConnectionPerSecond: quotas[.requestsPerConnection], sendMessagePerSecond: quotas[.sendMessageRate],
            deleteMessagePerSecond: quotas[.deleteMessageRate], disconnectUserPerSecond: quotas[.disconnectUserRate],
            sendEventPerSecond: quotas[.sendEventTPS], maximumConcurrentConnections: quotas[.concurrentChatConnections],
            outboundQueueBytes: outboundQueueBytes)
    }
}
