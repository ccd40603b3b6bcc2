import Foundation
import ParleyDomain
import ParleyMessaging

/// A chat token as CreateChatToken returns it.
public struct IssuedChatToken: Sendable, Equatable {
    public var token: String
    public var tokenExpirationTime: Date
    public var sessionExpirationTime: Date
}

/// A page of a listing, with the token for the next one.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextToken: String?
}

/// Every control-plane operation, validated as the IVS Chat model says, for the API and the console alike.
public struct ControlPlane: Sendable {
    public let store: any ParleyStore
    public let live: LiveRooms
    public let namespace: ResourceNamespace
    public let clock: any WallClock
    /// The quotas in force (rooms, logging configurations), adjustable while the server runs.
    public let quotas: QuotaBook
    /// Checks a logging destination when a configuration is created or its destination changes.
    public let destinationChecker: any LogDestinationChecker
    /// How long a new chat token may be used to connect.
    public let tokenLifetime: TimeInterval
    let tokenCodec: ChatTokenCodec
    let pageTokens: PageTokenCodec

    public init(
        store: any ParleyStore, live: LiveRooms, namespace: ResourceNamespace, clock: any WallClock, serverKey: ServerKey,
        quotas: QuotaBook, tokenLifetime: TimeInterval, destinationChecker: any LogDestinationChecker
    ) {
        self.destinationChecker = destinationChecker
        self.store = store
        self.live = live
        self.namespace = namespace
        self.clock = clock
        self.quotas = quotas
        self.tokenLifetime = tokenLifetime
        self.tokenCodec = ChatTokenCodec(key: serverKey)
        self.pageTokens = PageTokenCodec(key: serverKey)
    }

    // MARK: Rooms

    public func createRoom(_ input: CreateRoomInput) async throws -> Room {
        var validator = FieldValidator()
        RoomRules.validateName(input.name, "name", into: &validator)
        validator.range(input.maximumMessageLength, "maximumMessageLength", RoomRules.maximumMessageLengthRange)
        validator.range(input.maximumMessageRatePerSecond, "maximumMessageRatePerSecond", RoomRules.maximumMessageRateRange)
        let handler = validateHandler(input.messageReviewHandler, current: nil, into: &validator)
        TagRules.validate(input.tags, "tags", into: &validator)
        let configurationIDs = validateLoggingConfigurationIdentifiers(input.loggingConfigurationIdentifiers, into: &validator)
        try validator.validate()

        let room = Room(
            name: input.name ?? "", createTime: clock.now(),
            maximumMessageRatePerSecond: input.maximumMessageRatePerSecond ?? RoomRules.defaultMaximumMessageRatePerSecond,
            maximumMessageLength: input.maximumMessageLength ?? RoomRules.defaultMaximumMessageLength,
            messageReviewHandler: handler ?? nil, loggingConfigurationIDs: configurationIDs ?? [], tags: input.tags ?? [:])
        return try await store.insertRoom(room, quota: quotas[.rooms])
    }

    public func getRoom(_ input: IdentifierInput) async throws -> Room {
        let id = try roomID(input.identifier, field: "identifier")
        guard let room = try await store.room(id: id) else { throw ParleyError.notFound(kind: .room, id: id) }
        return room
    }

    public func updateRoom(_ input: UpdateRoomInput) async throws -> Room {
        var validator = FieldValidator()
        let id = validateARN(input.identifier, "identifier", kind: .room, required: true, into: &validator)
        RoomRules.validateName(input.name, "name", into: &validator)
        validator.range(input.maximumMessageLength, "maximumMessageLength", RoomRules.maximumMessageLengthRange)
        validator.range(input.maximumMessageRatePerSecond, "maximumMessageRatePerSecond", RoomRules.maximumMessageRateRange)
        // Validated here for the error list; applied to the stored room's handler inside the update.
        _ = validateHandler(input.messageReviewHandler, current: nil, into: &validator)
        let configurationIDs = validateLoggingConfigurationIdentifiers(input.loggingConfigurationIdentifiers, into: &validator)
        try validator.validate()

        let handlerInput = input.messageReviewHandler
        let room = try await store.updateRoom(id: id!, at: clock.now()) { room in
            if let name = input.name { room.name = name }
            if let length = input.maximumMessageLength { room.maximumMessageLength = length }
            if let rate = input.maximumMessageRatePerSecond { room.maximumMessageRatePerSecond = rate }
            if let handlerInput {
                var alreadyValidated = FieldValidator()
                room.messageReviewHandler = Self.handler(from: handlerInput, current: room.messageReviewHandler, into: &alreadyValidated)
            }
            if let configurationIDs { room.loggingConfigurationIDs = configurationIDs }
        }
        live.roomChanged(room)
        return room
    }

    public func deleteRoom(_ input: IdentifierInput) async throws {
        let id = try roomID(input.identifier, field: "identifier")
        try await store.deleteRoom(id: id)
        live.roomDeleted(id: id)
    }

    public func listRooms(_ input: ListRoomsInput) async throws -> Page<Room> {
        var validator = FieldValidator()
        RoomRules.validateName(input.name, "name", into: &validator)
        validator.range(input.maxResults, "maxResults", PageRules.maxResultsRange)
        validator.length(input.nextToken, "nextToken", PageRules.nextTokenLength)
        if let uri = input.messageReviewHandlerUri {
            validator.length(uri, "messageReviewHandlerUri", 0...RoomRules.reviewHandlerURIMaximumLength)
            validator.check(
                RoomRules.isValidReviewHandlerURI(uri), "messageReviewHandlerUri", "must be a Lambda function ARN or an http(s) URL")
        }
        let configurationID = validateARN(
            input.loggingConfigurationIdentifier, "loggingConfigurationIdentifier", kind: .loggingConfiguration, required: false,
            into: &validator)
        let cursor = pageCursor(input.nextToken, into: &validator)
        try validator.validate()

        let limit = input.maxResults ?? PageRules.defaultMaxResults
        let filter = RoomFilter(
            name: input.name.flatMap { $0.isEmpty ? nil : $0 },
            messageReviewHandlerURI: input.messageReviewHandlerUri.flatMap { $0.isEmpty ? nil : $0 },
            loggingConfigurationID: configurationID)
        let rooms = try await store.rooms(matching: filter, after: cursor, limit: limit + 1)
        return page(rooms, limit: limit) { PageCursor(updateTime: $0.updateTime, id: $0.id) }
    }

    // MARK: Logging configurations

    public func createLoggingConfiguration(_ input: CreateLoggingConfigurationInput) async throws -> LoggingConfiguration {
        var validator = FieldValidator()
        RoomRules.validateName(input.name, "name", into: &validator)
        validator.required(input.destinationConfiguration, "destinationConfiguration")
        let destination = input.destinationConfiguration.flatMap { validateDestination($0, into: &validator) }
        TagRules.validate(input.tags, "tags", into: &validator)
        try validator.validate()

        let problem = await destinationChecker.problem(with: destination!)
        let configuration = LoggingConfiguration(
            name: input.name ?? "", createTime: clock.now(), destination: destination!, state: problem == nil ? .active : .createFailed,
            failureReason: problem, tags: input.tags ?? [:])
        return try await store.insertLoggingConfiguration(configuration, quota: quotas[.loggingConfigurations])
    }

    public func getLoggingConfiguration(_ input: IdentifierInput) async throws -> LoggingConfiguration {
        let id = try loggingConfigurationID(input.identifier)
        guard let configuration = try await store.loggingConfiguration(id: id) else {
            throw ParleyError.notFound(kind: .loggingConfiguration, id: id)
        }
        return configuration
    }

    public func updateLoggingConfiguration(_ input: UpdateLoggingConfigurationInput) async throws -> LoggingConfiguration {
        var validator = FieldValidator()
        let id = validateARN(input.identifier, "identifier", kind: .loggingConfiguration, required: true, into: &validator)
        RoomRules.validateName(input.name, "name", into: &validator)
        let destination = input.destinationConfiguration.flatMap { validateDestination($0, into: &validator) }
        try validator.validate()
        let problem = await destination.asyncMap { await destinationChecker.problem(with: $0) }
        return try await store.updateLoggingConfiguration(id: id!, at: clock.now()) { configuration in
            if let name = input.name { configuration.name = name }
            if let destination {
                configuration.destination = destination
                configuration.state = problem! == nil ? .active : .updateFailed
                configuration.failureReason = problem!
            }
        }
    }

    public func deleteLoggingConfiguration(_ input: IdentifierInput) async throws {
        try await store.deleteLoggingConfiguration(id: try loggingConfigurationID(input.identifier))
    }

    public func listLoggingConfigurations(_ input: ListLoggingConfigurationsInput) async throws -> Page<LoggingConfiguration> {
        var validator = FieldValidator()
        validator.range(input.maxResults, "maxResults", PageRules.maxResultsRange)
        validator.length(input.nextToken, "nextToken", PageRules.nextTokenLength)
        let cursor = pageCursor(input.nextToken, into: &validator)
        try validator.validate()
        let limit = input.maxResults ?? PageRules.defaultMaxResults
        let configurations = try await store.loggingConfigurations(after: cursor, limit: limit + 1)
        return page(configurations, limit: limit) { PageCursor(updateTime: $0.updateTime, id: $0.id) }
    }

    // MARK: Chat tokens and room actions

    public func createChatToken(_ input: CreateChatTokenInput) async throws -> IssuedChatToken {
        var validator = FieldValidator()
        let roomID = validateARN(input.roomIdentifier, "roomIdentifier", kind: .room, required: true, into: &validator)
        validator.required(input.userId, "userId")
        validator.length(input.userId, "userId", ChatTokenRules.userIDLength)
        var capabilities: [ChatCapability] = []
        for (index, name) in (input.capabilities ?? []).enumerated() {
            if let capability = ChatCapability(rawValue: name) {
                if !capabilities.contains(capability) { capabilities.append(capability) }
            } else {
                validator.fail("capabilities[\(index)]", "must be one of SEND_MESSAGE, DISCONNECT_USER, DELETE_MESSAGE")
            }
        }
        validator.range(input.sessionDurationInMinutes, "sessionDurationInMinutes", ChatTokenRules.sessionDurationRange)
        let attributes = input.attributes ?? [:]
        let size = MessageRules.attributesSize(attributes)
        validator.check(
            size <= ChatTokenRules.maximumAttributesBytes, "attributes",
            "keys and values together must be at most \(ChatTokenRules.maximumAttributesBytes) bytes, got \(size)")
        try validator.validate()

        guard try await store.room(id: roomID!) != nil else { throw ParleyError.notFound(kind: .room, id: roomID!) }
        let now = clock.now()
        let session = TimeInterval(60 * (input.sessionDurationInMinutes ?? ChatTokenRules.defaultSessionDurationInMinutes))
        let claims = ChatTokenClaims(
            roomID: roomID!, userID: input.userId!, capabilities: capabilities, attributes: attributes,
            tokenExpirationTime: now + min(tokenLifetime, session), sessionExpirationTime: now + session)
        return IssuedChatToken(
            token: tokenCodec.encode(claims), tokenExpirationTime: claims.tokenExpirationTime,
            sessionExpirationTime: claims.sessionExpirationTime)
    }

    /// Sends a custom event to everyone in the room; returns its id.
    public func sendEvent(_ input: SendEventInput) async throws -> String {
        var validator = FieldValidator()
        let roomID = validateARN(input.roomIdentifier, "roomIdentifier", kind: .room, required: true, into: &validator)
        validator.required(input.eventName, "eventName")
        validator.length(input.eventName, "eventName", MessageRules.eventNameLength)
        let size = MessageRules.attributesSize(input.attributes ?? [:])
        validator.check(
            size <= MessageRules.maximumEventAttributesBytes, "attributes",
            "keys and values together must be at most \(MessageRules.maximumEventAttributesBytes) bytes, got \(size)")
        try validator.validate()
        let room = try await requireRoom(roomID!)
        return try liveAction(
            await live.sendEvent(storedRoom: room, name: input.eventName!, attributes: input.attributes ?? [:]), roomID: roomID!,
            limit: live.limits.sendEventPerSecond)
    }

    /// Deletes a message for everyone in the room; returns the id of the deletion event.
    public func deleteMessage(_ input: DeleteMessageInput) async throws -> String {
        var validator = FieldValidator()
        let roomID = validateARN(input.roomIdentifier, "roomIdentifier", kind: .room, required: true, into: &validator)
        validator.required(input.id, "id")
        if let id = input.id { validator.check(ResourceID.isValid(id), "id", "must be 12 characters of [a-zA-Z0-9]") }
        validator.length(input.reason, "reason", MessageRules.reasonLength)
        try validator.validate()
        let room = try await requireRoom(roomID!)
        return try liveAction(
            await live.deleteMessage(roomID: roomID!, storedRoom: room, messageID: input.id!, reason: input.reason ?? "", requestID: ""),
            roomID: roomID!, limit: live.limits.deleteMessagePerSecond)
    }

    /// Disconnects every connection of a user from the room.
    public func disconnectUser(_ input: DisconnectUserInput) async throws {
        var validator = FieldValidator()
        let roomID = validateARN(input.roomIdentifier, "roomIdentifier", kind: .room, required: true, into: &validator)
        validator.required(input.userId, "userId")
        validator.length(input.userId, "userId", ChatTokenRules.userIDLength)
        validator.length(input.reason, "reason", MessageRules.reasonLength)
        try validator.validate()
        let room = try await requireRoom(roomID!)
        _ = try liveAction(
            await live.disconnectUser(roomID: roomID!, storedRoom: room, userID: input.userId!, reason: input.reason ?? "", requestID: ""),
            roomID: roomID!, limit: live.limits.disconnectUserPerSecond)
    }

    // MARK: Tags

    public func listTags(resourceARN: String) async throws -> [String: String] {
        let (kind, id) = try taggableResource(resourceARN)
        return try await store.tags(of: kind, id: id)
    }

    public func tagResource(resourceARN: String, tags: [String: String]?) async throws {
        var validator = FieldValidator()
        validator.required(tags, "tags")
        TagRules.validate(tags, "tags", into: &validator)
        let resource = try? taggableResource(resourceARN)
        if resource == nil { validator.fail("resourceArn", "must be an ivschat room or logging-configuration ARN") }
        try validator.validate()
        try await store.tagResource(resource!.0, id: resource!.1, tags: tags!)
    }

    public func untagResource(resourceARN: String, tagKeys: [String]?) async throws {
        var validator = FieldValidator()
        validator.required(tagKeys, "tagKeys")
        validator.check((tagKeys ?? []).count <= TagRules.maximumCount, "tagKeys", "at most \(TagRules.maximumCount) keys")
        for key in tagKeys ?? [] { validator.length(key, "tagKeys", TagRules.keyLength) }
        let resource = try? taggableResource(resourceARN)
        if resource == nil { validator.fail("resourceArn", "must be an ivschat room or logging-configuration ARN") }
        try validator.validate()
        try await store.untagResource(resource!.0, id: resource!.1, keys: tagKeys!)
    }

    // MARK: Validation helpers

    /// A live-room action's outcome in the control plane's terms.
    private func liveAction(_ result: Result<String, MessagingError>, roomID: String, limit: Int) throws -> String {
        switch result {
        case .success(let id): return id
        case .failure(.throttled(let message)): throw ParleyError.throttled(kind: .room, id: roomID, limit: limit, message: message)
        case .failure(.notFound): throw ParleyError.notFound(kind: .room, id: roomID)
        case .failure(let error): throw ParleyError.validation(reason: .fieldValidationFailed, message: error.message, fields: [])
        }
    }

    private func requireRoom(_ id: String) async throws -> Room {
        guard let room = try await store.room(id: id) else { throw ParleyError.notFound(kind: .room, id: id) }
        return room
    }

    private func roomID(_ identifier: String?, field: String) throws -> String {
        var validator = FieldValidator()
        let id = validateARN(identifier, field, kind: .room, required: true, into: &validator)
        try validator.validate()
        return id!
    }

    private func loggingConfigurationID(_ identifier: String?) throws -> String {
        var validator = FieldValidator()
        let id = validateARN(identifier, "identifier", kind: .loggingConfiguration, required: true, into: &validator)
        try validator.validate()
        return id!
    }

    /// The id inside an ARN of `kind`. An ARN of another region or account names nothing here: the id is then
    /// replaced by the whole ARN so that the lookup reports it as not found.
    private func validateARN(
        _ arn: String?, _ field: String, kind: ResourceKind, required: Bool, into validator: inout FieldValidator
    ) -> String? {
        guard let arn else {
            if required { validator.fail(field, "is required") }
            return nil
        }
        guard let parsed = ResourceARN(arn), parsed.kind == kind else {
            validator.fail(field, "must be an ARN of the form arn:aws:ivschat:<region>:<account>:\(kind.rawValue)/<id>")
            return nil
        }
        guard parsed.region == namespace.region, parsed.accountID == namespace.accountID else {
            return "\(parsed.region)/\(parsed.accountID)/\(parsed.id)"
        }
        return parsed.id
    }

    private func taggableResource(_ arn: String) throws -> (ResourceKind, String) {
        guard let parsed = ResourceARN(arn) else {
            throw ParleyError.invalidField("resourceArn", "must be an ivschat room or logging-configuration ARN")
        }
        guard parsed.region == namespace.region, parsed.accountID == namespace.accountID else {
            throw ParleyError.notFound(kind: parsed.kind, id: parsed.id)
        }
        return (parsed.kind, parsed.id)
    }

    private func validateLoggingConfigurationIdentifiers(_ identifiers: [String]?, into validator: inout FieldValidator) -> [String]? {
        guard let identifiers else { return nil }
        validator.check(
            identifiers.count <= RoomRules.maximumLoggingConfigurations, "loggingConfigurationIdentifiers",
            "at most \(RoomRules.maximumLoggingConfigurations) logging configurations per room, got \(identifiers.count)")
        var ids: [String] = []
        for (index, identifier) in identifiers.enumerated() {
            if let id = validateARN(
                identifier, "loggingConfigurationIdentifiers[\(index)]", kind: .loggingConfiguration, required: true, into: &validator),
                !ids.contains(id)
            {
                ids.append(id)
            }
        }
        return ids
    }

    /// nil: no change; .some(nil): detach; .some(handler): attach.
    private func validateHandler(
        _ input: MessageReviewHandlerInput?, current: MessageReviewHandler?, into validator: inout FieldValidator
    ) -> MessageReviewHandler?? {
        guard let input else { return nil }
        return .some(Self.handler(from: input, current: current, into: &validator))
    }

    static func handler(
        from input: MessageReviewHandlerInput, current: MessageReviewHandler?, into validator: inout FieldValidator
    ) -> MessageReviewHandler? {
        validator.length(input.uri, "messageReviewHandler.uri", 0...RoomRules.reviewHandlerURIMaximumLength)
        if let uri = input.uri {
            validator.check(
                RoomRules.isValidReviewHandlerURI(uri), "messageReviewHandler.uri",
                "must be empty, a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>) or an http(s) URL")
        }
        var fallback = current?.fallbackResult ?? .allow
        if let text = input.fallbackResult {
            if let value = FallbackResult(rawValue: text) {
                fallback = value
            } else {
                validator.fail("messageReviewHandler.fallbackResult", "must be ALLOW or DENY")
            }
        }
        let uri = input.uri ?? current?.uri ?? ""
        return uri.isEmpty ? nil : MessageReviewHandler(uri: uri, fallbackResult: fallback)
    }

    private func validateDestination(_ input: DestinationConfigurationInput, into validator: inout FieldValidator) -> LogDestination? {
        let field = "destinationConfiguration"
        var destinations: [LogDestination] = []
        if let s3 = input.s3 {
            validator.required(s3.bucketName, "\(field).s3.bucketName")
            if let name = s3.bucketName { destinations.append(.s3(bucketName: name)) }
        }
        if let logs = input.cloudWatchLogs {
            validator.required(logs.logGroupName, "\(field).cloudWatchLogs.logGroupName")
            if let name = logs.logGroupName { destinations.append(.cloudWatchLogs(logGroupName: name)) }
        }
        if let firehose = input.firehose {
            validator.required(firehose.deliveryStreamName, "\(field).firehose.deliveryStreamName")
            if let name = firehose.deliveryStreamName { destinations.append(.firehose(deliveryStreamName: name)) }
        }
        let members = [input.s3 != nil, input.cloudWatchLogs != nil, input.firehose != nil].filter { $0 }.count
        guard members == 1 else {
            validator.fail(field, "exactly one of s3, cloudWatchLogs or firehose must be set, got \(members)")
            return nil
        }
        guard let destination = destinations.first else { return nil }
        LoggingRules.validate(destination, field, into: &validator)
        return destination
    }

    private func pageCursor(_ token: String?, into validator: inout FieldValidator) -> PageCursor? {
        guard let token, !token.isEmpty else { return nil }
        guard let cursor = pageTokens.decode(token) else {
            validator.fail("nextToken", "is not a token this service issued")
            return nil
        }
        return cursor
    }

    private func page<Item>(_ items: [Item], limit: Int, cursor: (Item) -> PageCursor) -> Page<Item> {
        guard items.count > limit else { return Page(items: items, nextToken: nil) }
        let shown = Array(items.prefix(limit))
        return Page(items: shown, nextToken: pageTokens.encode(cursor(shown[shown.count - 1])))
    }
}

/// Opaque, tamper-proof `nextToken`s.
struct PageTokenCodec: Sendable {
    let key: ServerKey

    func encode(_ cursor: PageCursor) -> String {
        let plain = "\(cursor.updateTime.millisecondsSince1970)|\(cursor.id)"
        // A letter first: base64url may start with "-", which command-line parsers (the AWS CLI's among them) read as an option.
        return "P" + Base64URL.encode(key.seal(Data(plain.utf8), for: .pageToken))
    }

    func decode(_ token: String) -> PageCursor? {
        guard token.hasPrefix("P"), let sealed = Base64URL.decode(String(token.dropFirst())), let plain = key.open(sealed, for: .pageToken)
        else { return nil }
        let parts = String(decoding: plain, as: UTF8.self).split(separator: "|", maxSplits: 1)
        guard parts.count == 2, let millis = Int64(parts[0]) else { return nil }
        return PageCursor(updateTime: Date(millisecondsSince1970: millis), id: String(parts[1]))
    }
}

extension Optional {
    func asyncMap<Mapped>(_ transform: (Wrapped) async -> Mapped) async -> Mapped? {
        guard let self else { return nil }
        return await transform(self)
    }
}
