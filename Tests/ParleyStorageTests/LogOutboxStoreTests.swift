import Foundation
import ParleyDomain
import ParleyStorage
import Testing

@Suite struct LogOutboxStoreTests {
    @Test func trimmingOverItsBoundDropsTheOldestRecordsFirst() async throws {
        // setup: ten records of 100 bytes each
        let store = try await makeStore()
        let configuration = try await store.makeLoggingConfiguration()
        let records = (0..<10).map { index in
            OutboxRecord(
                loggingConfigurationID: configuration.id, roomID: fixedID("r"), eventTime: at(index),
                line: String(index) + String(repeating: "x", count: 99))
        }
        try await store.appendToLogOutbox(records)
        // act
        let dropped = try await store.trimLogOutbox(toBytes: 650)
        // verify: the four oldest went, the newest six stay in order, within the bound
        #expect(dropped == 4)
        let kept = try await store.logOutbox(loggingConfigurationID: configuration.id, limit: 100)
        #expect(kept.map { $0.line.prefix(1) } == ["4", "5", "6", "7", "8", "9"])
        #expect(try await store.logOutboxSize() == 600)
        // act: under the bound, nothing more goes
        #expect(try await store.trimLogOutbox(toBytes: 650) == 0)
    }
}
