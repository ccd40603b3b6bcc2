import Foundation
import ParleyMessaging
import Testing

/// Whole seconds since 1970 are exact in a Double, and so are the binary fractions the tests add to them.
let bucketStart = Date(timeIntervalSince1970: 1_795_000_000)

/// A token bucket behind a reference, so that takes can be counted inside expectations.
final class BucketProbe {
    var bucket: TokenBucket

    init(rate: Int) {
        bucket = TokenBucket(ratePerSecond: rate, now: bucketStart)
    }

    /// How many of `attempts` takes, `seconds` after the start, succeed.
    func granted(_ attempts: Int, after seconds: TimeInterval = 0) -> Int {
        (0..<attempts).count(where: { _ in bucket.take(now: bucketStart.addingTimeInterval(seconds)) })
    }
}

/// How many of `attempts` takes from a shared `bucket`, `seconds` after the start, succeed.
func granted(_ attempts: Int, from bucket: SharedTokenBucket, after seconds: TimeInterval = 0) -> Int {
    (0..<attempts).count(where: { _ in bucket.take(now: bucketStart.addingTimeInterval(seconds)) })
}

@Suite("TokenBucket")
struct TokenBucketTests {
    @Test("starts full: `rate` takes succeed at once, the next fails", arguments: [1, 4, 10, 100])
    func burst(_ rate: Int) {
        let probe = BucketProbe(rate: rate)

        #expect(probe.granted(rate + 5) == rate)
    }

    @Test("refills at the rate: a quarter second at 4/s gives one more take, half a second two")
    func refill() {
        let probe = BucketProbe(rate: 4)
        #expect(probe.granted(4) == 4)

        #expect(probe.granted(3, after: 0.25) == 1)
        #expect(probe.granted(3, after: 0.75) == 2)
    }

    @Test("a long pause refills only up to the burst")
    func burstCap() {
        let probe = BucketProbe(rate: 4)
        #expect(probe.granted(4) == 4)

        #expect(probe.granted(10, after: 3600) == 4)
    }

    @Test("a take stamped out of order (earlier than the last) neither refills nor rewinds the bucket")
    func outOfOrderTimes() {
        // Setup: drained at the start.
        let probe = BucketProbe(rate: 2)
        #expect(probe.granted(2) == 2)

        // Act: a request whose time was read a little earlier arrives late (concurrent callers read the clock before the lock).
        #expect(probe.granted(1, after: -0.5) == 0)

        // Verify: no time has passed beyond the start, so nothing more may be granted there.
        #expect(probe.granted(1) == 0)
        #expect(probe.granted(2, after: 0.5) == 1)
    }

    @Test("lowering the rate caps the tokens at the new burst at once")
    func lowerRate() {
        let probe = BucketProbe(rate: 10)

        probe.bucket.setRate(2)

        #expect(probe.bucket.rate == 2)
        #expect(probe.granted(10) == 2)
    }

    @Test("raising the rate refills faster from then on")
    func raiseRate() {
        let probe = BucketProbe(rate: 1)
        #expect(probe.granted(2) == 1)

        probe.bucket.setRate(4)

        #expect(probe.granted(2, after: 0.25) == 1)
    }
}

@Suite("SharedTokenBucket")
struct SharedTokenBucketTests {
    @Test("behaves as a token bucket with explicit times")
    func sequential() {
        let bucket = SharedTokenBucket(ratePerSecond: 2, now: bucketStart)

        #expect(granted(5, from: bucket) == 2)
        #expect(granted(5, from: bucket, after: 0.5) == 1)
        #expect(granted(5, from: bucket, after: 1.5) == 2)
    }

    @Test("concurrent takes at one instant grant exactly the burst")
    func concurrent() async {
        let bucket = SharedTokenBucket(ratePerSecond: 10, now: bucketStart)

        let grantedCount = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { bucket.take(now: bucketStart) } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }

        #expect(grantedCount == 10)
    }
}
