import Foundation
import Hummingbird
import HummingbirdBcrypt
import NIOCore
import ParleyDomain
import ParleyLogging
import ParleyMessaging
import ParleyMetrics
import ParleyReview

/// The operations console: pages built from queries over the control plane, storage, live rooms and metrics.
struct ConsoleController: Sendable {
    let views: ConsoleViews
    let sessions: ConsoleSessions
    let throttle: SignInThrottle
    let controlPlane: ControlPlane
    let store: any ParleyStore
    let live: LiveRooms
    let activity: RoomActivityLog
    let reviewStatistics: ReviewStatistics
    let loggingStatistics: LoggingStatistics
    let metricsQuery: MetricsQuery
    let quotaReport: @Sendable () async throws -> [QuotaReportEntry]
    let s3Directory: String?
    let webhookSecret: String
    let bcryptCost: UInt8
    /// Whether clients reach the server over TLS, for the test client's `wss://` URL.
    let secureWebSockets: Bool
    /// Applies stored quota adjustments now, rather than at the metrics job's next round.
    let refreshQuotas: @Sendable () async throws -> Void
    /// Chat tokens issued to console users (the chat-token endpoint and the test client), per user.
    let tokenLimiter: ConsoleTokenLimiter
    /// Checked against when a user name is unknown.
    let unknownUserHash: DecoyPasswordHash

    var clock: any WallClock { controlPlane.clock }

    func addRoutes(to router: RouterGroup<ParleyRequestContext>) {
        router.get("sign-in") { request, _ in signInPage(next: FormData.query(of: request)["next"] ?? ConsoleURL.dashboard.path, error: nil)
        }
        router.post("sign-in") { request, context in try await signIn(request, context) }
        router.post("sign-out") { _, context in
            // The cookie is cleared, and the session ended on the server, so a copy of the cookie is worthless too.
            let session = try context.session()
            try await sessions.end(session)
            try await audit(context, "SignOut", session.user)
            return Response(status: .seeOther, headers: [.location: ConsoleURL.signIn.path, .setCookie: sessions.signOutCookie])
        }
        router.get("") { request, context in try await dashboard(request, context) }
        addRoomRoutes(to: router)
        LiveViewController(console: self).addRoutes(to: router)
        addChatTokenRoute(to: router)
        addLoggingRoutes(to: router)
        addAdministrationRoutes(to: router)
    }

    func chrome(_ title: String, _ context: ParleyRequestContext, section: String, request: Request? = nil) throws -> PageChrome {
        PageChrome(
            title: title, session: try context.session(), section: section, notice: request.flatMap { FormData.query(of: $0)["notice"] })
    }

    /// Writes a change made on the console to the audit log: the operator, the operation, the resource, the client.
    func audit(_ context: ParleyRequestContext, _ action: String, _ target: String, _ detail: String = "") async throws {
        await store.recordAudit(
            AuditEntry(
                time: clock.now(), actor: "console:\(try context.session().user)", action: action, target: target, detail: detail,
                address: context.clientAddress),
            logger: context.logger)
    }

    // MARK: Sign-in

    private func signInPage(next: String, error: String?, user: String = "", status: HTTPResponse.Status = .ok) -> Response {
        let safeNext = Self.safeNext(next)
        return views.page("sign-in", SignInModel(user: user, next: safeNext, error: error), status: status)
    }

    private func signIn(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        let form = try await FormData.body(of: request)
        let name = form.text("user") ?? ""
        let next = form["next"] ?? ConsoleURL.dashboard.path
        let address = context.clientAddress
        guard !throttle.isBlocked(user: name, address: address, now: clock.now()) else {
            return signInPage(next: next, error: "Too many failed attempts; wait a minute.", user: name, status: .tooManyRequests)
        }
        // An unknown name costs a bcrypt check too, so the answer's timing does not tell which names exist.
        let user = try await store.consoleUser(name: name)
        let matches = Bcrypt.verify(form["password"] ?? "", hash: user?.passwordHash ?? unknownUserHash.value)
        guard let user, matches else {
            throttle.recordFailure(user: name, address: address, now: clock.now())
            try await store.appendAudit(
                AuditEntry(
                    time: clock.now(), actor: "console:-", action: "SignInFailed", target: String(name.prefix(64)), address: address))
            return signInPage(next: next, error: "Wrong user name or password.", user: name, status: .unauthorized)
        }
        // A new session every time; one this browser already had ends (no session fixation, no stale privileges).
        if let previous = try await sessions.open(request) { try await sessions.end(previous) }
        let (_, cookie) = sessions.start(for: user)
        try await store.appendAudit(
            AuditEntry(time: clock.now(), actor: "console:\(user.name)", action: "SignIn", target: user.name, address: address))
        return Response(status: .seeOther, headers: [.location: Self.safeNext(next), .setCookie: cookie])
    }

    /// Only console paths and the bundled examples (which call the console's chat-token endpoint) are followed after
    /// sign-in, never another site: a plain absolute path under `/console` or `/assets/examples/`, without `//`, `\`,
    /// dot segments or control characters that a browser might read as another host.
    static func safeNext(_ next: String) -> String {
        let path = next.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        let underConsole = path == "/console" || path.hasPrefix("/console/") || path.hasPrefix("/assets/examples/")
        let plain =
            !path.contains("//") && !path.contains("\\") && !path.split(separator: "/").contains { $0 == ".." || $0 == "." }
            && !next.unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == " " }
            && !path.contains("%")
        return underConsole && plain ? next : ConsoleURL.dashboard.path
    }

    // MARK: Dashboard

    func dashboardModel(_ page: PageChrome) async throws -> DashboardModel {
        let now = clock.now()
        func sum(_ name: String, _ dimensions: [MetricDataQuery.Dimension]? = nil, since: TimeInterval) async throws -> Int {
            let output = try await metricsQuery.run(
                GetMetricDataInput(
                    MetricDataQueries: [
                        MetricDataQuery(
                            Id: "m",
                            MetricStat: .init(
                                Metric: .init(Namespace: nil, MetricName: name, Dimensions: dimensions), Period: 60, Stat: "Sum"),
                            Label: nil)
                    ], StartTime: now - since, EndTime: now + 60))
            return Int(output.MetricDataResults.first?.Values.reduce(0, +) ?? 0)
        }
        let counts = live.connectionCountsByRoom().sorted { $0.value > $1.value }.prefix(5)
        var busiest: [DashboardModel.BusyRoom] = []
        for (id, connections) in counts {
            let name = try await store.room(id: id)?.name ?? "(deleted)"
            busiest.append(.init(name: name.isEmpty ? id : name, id: id, url: ConsoleURL.room(id).path, connections: connections))
        }
        return DashboardModel(
            page: page, connections: live.connectionCount,
            messagesLastMinute: try await sum(MetricName.requests, [.init(Name: "Action", Value: "SendMessage")], since: 60),
            deliveriesLastMinute: try await sum(MetricName.messagingDeliveries, since: 60),
            errorsLastHour: try await sum(MetricName.invocationErrors, since: 3_600)
                + (try await sum(MetricName.logDestinationErrors, since: 3_600)),
            rooms: try await store.roomCount(), busiestRooms: busiest,
            alarms: try await store.alarms(limit: 5).map {
                .init(quota: $0.quota.title, usage: $0.usage, limit: $0.limit, time: TimeModel($0.time))
            })
    }

    private func dashboard(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        views.page("dashboard", try await dashboardModel(try chrome("Dashboard", context, section: "dashboard", request: request)))
    }
}
