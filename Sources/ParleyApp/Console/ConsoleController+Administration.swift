import Foundation
import Hummingbird
import HummingbirdBcrypt
import ParleyDomain
import ParleyMetrics

extension ConsoleController {
    func addAdministrationRoutes(to router: RouterGroup<ParleyRequestContext>) {
        router.get("handlers") { request, context in views.page("handlers", try await handlersModel(request, context, error: nil)) }
        router.post("handlers") { request, context in try await changeHandler(request, context) }
        router.get("quotas") { request, context in views.page("quotas", try await quotasModel(request, context, error: nil)) }
        router.post("quotas/:name") { request, context in try await adjustQuota(request, context) }
        router.get("metrics") { request, context in views.page("metrics", try await metricsModel(request, context)) }
        router.get("keys") { request, context in views.page("keys", try await keysModel(request, context, created: nil)) }
        router.post("keys") { request, context in
            _ = try context.session(atLeast: .admin)
            let key = AccessKey.generate(at: clock.now())
            try await store.insertAccessKey(key)
            try await audit(context, "CreateAccessKey", key.accessKeyID)
            return views.page(
                "keys", try await keysModel(request, context, created: .init(id: key.accessKeyID, secret: key.secretAccessKey)))
        }
        router.post("keys/:id/revoke") { _, context in
            _ = try context.session(atLeast: .admin)
            let id = context.parameters.get("id") ?? ""
            guard try await store.revokeAccessKey(accessKeyID: id, at: clock.now()) else {
                throw ConsoleError.notFound("No active key \(id).")
            }
            try await audit(context, "RevokeAccessKey", id)
            return Response.redirect(to: .keys, notice: "Key \(id) revoked.")
        }
        router.get("users") { _, context in views.page("users", try await usersModel(context, error: nil, name: "")) }
        router.post("users") { request, context in try await createUser(request, context) }
        router.get("audit") { request, context in
            let before = FormData.query(of: request).text("before").flatMap { Int64($0) }
            let entries = try await store.auditEntries(limit: 50, before: before)
            let model = AuditModel(
                page: try chrome("Audit log", context, section: "audit", request: request),
                entries: entries.map {
                    .init(
                        time: TimeModel($0.time), actor: $0.actor, action: $0.action, target: $0.target, detail: $0.detail,
                        address: $0.address)
                },
                nextURL: entries.count == 50 ? entries.last.map { ConsoleURL.audit.path + "?before=\($0.id)" } : nil)
            return views.page("audit", model)
        }
    }

    // MARK: Review handlers

    private func handlersModel(_ request: Request, _ context: ParleyRequestContext, error: String?) async throws -> HandlersModel {
        let page = try chrome("Review handlers", context, section: "handlers", request: request)
        var rooms: [Room] = []
        var cursor: PageCursor?
        repeat {
            let batch = try await store.rooms(matching: RoomFilter(), after: cursor, limit: 500)
            rooms += batch
            cursor = batch.count == 500 ? batch.last.map { PageCursor(updateTime: $0.updateTime, id: $0.id) } : nil
        } while cursor != nil
        let statistics = reviewStatistics.snapshot()
        let uris = Set(rooms.compactMap(\.messageReviewHandler?.uri)).union(statistics.keys).sorted()
        let handlers = uris.map { uri -> HandlersModel.Handler in
            let figures = statistics[uri] ?? .init()
            let users = rooms.filter { $0.messageReviewHandler?.uri == uri }
            return HandlersModel.Handler(
                uri: uri,
                rooms: users.map {
                    .init(
                        name: $0.name.isEmpty ? $0.id : $0.name, url: ConsoleURL.room($0.id).path,
                        detachURL: ConsoleURL.handlers.path + "?action=detach&room=\($0.id)")
                },
                invocations: figures.invocations, invocationErrors: figures.invocationErrors,
                validationErrors: figures.responseValidationErrors,
                averageLatencyMilliseconds: figures.invocations == 0
                    ? "–" : String(format: "%.1f", figures.totalLatencyMilliseconds / Double(figures.invocations)))
        }
        return HandlersModel(
            page: page, handlers: handlers,
            rooms: rooms.map { Option(value: $0.id, label: $0.name.isEmpty ? $0.id : $0.name, selected: false) },
            attachURL: ConsoleURL.handlers.path, webhookSecret: page.isAdmin ? webhookSecret : nil, error: error)
    }

    private func changeHandler(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        _ = try context.session(atLeast: .moderator)
        let form = try await FormData.body(of: request)
        let query = FormData.query(of: request)
        guard let roomID = form.text("room") ?? query.text("room"), ResourceID.isValid(roomID) else {
            return views.page("handlers", try await handlersModel(request, context, error: "Choose a room."), status: .badRequest)
        }
        let detach = (form["action"] ?? query["action"]) == "detach"
        let handler =
            detach
            ? MessageReviewHandlerInput(uri: "")
            : MessageReviewHandlerInput(uri: form.text("uri") ?? "", fallbackResult: form["fallbackResult"])
        do {
            _ = try await controlPlane.updateRoom(
                UpdateRoomInput(identifier: controlPlane.namespace.arn(.room, id: roomID), messageReviewHandler: handler))
        } catch let error as ParleyError {
            return views.page("handlers", try await handlersModel(request, context, error: error.message), status: .badRequest)
        }
        try await audit(context, detach ? "DetachReviewHandler" : "AttachReviewHandler", roomID, handler.uri ?? "")
        return Response.redirect(to: .handlers, notice: detach ? "Handler detached." : "Handler attached.")
    }

    // MARK: Quotas

    private func quotasModel(_ request: Request, _ context: ParleyRequestContext, error: String?) async throws -> QuotasModel {
        let report = try await quotaReport()
        return QuotasModel(
            page: try chrome("Service quotas", context, section: "quotas", request: request),
            quotas: report.map { entry in
                let percent = entry.Usage.map { entry.Value == 0 ? 0 : min(100, $0 * 100 / entry.Value) } ?? 0
                return .init(
                    name: entry.QuotaName, title: entry.Title, value: entry.Value, defaultValue: entry.DefaultValue,
                    adjustable: entry.Adjustable,
                    usage: entry.Usage, percent: percent, warning: percent >= 80, description: entry.Description,
                    formURL: ConsoleURL.quota(entry.QuotaName).path)
            },
            alarms: try await store.alarms(limit: 20).map {
                .init(quota: $0.quota.title, usage: $0.usage, limit: $0.limit, time: TimeModel($0.time))
            },
            error: error)
    }

    private func adjustQuota(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        _ = try context.session(atLeast: .admin)
        guard let quota = context.parameters.get("name").flatMap(Quota.init(rawValue:)) else {
            throw ConsoleError.notFound("No such quota.")
        }
        let form = try await FormData.body(of: request)
        guard quota.isAdjustable else {
            return views.page("quotas", try await quotasModel(request, context, error: "\(quota.title) is fixed."), status: .badRequest)
        }
        guard let value = form.text("value").flatMap({ Int($0) }), value > 0 else {
            return views.page(
                "quotas", try await quotasModel(request, context, error: "Enter a positive whole number."), status: .badRequest)
        }
        try await store.setQuota(
            quota, to: value,
            entry: AuditEntry(
                time: clock.now(), actor: "console:\(try context.session().user)", action: "SetQuota", target: quota.rawValue,
                detail: "\(value)",
                address: context.clientAddress))
        try await refreshQuotas()
        return Response.redirect(to: .quotas, notice: "\(quota.title) set to \(value).")
    }

    // MARK: Metrics

    private func metricsModel(_ request: Request, _ context: ParleyRequestContext) async throws -> MetricsModel {
        let query = FormData.query(of: request)
        let period = query.text("period").flatMap { Int($0) }.flatMap { [60, 300, 3600].contains($0) ? $0 : nil } ?? 60
        let range = query.text("range").flatMap { Int($0) }.flatMap { [3600, 21_600, 86_400, 604_800].contains($0) ? $0 : nil } ?? 3600
        let room = query.text("room").flatMap { ResourceID.isValid($0) ? $0 : nil }
        let now = clock.now()
        let start = now - TimeInterval(range)
        let roomDimension = room.map { [MetricDataQuery.Dimension(Name: "Room", Value: $0)] }
        let specs: [(String, String, [MetricDataQuery.Dimension]?, String)] =
            room == nil
            ? [
                ("Concurrent chat connections", MetricName.concurrentChatConnections, nil, "Maximum"),
                ("Messaging requests", MetricName.messagingRequests, nil, "Sum"),
                ("Messaging deliveries", MetricName.messagingDeliveries, nil, "Sum"),
                ("SendMessage requests", MetricName.requests, [.init(Name: "Action", Value: "SendMessage")], "Sum"),
                ("SendMessage deliveries", MetricName.deliveries, [.init(Name: "Action", Value: "SendMessage")], "Sum"),
                ("DeleteMessage requests", MetricName.requests, [.init(Name: "Action", Value: "DeleteMessage")], "Sum"),
                ("DisconnectUser requests", MetricName.requests, [.init(Name: "Action", Value: "DisconnectUser")], "Sum"),
                ("SendEvent requests", MetricName.requests, [.init(Name: "Action", Value: "SendEvent")], "Sum"),
            ]
            : [
                ("Connections in the room", MetricName.roomConnections, roomDimension, "Maximum"),
                ("Messages in the room", MetricName.roomMessages, roomDimension, "Sum"),
                ("Deliveries in the room", MetricName.roomDeliveries, roomDimension, "Sum"),
            ]
        var extra: [(String, String, [MetricDataQuery.Dimension]?, String)] = []
        if room == nil {
            for name in [MetricName.invocationErrors, MetricName.responseValidationErrors] {
                for series in try await store.metricSeries(named: name) {
                    extra.append(
                        (
                            "\(name) — \(series.dimensions.first?.value ?? "")", name,
                            series.dimensions.map { .init(Name: $0.name, Value: $0.value) }, "Sum"
                        ))
                }
            }
            for name in [
                MetricName.logDestinationErrors, MetricName.logDestinationAccessDeniedErrors,
                MetricName.logDestinationResourceNotFoundErrors,
            ] {
                for series in try await store.metricSeries(named: name) {
                    extra.append(
                        (
                            "\(name) — \(series.dimensions.first?.value ?? "")", name,
                            series.dimensions.map { .init(Name: $0.name, Value: $0.value) }, "Sum"
                        ))
                }
            }
        }
        let all = specs + extra
        let output = try await metricsQuery.run(
            GetMetricDataInput(
                MetricDataQueries: all.enumerated().map { index, spec in
                    MetricDataQuery(
                        Id: "m\(index)",
                        MetricStat: .init(
                            Metric: .init(Namespace: "AWS/IVSChat", MetricName: spec.1, Dimensions: spec.2), Period: period, Stat: spec.3),
                        Label: spec.0)
                }, StartTime: start, EndTime: now + 1))
        let charts = zip(all, output.MetricDataResults).map { spec, result in
            let total = spec.3 == "Maximum" ? (result.Values.max() ?? 0) : result.Values.reduce(0, +)
            return MetricsModel.Chart(
                title: spec.0, statistic: spec.3, total: String(format: "%.0f", total),
                svg: SVGChart(start: start, end: now, period: period, timestamps: result.Timestamps, values: result.Values).render())
        }
        let rooms = try await store.rooms(matching: RoomFilter(), after: nil, limit: 200)
        return MetricsModel(
            page: try chrome("Metrics", context, section: "metrics", request: request),
            periods: [(60, "1 minute"), (300, "5 minutes"), (3600, "1 hour")].map {
                Option(value: "\($0.0)", label: $0.1, selected: $0.0 == period)
            },
            ranges: [(3600, "Last hour"), (21_600, "Last 6 hours"), (86_400, "Last day"), (604_800, "Last week")].map {
                Option(value: "\($0.0)", label: $0.1, selected: $0.0 == range)
            },
            rooms: [Option(value: "", label: "All rooms", selected: room == nil)]
                + rooms.map { Option(value: $0.id, label: $0.name.isEmpty ? $0.id : $0.name, selected: $0.id == room) },
            charts: charts)
    }

    // MARK: Keys and users

    private func keysModel(_ request: Request, _ context: ParleyRequestContext, created: KeysModel.Created?) async throws -> KeysModel {
        _ = try context.session(atLeast: .admin)
        return KeysModel(
            page: try chrome("API keys", context, section: "keys", request: request),
            keys: try await store.accessKeys().map {
                .init(
                    id: $0.accessKeyID, active: $0.revokeTime == nil, created: TimeModel($0.createTime),
                    revoked: $0.revokeTime.map(TimeModel.init),
                    revokeURL: ConsoleURL.revokeKey($0.accessKeyID).path)
            }, created: created, createURL: ConsoleURL.keys.path)
    }

    private func usersModel(_ context: ParleyRequestContext, error: String?, name: String) async throws -> UsersModel {
        _ = try context.session(atLeast: .admin)
        return UsersModel(
            page: try chrome("Console users", context, section: "users"),
            users: try await store.consoleUsers().map { .init(name: $0.name, role: $0.role.rawValue, created: TimeModel($0.createTime)) },
            roles: ConsoleRole.allCases.map { Option(value: $0.rawValue, label: $0.rawValue, selected: $0 == .viewer) }, error: error,
            name: name)
    }

    private func createUser(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        _ = try context.session(atLeast: .admin)
        let form = try await FormData.body(of: request)
        let name = form.text("name") ?? ""
        let password = form["password"] ?? ""
        guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy(CharacterClass.isNameCharacter) else {
            return views.page(
                "users", try await usersModel(context, error: "A user name is 1 to 64 of a–z, A–Z, 0–9, - and _.", name: name),
                status: .badRequest)
        }
        guard password.count >= 8 else {
            return views.page(
                "users", try await usersModel(context, error: "Passwords need at least 8 characters.", name: name), status: .badRequest)
        }
        guard let role = form["role"].flatMap(ConsoleRole.init(rawValue:)) else {
            return views.page("users", try await usersModel(context, error: "Choose a role.", name: name), status: .badRequest)
        }
        try await store.saveConsoleUser(
            ConsoleUser(name: name, passwordHash: Bcrypt.hash(password, cost: bcryptCost), role: role, createTime: clock.now()))
        try await audit(context, "SaveConsoleUser", name, role.rawValue)
        return Response.redirect(to: .users, notice: "User \(name) saved as \(role.rawValue).")
    }
}
