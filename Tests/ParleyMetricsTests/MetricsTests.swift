import Foundation
import ParleyDomain
import ParleyLogging
import ParleyMessaging
import ParleyReview
import ParleyStorage
import Testing

@testable import ParleyMetrics

/// A metrics service over an in-memory database and a manual clock.
struct MetricsHarness {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_795_925_100))  // 2026-11-29T04:05:00Z, a minute boundary
    let store: AppDatabase
    let recorder: MetricsRecorder
    let live: LiveRooms
    let service: MetricsService
    let quotas: QuotaBook

    init(baseQuotas: QuotaValues = QuotaValues(), alarmThreshold: Double = 0.8) async throws {
        store = try AppDatabase.inMemory()
        try await store.migrate()
        recorder = MetricsRecorder(clock: clock)
        live = LiveRooms(limits: MessagingLimits(quotas: baseQuotas), clock: clock, bus: LocalRoomBus(), observer: recorder)
        quotas = QuotaBook(baseQuotas)
        let live = live
        service = MetricsService(
            recorder: recorder, store: store, clock: clock, exporter: PrometheusExporter(reviewStatistics: ReviewStatistics()), live: live,
            reviewStatistics: ReviewStatistics(), loggingStatistics: LoggingStatistics(), quotas: quotas, baseQuotas: baseQuotas,
            alarmThreshold: alarmThreshold, applyQuotas: { live.updateLimits(MessagingLimits(quotas: $0)) }, logger: .init(label: "test"))
    }

    func sum(_ series: MetricSeries, period: Int, from: Date, to: Date) async throws -> [Double] {
        try await store.metricPoints(series, period: period, from: from, to: to).map(\.aggregate.sum)
    }
}

@Suite struct MetricsTests {
    @Test func countingIsExactUnderConcurrency() async throws {
        // setup
        let harness = try await MetricsHarness()
        let clients = 16
        let messages = 500
        // act: N clients × M requests and deliveries, concurrently
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    for _ in 0..<messages {
                        harness.recorder.requested(.sendMessage, roomID: "room\(client % 2)")
                        harness.recorder.delivered(.sendMessage, roomID: "room\(client % 2)", recipients: 3)
                    }
                }
            }
        }
        try await harness.service.flush()
        // verify
        let start = harness.clock.now()
        let end = start + 60
        #expect(
            try await harness.sum(MetricSeries(MetricName.messagingRequests), period: 60, from: start, to: end) == [
                Double(clients * messages)
            ])
        #expect(
            try await harness.sum(
                MetricSeries(MetricName.deliveries, [MetricDimension("Action", "SendMessage")]), period: 60, from: start, to: end)
                == [Double(clients * messages * 3)])
        #expect(
            try await harness.sum(
                MetricSeries(MetricName.roomMessages, [MetricDimension("Room", "room0")]), period: 60, from: start, to: end)
                == [Double(clients / 2 * messages)])
    }

    @Test func rollupsAreRightAcrossPeriodBoundaries() async throws {
        // setup: one request in each of 6 consecutive minutes, flushed as they go
        let harness = try await MetricsHarness()
        let series = MetricSeries(MetricName.messagingRequests)
        let start = harness.clock.now()
        for minute in 0..<6 {
            for _ in 0...minute { harness.recorder.requested(.sendEvent, roomID: "r") }
            if minute % 2 == 1 { try await harness.service.flush() }
            harness.clock.advance(by: 60)
        }
        try await harness.service.flush()
        // verify: 1+2+…+6 in minutes; 04:05–04:09 and 04:10 in 5-minute points; all in one hour
        #expect(try await harness.sum(series, period: 60, from: start, to: start + 360) == [1, 2, 3, 4, 5, 6])
        #expect(try await harness.sum(series, period: 300, from: start, to: start + 600) == [15, 6])
        #expect(try await harness.sum(series, period: 3600, from: start - 300, to: start + 3600) == [21])
        // and the query API aggregates to the period asked for
        let output = try await MetricsQuery(store: harness.store, clock: harness.clock).run(
            GetMetricDataInput(
                MetricDataQueries: [
                    MetricDataQuery(
                        Id: "q",
                        MetricStat: .init(
                            Metric: .init(Namespace: "AWS/IVSChat", MetricName: series.name, Dimensions: []), Period: 120, Stat: "Sum"),
                        Label: nil)
                ], StartTime: start, EndTime: start + 360))
        #expect(output.MetricDataResults[0].Values == [11, 7, 3])
    }

    @Test func gaugesKeepTheMaximumOfTheMinute() async throws {
        let harness = try await MetricsHarness()
        harness.recorder.connectionsChanged(total: 3, roomID: "r", inRoom: 3)
        harness.recorder.connectionsChanged(total: 7, roomID: "r", inRoom: 7)
        harness.recorder.connectionsChanged(total: 2, roomID: "r", inRoom: 2)
        try await harness.service.flush()
        let points = try await harness.store.metricPoints(
            MetricSeries(MetricName.concurrentChatConnections), period: 60, from: harness.clock.now(), to: harness.clock.now() + 60)
        #expect(points.map(\.aggregate.maximum) == [7])
        #expect(points.map(\.aggregate.minimum) == [2])
    }

    @Test func retentionDeletesOnlyWhatIsPastIt() async throws {
        // setup: points of every resolution, 16 days old
        let harness = try await MetricsHarness()
        let series = MetricSeries(MetricName.messagingRequests)
        harness.recorder.requested(.sendEvent, roomID: "r")
        try await harness.service.flush()
        harness.clock.advance(by: 16 * 86_400)
        // act
        var memory = MetricsService.Memory()
        await harness.service.runOnce(&memory)
        // verify: minutes (15 days) are gone; 5-minute (63 days) and hourly (455 days) points stay
        let old = harness.clock.now() - 17 * 86_400
        #expect(try await harness.store.metricPoints(series, period: 60, from: old, to: harness.clock.now()).isEmpty)
        #expect(try await harness.store.metricPoints(series, period: 300, from: old, to: harness.clock.now()).count == 1)
        #expect(try await harness.store.metricPoints(series, period: 3600, from: old - 3600, to: harness.clock.now()).count == 1)
    }

    @Test func adjustedQuotasApplyAndAlarmsRaiseOncePerCrossing() async throws {
        // setup
        var base = QuotaValues()
        base[.rooms] = 2
        let harness = try await MetricsHarness(baseQuotas: base, alarmThreshold: 0.5)
        _ = try await harness.store.insertRoom(Room(createTime: harness.clock.now()), quota: 2)
        var memory = MetricsService.Memory()
        // act
        await harness.service.runOnce(&memory)
        await harness.service.runOnce(&memory)
        try await harness.store.setQuota(
            .sendMessageRate, to: 5,
            entry: AuditEntry(time: harness.clock.now(), actor: "test", action: "SetQuota", target: "SendMessageRequestsPerSecond"))
        await harness.service.runOnce(&memory)
        // verify
        let alarms = try await harness.store.alarms(limit: 10)
        #expect(alarms.map(\.quota) == [.rooms])
        #expect(alarms.first?.usage == 1)
        #expect(harness.quotas[.sendMessageRate] == 5)
        #expect(harness.live.limits.sendMessagePerSecond == 5)
        #expect(try await harness.store.auditEntries(limit: 5, before: nil).map(\.action) == ["SetQuota"])
    }

    @Test func prometheusNamesAreSnakeCase() {
        #expect(PrometheusExporter.snakeCase("LogDestinationAccessDeniedErrors") == "log_destination_access_denied_errors")
        #expect(PrometheusExporter.snakeCase("Deliveries") == "deliveries")
    }
}
