import Foundation
import ParleyDomain
import Testing

@testable import ParleyLogging

@Suite struct DestinationTests {
    let namespace = ResourceNamespace(region: "eu-west-1", accountID: "123456789012")

    func record(_ sequence: Int64, room: String = "Room12345678", at seconds: TimeInterval, bytes: Int = 10) -> OutboxRecord {
        OutboxRecord(
            sequence: sequence, loggingConfigurationID: "Config123456", roomID: room, eventTime: Date(timeIntervalSince1970: seconds),
            line: String(repeating: "x", count: bytes))
    }

    @Test func s3KeysFollowIVSChatsLayout() {
        let destination = S3Destination(
            bucket: "b", requester: AWSRequester(httpClient: .shared, environment: .init(region: "eu-west-1", credentials: nil)),
            namespace: namespace, localDirectory: nil)
        // 2026-11-29T04:05:06Z
        let key = destination.objectKey(
            roomID: "Room12345678", minute: Date(timeIntervalSince1970: 1_795_925_106), firstSequence: 7, configuration: "Config123456")
        let prefix =
            "AWSLogs/123456789012/IVSChatLogs/1.0/eu-west-1/room_Room12345678/2026/11/29/04/"
            + "123456789012_IVSChatLogs_1.0_eu-west-1_room_Room12345678_20261129T0405Z_"
        #expect(key.hasPrefix(prefix))
        #expect(key.hasSuffix(".log.gz"))
        #expect(key.dropFirst(prefix.count).dropLast(".log.gz".count).count == 16)
    }

    @Test func s3WritesOneObjectPerRoomPerFinishedMinuteToALocalDirectory() async throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-s3-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let destination = S3Destination(
            bucket: "chat-archive", requester: AWSRequester(httpClient: .shared, environment: .init(region: "eu-west-1", credentials: nil)),
            namespace: namespace, localDirectory: directory)
        let minute = 1_795_925_100.0
        let records = [
            record(1, at: minute + 1), record(2, at: minute + 30), record(3, room: "Other1234567", at: minute + 2),
            record(4, at: minute + 61),
        ]
        // act: shipped during the next minute, so the record of that minute waits
        let result = await destination.ship(records, now: Date(timeIntervalSince1970: minute + 65))
        // verify
        #expect(result.error == nil)
        #expect(result.acknowledged == [1, 2, 3])
        let files = try #require(FileManager.default.subpaths(atPath: directory)).filter { $0.hasSuffix(".log.gz") }
        #expect(files.count == 2)
        let mine = try #require(files.first { $0.contains("room_Room12345678") })
        let gzip = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(mine))
        #expect(gzip.prefix(2) == Data([0x1f, 0x8b]))
    }

    @Test func cloudWatchBatchesRespectCountAndSizeLimits() {
        let many = (0..<10_001).map { record(Int64($0), at: 1000) }
        #expect(CloudWatchLogsDestination.batches(many).map(\.count) == [10_000, 1])
        let big = (0..<3).map { record(Int64($0), at: 1000, bytes: 400_000) }
        #expect(CloudWatchLogsDestination.batches(big).map(\.count) == [2, 1])
        let unordered = [record(1, at: 20), record(2, at: 10)]
        #expect(CloudWatchLogsDestination.batches(unordered)[0].map(\.sequence) == [2, 1])
    }

    @Test func gzipRoundTripsThroughZlib() throws {
        let text = Data(String(repeating: "{\"type\":\"MESSAGE\"}\n", count: 100).utf8)
        let compressed = Gzip.compress(text)
        #expect(compressed.count < text.count)
        #expect(compressed.prefix(2) == Data([0x1f, 0x8b]))
    }

    @Test func backoffGrowsAndIsCapped() {
        #expect(LogShipper.delay(afterFailures: 1) <= .seconds(1))
        #expect(LogShipper.delay(afterFailures: 4) >= .seconds(4))
        #expect(LogShipper.delay(afterFailures: 20) <= .seconds(60))
    }

    @Test func theLogLineWrapsTheExactPayload() {
        let delivery = LoggedDelivery(
            roomID: "r", loggingConfigurationIDs: ["c"], type: "MESSAGE", payload: #"{"Type":"MESSAGE","Content":"hi"}"#,
            time: Date(timeIntervalSince1970: 1_795_925_106.5))
        #expect(
            delivery.logLine
                == #"{"event_timestamp":"2026-11-29T04:05:06.500Z","type":"MESSAGE","version":"1.0","payload":{"Type":"MESSAGE","Content":"hi"}}"#
        )
    }
}
