import AsyncHTTPClient
import Foundation
import Logging
import ParleyDomain
import ServiceLifecycle
import Synchronization

/// Builds each configuration's destination client, and checks destinations for the control plane.
public struct LogDestinations: LogDestinationChecker {
    let requester: AWSRequester
    let namespace: ResourceNamespace
    let s3Directory: String?
    /// When false, configurations are ACTIVE without a check (destinations created later, or unreachable from here).
    let verify: Bool

    public init(httpClient: HTTPClient, environment: AWSEnvironment, namespace: ResourceNamespace, s3Directory: String?, verify: Bool) {
        requester = AWSRequester(httpClient: httpClient, environment: environment)
        self.namespace = namespace
        self.s3Directory = s3Directory
        self.verify = verify
    }

    func destination(for destination: LogDestination) -> any ArchiveDestination {
        switch destination {
        case .s3(let bucket): S3Destination(bucket: bucket, requester: requester, namespace: namespace, localDirectory: s3Directory)
        case .cloudWatchLogs(let group): CloudWatchLogsDestination(logGroupName: group, requester: requester)
        case .firehose(let stream): FirehoseDestination(deliveryStreamName: stream, requester: requester)
        }
    }

    /// Checks within 5 seconds, so that creating a configuration never hangs on an unresponsive endpoint.
    public func problem(with destination: LogDestination) async -> String? {
        guard verify else { return nil }
        let client = self.destination(for: destination)
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do throws(DestinationError) {
                    try await client.check()
                    return nil
                } catch {
                    return error.message
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return "The destination did not answer within 5 seconds."
            }
            defer { group.cancelAll() }
            return await group.next()!
        }
    }
}

/// Ships the outbox to each logging configuration's destination: in batches, deleting records only once the
/// destination acknowledged them, backing off exponentially (with jitter) while a destination fails.
public struct LogShipper: Service {
    let store: any ParleyStore
    let destinations: LogDestinations
    let statistics: LoggingStatistics
    let clock: any WallClock
    let logger: Logger
    /// The outbox's bound in bytes; past it the oldest records are dropped (and counted).
    let maximumOutboxBytes: Int
    let interval: Duration

    public init(
        store: any ParleyStore, destinations: LogDestinations, statistics: LoggingStatistics, clock: any WallClock, logger: Logger,
        maximumOutboxBytes: Int, interval: Duration = .seconds(1)
    ) {
        self.store = store
        self.destinations = destinations
        self.statistics = statistics
        self.clock = clock
        self.logger = logger
        self.maximumOutboxBytes = maximumOutboxBytes
        self.interval = interval
    }

    /// Each configuration's shipping state: whether a round is under way, its backoff, its destination client.
    struct Lane {
        var busy = false
        var failures = 0
        /// nil: due now.
        var retryAt: ContinuousClock.Instant?
        var client: (LogDestination, any ArchiveDestination)?
    }

    final class Lanes: Sendable {
        let state = Mutex<[String: Lane]>([:])
    }

    public func run() async throws {
        let lanes = Lanes()
        var rounds = 0
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                startDueLanes(lanes, in: &group)
                rounds += 1
                if rounds % 30 == 0 { await trimOutbox() }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
            // A last round so that what is ready goes out before exit.
            startDueLanes(lanes, in: &group)
        }
    }

    /// Starts a round for every configuration with waiting records that is neither shipping nor backing off.
    /// Each configuration ships on its own, so a destination that hangs or is down delays only its own records.
    private func startDueLanes(_ lanes: Lanes, in group: inout DiscardingTaskGroup) {
        group.addTask {
            let pending: [String]
            do {
                pending = try await store.loggingConfigurationsWithPendingRecords()
            } catch {
                logger.error("Cannot read the chat log outbox", metadata: ["error": "\(error)"])
                return
            }
            let now = ContinuousClock.now
            let due = lanes.state.withLock { lanes in
                pending.compactMap { id -> (String, (LogDestination, any ArchiveDestination)?)? in
                    let lane = lanes[id] ?? Lane()
                    guard !lane.busy, lane.retryAt.map({ $0 <= now }) ?? true else { return nil }
                    lanes[id, default: Lane()].busy = true
                    return (id, lane.client)
                }
            }
            await withDiscardingTaskGroup { shipping in
                for (id, cached) in due {
                    shipping.addTask {
                        let (_, client, error) = await shipConfiguration(id, cached: cached)
                        lanes.state.withLock { lanes in
                            var lane = lanes[id] ?? Lane()
                            lane.busy = false
                            lane.client = client
                            if error != nil {
                                lane.failures += 1
                                lane.retryAt = .now + Self.delay(afterFailures: lane.failures)
                            } else {
                                lane.failures = 0
                                lane.retryAt = nil
                            }
                            lanes[id] = lane
                        }
                    }
                }
            }
        }
    }

    /// Ships one configuration's oldest records; returns the destination client to reuse and the error, if any.
    private func shipConfiguration(
        _ id: String, cached: (LogDestination, any ArchiveDestination)?
    ) async -> (String, (LogDestination, any ArchiveDestination)?, DestinationError?) {
        do {
            guard let configuration = try await store.loggingConfiguration(id: id) else { return (id, nil, nil) }
            let client =
                cached?.0 == configuration.destination
                ? cached! : (configuration.destination, destinations.destination(for: configuration.destination))
            let records = try await store.logOutbox(loggingConfigurationID: id, limit: 5_000)
            let result = await client.1.ship(records, now: clock.now())
            if let error = result.error {
                statistics.countError(error, configuration: id)
                logger.warning("Chat log delivery failed", metadata: ["configuration": "\(id)", "error": "\(error.message)"])
            }
            try await store.removeFromLogOutbox(sequences: result.acknowledged)
            statistics.countDelivered(result.acknowledged.count, configuration: id)
            return (id, client, result.error)
        } catch {
            // On a full disk the batch was shipped but not removed: the lane backs off, and the batch goes again (same
            // S3 key) once the disk has room.
            guard error.isStorageFull else {
                logger.error("Chat log outbox error", metadata: ["configuration": "\(id)", "error": "\(error)"])
                return (id, cached, DestinationError(.other, "outbox: \(error)"))
            }
            return (id, cached, DestinationError(.other, "outbox: \(ParleyError.storageFull.message)"))
        }
    }

    /// 1 s, 2 s, 4 s … up to 60 s, each with up to 50 % random jitter so that recovering destinations are not stampeded.
    static func delay(afterFailures failures: Int) -> Duration {
        let base = min(60.0, pow(2.0, Double(max(0, failures - 1))))
        return .milliseconds(Int(base * 1000 * Double.random(in: 0.5...1.0)))
    }

    private func trimOutbox() async {
        do {
            let dropped = try await store.trimLogOutbox(toBytes: maximumOutboxBytes)
            if dropped > 0 {
                statistics.countTrimmed(dropped)
                logger.warning("Chat log outbox over its bound: dropped the oldest records", metadata: ["dropped": "\(dropped)"])
            }
        } catch {
            // Trimming waits for the next round.
            if !error.isStorageFull { logger.error("Cannot trim the chat log outbox", metadata: ["error": "\(error)"]) }
        }
    }
}
