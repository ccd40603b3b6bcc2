import Foundation
import Hummingbird
import ParleyDomain

extension ConsoleController {
    func addRoomRoutes(to router: RouterGroup<ParleyRequestContext>) {
        router.get("rooms") { request, context in try await roomsIndex(request, context) }
        router.get("rooms/new") { _, context in
            views.page(
                "rooms/form", try await roomForm(try chrome("Create room", context, section: "rooms"), room: nil, moderatorOnly: context))
        }
        router.post("rooms") { request, context in try await saveRoom(request, context, id: nil) }
        router.get("rooms/:id") { request, context in try await roomShow(request, context) }
        router.get("rooms/:id/edit") { _, context in
            let room = try await controlPlane.getRoom(IdentifierInput(identifier: arn(context)))
            return views.page(
                "rooms/form",
                try await roomForm(try chrome("Edit \(room.name)", context, section: "rooms"), room: room, moderatorOnly: context))
        }
        router.post("rooms/:id") { request, context in try await saveRoom(request, context, id: try roomID(context)) }
        router.post("rooms/:id/delete") { _, context in
            _ = try context.session(atLeast: .moderator)
            try await controlPlane.deleteRoom(IdentifierInput(identifier: arn(context)))
            try await audit(context, "DeleteRoom", try roomID(context))
            return Response.redirect(to: .rooms, notice: "Room deleted. Connected clients stay until their sessions end.")
        }
    }

    func roomID(_ context: ParleyRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), ResourceID.isValid(id) else { throw ConsoleError.notFound("No such room.") }
        return id
    }

    private func arn(_ context: ParleyRequestContext) throws -> String {
        controlPlane.namespace.arn(.room, id: try roomID(context))
    }

    // MARK: List

    private func roomsIndex(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        let query = FormData.query(of: request)
        let name = query.text("name")
        let handler = query.text("handler")
        let logging = query.text("logging")
        let page = try await controlPlane.listRooms(
            ListRoomsInput(
                name: name, nextToken: query.text("next"), maxResults: 25, messageReviewHandlerUri: handler,
                loggingConfigurationIdentifier: logging.map { controlPlane.namespace.arn(.loggingConfiguration, id: $0) }))
        let counts = live.connectionCountsByRoom()
        let configurations = try await store.loggingConfigurations(after: nil, limit: 200)
        var nextURL: String?
        if let token = page.nextToken {
            var parameters = [("next", token)]
            if let name { parameters.append(("name", name)) }
            if let handler { parameters.append(("handler", handler)) }
            if let logging { parameters.append(("logging", logging)) }
            nextURL =
                ConsoleURL.rooms.path + "?"
                + parameters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(
                    separator: "&")
        }
        let model = RoomsIndexModel(
            page: try chrome("Rooms", context, section: "rooms", request: request), filterName: name ?? "", filterHandler: handler ?? "",
            filterLogging: [Option(value: "", label: "Any", selected: logging == nil)]
                + configurations.map { Option(value: $0.id, label: $0.name.isEmpty ? $0.id : $0.name, selected: $0.id == logging) },
            rooms: page.items.map {
                RoomRow(
                    id: $0.id, name: $0.name.isEmpty ? "(unnamed)" : $0.name, url: ConsoleURL.room($0.id).path,
                    handler: $0.messageReviewHandler?.uri ?? "", loggingCount: $0.loggingConfigurationIDs.count,
                    connections: counts[$0.id] ?? 0,
                    updated: TimeModel($0.updateTime))
            },
            isFiltered: name != nil || handler != nil || logging != nil, nextURL: nextURL, newRoomURL: ConsoleURL.newRoom.path)
        return views.page("rooms/index", model)
    }

    // MARK: Form

    private func roomForm(_ page: PageChrome, room: Room?, moderatorOnly context: ParleyRequestContext) async throws -> RoomFormModel {
        _ = try context.session(atLeast: .moderator)
        let configurations = try await store.loggingConfigurations(after: nil, limit: 200)
        let selected = Set(room?.loggingConfigurationIDs ?? [])
        let customLimits =
            room.map {
                $0.maximumMessageLength != RoomRules.defaultMaximumMessageLength
                    || $0.maximumMessageRatePerSecond != RoomRules.defaultMaximumMessageRatePerSecond
            } ?? false
        return RoomFormModel(
            page: page, isNew: room == nil, action: room.map { ConsoleURL.room($0.id).path } ?? ConsoleURL.rooms.path,
            cancelURL: room.map { ConsoleURL.room($0.id).path } ?? ConsoleURL.rooms.path, name: room?.name ?? "",
            customLimits: customLimits,
            maximumMessageLength: String(room?.maximumMessageLength ?? RoomRules.defaultMaximumMessageLength),
            maximumMessageRatePerSecond: String(room?.maximumMessageRatePerSecond ?? RoomRules.defaultMaximumMessageRatePerSecond),
            handlerEnabled: room?.messageReviewHandler != nil, handlerURI: room?.messageReviewHandler?.uri ?? "",
            fallbackDeny: room?.messageReviewHandler?.fallbackResult == .deny, loggingEnabled: !selected.isEmpty,
            logging: configurations.map {
                Option(
                    value: $0.id, label: "\($0.name.isEmpty ? $0.id : $0.name) (\($0.state.rawValue))", selected: selected.contains($0.id))
            },
            tags: (room?.tags ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"))
    }

    private func saveRoom(_ request: Request, _ context: ParleyRequestContext, id: String?) async throws -> Response {
        _ = try context.session(atLeast: .moderator)
        let form = try await FormData.body(of: request)
        var model = try await roomForm(
            try chrome(id == nil ? "Create room" : "Edit room", context, section: "rooms"), room: nil, moderatorOnly: context)
        model.isNew = id == nil
        model.action = id.map { ConsoleURL.room($0).path } ?? ConsoleURL.rooms.path
        model.cancelURL = model.action
        model.name = form["name"] ?? ""
        model.customLimits = form["limits"] == "custom"
        model.maximumMessageLength = form["maximumMessageLength"] ?? model.maximumMessageLength
        model.maximumMessageRatePerSecond = form["maximumMessageRatePerSecond"] ?? model.maximumMessageRatePerSecond
        model.handlerEnabled = form["handler"] == "enabled"
        model.handlerURI = form["handlerURI"] ?? ""
        model.fallbackDeny = form["fallbackResult"] == "DENY"
        model.loggingEnabled = form["logging"] == "enabled"
        let chosen = model.loggingEnabled ? form.all("loggingConfiguration") : []
        model.logging = model.logging.map { Option(value: $0.value, label: $0.label, selected: chosen.contains($0.value)) }
        model.tags = form["tags"] ?? ""

        var tags: [String: String] = [:]
        for line in model.tags.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                model.tagsError = "Write each tag as key=value on its own line."
                return views.page("rooms/form", model, status: .badRequest)
            }
            tags[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        var length: Int?
        var rate: Int?
        if model.customLimits {
            length = Int(model.maximumMessageLength)
            rate = Int(model.maximumMessageRatePerSecond)
            if length == nil { model.lengthError = "Enter a whole number from 1 to 500." }
            if rate == nil { model.rateError = "Enter a whole number from 1 to 100." }
            if length == nil || rate == nil { return views.page("rooms/form", model, status: .badRequest) }
        } else {
            length = RoomRules.defaultMaximumMessageLength
            rate = RoomRules.defaultMaximumMessageRatePerSecond
        }
        let handler =
            model.handlerEnabled
            ? MessageReviewHandlerInput(uri: model.handlerURI, fallbackResult: model.fallbackDeny ? "DENY" : "ALLOW")
            : (id == nil ? nil : MessageReviewHandlerInput(uri: ""))
        let arns = chosen.map { controlPlane.namespace.arn(.loggingConfiguration, id: $0) }
        do {
            let room: Room
            if let id {
                room = try await controlPlane.updateRoom(
                    UpdateRoomInput(
                        identifier: controlPlane.namespace.arn(.room, id: id), name: model.name, maximumMessageRatePerSecond: rate,
                        maximumMessageLength: length, messageReviewHandler: handler, loggingConfigurationIdentifiers: arns))
                let existing = try await store.tags(of: .room, id: id)
                let removed = existing.keys.filter { tags[$0] == nil }
                if !removed.isEmpty { try await store.untagResource(.room, id: id, keys: Array(removed)) }
                if !tags.isEmpty { try await controlPlane.tagResource(resourceARN: controlPlane.namespace.arn(.room, id: id), tags: tags) }
                try await audit(context, "UpdateRoom", id)
            } else {
                room = try await controlPlane.createRoom(
                    CreateRoomInput(
                        name: model.name, maximumMessageRatePerSecond: rate, maximumMessageLength: length, messageReviewHandler: handler,
                        tags: tags, loggingConfigurationIdentifiers: arns))
                try await audit(context, "CreateRoom", room.id, model.name)
            }
            return Response.redirect(to: .room(room.id), notice: id == nil ? "Room created." : "Room saved.")
        } catch let error as ParleyError {
            Self.place(error, in: &model)
            return views.page("rooms/form", model, status: .badRequest)
        }
    }

    /// Puts the control plane's errors next to the fields they are about.
    static func place(_ error: ParleyError, in model: inout RoomFormModel) {
        switch error {
        case .validation(_, let message, let fields):
            for field in fields {
                switch field.name {
                case "name": model.nameError = field.message
                case "maximumMessageLength": model.lengthError = field.message
                case "maximumMessageRatePerSecond": model.rateError = field.message
                case let name where name.hasPrefix("messageReviewHandler"): model.handlerError = field.message
                case let name where name.hasPrefix("loggingConfigurationIdentifiers"): model.loggingError = field.message
                case let name where name.hasPrefix("tags"): model.tagsError = field.message
                default: model.formError = "\(field.name): \(field.message)"
                }
            }
            if fields.isEmpty { model.formError = message }
        case .notFound(.loggingConfiguration, _): model.loggingError = "That logging configuration no longer exists."
        default: model.formError = error.message
        }
    }

    // MARK: Detail and live view

    private func roomShow(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        let room = try await controlPlane.getRoom(IdentifierInput(identifier: arn(context)))
        var logging: [RoomShowModel.Logging] = []
        for id in room.loggingConfigurationIDs {
            let name = try await store.loggingConfiguration(id: id)?.name ?? id
            logging.append(.init(name: name.isEmpty ? id : name, url: ConsoleURL.editLoggingConfiguration(id).path))
        }
        let model = RoomShowModel(
            page: try chrome(room.name.isEmpty ? room.id : room.name, context, section: "rooms", request: request), id: room.id,
            arn: controlPlane.namespace.arn(.room, id: room.id), name: room.name, maximumMessageLength: room.maximumMessageLength,
            maximumMessageRatePerSecond: room.maximumMessageRatePerSecond, handlerURI: room.messageReviewHandler?.uri,
            fallbackResult: room.messageReviewHandler?.fallbackResult.rawValue, logging: logging,
            tags: room.tags.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) }, created: TimeModel(room.createTime),
            updated: TimeModel(room.updateTime), editURL: ConsoleURL.editRoom(room.id).path, deleteURL: ConsoleURL.deleteRoom(room.id).path,
            eventsURL: ConsoleURL.roomEvents(room.id).path,
            deleteMessageURL: ConsoleURL.roomModeration(room.id, action: "delete-message").path,
            disconnectUserURL: ConsoleURL.roomModeration(room.id, action: "disconnect-user").path,
            sendEventURL: ConsoleURL.roomModeration(room.id, action: "send-event").path,
            disconnectEveryoneURL: ConsoleURL.roomModeration(room.id, action: "disconnect-everyone").path,
            testTokenURL: ConsoleURL.roomTestToken(room.id).path)
        return views.page("rooms/show", model)
    }
}
