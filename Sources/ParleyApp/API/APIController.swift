import AWSSigV4
import Foundation
import HTTPTypes
import Hummingbird
import ParleyDomain
import ParleyMessaging

/// The IVS Chat control-plane API: rest-json on the model's paths, methods and status codes.
struct APIController<Context: SignedRequestContext & RemoteAddressRequestContext> {
    let controlPlane: ControlPlane

    /// Writes a change made through the API to the audit log: the signing key, the operation, the resource, the client.
    private func audit(_ context: Context, _ action: String, _ target: String, _ detail: String = "") async {
        await controlPlane.store.recordAudit(
            AuditEntry(
                time: controlPlane.clock.now(), actor: "api:\(context.accessKeyID ?? "?")", action: action, target: target, detail: detail,
                address: context.remoteAddress?.ipAddress ?? ""),
            logger: context.logger)
    }

    func addRoutes(to router: RouterGroup<Context>) {
        router.post("CreateRoom") { request, context in
            let created = try await controlPlane.createRoom(decode(request))
            await audit(context, "CreateRoom", created.id, created.name)
            return try json(room(created))
        }
        router.post("GetRoom") { request, context in
            try json(room(try await controlPlane.getRoom(decode(request))))
        }
        router.post("UpdateRoom") { request, context in
            let updated = try await controlPlane.updateRoom(decode(request))
            await audit(context, "UpdateRoom", updated.id)
            return try json(room(updated))
        }
        router.post("DeleteRoom") { request, context in
            let input: IdentifierInput = try await decode(request)
            try await controlPlane.deleteRoom(input)
            await audit(context, "DeleteRoom", input.identifier ?? "")
            return Response(status: .noContent)
        }
        router.post("ListRooms") { request, context in
            let page = try await controlPlane.listRooms(decode(request))
            return try json(ListRoomsOutput(rooms: page.items.map(roomSummary), nextToken: page.nextToken))
        }
        router.post("CreateLoggingConfiguration") { request, context in
            let created = try await controlPlane.createLoggingConfiguration(decode(request))
            await audit(context, "CreateLoggingConfiguration", created.id, created.name)
            return try json(loggingConfiguration(created))
        }
        router.post("GetLoggingConfiguration") { request, context in
            try json(loggingConfiguration(try await controlPlane.getLoggingConfiguration(decode(request))))
        }
        router.post("UpdateLoggingConfiguration") { request, context in
            let updated = try await controlPlane.updateLoggingConfiguration(decode(request))
            await audit(context, "UpdateLoggingConfiguration", updated.id)
            return try json(loggingConfiguration(updated))
        }
        router.post("DeleteLoggingConfiguration") { request, context in
            let input: IdentifierInput = try await decode(request)
            try await controlPlane.deleteLoggingConfiguration(input)
            await audit(context, "DeleteLoggingConfiguration", input.identifier ?? "")
            return Response(status: .noContent)
        }
        router.post("ListLoggingConfigurations") { request, context in
            let page = try await controlPlane.listLoggingConfigurations(decode(request))
            return try json(
                ListLoggingConfigurationsOutput(loggingConfigurations: page.items.map(loggingConfiguration), nextToken: page.nextToken))
        }
        router.post("CreateChatToken") { request, context in
            return CreateChatTokenOutput(try await controlPlane.createChatToken(decode(request))).response
        }
        router.post("SendEvent") { request, context in
            let input: SendEventInput = try await decode(request)
            let id = try await controlPlane.sendEvent(input)
            await audit(context, "SendEvent", input.roomIdentifier ?? "", input.eventName ?? "")
            return try json(IDOutput(id: id))
        }
        router.post("DeleteMessage") { request, context in
            let input: DeleteMessageInput = try await decode(request)
            let id = try await controlPlane.deleteMessage(input)
            await audit(context, "DeleteMessage", input.roomIdentifier ?? "", input.id ?? "")
            return try json(IDOutput(id: id))
        }
        router.post("DisconnectUser") { request, context in
            let input: DisconnectUserInput = try await decode(request)
            try await controlPlane.disconnectUser(input)
            await audit(context, "DisconnectUser", input.roomIdentifier ?? "", input.userId ?? "")
            return try json(EmptyOutput())
        }
        router.get("tags/**") { request, context in
            try json(TagsOutput(tags: try await controlPlane.listTags(resourceARN: resourceARN(request))))
        }
        router.post("tags/**") { request, context in
            let input: TagResourceInput = try await decode(request)
            try await controlPlane.tagResource(resourceARN: resourceARN(request), tags: input.tags)
            await audit(context, "TagResource", resourceARN(request), (input.tags ?? [:]).keys.sorted().joined(separator: ","))
            return try json(EmptyOutput())
        }
        router.delete("tags/**") { request, context in
            let keys = APIRequestDecoding.tagKeys(target: request.head.path ?? "/")
            try await controlPlane.untagResource(resourceARN: resourceARN(request), tagKeys: keys)
            await audit(context, "UntagResource", resourceARN(request), (keys ?? []).joined(separator: ","))
            return try json(EmptyOutput())
        }
        for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
            router.on("**", method: method) { request, _ -> Response in
                throw ParleyError.validation(
                    reason: .unknownOperation, message: "\(request.method) \(request.uri.path) is not an operation of this API.", fields: []
                )
            }
        }
    }

    // MARK: Decoding and encoding

    /// Decodes the (already buffered) JSON body; an empty body is `{}`. Malformed JSON and wrong types are ValidationExceptions.
    private func decode<Input: Decodable>(_ request: Request) async throws -> Input {
        var request = request
        let buffer = try await request.collectBody(upTo: .max)
        return try APIRequestDecoding.decode(body: Data(buffer: buffer, byteTransferStrategy: .noCopy))
    }

    /// The `{resourceArn}` label of `/tags/{resourceArn}`, percent-decoded from the raw path.
    private func resourceARN(_ request: Request) -> String {
        APIRequestDecoding.resourceARN(target: request.head.path ?? "/")
    }

    private func json(_ value: some Encodable) throws -> Response {
        try Response.apiJSON(value)
    }

    private func room(_ room: Room) -> RoomOutput {
        RoomOutput(
            arn: controlPlane.namespace.arn(.room, id: room.id), id: room.id, name: room.name, createTime: room.createTime,
            updateTime: room.updateTime, maximumMessageRatePerSecond: room.maximumMessageRatePerSecond,
            maximumMessageLength: room.maximumMessageLength, messageReviewHandler: handler(room.messageReviewHandler), tags: room.tags,
            loggingConfigurationIdentifiers: room.loggingConfigurationIDs.map { controlPlane.namespace.arn(.loggingConfiguration, id: $0) })
    }

    private func roomSummary(_ room: Room) -> RoomSummaryOutput {
        RoomSummaryOutput(
            arn: controlPlane.namespace.arn(.room, id: room.id), id: room.id, name: room.name,
            messageReviewHandler: handler(room.messageReviewHandler), createTime: room.createTime, updateTime: room.updateTime,
            tags: room.tags,
            loggingConfigurationIdentifiers: room.loggingConfigurationIDs.map { controlPlane.namespace.arn(.loggingConfiguration, id: $0) })
    }

    private func handler(_ handler: MessageReviewHandler?) -> MessageReviewHandlerInput? {
        handler.map { MessageReviewHandlerInput(uri: $0.uri, fallbackResult: $0.fallbackResult.rawValue) }
    }

    private func loggingConfiguration(_ configuration: LoggingConfiguration) -> LoggingConfigurationOutput {
        let destination: DestinationConfigurationInput =
            switch configuration.destination {
            case .s3(let bucketName): DestinationConfigurationInput(s3BucketName: bucketName)
            case .cloudWatchLogs(let logGroupName): DestinationConfigurationInput(logGroupName: logGroupName)
            case .firehose(let deliveryStreamName): DestinationConfigurationInput(deliveryStreamName: deliveryStreamName)
            }
        return LoggingConfigurationOutput(
            arn: controlPlane.namespace.arn(.loggingConfiguration, id: configuration.id), id: configuration.id,
            createTime: configuration.createTime, updateTime: configuration.updateTime, name: configuration.name,
            destinationConfiguration: destination, state: configuration.state.rawValue, tags: configuration.tags)
    }
}

extension Response {
    /// A 200 JSON answer as the API writes it: RFC 3339 times with milliseconds, slashes unescaped, keys in a stable order.
    static func apiJSON(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

// MARK: Output shapes

struct RoomOutput: Encodable {
    var arn: String
    var id: String
    var name: String
    var createTime: Date
    var updateTime: Date
    var maximumMessageRatePerSecond: Int
    var maximumMessageLength: Int
    var messageReviewHandler: MessageReviewHandlerInput?
    var tags: [String: String]
    var loggingConfigurationIdentifiers: [String]
}

struct RoomSummaryOutput: Encodable {
    var arn: String
    var id: String
    var name: String
    var messageReviewHandler: MessageReviewHandlerInput?
    var createTime: Date
    var updateTime: Date
    var tags: [String: String]
    var loggingConfigurationIdentifiers: [String]
}

struct ListRoomsOutput: Encodable {
    var rooms: [RoomSummaryOutput]
    var nextToken: String?
}

struct LoggingConfigurationOutput: Encodable {
    var arn: String
    var id: String
    var createTime: Date
    var updateTime: Date
    var name: String
    var destinationConfiguration: DestinationConfigurationInput
    var state: String
    var tags: [String: String]
}

struct ListLoggingConfigurationsOutput: Encodable {
    var loggingConfigurations: [LoggingConfigurationOutput]
    var nextToken: String?
}

struct CreateChatTokenOutput {
    var token: String
    var tokenExpirationTime: Date
    var sessionExpirationTime: Date

    init(_ issued: IssuedChatToken) {
        token = issued.token
        tokenExpirationTime = issued.tokenExpirationTime
        sessionExpirationTime = issued.sessionExpirationTime
    }

    /// The same JSON as `Response.apiJSON` makes (sorted keys), written by hand: every chat connection starts with
    /// a CreateChatToken call, and JSONEncoder was a large share of its cost.
    var response: Response {
        var json = JSONWriter()
        json.object {
            $0.member("sessionExpirationTime", Timestamp.format(sessionExpirationTime))
            $0.member("token", token)
            $0.member("tokenExpirationTime", Timestamp.format(tokenExpirationTime))
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json.text)))
    }
}

struct IDOutput: Encodable {
    var id: String
}

struct TagsOutput: Encodable {
    var tags: [String: String]
}

struct EmptyOutput: Encodable {}
