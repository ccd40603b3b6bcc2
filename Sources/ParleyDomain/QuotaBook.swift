import Synchronization

/// The quota values in force, shared by every enforcement point and changed while the server runs.
public final class QuotaBook: Sendable {
    private let current: Mutex<QuotaValues>

    public init(_ values: QuotaValues) {
        current = Mutex(values)
    }

    public var values: QuotaValues { current.withLock { $0 } }

    public subscript(quota: Quota) -> Int { current.withLock { $0[quota] } }

    public func replace(with values: QuotaValues) {
        current.withLock { $0 = values }
    }
}
