import Foundation
import Logging
import ParleyDomain
import ParleyLogging
import ParleyMessaging
import ParleyReview
import ServiceLifecycle

/// The metrics background job: every few seconds it samples gauges, turns review and logging statistics into
/// metric samples, writes the recorder's minutes to storage at 1-minute, 5-minute and 1-hour resolution (sums add,
/// so each resolution is rolled up as it is written), advances the Prometheus counters, applies adjusted quotas,
/// and raises alarms; hourly it deletes points past their retention.
public struct MetricsService: Service {
    let recorder: MetricsRecorder
    let store: any ParleyStore
    let clock: any WallClock
    let exporter: PrometheusExporter
    let live: LiveRooms
    let reviewStatistics: ReviewStatistics
    let loggingStatistics: LoggingStatistics
    let quotas: QuotaBook
    let baseQuotas: QuotaValues
    let alarmThreshold: Double
    let applyQuotas: @Sendable (QuotaValues) -> Void
    let logger: Logger
    let interval: Duration

    public init(
        recorder: MetricsRecorder, store: any ParleyStore, clock: any WallClock, exporter: PrometheusExporter, live: LiveRooms,
        reviewStatistics: ReviewStatistics, loggingStatistics: LoggingStatistics, quotas: QuotaBook, baseQuotas: QuotaValues,
        alarmThreshold: Double, applyQuotas: @escaping @Sendable (QuotaValues) -> Void, logger: Logger, interval: Duration = .seconds(5)
    ) {
        self.recorder = recorder
        self.store = store
        self.clock = clock
        self.exporter = exporter
        self.live = live
        self.reviewStatistics = reviewStatistics
        self.loggingStatistics = loggingStatistics
        self.quotas = quotas
        self.baseQuotas = baseQuotas
        self.alarmThreshold = alarmThreshold
        self.applyQuotas = applyQuotas
        self.logger = logger
        self.interval = interval
    }

    /// What the previous round saw, to turn cumulative statistics into increments.
    public struct Memory: Sendable {
        var review: [String: ReviewStatistics.Handler] = [:]
        var logging: [String: LoggingStatistics.Configuration] = [:]
        var alarming: Set<Quota> = []
        var lastRetention: Date = .distantPast
    }

    public func run() async throws {
        var memory = Memory()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await runOnce(&memory)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        await runOnce(&memory)
    }

    /// One round; tests call it directly with an injected clock.
    public func runOnce(_ memory: inout Memory) async {
        do {
            try await refreshQuotas()
            sampleGauges()
            recordStatisticIncrements(&memory)
            try await flush()
            try await checkAlarms(&memory)
            if clock.now().timeIntervalSince(memory.lastRetention) >= 3_600 {
                try await applyRetention()
                memory.lastRetention = clock.now()
            }
        } catch {
            // Unwritten points wait for the next round.
            if !error.isStorageFull { logger.error("Metrics round failed", metadata: ["error": "\(error)"]) }
        }
        // The gauges come from memory and reads, so /metrics stays current while writes fail (a full disk, say).
        do {
            exporter.setGauges(
                connections: live.connectionCount, outboxBytes: try await store.logOutboxSize(),
                slowConsumersDropped: live.slowConsumersDropped, droppedLogRecords: loggingStatistics.droppedRecords)
        } catch {
            logger.error("Metrics gauges could not be read", metadata: ["error": "\(error)"])
        }
    }

    /// Loads adjusted quotas and applies any change at once.
    public func refreshQuotas() async throws {
        var values = baseQuotas
        for (quota, value) in try await store.quotaOverrides() { values[quota] = value }
        if values != quotas.values {
            quotas.replace(with: values)
            applyQuotas(values)
        }
    }

    private func sampleGauges() {
        let total = Double(live.connectionCount)
        recorder.record(
            total, [MetricSeries(MetricName.concurrentChatConnections), MetricSeries(MetricName.resourceCount, MetricName.usageDimensions)])
        for (roomID, count) in live.connectionCountsByRoom() {
            recorder.record(Double(count), [MetricSeries(MetricName.roomConnections, [MetricDimension("Room", roomID)])])
        }
    }

    private func recordStatisticIncrements(_ memory: inout Memory) {
        for (uri, now) in reviewStatistics.snapshot() {
            let before = memory.review[uri] ?? ReviewStatistics.Handler()
            let dimension = [MetricDimension("Uri", uri)]
            if now.invocationErrors > before.invocationErrors {
                recorder.record(
                    Double(now.invocationErrors - before.invocationErrors), [MetricSeries(MetricName.invocationErrors, dimension)])
            }
            if now.responseValidationErrors > before.responseValidationErrors {
                recorder.record(
                    Double(now.responseValidationErrors - before.responseValidationErrors),
                    [MetricSeries(MetricName.responseValidationErrors, dimension)])
            }
            memory.review[uri] = now
        }
        for (id, now) in loggingStatistics.snapshot() {
            let before = memory.logging[id] ?? LoggingStatistics.Configuration()
            let dimension = [MetricDimension("LoggingConfiguration", id)]
            let increments = [
                (MetricName.logDestinationErrors, now.destinationErrors - before.destinationErrors),
                (MetricName.logDestinationAccessDeniedErrors, now.accessDeniedErrors - before.accessDeniedErrors),
                (MetricName.logDestinationResourceNotFoundErrors, now.resourceNotFoundErrors - before.resourceNotFoundErrors),
            ]
            for (name, increment) in increments where increment > 0 {
                recorder.record(Double(increment), [MetricSeries(name, dimension)])
            }
            memory.logging[id] = now
        }
    }

    /// Writes the drained minutes at every resolution, with any the store refused before; if the store refuses them
    /// now, they are kept for the next flush (Prometheus has counted them already).
    public func flush() async throws {
        let drained = recorder.drain()
        for (key, aggregate) in drained { exporter.add(key.series, aggregate) }
        let unwritten = recorder.takeUnwritten().merging(drained) { earlier, later in
            var merged = earlier
            merged.merge(later)
            return merged
        }
        var points: [MetricPoint] = []
        for (key, aggregate) in unwritten {
            let minuteStart = key.minute * 60_000
            for (period, _) in MetricResolution.retention {
                let periodMilliseconds = Int64(period) * 1000
                points.append(
                    MetricPoint(
                        series: key.series, period: period,
                        start: Date(millisecondsSince1970: minuteStart / periodMilliseconds * periodMilliseconds),
                        aggregate: aggregate))
            }
        }
        do {
            try await store.mergeMetricPoints(points)
        } catch {
            recorder.keepUnwritten(unwritten)
            throw error
        }
    }

    private func applyRetention() async throws {
        for (period, keep) in MetricResolution.retention {
            _ = try await store.deleteMetricPoints(period: period, startedBefore: clock.now() - keep)
        }
    }

    /// Raises an alarm when a quota's usage crosses the threshold (once per crossing).
    private func checkAlarms(_ memory: inout Memory) async throws {
        let usage: [(Quota, Int)] = [
            (.concurrentChatConnections, live.connectionCount), (.rooms, try await store.roomCount()),
            (.loggingConfigurations, try await store.loggingConfigurationCount()),
        ]
        for (quota, used) in usage {
            let limit = quotas[quota]
            let crossing = Double(used) >= alarmThreshold * Double(limit)
            if crossing && !memory.alarming.contains(quota) {
                try await store.recordAlarm(QuotaAlarm(quota: quota, usage: used, limit: limit, time: clock.now()))
                logger.warning(
                    "Quota usage over the alarm threshold",
                    metadata: ["quota": "\(quota.rawValue)", "usage": "\(used)", "limit": "\(limit)"])
                memory.alarming.insert(quota)
            } else if !crossing {
                memory.alarming.remove(quota)
            }
        }
    }
}
