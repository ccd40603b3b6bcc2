import ArgumentParser
import Foundation
import ParleyDomain
import ParleyMessaging
import ParleyMetrics
import Synchronization

@main
struct ParleyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-bench",
        abstract: "Parley's benchmarks. Figures are printed as a table line and a JSON line.",
        subcommands: [
            Fanout.self, Saturate.self, Rooms.self, Connect.self, Idle.self, Tokens.self, Broadcast.self, Soak.self, SlowReader.self,
        ])
}

/// The delivery path without sockets: one room, `receivers` connections whose queues only count, one sender.
/// Run it with and without `--without-metrics` to see what counting costs on the path of a message.
struct Broadcast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Broadcast through LiveRooms in process (no sockets).")

    @Option(help: "Connections in the room.") var receivers = 1_000
    @Option(help: "Messages to send.") var messages = 2_000
    @Flag(help: "Run without the metrics recorder observing the room.") var withoutMetrics = false

    final class CountingSink: ConnectionSink {
        let count = Atomic<Int>(0)
        func enqueue(_ frame: OutboundFrame) -> Bool {
            count.add(1, ordering: .relaxed)
            return true
        }
        func close(_ code: CloseCode, reason: String) {}
    }

    func run() async throws {
        let clock = SystemWallClock()
        var quotas = QuotaValues()
        quotas[.sendMessageRate] = 1_000_000_000
        quotas[.requestsPerConnection] = 1_000_000_000
        let recorder = MetricsRecorder(clock: clock)
        let live = LiveRooms(
            limits: MessagingLimits(quotas: quotas), clock: clock, bus: LocalRoomBus(), observer: withoutMetrics ? nil : recorder)
        let room = Room(createTime: clock.now(), maximumMessageRatePerSecond: 100)
        let later = clock.now() + 3_600
        func claims(_ user: String, _ capabilities: [ChatCapability]) -> ChatTokenClaims {
            ChatTokenClaims(
                roomID: room.id, userID: user, capabilities: capabilities, attributes: [:], tokenExpirationTime: later,
                sessionExpirationTime: later)
        }
        let sinks = (0..<receivers).map { _ in CountingSink() }
        for (index, sink) in sinks.enumerated() {
            _ = try live.join(claims: claims("viewer-\(index)", []), room: room, remoteAddress: "127.0.0.1", sink: sink)
        }
        let sender = try live.join(claims: claims("sender", [.sendMessage]), room: room, remoteAddress: "127.0.0.1", sink: CountingSink())
        // The room's own rate limit would refuse most of a tight loop; lift it to measure the path itself.
        live.roomChanged(Room(id: room.id, createTime: room.createTime, maximumMessageRatePerSecond: 1_000_000_000))
        let started = ContinuousClock.now
        for index in 0..<messages {
            await live.handle(frame: #"{"Action":"SEND_MESSAGE","RequestId":"\#(index)","Content":"message \#(index)"}"#, from: sender)
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let deliveries = sinks.reduce(0) { $0 + $1.count.load(ordering: .relaxed) }
        let rate = Double(deliveries) / seconds
        print(
            "broadcast  receivers \(receivers)  messages \(messages)  metrics \(withoutMetrics ? "off" : "on")  deliveries \(deliveries)  \(String(format: "%.0f", rate)) deliveries/s  \(String(format: "%.3f", seconds)) s"
        )
        print(
            #"{"scenario":"broadcast","receivers":\#(receivers),"messages":\#(messages),"metrics":\#(!withoutMetrics),"deliveries":\#(deliveries),"deliveriesPerSecond":\#(Int(rate)),"seconds":\#(seconds)}"#
        )
    }
}
