import AWSSigV4
import Foundation
import HTTPTypes
import Hummingbird
import ParleyDomain

/// The IVS Chat control-plane API: rest-json on the model's paths, methods and status codes.
struct APIController<Context: RequestContext> {
    let controlPlane: ControlPlane

    func addRoutes(to router: RouterGroup<Context>) {
        router.post("CreateRoom") { request, context in
            try json(room(try await controlPlane.createRoom(decode(request))))
        }
        router.post("GetRoom") { request, context in
            try json(room(try await controlPlane.getRoom(decode(request))))
        }
        router.post("UpdateRoom") { request, context in
            try json(room(try await controlPlane.updateRoom(decode(request))))
        }
        router.post("DeleteRoom") { request, context in
            try await controlPlane.deleteRoom(decode(request))
            return Response(status: .noContent)
        }
        router.post("ListRooms") { request, context in
            let page = try await controlPlane.listRooms(decode(request))
            return try json(ListRoomsOutput(rooms: page.items.map(roomSummary), nextToken: page.nextToken))
        }
        router.post("CreateLoggingConfiguration") { request, context in
            try json(loggingConfiguration(try await controlPlane.createLoggingConfiguration(decode(request))))
        }
        router.post("GetLoggingConfiguration") { request, context in
            try json(loggingConfiguration(try await controlPlane.getLoggingConfiguration(decode(request))))
        }
        router.post("UpdateLoggingConfiguration") { request, context in
            try json(loggingConfiguration(try await controlPlane.updateLoggingConfiguration(decode(request))))
        }
        router.post("DeleteLoggingConfiguration") { request, context in
            try await controlPlane.deleteLoggingConfiguration(decode(request))
            return Response(status: .noContent)
        }
        router.post("ListLoggingConfigurations") { request, context in
            let page = try await controlPlane.listLoggingConfigurations(decode(request))
            return try json(
                ListLoggingConfigurationsOutput(loggingConfigurations: page.items.map(loggingConfiguration), nextToken: page.nextToken))
        }
        router.post("CreateChatToken") { request, context in
            let token = try await controlPlane.createChatToken(decode(request))
            return try json(
                CreateChatTokenOutput(
                    token: token.token, tokenExpirationTime: token.tokenExpirationTime, sessionExpirationTime: token.sessionExpirationTime))
        }
        router.post("SendEvent") { request, context in
            try json(IDOutput(id: try await controlPlane.sendEvent(decode(request))))
        }
        router.post("DeleteMessage") { request, context in
            try json(IDOutput(id: try await controlPlane.deleteMessage(decode(request))))
        }
        router.post("DisconnectUser") { request, context in
            try await controlPlane.disconnectUser(decode(request))
            return try json(EmptyOutput())
        }
        router.get("tags/**") { request, context in
            try json(TagsOutput(tags: try await controlPlane.listTags(resourceARN: resourceARN(request))))
        }
        router.post("tags/**") { request, context in
            let input: TagResourceInput = try await decode(request)
            try await controlPlane.tagResource(resourceARN: resourceARN(request), tags: input.tags)
            return try json(EmptyOutput())
        }
        router.delete("tags/**") { request, context in
            let keys = SignableRequest(method: "DELETE", target: request.head.path ?? "/", headers: [], body: Data())
                .queryItems.filter { $0.name == "tagKeys" }.map(\.value)
            try await controlPlane.untagResource(resourceARN: resourceARN(request), tagKeys: keys.isEmpty ? nil : keys)
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
        let data = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer: buffer, byteTransferStrategy: .noCopy)
        do {
            return try JSONDecoder().decode(Input.self, from: data)
        } catch let error as DecodingError {
            throw ParleyError(decoding: error)
        }
    }

    /// The `{resourceArn}` label of `/tags/{resourceArn}`, percent-decoded from the raw path.
    private func resourceARN(_ request: Request) -> String {
        let path = (request.head.path ?? "/").split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        return SigV4.percentDecode(path.dropFirst("/tags/".count))
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
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

struct CreateChatTokenOutput: Encodable {
    var token: String
    var tokenExpirationTime: Date
    var sessionExpirationTime: Date
}

struct IDOutput: Encodable {
    var id: String
}

struct TagsOutput: Encodable {
    var tags: [String: String]
}

struct EmptyOutput: Encodable {}
