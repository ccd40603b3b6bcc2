import Foundation
import FuzzSupport
import ParleyApp
import ParleyDomain
import ParleyMessaging
import ParleyStorage
import Synchronization

// Fuzzes the control plane's request handling below Hummingbird: an operation's input decoded from arbitrary JSON bytes
// (`APIRequestDecoding`, as the API does it), then the operation itself on `ControlPlane` (every validation rule of
// ParleyDomain/Rules.swift, ARN parsing, page tokens), backed by an in-memory SQLite store and live rooms.
//
// An input is one selector byte then the operation's data. The selector picks the operation: "a" CreateRoom, "b" GetRoom,
// "c" UpdateRoom, "d" DeleteRoom, "e" ListRooms, "f" CreateLoggingConfiguration, "g" GetLoggingConfiguration,
// "h" UpdateLoggingConfiguration, "i" DeleteLoggingConfiguration, "j" ListLoggingConfigurations, "k" CreateChatToken,
// "l" SendEvent, "m" DeleteMessage, "n" DisconnectUser, "o" ListTagsForResource, "p" TagResource, "q" UntagResource
// (any other byte: its distance from "a" modulo 17). The data is the JSON body; for the tag operations, the
// request-target (`/tags/<arn>?tagKeys=...`) comes first, on a line of its own. `$ROOM` and `$LC` in the data stand for
// the ARNs of the room and the logging configuration created last, so that inputs can reach existing resources.
//
// Invariants beyond "no crash": only `ParleyError`s are thrown (anything else is a 500); what CreateRoom,
// CreateLoggingConfiguration and TagResource accept obeys the model's limits and reads back from the store unchanged.
// The store is replaced every 1,000 inputs (quotas: 20 rooms, 5 logging configurations) so it stays small.

enum Operation: CaseIterable {
    case createRoom, getRoom, updateRoom, deleteRoom, listRooms
    case createLoggingConfiguration, getLoggingConfiguration, updateLoggingConfiguration, deleteLoggingConfiguration
    case listLoggingConfigurations, createChatToken, sendEvent, deleteMessage, disconnectUser
    case listTags, tagResource, untagResource
}

/// Reports destinations as broken when their name says so, so both outcomes of the destination check are reachable.
struct FakeDestinationChecker: LogDestinationChecker {
    func problem(with destination: LogDestination) async -> String? {
        switch destination {
        case .s3(let name), .cloudWatchLogs(let name), .firehose(let name): name.contains("broken") ? "Access denied." : nil
        }
    }
}

final class Environment: Sendable {
    static let namespace = ResourceNamespace(region: "us-east-1", accountID: "000000000000")

    let clock = ManualWallClock()
    let controlPlane: ControlPlane
    private struct Latest {
        var roomARN = namespace.arn(.room, id: "AbCdEfGh1234")
        var loggingConfigurationARN = namespace.arn(.loggingConfiguration, id: "AbCdEfGh1234")
        var inputs = 0
    }
    private let latest = Mutex(Latest())

    init() async throws {
        let database = try AppDatabase.inMemory()
        try await database.migrate()
        let live = LiveRooms(limits: MessagingLimits(quotas: QuotaValues()), clock: clock, bus: LocalRoomBus())
        controlPlane = ControlPlane(
            store: database, live: live, namespace: Self.namespace, clock: clock, serverKey: .generate(),
            quotas: QuotaBook(QuotaValues([.rooms: 20, .loggingConfigurations: 5])), tokenLifetime: 60,
            destinationChecker: FakeDestinationChecker())
    }

    /// Counts an input; true once the store should be replaced.
    func countInput() -> Bool {
        latest.withLock {
            $0.inputs += 1
            return $0.inputs >= 1_000
        }
    }

    func substitute(_ text: String) -> String {
        let (room, configuration) = latest.withLock { ($0.roomARN, $0.loggingConfigurationARN) }
        return text.replacingOccurrences(of: "$ROOM", with: room).replacingOccurrences(of: "$LC", with: configuration)
    }

    func created(room: Room) {
        latest.withLock { $0.roomARN = Self.namespace.arn(.room, id: room.id) }
    }

    func created(loggingConfiguration: LoggingConfiguration) {
        latest.withLock { $0.loggingConfigurationARN = Self.namespace.arn(.loggingConfiguration, id: loggingConfiguration.id) }
    }
}

let current = Mutex<Environment?>(nil)
/// `FUZZ_VERBOSE=1`: print each input's operation and outcome (for looking at a corpus in replay mode).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

func environment() -> Environment {
    if let environment = current.withLock({ $0 }) { return environment }
    let made = Mutex<Environment?>(nil)
    runBlocking {
        do {
            let environment = try await Environment()
            made.withLock { $0 = environment }
        } catch {
            fuzzFailure("cannot set up the control plane: \(error)")
        }
    }
    let environment = made.withLock { $0 }!
    current.withLock { $0 = environment }
    return environment
}

func fuzz(_ data: Data) {
    guard let selector = data.first else { return }
    let operation = Operation.allCases[Int(selector &- UInt8(ascii: "a")) % Operation.allCases.count]
    let environment = environment()
    environment.clock.advance(by: 1)
    var text = environment.substitute(String(decoding: data.dropFirst(), as: UTF8.self))
    var target = ""
    if [.listTags, .tagResource, .untagResource].contains(operation) {
        let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        target = String(lines[0])
        text = lines.count > 1 ? String(lines[1]) : ""
    }
    let body = Data(text.utf8)
    let requestTarget = target
    runBlocking {
        do {
            try await run(operation, body: body, target: requestTarget, in: environment)
            if verbose { print("\(operation): ok") }
        } catch let error as ParleyError {
            // A refusal the API answers with its modelled error.
            if verbose { print("\(operation): \(error)") }
        } catch {
            fuzzFailure("\(operation) threw \(String(reflecting: error)), which the API answers with a 500")
        }
    }
    if environment.countInput() { current.withLock { $0 = nil } }
}

func run(_ operation: Operation, body: Data, target: String, in environment: Environment) async throws {
    let controlPlane = environment.controlPlane
    switch operation {
    case .createRoom:
        let room = try await controlPlane.createRoom(APIRequestDecoding.decode(body: body))
        checkAccepted(room)
        environment.created(room: room)
        let stored = try await controlPlane.getRoom(IdentifierInput(identifier: Environment.namespace.arn(.room, id: room.id)))
        guard sameContent(stored, room) else { fuzzFailure("the room reads back differently: \(room) vs \(stored)") }
    case .getRoom:
        _ = try await controlPlane.getRoom(APIRequestDecoding.decode(body: body))
    case .updateRoom:
        checkAccepted(try await controlPlane.updateRoom(APIRequestDecoding.decode(body: body)))
    case .deleteRoom:
        try await controlPlane.deleteRoom(APIRequestDecoding.decode(body: body))
    case .listRooms:
        let page = try await controlPlane.listRooms(APIRequestDecoding.decode(body: body))
        page.items.forEach(checkAccepted)
    case .createLoggingConfiguration:
        let configuration = try await controlPlane.createLoggingConfiguration(APIRequestDecoding.decode(body: body))
        checkAccepted(configuration)
        environment.created(loggingConfiguration: configuration)
        let stored = try await controlPlane.getLoggingConfiguration(
            IdentifierInput(identifier: Environment.namespace.arn(.loggingConfiguration, id: configuration.id)))
        guard stored.name == configuration.name, stored.destination == configuration.destination, stored.tags == configuration.tags,
            stored.state == configuration.state
        else { fuzzFailure("the logging configuration reads back differently: \(configuration) vs \(stored)") }
    case .getLoggingConfiguration:
        _ = try await controlPlane.getLoggingConfiguration(APIRequestDecoding.decode(body: body))
    case .updateLoggingConfiguration:
        checkAccepted(try await controlPlane.updateLoggingConfiguration(APIRequestDecoding.decode(body: body)))
    case .deleteLoggingConfiguration:
        try await controlPlane.deleteLoggingConfiguration(APIRequestDecoding.decode(body: body))
    case .listLoggingConfigurations:
        let page = try await controlPlane.listLoggingConfigurations(APIRequestDecoding.decode(body: body))
        page.items.forEach(checkAccepted)
    case .createChatToken:
        let issued = try await controlPlane.createChatToken(APIRequestDecoding.decode(body: body))
        guard issued.tokenExpirationTime <= issued.sessionExpirationTime else { fuzzFailure("token outlives its session") }
    case .sendEvent:
        _ = try await controlPlane.sendEvent(APIRequestDecoding.decode(body: body))
    case .deleteMessage:
        _ = try await controlPlane.deleteMessage(APIRequestDecoding.decode(body: body))
    case .disconnectUser:
        try await controlPlane.disconnectUser(APIRequestDecoding.decode(body: body))
    case .listTags:
        checkTags(try await controlPlane.listTags(resourceARN: APIRequestDecoding.resourceARN(target: target)))
    case .tagResource:
        let arn = APIRequestDecoding.resourceARN(target: target)
        let input: TagResourceInput = try APIRequestDecoding.decode(body: body)
        try await controlPlane.tagResource(resourceARN: arn, tags: input.tags)
        let stored = try await controlPlane.listTags(resourceARN: arn)
        checkTags(stored)
        for (key, value) in input.tags ?? [:] where stored[key] != value {
            fuzzFailure("tag \(key) reads back as \(stored[key] ?? "nothing"), not \(value)")
        }
    case .untagResource:
        let arn = APIRequestDecoding.resourceARN(target: target)
        let keys = APIRequestDecoding.tagKeys(target: target)
        try await controlPlane.untagResource(resourceARN: arn, tagKeys: keys)
        let stored = try await controlPlane.listTags(resourceARN: arn)
        for key in keys ?? [] where stored[key] != nil { fuzzFailure("tag \(key) survives UntagResource") }
    }
}

func sameContent(_ lhs: Room, _ rhs: Room) -> Bool {
    lhs.id == rhs.id && lhs.name == rhs.name && lhs.maximumMessageLength == rhs.maximumMessageLength
        && lhs.maximumMessageRatePerSecond == rhs.maximumMessageRatePerSecond && lhs.messageReviewHandler == rhs.messageReviewHandler
        && lhs.loggingConfigurationIDs == rhs.loggingConfigurationIDs && lhs.tags == rhs.tags
}

func checkName(_ name: String) {
    guard RoomRules.nameLength.contains(name.unicodeScalars.count), name.unicodeScalars.allSatisfy(CharacterClass.isNameCharacter)
    else { fuzzFailure("an invalid name was accepted: \(name)") }
}

func checkTags(_ tags: [String: String]) {
    guard tags.count <= TagRules.maximumCount,
        tags.allSatisfy({
            TagRules.keyLength.contains($0.key.unicodeScalars.count) && TagRules.valueLength.contains($0.value.unicodeScalars.count)
        })
    else { fuzzFailure("invalid tags were accepted: \(tags)") }
}

func checkAccepted(_ room: Room) {
    checkName(room.name)
    checkTags(room.tags)
    guard RoomRules.maximumMessageLengthRange.contains(room.maximumMessageLength),
        RoomRules.maximumMessageRateRange.contains(room.maximumMessageRatePerSecond),
        room.loggingConfigurationIDs.count <= RoomRules.maximumLoggingConfigurations,
        room.messageReviewHandler.map({
            !$0.uri.isEmpty && $0.uri.unicodeScalars.count <= RoomRules.reviewHandlerURIMaximumLength
                && RoomRules.isValidReviewHandlerURI($0.uri)
        }) ?? true
    else { fuzzFailure("an invalid room was accepted: \(room)") }
}

func checkAccepted(_ configuration: LoggingConfiguration) {
    checkName(configuration.name)
    checkTags(configuration.tags)
    var validator = FieldValidator()
    LoggingRules.validate(configuration.destination, "destinationConfiguration", into: &validator)
    guard validator.problems.isEmpty else { fuzzFailure("an invalid destination was accepted: \(configuration.destination)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzz(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

#if FUZZING
    /// The process's `main` (SwiftPM links `main` to `<module>_main`): libFuzzer's driver.
    @_cdecl("FuzzControlPlane_main")
    public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        runLibFuzzer(argc, argv, fuzzerTestOneInput)
    }
#else
    @main
    enum Replay {
        static func main() {
            FuzzReplay.main(arguments: Array(CommandLine.arguments.dropFirst()), test: fuzz)
        }
    }
#endif
