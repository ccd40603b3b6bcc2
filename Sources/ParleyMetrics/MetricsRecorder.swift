import Foundation
import ParleyDomain
import ParleyMessaging
import Synchronization

/// Names of the metrics Parley keeps (namespace AWS/IVSChat, plus per-room series and the usage metric).
public enum MetricName {
    public static let concurrentChatConnections = "ConcurrentChatConnections"
    public static let deliveries = "Deliveries"
    public static let requests = "Requests"
    public static let messagingDeliveries = "MessagingDeliveries"
    public static let messagingRequests = "MessagingRequests"
    public static let invocationErrors = "InvocationErrors"
    public static let responseValidationErrors = "ResponseValidationErrors"
    public static let logDestinationErrors = "LogDestinationErrors"
    public static let logDestinationAccessDeniedErrors = "LogDestinationAccessDeniedErrors"
    public static let logDestinationResourceNotFoundErrors = "LogDestinationResourceNotFoundErrors"
    /// AWS/Usage: `ResourceCount` with Service "IVS Chat", Class None, Type Resource, Resource ConcurrentChatConnections.
    public static let resourceCount = "ResourceCount"
    public static let roomConnections = "RoomConnections"
    public static let roomMessages = "RoomMessages"
    public static let roomDeliveries = "RoomDeliveries"

    public static let all = [
        concurrentChatConnections, deliveries, requests, messagingDeliveries, messagingRequests, invocationErrors,
        responseValidationErrors, logDestinationErrors, logDestinationAccessDeniedErrors, logDestinationResourceNotFoundErrors,
        resourceCount, roomConnections, roomMessages, roomDeliveries,
    ]

    public static let usageDimensions = [
        MetricDimension("Service", "IVS Chat"), MetricDimension("Class", "None"), MetricDimension("Type", "Resource"),
        MetricDimension("Resource", "ConcurrentChatConnections"),
    ]
}

/// Accumulates samples in memory by series and minute; `MetricsService` flushes them every few seconds.
/// One short lock per request, broadcast or connection change (never per delivered copy).
public final class MetricsRecorder: MessagingObserver {
    struct Key: Hashable {
        var series: MetricSeries
        var minute: Int64
    }

    private let pending = Mutex<[Key: MetricAggregate]>([:])
    /// Drained minutes the store refused (a full disk), for the next flush; one entry per series and minute.
    private let unwritten = Mutex<[Key: MetricAggregate]>([:])
    private let clock: any WallClock

    public init(clock: any WallClock) {
        self.clock = clock
    }

    /// Adds one sample of `value` to each series, in the current minute.
    public func record(_ value: Double, _ series: [MetricSeries]) {
        let minute = clock.now().millisecondsSince1970 / 60_000
        pending.withLock { pending in
            for item in series {
                let key = Key(series: item, minute: minute)
                if pending[key] == nil {
                    pending[key] = MetricAggregate(sample: value)
                } else {
                    pending[key]!.merge(MetricAggregate(sample: value))
                }
            }
        }
    }

    /// Takes everything accumulated so far.
    func drain() -> [Key: MetricAggregate] {
        pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }

    func keepUnwritten(_ aggregates: [Key: MetricAggregate]) {
        unwritten.withLock { $0 = aggregates }
    }

    func takeUnwritten() -> [Key: MetricAggregate] {
        unwritten.withLock { unwritten in
            defer { unwritten.removeAll() }
            return unwritten
        }
    }

    /// The series that do not depend on the room, built once.
    private static let requestSeries = Dictionary(
        uniqueKeysWithValues: MessagingAction.allCases.map {
            ($0, [MetricSeries(MetricName.requests, [MetricDimension("Action", $0.rawValue)]), MetricSeries(MetricName.messagingRequests)])
        })
    private static let deliverySeries = Dictionary(
        uniqueKeysWithValues: MessagingAction.allCases.map {
            (
                $0,
                [
                    MetricSeries(MetricName.deliveries, [MetricDimension("Action", $0.rawValue)]),
                    MetricSeries(MetricName.messagingDeliveries),
                ]
            )
        })

    public func requested(_ action: MessagingAction, roomID: String) {
        var series = Self.requestSeries[action]!
        if action == .sendMessage { series.append(MetricSeries(MetricName.roomMessages, [MetricDimension("Room", roomID)])) }
        record(1, series)
    }

    public func delivered(_ action: MessagingAction, roomID: String, recipients: Int) {
        guard recipients > 0 else { return }
        record(
            Double(recipients), Self.deliverySeries[action]! + [MetricSeries(MetricName.roomDeliveries, [MetricDimension("Room", roomID)])])
    }

    public func connectionsChanged(total: Int, roomID: String, inRoom: Int) {
        record(
            Double(total),
            [MetricSeries(MetricName.concurrentChatConnections), MetricSeries(MetricName.resourceCount, MetricName.usageDimensions)])
        record(Double(inRoom), [MetricSeries(MetricName.roomConnections, [MetricDimension("Room", roomID)])])
    }
}
