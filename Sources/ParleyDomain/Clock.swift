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
        // Digits by hand: every frame and token carries a timestamp, and String(format:) is slow.
        var text = ""
        text.reserveCapacity(24)
        func append(_ value: Int, width: Int) {
            var digits = String(value)
            if digits.count < width { digits = String(repeating: "0", count: width - digits.count) + digits }
            text += digits
        }
        append(Int(parts.tm_year) + 1900, width: 4)
        text += "-"
        append(Int(parts.tm_mon) + 1, width: 2)
        text += "-"
        append(Int(parts.tm_mday), width: 2)
        text += "T"
        append(Int(parts.tm_hour), width: 2)
        text += ":"
        append(Int(parts.tm_min), width: 2)
        text += ":"
        append(Int(parts.tm_sec), width: 2)
        text += "."
        append(millis, width: 3)
        text += "Z"
        return text
    }
}

extension Date {
    /// Whole milliseconds since 1970, rounded: how Parley stores and compares times.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    public init(millisecondsSince1970: Int64) {
        self.init(timeIntervalSince1970: Double(millisecondsSince1970) / 1000)
    }
}
