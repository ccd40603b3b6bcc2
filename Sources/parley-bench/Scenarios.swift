import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOPosix
import Synchronization

/// What the subscribers of a measuring window received. Touched only on the benchmark's event loop.
final class Tally: @unchecked Sendable {
    var latency = makeLatencyHistogram()
    private var lastSequence: [Int]
    /// Per subscriber, which of the 64 sequences up to its last one it has seen (bit n: last − n). A sender's requests
    /// may reach the server slightly out of order, so an earlier sequence arriving late is a delivery, not a duplicate.
    private var seenBelowLast: [UInt64]
    private let firstSequence: Int
    private(set) var unique = 0
    private(set) var duplicates = 0
    private(set) var lastDeliveryAt: UInt64 = 0

    /// Messages numbered below `firstSequence` belong to an earlier window and are not counted.
    init(subscribers: Int, firstSequence: Int) {
        lastSequence = Array(repeating: firstSequence - 1, count: subscribers)
        seenBelowLast = Array(repeating: 0, count: subscribers)
        self.firstSequence = firstSequence
    }

    func record(subscriber: Int, _ bytes: UnsafeRawBufferPointer) {
        guard let mark = BenchMark.parse(bytes), mark.sequence >= firstSequence else { return }
        let now = monotonicNanoseconds()
        let last = lastSequence[subscriber]
        if mark.sequence > last {
            let shift = mark.sequence - last
            seenBelowLast[subscriber] = (shift < 64 ? seenBelowLast[subscriber] << shift : 0) | 1
            lastSequence[subscriber] = mark.sequence
        } else {
            let bit = UInt64(1) << min(last - mark.sequence, 63)
            guard last - mark.sequence < 64, seenBelowLast[subscriber] & bit == 0 else {
                duplicates += 1
                return
            }
            seenBelowLast[subscriber] |= bit
        }
        unique += 1
        _ = latency.record(now > mark.sentAt ? (now - mark.sentAt) / 1_000 : 0)
        lastDeliveryAt = now
    }
}

/// Rooms full of subscribers with one publisher each, measured window by window.
final class Audience: @unchecked Sendable {
    let target: Target
    let eventLoop: any EventLoop
    let membersPerRoom: Int
    private(set) var subscribers: [LoadSocket] = []
    private(set) var publishers: [Publisher] = []
    private(set) var roomIDs: [String] = []
    /// The current window's tally; subscribers report to whichever is current.
    private var tally: Tally
    private var nextSequence = 0
    /// Messages each publisher has sent in the current window.
    private var sentPerPublisher = 0
    private let closedSubscribers = Atomic<Int>(0)

    init(target: Target, membersPerRoom: Int) {
        self.target = target
        eventLoop = target.eventLoop
        self.membersPerRoom = membersPerRoom
        tally = Tally(subscribers: 0, firstSequence: 0)
    }

    var closedCount: Int { closedSubscribers.load(ordering: .relaxed) }

    /// Creates `rooms` rooms with their subscribers and publishers.
    func open(rooms: Int) async throws {
        for room in 0..<rooms {
            let identifier = try await target.makeRoom()
            roomIDs.append(identifier)
            let first = room * membersPerRoom
            let opened = try await target.subscribeAll(room: identifier, count: membersPerRoom, firstIndex: first) { index, socket in
                socket.onText = { bytes in self.tally.record(subscriber: first + index, bytes) }
                socket.onClose = { self.closedSubscribers.add(1, ordering: .relaxed) }
            }
            subscribers += opened
            publishers.append(try await target.makePublisher(room: identifier, index: rooms * membersPerRoom + room))
        }
    }

    struct Window {
        var sent = 0
        var rejected = 0
        var expected = 0
        var delivered = 0
        var duplicates = 0
        var seconds = 0.0
        var latency = makeLatencyHistogram()
        var lost: Int { max(0, expected - delivered) }
        var deliveriesPerSecond: Double { seconds > 0 ? Double(delivered) / seconds : 0 }
    }

    /// Every publisher sends `rate` messages a second for `duration`; then waits for deliveries to drain (at most `drain`).
    func measure(rate: Int, duration: Double, drain: Double = 5) async throws -> Window {
        let started = try await eventLoop.submit { () -> (UInt64, [Int]) in
            self.tally = Tally(subscribers: self.subscribers.count, firstSequence: self.nextSequence)
            return (monotonicNanoseconds(), self.publishers.map(\.rejected))
        }.get()
        let sent = try await send(rate: rate, duration: duration, from: started.0)
        let finishedSending = monotonicNanoseconds()
        while true {
            let (delivered, expected) = try await eventLoop.submit {
                (self.tally.unique, self.expected(sent: sent, rejectedBefore: started.1))
            }.get()
            if delivered >= expected || Double(monotonicNanoseconds() - finishedSending) / 1e9 > drain { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await eventLoop.submit {
            var window = Window()
            window.sent = sent
            window.rejected = zip(self.publishers, started.1).reduce(0) { $0 + $1.0.rejected - $1.1 }
            window.expected = self.expected(sent: sent, rejectedBefore: started.1)
            window.delivered = self.tally.unique
            window.duplicates = self.tally.duplicates
            window.seconds = Double(max(self.tally.lastDeliveryAt, finishedSending) - started.0) / 1e9
            window.latency = self.tally.latency
            return window
        }.get()
    }

    private func expected(sent: Int, rejectedBefore: [Int]) -> Int {
        let rejected = zip(publishers, rejectedBefore).reduce(0) { $0 + $1.0.rejected - $1.1 }
        return (sent - rejected) * membersPerRoom
    }

    /// Sends on a 2 ms tick whatever the schedule says is due, so the rate holds however the ticks fall.
    private func send(rate: Int, duration: Double, from start: UInt64) async throws -> Int {
        let done = eventLoop.makePromise(of: Int.self)
        let perPublisher = Int(Double(rate) * duration)
        sentPerPublisher = 0
        eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(2)) { task in
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            let due = min(perPublisher, Int(elapsed * Double(rate)) + 1)
            while self.sentPerPublisher < due {
                // Sequences count steps: every publisher sends the same one, so each subscriber sees 0, 1, 2 …
                for publisher in self.publishers { publisher.send(self.nextSequence) }
                self.nextSequence += 1
                self.sentPerPublisher += 1
            }
            if self.sentPerPublisher >= perPublisher {
                task.cancel()
                done.succeed(self.sentPerPublisher * self.publishers.count)
            }
        }
        return try await done.futureResult.get()
    }

    func close() async throws {
        try await eventLoop.submit {
            for socket in self.subscribers { socket.close() }
            for publisher in self.publishers { publisher.close() }
        }.get()
    }
}

extension Report {
    mutating func add(_ window: Audience.Window) {
        add("sent", window.sent)
        add("rejected", window.rejected)
        add("deliveries", window.delivered)
        add("lost", window.lost)
        add("duplicated", window.duplicates)
        add("deliveriesPerSecond", window.deliveriesPerSecond)
        addLatency("latency", window.latency)
    }
}

/// The load generator's one event loop (pin the process with `taskset` to keep it off the server's core).
func withLoadEventLoop<Result>(_ body: (any EventLoop) async throws -> Result) async throws -> Result {
    raiseFileDescriptorLimit()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let result = try await body(group.next())
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}

/// `rooms` rooms of `members` subscribers, each room's sender at `rate` messages a second for `duration`: one window,
/// reported after `parameters`. What `fanout` (one room) and `rooms` measure.
private func measureChattingRooms(
    _ server: TargetOptions, scenario: String, rooms: Int, members: Int, rate: Int, duration: Double, parameters: [(String, Int)]
) async throws {
    try await withLoadEventLoop { eventLoop in
        let audience = Audience(target: server.makeTarget(on: eventLoop), membersPerRoom: members)
        try await audience.open(rooms: rooms)
        let window = try await audience.measure(rate: rate, duration: duration)
        var report = Report(scenario: scenario, target: server.target)
        for (name, value) in parameters { report.add(name, value) }
        report.add(window)
        report.add("disconnected", audience.closedCount)
        report.addServerMemory(server.serverPid)
        report.print()
        try await audience.close()
    }
}

struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N subscribers in one room, one sender at R messages/s for D seconds: deliveries/s, latency, losses.")

    @OptionGroup var server: TargetOptions
    @Option(help: "Subscribers in the room.") var subscribers = 1_000
    @Option(help: "Messages a second.") var rate = 10
    @Option(help: "Seconds of sending.") var duration = 10.0

    func run() async throws {
        try await measureChattingRooms(
            server, scenario: "fanout", rooms: 1, members: subscribers, rate: rate, duration: duration,
            parameters: [("subscribers", subscribers), ("rate", rate)])
    }
}

struct Saturate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Raises the message rate step by step until p99 passes the bound or a delivery is lost; reports the best step, and the loss-free throughput ceiling."
    )

    @OptionGroup var server: TargetOptions
    @Option(help: "Subscribers in the room.") var subscribers = 10_000
    @Option(parsing: .upToNextOption, help: "Message rates to try, in order.") var rates: [Int] = [
        1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100,
    ]
    @Option(help: "Seconds per step.") var duration = 5.0
    @Option(help: "The p99 latency bound, in milliseconds.") var p99Bound = 250.0

    func run() async throws {
        try await withLoadEventLoop { eventLoop in
            let audience = Audience(target: server.makeTarget(on: eventLoop), membersPerRoom: subscribers)
            try await audience.open(rooms: 1)
            var best: (rate: Int, window: Audience.Window)?
            var peak: (rate: Int, window: Audience.Window)?
            var stoppedBy: String?
            for rate in rates {
                let window = try await audience.measure(rate: rate, duration: duration)
                let p99 = Double(window.latency.valueAtPercentile(99)) / 1_000
                Swift.print(
                    "  step \(rate)/s: \(Int(window.deliveriesPerSecond)) deliveries/s, p99 \(String(format: "%.1f", p99)) ms, lost \(window.lost), rejected \(window.rejected)"
                )
                let lossFree = window.lost == 0 && window.rejected == 0
                if stoppedBy == nil, lossFree, p99 <= p99Bound {
                    best = (rate, window)
                } else if stoppedBy == nil {
                    stoppedBy = "at \(rate)/s: p99 \(String(format: "%.1f", p99)) ms, lost \(window.lost), rejected \(window.rejected)"
                }
                if lossFree, window.deliveriesPerSecond > peak?.window.deliveriesPerSecond ?? 0 { peak = (rate, window) }
                // Past the bound, keep going only to find the throughput ceiling: stop at a loss or once the room falls behind.
                let offered = Double(rate * subscribers)
                if !lossFree || (stoppedBy != nil && window.deliveriesPerSecond < 0.9 * offered) { break }
            }
            var report = Report(scenario: "saturate", target: server.target)
            report.add("subscribers", subscribers)
            report.add("sustainedRate", best?.rate ?? 0)
            report.add("sustainedDeliveriesPerSecond", best?.window.deliveriesPerSecond ?? 0)
            if let best { report.addLatency("latency", best.window.latency) }
            report.add("stoppedBy", stoppedBy ?? "every rate held")
            // The most delivered without a loss, whatever the latency: the throughput ceiling.
            report.add("peakRate", peak?.rate ?? 0)
            report.add("peakDeliveriesPerSecond", peak?.window.deliveriesPerSecond ?? 0)
            if let peak { report.add("peakP99Ms", Double(peak.window.latency.valueAtPercentile(99)) / 1_000) }
            report.addServerMemory(server.serverPid)
            report.print()
            try await audience.close()
        }
    }
}

struct Rooms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "K rooms of M members each, every room chatting at R messages/s.")

    @OptionGroup var server: TargetOptions
    @Option(help: "Rooms.") var rooms = 100
    @Option(help: "Members per room.") var members = 100
    @Option(help: "Messages a second in each room.") var rate = 5
    @Option(help: "Seconds of sending.") var duration = 10.0

    func run() async throws {
        try await measureChattingRooms(
            server, scenario: "rooms", rooms: rooms, members: members, rate: rate, duration: duration,
            parameters: [("rooms", rooms), ("members", members), ("rate", rate)])
    }
}

struct Connect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Opens C connections as fast as it can, each with its own freshly created token (Parley).")

    @OptionGroup var server: TargetOptions
    @Option(help: "Connections to open.") var connections = 5_000
    @Option(help: "Connections being opened at once.") var concurrency = 64

    func run() async throws {
        try await withLoadEventLoop { eventLoop in
            let target = server.makeTarget(on: eventLoop)
            let room = try await target.makeRoom()
            let started = monotonicNanoseconds()
            // Each connection: its subscription (a fresh token for Parley), then the handshake, timed apart.
            let outcomes = try await concurrently(connections, width: concurrency) { index in
                let begin = monotonicNanoseconds()
                do {
                    let (path, subprotocol) = try await target.subscription(room: room, index: index)
                    let tokenAt = monotonicNanoseconds()
                    let socket = try await target.openSocket(path: path, subprotocol: subprotocol, index: index) { _ in }
                    let end = monotonicNanoseconds()
                    return (socket: socket, handshake: (end - tokenAt) / 1_000, total: (end - begin) / 1_000)
                        as (LoadSocket, UInt64, UInt64)?
                } catch {
                    return nil
                }
            }
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            let opened = outcomes.compactMap { $0 }
            var handshake = makeLatencyHistogram()
            var total = makeLatencyHistogram()
            for (_, handshakeMicroseconds, totalMicroseconds) in opened {
                _ = handshake.record(handshakeMicroseconds)
                _ = total.record(totalMicroseconds)
            }
            let failures = connections - opened.count
            var report = Report(scenario: "connect", target: server.target)
            report.add("connections", connections)
            report.add("failures", failures)
            report.add("connectsPerSecond", Double(connections - failures) / seconds)
            report.addLatency("handshake", handshake)
            report.addLatency("tokenAndHandshake", total)
            report.addServerMemory(server.serverPid)
            report.print()
            try await eventLoop.submit { for (socket, _, _) in opened { socket.close() } }.get()
        }
    }
}

struct Idle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Holds C idle connections and reports the server's RSS growth per connection.")

    @OptionGroup var server: TargetOptions
    @Option(help: "Idle connections to hold.") var connections = 10_000
    @Option(help: "Seconds to let the server settle before each reading.") var settle = 3.0

    func run() async throws {
        guard !server.serverPid.isEmpty else { throw ValidationError("idle needs --server-pid to read the server's memory.") }
        try await withLoadEventLoop { eventLoop in
            let target = server.makeTarget(on: eventLoop)
            let room = try await target.makeRoom()
            // Warm up: the first connections pay for one-off allocations (pools, caches) that are not per connection.
            let warmUp = try await target.subscribeAll(room: room, count: 200, firstIndex: connections) { _, _ in }
            try await eventLoop.submit { for socket in warmUp { socket.close() } }.get()
            try await Task.sleep(for: .seconds(settle))
            let before = ServerMemory.read(server.serverPid).residentKB
            let sockets = try await target.subscribeAll(room: room, count: connections) { _, _ in }
            try await Task.sleep(for: .seconds(settle))
            let after = ServerMemory.read(server.serverPid).residentKB
            var report = Report(scenario: "idle", target: server.target)
            report.add("connections", sockets.count)
            report.add("serverRssBeforeMB", Double(before) / 1_024)
            report.add("serverRssAfterMB", Double(after) / 1_024)
            report.add("bytesPerConnection", Double(after - before) * 1_024 / Double(max(sockets.count, 1)))
            report.print()
            try await eventLoop.submit { for socket in sockets { socket.close() } }.get()
        }
    }
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "CreateChatToken calls a second over the API, and their latency (Parley).")

    @OptionGroup var server: TargetOptions
    @Option(help: "Calls to make.") var requests = 20_000
    @Option(help: "Calls in flight at once (one per keep-alive connection).") var concurrency = 32

    func run() async throws {
        guard server.target == .parley else { throw ValidationError("tokens measures Parley's CreateChatToken; nchan has none.") }
        try await withLoadEventLoop { eventLoop in
            let target = server.makeTarget(on: eventLoop)
            let room = try await target.makeRoom()
            let started = monotonicNanoseconds()
            let outcomes = try await concurrently(requests, width: concurrency) { _ -> UInt64? in
                let begin = monotonicNanoseconds()
                do {
                    _ = try await target.token(room: room, user: "viewer")
                    return (monotonicNanoseconds() - begin) / 1_000
                } catch {
                    return nil
                }
            }
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            var latency = makeLatencyHistogram()
            for case let microseconds? in outcomes { _ = latency.record(microseconds) }
            let failures = outcomes.count { $0 == nil }
            var report = Report(scenario: "tokens", target: server.target)
            report.add("requests", requests)
            report.add("failures", failures)
            report.add("callsPerSecond", Double(requests - failures) / seconds)
            report.addLatency("latency", latency)
            report.addServerMemory(server.serverPid)
            report.print()
        }
    }
}
