import Testing

@testable import ParleyApp

@Suite struct RoomActivityLogTests {
    @Test func aRoomNobodyWatchesKeepsOnlyItsLastLines() {
        // setup
        let log = RoomActivityLog(capacity: 40, unwatchedCapacity: 8)
        // act
        for index in 1...100 { log.append(roomID: "room", event: "delivery", data: "\(index)") }
        // verify: at most a quarter over the unwatched capacity, ending with the newest line
        let (entries, missed) = log.entries(roomID: "room", after: 0)
        #expect(entries.count >= 8 && entries.count <= 10)
        #expect(entries.last?.data == "100")
        #expect(missed == 100 - entries.count)
    }

    @Test func aWatchedRoomKeepsItsFullCapacityForBrowsersThatReconnect() {
        // setup
        let log = RoomActivityLog(capacity: 40, unwatchedCapacity: 8)
        let (changes, watcher) = log.changes(roomID: "room")
        // act
        withExtendedLifetime(changes) {
            for index in 1...100 { log.append(roomID: "room", event: "delivery", data: "\(index)") }
        }
        // verify
        let (entries, _) = log.entries(roomID: "room", after: 0)
        #expect(entries.count >= 40 && entries.count <= 50)
        #expect(entries.last?.data == "100")
        // act: the browser leaves; the next line trims the room back
        watcher.finish()
        log.append(roomID: "room", event: "delivery", data: "101")
        // verify
        #expect(log.entries(roomID: "room", after: 0).entries.count == 8)
    }
}
