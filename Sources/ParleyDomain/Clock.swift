import Foundation

/// Wall-clock time, injected so that tests control it and never sleep.
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The system's wall clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to; for tests.
public final class ManualWallClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000)) {
        current = start
    }

    public func now() -> Date { lock.withLock { current } }

    public func advance(by seconds: TimeInterval) {
        lock.withLock { current += seconds }
    }
}

/// RFC 3339 timestamps in UTC with millisecond precision, as IVS Chat writes them.
public enum Timestamp {
    /// `2026-11-29T04:00:00.123Z`.
    public static func format(_ date: Date) -> String {
        let millisecondsSinceEpoch = Int(date.millisecondsSince1970)
        let seconds = Int((Double(millisecondsSinceEpoch) / 1000).rounded(.down))
        let millis = millisecondsSinceEpoch - seconds * 1000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis
        )
    }
}

extension Date {
    /// Whole milliseconds since 1970, rounded: how Parley stores and compares times.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    public init(millisecondsSince1970: Int64) {
        self.init(timeIntervalSince1970: Double(millisecondsSince1970) / 1000)
    }
}
