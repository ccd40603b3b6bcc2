import Foundation
import ParleyDomain
import ParleyLogging
import ParleyReview
import Prometheus

/// The `/metrics` exposition: Parley's metrics as Prometheus counters, gauges and histograms, plus process figures.
/// Counters are advanced from the recorder's flushed totals, never on the delivery path.
public final class PrometheusExporter: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let reviewStatistics: ReviewStatistics
    let httpDurations: DurationHistogram

    public init(reviewStatistics: ReviewStatistics) {
        self.reviewStatistics = reviewStatistics
        httpDurations = registry.makeDurationHistogram(
            name: "parley_http_request_duration_seconds",
            buckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
            ],
            help: "Time to answer HTTP requests (API, console, health).")
    }

    /// Records one HTTP request's duration.
    public func recordHTTPRequest(_ duration: Duration) {
        httpDurations.record(duration)
    }

    /// Adds flushed counts: `Sum` of counted series becomes counter increments.
    func add(_ series: MetricSeries, _ aggregate: MetricAggregate) {
        let labels = series.dimensions.map { (Self.labelName($0.name), $0.value) }
        switch series.name {
        case MetricName.concurrentChatConnections, MetricName.resourceCount, MetricName.roomConnections:
            break  // gauges, set by `setGauges`
        default:
            registry.makeCounter(
                name: "parley_" + Self.snakeCase(series.name) + "_total", labels: labels, help: "IVS Chat metric \(series.name)."
            )
            .increment(by: Int64(aggregate.sum))
        }
    }

    func setGauges(connections: Int, outboxBytes: Int, slowConsumersDropped: Int, droppedLogRecords: Int) {
        registry.makeGauge(name: "parley_concurrent_chat_connections", help: "Chat connections open now.").set(Int64(connections))
        registry.makeGauge(name: "parley_log_outbox_bytes", help: "Bytes of chat-log records waiting for their destination.")
            .set(Int64(outboxBytes))
        registry.makeGauge(name: "parley_slow_consumers_dropped", help: "Connections dropped for not keeping up, since start.")
            .set(Int64(slowConsumersDropped))
        registry.makeGauge(name: "parley_log_records_dropped", help: "Chat-log records dropped (outbox unwritable or over its bound).")
            .set(Int64(droppedLogRecords))
        registry.makeGauge(name: "parley_process_resident_memory_bytes", help: "Resident memory of the server process.")
            .set(Int64(ProcessFigures.residentMemoryBytes()))
        registry.makeGauge(name: "parley_process_open_fds", help: "Open file descriptors of the server process.").set(
            Int64(ProcessFigures.openFileDescriptors()))
    }

    /// The exposition text.
    public func render() -> String {
        registry.emitToString() + reviewLatencyHistogram()
    }

    /// Message review handler latency by URI, from the review statistics' buckets.
    private func reviewLatencyHistogram() -> String {
        let name = "parley_review_handler_latency_seconds"
        var text = "# HELP \(name) Time message review handlers took to answer.\n# TYPE \(name) histogram\n"
        for (uri, figures) in reviewStatistics.snapshot().sorted(by: { $0.key < $1.key }) {
            let label = "uri=\"\(Self.escape(uri))\""
            var cumulative = 0
            for (index, bound) in ReviewStatistics.latencyBucketBoundsMilliseconds.enumerated() {
                cumulative += figures.latencyBuckets[index]
                text += "\(name)_bucket{\(label),le=\"\(bound / 1000)\"} \(cumulative)\n"
            }
            text += "\(name)_bucket{\(label),le=\"+Inf\"} \(figures.invocations)\n"
            text += "\(name)_sum{\(label)} \(figures.totalLatencyMilliseconds / 1000)\n"
            text += "\(name)_count{\(label)} \(figures.invocations)\n"
        }
        return text
    }

    static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase, !out.isEmpty { out += "_" }
            out += character.lowercased()
        }
        return out
    }

    static func labelName(_ name: String) -> String { snakeCase(name) }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(
            of: "\n", with: "\\n")
    }
}

/// Figures of the server process from /proc.
enum ProcessFigures {
    static func residentMemoryBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func openFileDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }
}
