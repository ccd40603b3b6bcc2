import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import ParleyApp
import ParleyDomain
import Testing

/// Connections that hold the server's descriptors without being served (RELIABILITY.md, "Limits that protect the
/// server"): each is closed by a deadline, and the answers the server gives on the way are clear.
@Suite struct HostileConnectionTests {
    let clock = ManualWallClock(Date())

    /// What a raw connection got before the server closed it, and how long after it opened the server closed it.
    struct Outcome {
        var answer: String
        var closedAfter: Duration
    }

    /// Opens a plain TCP connection to `port`, writes `pieces` `pause` apart (as long as the server takes them) and
    /// reads until the server closes the connection.
    func exchange(port: Int, _ pieces: [String] = [], pause: Duration = .zero) async throws -> Outcome {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) {
            channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        let opened = ContinuousClock.now
        return try await channel.executeThenClose { inbound, outbound in
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for piece in pieces {
                        try await outbound.write(ByteBuffer(string: piece))
                        try await Task.sleep(for: pause)
                    }
                }
                var answer = ""
                do {
                    for try await buffer in inbound { answer += String(buffer: buffer) }
                } catch {
                    // A reset is the server closing too.
                }
                group.cancelAll()
                return Outcome(answer: answer, closedAfter: .now - opened)
            }
        }
    }

    @Test func aConnectionThatSendsNothingIsClosedAtTheRequestHeadDeadline() async throws {
        let app = try await buildApplication(testSettings { $0.requestHeadTimeout = .milliseconds(300) }, clock: clock)
        try await app.test(.live) { client in
            // act
            let outcome = try await exchange(port: try #require(client.port))
            // verify
            #expect(outcome.answer.isEmpty)
            #expect(outcome.closedAfter >= .milliseconds(250) && outcome.closedAfter < .seconds(5), "\(outcome.closedAfter)")
        }
    }

    @Test func aHeadTrickledByteByByteIsClosedAtTheDeadlineNotExtendedByEachByte() async throws {
        let app = try await buildApplication(testSettings { $0.requestHeadTimeout = .milliseconds(500) }, clock: clock)
        try await app.test(.live) { client in
            // setup
            let slowHead = "GET /health HTTP/1.1\r\nHost: parley\r\nX-Slow: " + String(repeating: "a", count: 100)
            // act
            let outcome = try await exchange(port: try #require(client.port), slowHead.map(String.init), pause: .milliseconds(50))
            // verify
            #expect(outcome.answer.isEmpty)
            #expect(outcome.closedAfter < .seconds(5), "\(outcome.closedAfter): the deadline counts from the connection, not the last byte")
        }
    }

    @Test func aCompleteHeadIsServedAfterTheDeadlineWouldHavePassed() async throws {
        let app = try await buildApplication(
            testSettings {
                $0.requestHeadTimeout = .milliseconds(300)
                $0.idleConnectionTimeout = .milliseconds(600)
            }, clock: clock)
        try await app.test(.live) { client in
            // act
            let outcome = try await exchange(
                port: try #require(client.port), ["GET /health HTTP/1.1\r\nHost: parley\r\n\r\n", ""], pause: .milliseconds(400))
            // verify
            #expect(outcome.answer.hasPrefix("HTTP/1.1 200 OK"), "\(outcome.answer.prefix(200))")
            #expect(outcome.closedAfter >= .milliseconds(550), "the idle timeout, not the head deadline, closes a served connection")
            #expect(outcome.closedAfter < .seconds(5), "an idle kept-alive connection is closed: \(outcome.closedAfter)")
        }
    }

    @Test func headerFieldsOverTheLimitAreAnswered431ThenClosed() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup
            let fields = (0..<100).map { "X-Filler-\($0): \(String(repeating: "a", count: 1_000))\r\n" }.joined()
            // act
            let outcome = try await exchange(
                port: try #require(client.port), ["GET /health HTTP/1.1\r\nHost: parley\r\n" + fields + "\r\n"])
            // verify
            #expect(outcome.answer.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "\(outcome.answer.prefix(200))")
            #expect(outcome.closedAfter < .seconds(5))
        }
    }

    @Test func aBodyThatGoesOnAfterItWasRefusedIsNotReadForever() async throws {
        let app = try await buildApplication(testSettings(), clock: clock)
        try await app.test(.live) { client in
            // setup
            let chunk = String(repeating: "a", count: 64 * 1_024)
            let frame = String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
            let head = "POST /ListRooms HTTP/1.1\r\nHost: parley\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            // act: 64 MiB, far past the 1 MiB limit and the 4 MiB read after the refusal
            let outcome = try await exchange(port: try #require(client.port), [head] + Array(repeating: frame, count: 1_024))
            // verify
            #expect(outcome.closedAfter < .seconds(30), "the connection is closed while the body still comes")
        }
    }
}
