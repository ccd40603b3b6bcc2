import ArgumentParser
import Foundation
import Histogram

/// Many rooms chatting steadily for a long time, sampled window by window: does the server's memory stay flat,
/// do its file descriptors stay put, does anything get lost, refused or disconnected along the way?
struct Soak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "K rooms of M members chatting at R messages/s for D seconds; samples RSS, open fds and errors every window.")

    @OptionGroup var server: TargetOptions
    @Option(help: "Rooms.") var rooms = 200
    @Option(help: "Members per room.") var members = 100
    @Option(help: "Messages a second in each room.") var rate = 1
    @Option(help: "Seconds of chatting in all.") var duration = 1_800.0
    @Option(help: "Seconds per sample window.") var interval = 30.0
    @Option(help: "Seconds at the start left out of the memory figures (pools and caches filling up).") var warmUp = 120.0

    struct Sample {
        var elapsed: Double
        var residentMB: Double
        var openFiles: Int
        var window: Audience.Window
    }

    func run() async throws {
        guard !server.serverPid.isEmpty else { throw ValidationError("soak needs --server-pid to read the server's memory.") }
        try await withLoadEventLoop { eventLoop in
            let filesBefore = ServerProcess.openFiles(server.serverPid)
            let audience = Audience(target: server.makeTarget(on: eventLoop), membersPerRoom: members)
            try await audience.open(rooms: rooms)
            let connectedFiles = ServerProcess.openFiles(server.serverPid)
            Swift.print("soak: \(audience.subscribers.count) subscribers in \(rooms) rooms; server fds \(connectedFiles)")
            var samples: [Sample] = []
            let started = monotonicNanoseconds()
            while Double(monotonicNanoseconds() - started) / 1e9 < duration {
                let window = try await audience.measure(rate: rate, duration: interval)
                let sample = Sample(
                    elapsed: Double(monotonicNanoseconds() - started) / 1e9,
                    residentMB: Double(ServerMemory.read(server.serverPid).residentKB) / 1_024,
                    openFiles: ServerProcess.openFiles(server.serverPid), window: window)
                samples.append(sample)
                Swift.print(
                    String(
                        format:
                            "  t=%6.0fs  rss %7.1f MB  fds %6d  deliveries %8d  lost %d  rejected %d  duplicated %d  p99 %7.1f ms  disconnected %d",
                        sample.elapsed, sample.residentMB, sample.openFiles, window.delivered, window.lost, window.rejected,
                        window.duplicates, Double(window.latency.valueAtPercentile(99)) / 1_000, audience.closedCount))
            }
            let settled = samples.filter { $0.elapsed > warmUp }
            var latency = makeLatencyHistogram()
            for sample in samples { latency.add(sample.window.latency) }
            var report = Report(scenario: "soak", target: server.target)
            report.add("rooms", rooms)
            report.add("members", members)
            report.add("connections", audience.subscribers.count + audience.publishers.count)
            report.add("rate", rate)
            report.add("seconds", samples.last?.elapsed ?? 0)
            report.add("samples", samples.count)
            report.add("sent", samples.reduce(0) { $0 + $1.window.sent })
            report.add("deliveries", samples.reduce(0) { $0 + $1.window.delivered })
            report.add("lost", samples.reduce(0) { $0 + $1.window.lost })
            report.add("duplicated", samples.reduce(0) { $0 + $1.window.duplicates })
            report.add("rejected", samples.reduce(0) { $0 + $1.window.rejected })
            report.add("disconnected", audience.closedCount)
            report.addLatency("latency", latency)
            report.add("worstWindowP99Ms", Double(samples.map { $0.window.latency.valueAtPercentile(99) }.max() ?? 0) / 1_000)
            report.add("fdsConnected", connectedFiles)
            report.add("fdsMin", samples.map(\.openFiles).min() ?? 0)
            report.add("fdsMax", samples.map(\.openFiles).max() ?? 0)
            report.add("rssAfterWarmUpMB", settled.first?.residentMB ?? .nan)
            report.add("rssLastMB", settled.last?.residentMB ?? .nan)
            report.add("rssMinMB", settled.map(\.residentMB).min() ?? .nan)
            report.add("rssMaxMB", settled.map(\.residentMB).max() ?? .nan)
            report.add("rssSlopeMBPerHour", slope(settled.map { ($0.elapsed / 3_600, $0.residentMB) }))
            report.add("rssCurveMB", samples.map { String(format: "%.0f", $0.residentMB) }.joined(separator: " "))
            try await audience.close()
            // Every connection's descriptor must come back: wait for the server to see the closes, then compare.
            let closedAt = monotonicNanoseconds()
            while ServerProcess.openFiles(server.serverPid) > filesBefore, Double(monotonicNanoseconds() - closedAt) / 1e9 < 30 {
                try await Task.sleep(for: .milliseconds(100))
            }
            report.add("fdsBefore", filesBefore)
            report.add("fdsAfterClose", ServerProcess.openFiles(server.serverPid))
            report.addServerMemory(server.serverPid)
            report.print()
        }
    }

    /// The least-squares slope of y over x; not a number for fewer than two points.
    private func slope(_ points: [(x: Double, y: Double)]) -> Double {
        guard points.count >= 2 else { return .nan }
        let meanX = points.map(\.x).reduce(0, +) / Double(points.count)
        let meanY = points.map(\.y).reduce(0, +) / Double(points.count)
        let covariance = points.reduce(0) { $0 + ($1.x - meanX) * ($1.y - meanY) }
        let variance = points.reduce(0) { $0 + ($1.x - meanX) * ($1.x - meanX) }
        return variance > 0 ? covariance / variance : .nan
    }
}

/// A room of healthy subscribers measured twice: alone, then with a few readers that have stalled (they stop reading
/// and have a small receive buffer). The server must drop the stalled ones once their queue is full, and the healthy
/// ones must see the same latency and lose nothing.
struct SlowReader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slow-reader",
        abstract: "N healthy subscribers with and without S stalled readers in the same room: latency, losses, stalled readers dropped.")

    @OptionGroup var server: TargetOptions
    @Option(help: "Healthy subscribers in the room.") var subscribers = 2_000
    @Option(help: "Subscribers that stop reading.") var slowReaders = 10
    @Option(help: "Messages a second.") var rate = 20
    @Option(help: "Seconds of sending per window.") var duration = 30.0
    @Option(help: "Receive buffer of a stalled reader, in bytes.") var slowReceiveBuffer = 4_096
    @Option(help: "Seconds to wait for the server to have dropped every stalled reader.") var dropTimeout = 30.0

    func run() async throws {
        try await withLoadEventLoop { eventLoop in
            let target = server.makeTarget(on: eventLoop)
            let audience = Audience(target: target, membersPerRoom: subscribers)
            try await audience.open(rooms: 1)
            let baseline = try await audience.measure(rate: rate, duration: duration)

            let dropped = DropCount()
            let stalled = try await target.subscribeAll(
                room: audience.roomIDs[0], count: slowReaders, firstIndex: subscribers + 1, receiveBufferBytes: slowReceiveBuffer
            ) { _, socket in
                socket.onClose = { dropped.count += 1 }
            }
            try await eventLoop.submit { for socket in stalled { socket.setReading(false) } }.get()
            let withStalled = try await audience.measure(rate: rate, duration: duration)

            // A stalled reader sees that it was dropped once it reads again: what was buffered, then the end of the stream.
            try await eventLoop.submit { for socket in stalled { socket.setReading(true) } }.get()
            let waitStarted = monotonicNanoseconds()
            while try await eventLoop.submit({ dropped.count }).get() < slowReaders,
                Double(monotonicNanoseconds() - waitStarted) / 1e9 < dropTimeout
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            let droppedCount = try await eventLoop.submit { dropped.count }.get()

            var report = Report(scenario: "slow-reader", target: server.target)
            report.add("subscribers", subscribers)
            report.add("slowReaders", slowReaders)
            report.add("rate", rate)
            report.add("padding", server.padding)
            report.add("slowReadersDropped", droppedCount)
            report.add("healthyDisconnected", audience.closedCount)
            report.add("baselineLost", baseline.lost)
            report.add("baselineDuplicated", baseline.duplicates)
            report.add("baselineRejected", baseline.rejected)
            report.addLatency("baseline", baseline.latency)
            report.add("withSlowReadersLost", withStalled.lost)
            report.add("withSlowReadersDuplicated", withStalled.duplicates)
            report.add("withSlowReadersRejected", withStalled.rejected)
            report.addLatency("withSlowReaders", withStalled.latency)
            report.addServerMemory(server.serverPid)
            report.print()
            try await eventLoop.submit { for socket in stalled { socket.close() } }.get()
            try await audience.close()
        }
    }

    /// Stalled readers the server has dropped; touched only on the benchmark's event loop.
    private final class DropCount: @unchecked Sendable {
        var count = 0
    }
}

/// What /proc says about the server's processes besides memory.
enum ServerProcess {
    /// Open file descriptors, summed over the processes.
    static func openFiles(_ pids: [Int32]) -> Int {
        pids.reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\($1)/fd"))?.count ?? 0) }
    }
}
