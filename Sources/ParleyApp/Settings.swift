import Foundation
import ParleyDomain
import ParleyMessaging

/// Everything the server is configured with; the `parley` command fills it from flags and environment.
public struct ParleySettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Where the database and the server key live; nil keeps everything in memory (tests).
    public var dataDirectory: String? = "./parley-data"
    public var namespace = ResourceNamespace(region: "us-east-1", accountID: "000000000000")
    /// An admin access key ensured at start (`PARLEY_ACCESS_KEY_ID` / `PARLEY_SECRET_ACCESS_KEY`).
    public var adminAccessKey: (id: String, secret: String)?
    /// The console's `admin` password (`PARLEY_ADMIN_PASSWORD`).
    public var adminPassword: String?
    /// How long a chat token may be used to connect after it is issued.
    public var tokenLifetime: TimeInterval = 60
    /// Every quota's starting value; adjusted values stored by `parley quotas set` (or the console) win over these.
    public var quotas = QuotaValues()
    /// Bytes a slow connection may have waiting to be written before it is disconnected.
    public var outboundQueueBytes = 256 * 1_024
    /// `/metrics` asks for `Authorization: Bearer <token>` when set; without one it answers loopback clients only.
    public var metricsToken: String?
    /// Usage at or over this share of a quota raises an alarm.
    public var quotaAlarmThreshold = 0.8
    /// PEM files; with both set the server speaks HTTPS and `wss://` itself.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (a reverse proxy's addresses).
    public var trustedProxies: [String] = []
    /// The largest API request body accepted.
    public var maximumAPIBodySize = 1 << 20
    /// The largest WebSocket frame accepted; larger frames close the connection with 1009.
    public var maximumFrameSize = 64 * 1024
    /// The HMAC key webhook review handlers verify requests with (`PARLEY_REVIEW_WEBHOOK_SECRET`);
    /// without one, a random secret is kept in the data directory (`review-webhook.secret`).
    public var reviewWebhookSecret: String?
    /// The `builtin:blocked-terms` lists (a JSON file, see `BlockedTerms`).
    public var blockedTermsFile: String?
    /// With a directory, S3 logging destinations write their objects to `<directory>/<bucket>/<key>` instead of S3.
    public var s3Directory: String?
    /// Check logging destinations when configurations are created or changed (CREATE_FAILED / UPDATE_FAILED otherwise).
    public var verifyLogDestinations = true
    /// The chat-log outbox's bound; past it the oldest undeliverable records are dropped and counted.
    public var maximumLogOutboxBytes = 1 << 30
    /// How often the outbox is shipped to destinations.
    public var logShippingInterval: Duration = .seconds(1)
    /// The console's Mustache templates and static assets.
    public var templatesDirectory = "Templates"
    public var publicDirectory = "Public"
    /// bcrypt cost for console passwords (tests lower it to stay fast).
    public var bcryptCost: UInt8 = 12
    /// Ping quiet WebSocket connections this often; a connection that does not answer is dropped.
    public var pingInterval: Duration = .seconds(30)
    /// A connection whose first request head has not fully arrived this long after it opened is closed (slowloris).
    public var requestHeadTimeout: Duration = .seconds(10)
    /// A kept-alive HTTP connection with no request in progress is closed after this long without a request.
    public var idleConnectionTimeout: Duration = .seconds(60)
    /// Serve the WebSocket echo route `/_test/echo` (protocol-compliance tests only; `PARLEY_TEST_ECHO_ENDPOINT=1`).
    public var testEchoEndpoint = false

    public init() {}
}
