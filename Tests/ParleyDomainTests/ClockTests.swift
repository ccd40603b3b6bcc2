import Foundation
import ParleyDomain
import Testing

@Suite("Timestamp")
struct TimestampTests {
    @Test(
        "formats RFC 3339 in UTC with exactly three fractional digits",
        arguments: [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_795_000_000_000, "2026-11-18T11:06:40.000Z"),
            (1_795_000_000_123, "2026-11-18T11:06:40.123Z"),
            (1_795_000_000_007, "2026-11-18T11:06:40.007Z"),
            (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
            (-500, "1969-12-31T23:59:59.500Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ] as [(Int64, String)]
    )
    func format(milliseconds: Int64, expected: String) {
        #expect(Timestamp.format(Date(millisecondsSince1970: milliseconds)) == expected)
    }

    @Test("sub-millisecond times round to the nearest millisecond, carrying into the next second")
    func rounding() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1.0004)) == "1970-01-01T00:00:01.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1.0006)) == "1970-01-01T00:00:01.001Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 59.9996)) == "1970-01-01T00:01:00.000Z")
    }

    @Test("any time formats to the RFC 3339 shape and parses back to the same millisecond")
    func parsesBack() throws {
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SeededGenerator(state: 3)
        for _ in 0..<200 {
            let milliseconds = Int64.random(in: 0...4_102_444_800_000, using: &generator)

            let text = Timestamp.format(Date(millisecondsSince1970: milliseconds))

            #expect(text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(text)")
            let parsed = try #require(parser.date(from: text), "\(text)")
            #expect(parsed.millisecondsSince1970 == milliseconds, "\(text)")
        }
    }
}

@Suite("Date milliseconds")
struct DateMillisecondsTests {
    @Test("millisecondsSince1970 rounds to the nearest whole millisecond")
    func rounding() {
        #expect(Date(timeIntervalSince1970: 0).millisecondsSince1970 == 0)
        #expect(Date(timeIntervalSince1970: 1.0004).millisecondsSince1970 == 1000)
        #expect(Date(timeIntervalSince1970: 1.0006).millisecondsSince1970 == 1001)
        #expect(Date(timeIntervalSince1970: -1.5).millisecondsSince1970 == -1500)
        #expect(Date(timeIntervalSince1970: 1_795_000_000.25).millisecondsSince1970 == 1_795_000_000_250)
    }

    @Test("init(millisecondsSince1970:) round-trips", arguments: [Int64(0), 1, -1, 999, 1_795_000_000_123, 4_102_444_800_000])
    func roundTrip(_ milliseconds: Int64) {
        let date = Date(millisecondsSince1970: milliseconds)

        #expect(date.millisecondsSince1970 == milliseconds)
        #expect(abs(date.timeIntervalSince1970 - Double(milliseconds) / 1000) < 1e-6)
    }
}

@Suite("ManualWallClock")
struct ManualWallClockTests {
    @Test("stands still until advanced, then moves by exactly the amount")
    func advances() {
        let start = Date(timeIntervalSince1970: 1_000)
        let clock = ManualWallClock(start)

        #expect(clock.now() == start)
        #expect(clock.now() == start)
        clock.advance(by: 1.5)
        #expect(clock.now() == start.addingTimeInterval(1.5))
        clock.advance(by: 60)
        #expect(clock.now() == start.addingTimeInterval(61.5))
    }

    @Test("starts at a fixed time by default")
    func defaultStart() {
        #expect(ManualWallClock().now() == Date(timeIntervalSince1970: 1_795_000_000))
    }

    @Test("advances from many tasks add up")
    func concurrentAdvances() async {
        let clock = ManualWallClock(Date(timeIntervalSince1970: 0))

        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<100 { group.addTask { clock.advance(by: 1) } }
        }

        #expect(clock.now() == Date(timeIntervalSince1970: 100))
    }
}

@Suite("AccessKey.generate")
struct AccessKeyTests {
    @Test("makes a 20-character id starting PKLY and a 40-character secret")
    func shape() {
        let time = Date(millisecondsSince1970: 1_795_000_000_000)

        let key = AccessKey.generate(at: time)

        #expect(key.accessKeyID.count == 20)
        #expect(key.accessKeyID.hasPrefix("PKLY"))
        #expect(key.accessKeyID.dropFirst(4).allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
        #expect(key.secretAccessKey.count == 40)
        #expect(
            key.secretAccessKey.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".contains($0) })
        #expect(key.createTime == time)
        #expect(key.revokeTime == nil)
    }

    @Test("every key is different")
    func unique() {
        let keys = (0..<50).map { _ in AccessKey.generate(at: Date()) }

        #expect(Set(keys.map(\.accessKeyID)).count == 50)
        #expect(Set(keys.map(\.secretAccessKey)).count == 50)
    }
}
