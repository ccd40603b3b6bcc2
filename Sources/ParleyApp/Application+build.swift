import AWSSigV4
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import ParleyDomain
import ParleyLogging
import ParleyMessaging
import ParleyMetrics
import ParleyReview
import ParleyStorage
import ServiceLifecycle

/// The request context of every HTTP route.
public struct ParleyRequestContext: RequestContext, RemoteAddressRequestContext, SignedRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The signed-in console operator, set by the console's auth middleware.
    var consoleSession: ConsoleSession?
    /// The console client's address, resolved through trusted proxies by the console's auth middleware.
    var resolvedClientAddress: String?
    /// The access key an API request was signed with, set by the SigV4 middleware.
    public var accessKeyID: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Security headers on every HTTP answer — console pages, static assets (the examples are HTML pages too), errors and
/// the API: a strict Content-Security-Policy (no inline script or style, no framing), no content-type sniffing, no
/// referrer to other sites, and under TLS, HSTS. Headers a handler set itself are kept.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Whether the server speaks TLS (then browsers are told to keep to HTTPS).
    let strictTransportSecurity: Bool

    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
            + "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Not found, method not allowed and the like: answered here so that they carry the headers too.
            response = try error.response(from: request, context: context)
        }
        func set(_ name: String, _ value: String) {
            let field = HTTPField.Name(name)!
            if response.headers[field] == nil { response.headers[field] = value }
        }
        set("Content-Security-Policy", Self.contentSecurityPolicy)
        set("X-Content-Type-Options", "nosniff")
        set("X-Frame-Options", "DENY")
        set("Referrer-Policy", "same-origin")
        set("Cross-Origin-Opener-Policy", "same-origin")
        if strictTransportSecurity { set("Strict-Transport-Security", "max-age=31536000") }
        return response
    }
}

/// Times every HTTP request for `/metrics`.
struct RequestDurationMiddleware<Context: RequestContext>: RouterMiddleware {
    let exporter: PrometheusExporter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        defer { exporter.recordHTTPRequest(ContinuousClock.now - started) }
        return try await next(request, context)
    }
}

/// Builds the whole server from its settings: the one composition root, used by `parley serve` and by the tests.
/// - Parameters:
///   - clock: wall time for tokens, limits and timestamps; tests pass a manual clock.
///   - output: where first-start notices (a generated access key) are printed.
public func buildApplication(
    _ settings: ParleySettings, clock: any WallClock = SystemWallClock(), logger: Logger = Logger(label: "parley"),
    output: @escaping @Sendable (String) -> Void = { print($0) }
) async throws -> some ApplicationProtocol {
    let serverKey: ServerKey
    let database: AppDatabase
    let webhookSecret: String
    if let directory = settings.dataDirectory {
        try DataDirectory.ownerOnly(directory)
        serverKey = try DataDirectory.serverKey(directory)
        database = try AppDatabase.onDisk(
            path: (directory as NSString).appendingPathComponent("parley.sqlite"), serverKey: serverKey, logger: logger)
        webhookSecret = try settings.reviewWebhookSecret ?? DataDirectory.reviewWebhookSecret(directory)
    } else {
        serverKey = .generate()
        database = try AppDatabase.inMemory(serverKey: serverKey)
        webhookSecret = settings.reviewWebhookSecret ?? Base64URL.encode(ServerKey.generate().rawRepresentation)
    }

    // Whatever can fail at start is read before the HTTP client exists: a client must be shut down, not dropped.
    let views = try await ConsoleViews(directory: settings.templatesDirectory)
    let blockedTerms = try settings.blockedTermsFile.map { try BlockedTerms.load(contentsOf: URL(fileURLWithPath: $0)) } ?? BlockedTerms()
    var tls: TLSConfiguration?
    if let certificate = settings.tlsCertificatePath, let key = settings.tlsKeyPath {
        tls = try TLSConfiguration.makeServerConfiguration(
            certificateChain: NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(NIOSSLPrivateKey(file: key, format: .pem)))
        tls?.minimumTLSVersion = .tlsv12
    }
    // Review handlers and log destinations share one client; many reviews may wait on one handler host at once.
    var httpConfiguration = HTTPClient.Configuration()
    httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1_024)
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    let quotas = QuotaBook(settings.quotas)
    let reviewer = ReviewService(
        httpClient: httpClient, namespace: settings.namespace, webhookSecret: webhookSecret, lambda: .fromEnvironment(),
        blockedTerms: blockedTerms,
        timeout: .milliseconds(Int64(settings.quotas[.reviewHandlerTimeout])), logger: logger)
    let loggingStatistics = LoggingStatistics()
    let destinations = LogDestinations(
        httpClient: httpClient, environment: .fromEnvironment(region: settings.namespace.region), namespace: settings.namespace,
        s3Directory: settings.s3Directory, verify: settings.verifyLogDestinations)
    let metrics = MetricsRecorder(clock: clock)
    let exporter = PrometheusExporter(reviewStatistics: reviewer.statistics)
    let live = LiveRooms(
        limits: MessagingLimits(quotas: settings.quotas, outboundQueueBytes: settings.outboundQueueBytes), clock: clock,
        bus: LocalRoomBus(), reviewer: reviewer, chatLog: ChatLogRecorder(store: database, statistics: loggingStatistics, logger: logger),
        observer: metrics)
    let controlPlane = ControlPlane(
        store: database, live: live, namespace: settings.namespace, clock: clock, serverKey: serverKey, quotas: quotas,
        tokenLifetime: settings.tokenLifetime, destinationChecker: destinations)
    // The chat endpoint and the console resolve client addresses alike (through trusted proxies).
    let clientAddresses = ClientAddressResolver(trustedProxies: Set(settings.trustedProxies))
    let metricsQuery = MetricsQuery(store: database, clock: clock)
    let chat = ChatEndpoint(
        live: live, store: database, tokens: ChatTokenCodec(key: serverKey), clock: clock,
        clientAddresses: clientAddresses, maximumFrameSize: settings.maximumFrameSize)

    let metricsController = MetricsController<ParleyRequestContext>(
        query: metricsQuery, exporter: exporter, quotas: quotas, store: database, live: live,
        metricsToken: settings.metricsToken)

    let metricsService = MetricsService(
        recorder: metrics, store: database, clock: clock, exporter: exporter, live: live, reviewStatistics: reviewer.statistics,
        loggingStatistics: loggingStatistics, quotas: quotas, baseQuotas: settings.quotas, alarmThreshold: settings.quotaAlarmThreshold,
        applyQuotas: { values in live.updateLimits(MessagingLimits(quotas: values, outboundQueueBytes: settings.outboundQueueBytes)) },
        logger: logger)
    let activityLog = RoomActivityLog()
    let console = ConsoleController(
        views: views,
        sessions: ConsoleSessions(key: serverKey, clock: clock, secureCookies: settings.tlsCertificatePath != nil, store: database),
        throttle: SignInThrottle(), controlPlane: controlPlane, store: database, live: live, activity: activityLog,
        reviewStatistics: reviewer.statistics, loggingStatistics: loggingStatistics,
        metricsQuery: metricsQuery,
        quotaReport: { try await metricsController.quotaReport() }, s3Directory: settings.s3Directory, webhookSecret: webhookSecret,
        bcryptCost: settings.bcryptCost, secureWebSockets: settings.tlsCertificatePath != nil,
        refreshQuotas: { try await metricsService.refreshQuotas() },
        tokenLimiter: ConsoleTokenLimiter(ratePerSecond: min(10, settings.quotas[.createChatTokenTPS])),
        unknownUserHash: DecoyPasswordHash(cost: settings.bcryptCost))

    let router = Router(context: ParleyRequestContext.self)
    router.add(middleware: RequestDurationMiddleware(exporter: exporter))
    router.add(middleware: SecurityHeadersMiddleware(strictTransportSecurity: settings.tlsCertificatePath != nil))
    router.add(
        middleware: FileMiddleware(
            settings.publicDirectory, urlBasePath: "/assets", cacheControl: .init([(MediaType(type: .any), [.noCache])]),
            searchForIndexHtml: false))
    router.get("health") { _, _ in "ok" }
    router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/console"]) }
    let consoleGroup = router.group("console")
        .add(middleware: ConsoleErrorMiddleware(views: views))
        .add(
            middleware: ConsoleAuthMiddleware(
                sessions: console.sessions, clientAddresses: clientAddresses))
    console.addRoutes(to: consoleGroup)
    metricsController.addExpositionRoute(to: router)
    let api = router.group()
        .add(middleware: AWSErrorMiddleware())
        .add(
            middleware: SigV4AuthMiddleware(
                verifier: SigV4Verifier(service: "ivschat", region: settings.namespace.region), store: database, clock: clock,
                maximumBodySize: settings.maximumAPIBodySize)
        )
        .add(middleware: APIRateLimitMiddleware(quotas: settings.quotas, clock: clock))
    metricsController.addAPIRoutes(to: api)
    APIController(controlPlane: controlPlane).addRoutes(to: api)

    let webSocket = HTTP1WebSocketUpgradeChannel.Configuration(
        http1: .init(idleTimeout: TimeAmount(settings.idleConnectionTimeout)),
        ws: .init(maxFrameSize: settings.maximumFrameSize, autoPing: .enabled(timePeriod: settings.pingInterval), closeTimeout: .seconds(3))
    )
    var server = HTTPServerBuilder.chat(configuration: webSocket, requestHeadTimeout: settings.requestHeadTimeout) {
        head, channel, logger in
        if settings.testEchoEndpoint, head.path?.split(separator: "?").first == EchoEndpoint.path[...] {
            return EchoEndpoint.decision(maximumMessageSize: settings.maximumFrameSize)
        }
        switch await chat.admit(head, channel: channel) {
        case .accepted(let accepted):
            return .upgrade(
                [.secWebSocketProtocol: accepted.subprotocol],
                { inbound, outbound, logger in try await chat.serve(accepted, inbound: inbound, outbound: outbound, logger: logger) },
                attach: { channel in try chat.attach(accepted, to: channel) },
                abandon: { chat.abandon(accepted) })
        case .refused(let status, let message):
            logger.info("Chat connection refused", metadata: ["status": "\(status.code)", "reason": "\(message)"])
            return .refuse(status, message)
        }
    }
    if let tls {
        server = try .tls(server, tlsConfiguration: tls)
    }

    var app = Application(
        router: router, server: server,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "Parley"),
        logger: logger)
    let databaseReady = ReadySignal()
    app.beforeServerStarts {
        try await database.migrate()
        databaseReady.fire()
        try await AccessKeyBootstrap(store: database, clock: clock, namespace: settings.namespace, output: output)
            .ensureAdminKey(settings.adminAccessKey)
        try await ConsoleUserBootstrap(store: database, clock: clock, bcryptCost: settings.bcryptCost, output: output)
            .ensureAdmin(password: settings.adminPassword)
    }
    app.addServices(
        AfterReady(ready: databaseReady, service: SessionSweeper(live: live, store: database, clock: clock)),
        ActivityFeedShutdown(feed: live.activity),
        RoomActivityRecorder(feed: live.activity, log: activityLog),
        AfterReady(
            ready: databaseReady,
            service: LogShipper(
                store: database, destinations: destinations, statistics: loggingStatistics, clock: clock, logger: logger,
                maximumOutboxBytes: settings.maximumLogOutboxBytes, interval: settings.logShippingInterval)),
        AfterReady(ready: databaseReady, service: metricsService),
        HTTPClientShutdown(client: httpClient))
    return app
}
