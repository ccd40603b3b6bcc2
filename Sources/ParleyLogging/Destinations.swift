import Crypto
import Foundation
import ParleyDomain
import Synchronization

/// What a shipping round achieved: the records the destination acknowledged, and the error that stopped the rest.
struct ShipResult: Sendable {
    var acknowledged: [Int64] = []
    var error: DestinationError?
}

/// One logging configuration's destination.
protocol ArchiveDestination: Sendable {
    /// Whether the destination exists and can be written to.
    func check() async throws(DestinationError)
    /// Ships what is ready of `records` (oldest first) at `now`.
    func ship(_ records: [OutboxRecord], now: Date) async -> ShipResult
}

/// S3 (or `--s3-directory`): one gzip object of newline-separated records per room per minute,
/// shipped once the minute is over, under IVS Chat's key layout.
struct S3Destination: ArchiveDestination {
    let bucket: String
    let requester: AWSRequester
    let namespace: ResourceNamespace
    /// With a local directory, objects are written to `<directory>/<bucket>/<key>` instead of S3.
    let localDirectory: String?

    func check() async throws(DestinationError) {
        if let localDirectory {
            let folder = (localDirectory as NSString).appendingPathComponent(bucket)
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw .init(.accessDenied, "Cannot create \(folder): \(error.localizedDescription)")
            }
            guard FileManager.default.isWritableFile(atPath: folder) else { throw .init(.accessDenied, "\(folder) is not writable.") }
            return
        }
        let response = try await requester.send(
            service: "s3", endpoint: endpoint, method: .HEAD, path: "/\(bucket)", headers: [], body: Data(), signPayloadHash: true)
        guard (200..<300).contains(response.status) else {
            switch response.status {
            case 404: throw .init(.resourceNotFound, "The bucket \(bucket) does not exist.")
            case 403: throw .init(.accessDenied, "Access to the bucket \(bucket) is denied.")
            default: throw DestinationError(response: response)
            }
        }
    }

    private var endpoint: String { requester.environment.endpoint(service: "S3", hostPrefix: "s3") }

    func ship(_ records: [OutboxRecord], now: Date) async -> ShipResult {
        let currentMinute = Self.minute(of: now)
        var groups: [String: [OutboxRecord]] = [:]
        var order: [String] = []
        for record in records where Self.minute(of: record.eventTime) < currentMinute {
            let key = "\(record.roomID)|\(Self.minute(of: record.eventTime))"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(record)
        }
        var result = ShipResult()
        for key in order {
            let group = groups[key]!
            let body = Gzip.compress(Data(group.map { $0.line + "\n" }.joined().utf8))
            let objectKey = objectKey(
                roomID: group[0].roomID, minute: group[0].eventTime, firstSequence: group[0].sequence,
                configuration: group[0].loggingConfigurationID)
            do {
                try await put(objectKey, body)
                result.acknowledged += group.map(\.sequence)
            } catch {
                result.error = error
                break
            }
        }
        return result
    }

    private func put(_ key: String, _ body: Data) async throws(DestinationError) {
        if let localDirectory {
            let path = ((localDirectory as NSString).appendingPathComponent(bucket) as NSString).appendingPathComponent(key)
            do {
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try body.write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw .init(.other, "Cannot write \(path): \(error.localizedDescription)")
            }
            return
        }
        let response = try await requester.send(
            service: "s3", endpoint: endpoint, method: .PUT, path: "/\(bucket)/\(key)",
            headers: [("content-type", "application/gzip")], body: body, signPayloadHash: true)
        guard (200..<300).contains(response.status) else { throw DestinationError(response: response) }
    }

    /// `AWSLogs/<account>/IVSChatLogs/1.0/<region>/room_<id>/<yyyy>/<mm>/<dd>/<hh>/<account>_IVSChatLogs_1.0_<region>_room_<id>_<yyyymmdd>T<hhmm>Z_<hash>.log.gz`.
    /// The hash is derived from the batch, so a retried upload overwrites the same object.
    func objectKey(roomID: String, minute: Date, firstSequence: Int64, configuration: String) -> String {
        let stamp = Timestamp.format(minute)  // 2026-11-29T04:05:06.789Z
        let year = stamp.prefix(4)
        let month = stamp.dropFirst(5).prefix(2)
        let day = stamp.dropFirst(8).prefix(2)
        let hour = stamp.dropFirst(11).prefix(2)
        let minuteOfHour = stamp.dropFirst(14).prefix(2)
        let digest = SHA256.hash(data: Data("\(configuration)/\(roomID)/\(firstSequence)".utf8))
        let hash = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
        let account = namespace.accountID
        let region = namespace.region
        return "AWSLogs/\(account)/IVSChatLogs/1.0/\(region)/room_\(roomID)/\(year)/\(month)/\(day)/\(hour)/"
            + "\(account)_IVSChatLogs_1.0_\(region)_room_\(roomID)_\(year)\(month)\(day)T\(hour)\(minuteOfHour)Z_\(hash).log.gz"
    }

    static func minute(of date: Date) -> Int64 { date.millisecondsSince1970 / 60_000 }
}

/// CloudWatch Logs: one log event per record in the stream `aws/IVSChatLogs/1.0/room_<id>`, created on demand.
final class CloudWatchLogsDestination: ArchiveDestination {
    static let maximumEventsPerBatch = 10_000
    static let maximumBatchBytes = 1_048_576
    static let perEventOverhead = 26

    let logGroupName: String
    let requester: AWSRequester
    private let createdStreams = Mutex<Set<String>>([])

    init(logGroupName: String, requester: AWSRequester) {
        self.logGroupName = logGroupName
        self.requester = requester
    }

    private func call(_ operation: String, _ payload: [String: Any]) async throws(DestinationError) -> [String: Any] {
        try await requester.json(
            service: "logs", hostPrefix: "logs", endpointKey: "CLOUDWATCH_LOGS", target: "Logs_20140328.\(operation)", payload)
    }

    func check() async throws(DestinationError) {
        let answer = try await call("DescribeLogGroups", ["logGroupNamePrefix": logGroupName])
        let names = (answer["logGroups"] as? [[String: Any]] ?? []).compactMap { $0["logGroupName"] as? String }
        guard names.contains(logGroupName) else { throw .init(.resourceNotFound, "The log group \(logGroupName) does not exist.") }
    }

    func ship(_ records: [OutboxRecord], now: Date) async -> ShipResult {
        var result = ShipResult()
        var byRoom: [String: [OutboxRecord]] = [:]
        var order: [String] = []
        for record in records {
            if byRoom[record.roomID] == nil { order.append(record.roomID) }
            byRoom[record.roomID, default: []].append(record)
        }
        for roomID in order {
            let stream = "aws/IVSChatLogs/1.0/room_\(roomID)"
            do {
                try await ensureStream(stream)
                for batch in Self.batches(byRoom[roomID]!) {
                    let events = batch.map { ["timestamp": $0.eventTime.millisecondsSince1970, "message": $0.line] as [String: Any] }
                    _ = try await call("PutLogEvents", ["logGroupName": logGroupName, "logStreamName": stream, "logEvents": events])
                    result.acknowledged += batch.map(\.sequence)
                }
            } catch {
                // A stream deleted behind our back is created again on the next round.
                if error.kind == .resourceNotFound { _ = createdStreams.withLock { $0.remove(stream) } }
                result.error = error
                break
            }
        }
        return result
    }

    private func ensureStream(_ stream: String) async throws(DestinationError) {
        guard !createdStreams.withLock({ $0.contains(stream) }) else { return }
        do {
            _ = try await call("CreateLogStream", ["logGroupName": logGroupName, "logStreamName": stream])
        } catch  where error.message.hasPrefix("ResourceAlreadyExistsException") {
            // Created earlier (by us before a restart, or by the operator).
        }
        _ = createdStreams.withLock { $0.insert(stream) }
    }

    /// Chronological batches within PutLogEvents' limits: count, size, and a span under 24 hours.
    static func batches(_ records: [OutboxRecord]) -> [[OutboxRecord]] {
        let sorted = records.enumerated().sorted { ($0.element.eventTime, $0.offset) < ($1.element.eventTime, $1.offset) }.map(\.element)
        var batches: [[OutboxRecord]] = []
        var current: [OutboxRecord] = []
        var bytes = 0
        for record in sorted {
            let size = record.line.utf8.count + perEventOverhead
            let spansTooLong = current.first.map { record.eventTime.timeIntervalSince($0.eventTime) >= 86_000 } ?? false
            if !current.isEmpty && (current.count == maximumEventsPerBatch || bytes + size > maximumBatchBytes || spansTooLong) {
                batches.append(current)
                current = []
                bytes = 0
            }
            current.append(record)
            bytes += size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}

/// Firehose: one record per log record (newline-terminated) through PutRecordBatch, retrying only the records it refused.
struct FirehoseDestination: ArchiveDestination {
    static let maximumRecordsPerBatch = 500
    static let maximumBatchBytes = 4 * 1_048_576

    let deliveryStreamName: String
    let requester: AWSRequester

    private func call(_ operation: String, _ payload: [String: Any]) async throws(DestinationError) -> [String: Any] {
        try await requester.json(
            service: "firehose", hostPrefix: "firehose", endpointKey: "FIREHOSE", target: "Firehose_20150804.\(operation)", payload)
    }

    func check() async throws(DestinationError) {
        _ = try await call("DescribeDeliveryStream", ["DeliveryStreamName": deliveryStreamName])
    }

    func ship(_ records: [OutboxRecord], now: Date) async -> ShipResult {
        var result = ShipResult()
        var start = records.startIndex
        while start < records.endIndex {
            var end = start
            var bytes = 0
            while end < records.endIndex, end - start < Self.maximumRecordsPerBatch {
                let size = records[end].line.utf8.count + 1
                if end > start && bytes + size > Self.maximumBatchBytes { break }
                bytes += size
                end += 1
            }
            let batch = Array(records[start..<end])
            do {
                let answer = try await call(
                    "PutRecordBatch",
                    [
                        "DeliveryStreamName": deliveryStreamName,
                        "Records": batch.map { ["Data": Data(($0.line + "\n").utf8).base64EncodedString()] },
                    ])
                let responses = answer["RequestResponses"] as? [[String: Any]] ?? []
                let accepted = batch.indices.filter { $0 < responses.count && responses[$0]["ErrorCode"] == nil }
                result.acknowledged += accepted.map { batch[$0].sequence }
                if accepted.count < batch.count {
                    // The refused records stay in the outbox and go again after a backoff.
                    result.error = .init(.other, "Firehose refused \(batch.count - accepted.count) of \(batch.count) records.")
                    break
                }
            } catch {
                result.error = error
                break
            }
            start = end
        }
        return result
    }
}
