import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ParleyApp
import ParleyDomain
import ParleyStorage
import ServiceLifecycle

@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parley: self-hosted live chat, wire-compatible with Amazon IVS Chat.",
        subcommands: [Serve.self, Keys.self, Quotas.self],
        defaultSubcommand: Serve.self)
}

/// Flags shared by every command that opens the data directory.
struct DataOptions: ParsableArguments {
    @Option(help: "Where the database and server key live (env PARLEY_DATA_DIR).")
    var dataDir: String?

    var directory: String { dataDir ?? Environment.value("PARLEY_DATA_DIR") ?? "./parley-data" }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Parley server (the default command).")

    @Option(help: "Address to listen on (env PARLEY_HOST).") var host: String?
    @Option(help: "Port to listen on (env PARLEY_PORT).") var port: Int?
    @OptionGroup var data: DataOptions
    @Option(help: "Region in ARNs (env PARLEY_REGION).") var region: String?
    @Option(help: "Account id in ARNs (env PARLEY_ACCOUNT_ID).") var accountId: String?
    @Option(help: "Seconds a new chat token may be used to connect (env PARLEY_TOKEN_LIFETIME_SECONDS).")
    var tokenLifetimeSeconds: Int?
    @Option(help: "Room quota (env PARLEY_MAX_ROOMS).") var maxRooms: Int?
    @Option(help: "Logging configuration quota (env PARLEY_MAX_LOGGING_CONFIGURATIONS).") var maxLoggingConfigurations: Int?
    @Option(help: "Concurrent chat connection quota (env PARLEY_MAX_CONNECTIONS).") var maxConnections: Int?
    @Option(help: "SendMessage requests per second across all rooms (env PARLEY_SEND_MESSAGE_RATE).") var sendMessageRate: Int?
    @Option(help: "DeleteMessage requests per second (env PARLEY_DELETE_MESSAGE_RATE).") var deleteMessageRate: Int?
    @Option(help: "DisconnectUser requests per second (env PARLEY_DISCONNECT_USER_RATE).") var disconnectUserRate: Int?
    @Option(help: "SendEvent requests per second (env PARLEY_SEND_EVENT_RATE).") var sendEventRate: Int?
    @Option(help: "Requests per second per connection (env PARLEY_CONNECTION_REQUEST_RATE).") var connectionRequestRate: Int?
    @Option(help: "PEM certificate chain: serve HTTPS and wss:// (env PARLEY_TLS_CERTIFICATE).") var tlsCertificate: String?
    @Option(help: "PEM private key for --tls-certificate (env PARLEY_TLS_KEY).") var tlsKey: String?
    @Option(help: "Comma-separated proxy addresses whose X-Forwarded-For is trusted (env PARLEY_TRUSTED_PROXIES).")
    var trustedProxies: String?
    @Option(help: "JSON file of the builtin:blocked-terms lists (env PARLEY_BLOCKED_TERMS_FILE).") var blockedTerms: String?
    @Option(help: "Write S3 log objects under DIR/<bucket>/<key> instead of calling S3 (env PARLEY_S3_DIRECTORY).")
    var s3Directory: String?
    @Option(help: "Check log destinations on create/update: true or false (env PARLEY_VERIFY_LOG_DESTINATIONS).")
    var verifyLogDestinations: Bool?
    @Option(help: "Bound of the chat-log outbox in bytes (env PARLEY_LOG_OUTBOX_BYTES).") var logOutboxBytes: Int?

    func run() async throws {
        var settings = ParleySettings()
        settings.host = host ?? Environment.value("PARLEY_HOST") ?? settings.host
        settings.port = try port ?? Environment.integer("PARLEY_PORT") ?? settings.port
        settings.dataDirectory = data.directory
        settings.namespace = ResourceNamespace(
            region: region ?? Environment.value("PARLEY_REGION") ?? settings.namespace.region,
            accountID: accountId ?? Environment.value("PARLEY_ACCOUNT_ID") ?? settings.namespace.accountID)
        if let id = Environment.value("PARLEY_ACCESS_KEY_ID") {
            guard let secret = Environment.value("PARLEY_SECRET_ACCESS_KEY") else {
                throw ValidationError("PARLEY_ACCESS_KEY_ID is set but PARLEY_SECRET_ACCESS_KEY is not.")
            }
            settings.adminAccessKey = (id, secret)
        }
        settings.adminPassword = Environment.value("PARLEY_ADMIN_PASSWORD")
        settings.tokenLifetime = TimeInterval(
            try tokenLifetimeSeconds ?? Environment.integer("PARLEY_TOKEN_LIFETIME_SECONDS") ?? Int(settings.tokenLifetime))
        // Every quota's starting value: PARLEY_QUOTA_<Name>, or the named flags and variables below.
        for quota in Quota.allCases {
            if let value = try Environment.integer("PARLEY_QUOTA_\(quota.rawValue)") { settings.quotas[quota] = value }
        }
        let namedQuotas: [(Int?, String, Quota)] = [
            (maxRooms, "PARLEY_MAX_ROOMS", .rooms), (maxLoggingConfigurations, "PARLEY_MAX_LOGGING_CONFIGURATIONS", .loggingConfigurations),
            (maxConnections, "PARLEY_MAX_CONNECTIONS", .concurrentChatConnections),
            (sendMessageRate, "PARLEY_SEND_MESSAGE_RATE", .sendMessageRate),
            (deleteMessageRate, "PARLEY_DELETE_MESSAGE_RATE", .deleteMessageRate),
            (disconnectUserRate, "PARLEY_DISCONNECT_USER_RATE", .disconnectUserRate),
            (sendEventRate, "PARLEY_SEND_EVENT_RATE", .sendEventTPS),
            (connectionRequestRate, "PARLEY_CONNECTION_REQUEST_RATE", .requestsPerConnection),
        ]
        for (flag, variable, quota) in namedQuotas {
            if let value = try flag ?? Environment.integer(variable) { settings.quotas[quota] = value }
        }
        settings.metricsToken = Environment.value("PARLEY_METRICS_TOKEN")
        if let seconds = try Environment.integer("PARLEY_PING_INTERVAL_SECONDS") { settings.pingInterval = .seconds(max(1, seconds)) }
        if let seconds = try Environment.integer("PARLEY_REQUEST_HEAD_TIMEOUT_SECONDS") {
            settings.requestHeadTimeout = .seconds(max(1, seconds))
        }
        if let seconds = try Environment.integer("PARLEY_IDLE_TIMEOUT_SECONDS") {
            settings.idleConnectionTimeout = .seconds(max(1, seconds))
        }
        settings.templatesDirectory = Environment.value("PARLEY_TEMPLATES_DIR") ?? settings.templatesDirectory
        settings.publicDirectory = Environment.value("PARLEY_PUBLIC_DIR") ?? settings.publicDirectory
        settings.testEchoEndpoint = ["1", "true", "yes"].contains(Environment.value("PARLEY_TEST_ECHO_ENDPOINT")?.lowercased() ?? "")
        if let cost = try Environment.integer("PARLEY_BCRYPT_COST") { settings.bcryptCost = UInt8(clamping: cost) }
        if let percent = try Environment.integer("PARLEY_QUOTA_ALARM_PERCENT") { settings.quotaAlarmThreshold = Double(percent) / 100 }
        settings.tlsCertificatePath = tlsCertificate ?? Environment.value("PARLEY_TLS_CERTIFICATE")
        settings.tlsKeyPath = tlsKey ?? Environment.value("PARLEY_TLS_KEY")
        guard (settings.tlsCertificatePath == nil) == (settings.tlsKeyPath == nil) else {
            throw ValidationError("--tls-certificate and --tls-key go together.")
        }
        settings.trustedProxies = (trustedProxies ?? Environment.value("PARLEY_TRUSTED_PROXIES") ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        settings.reviewWebhookSecret = Environment.value("PARLEY_REVIEW_WEBHOOK_SECRET")
        settings.blockedTermsFile = blockedTerms ?? Environment.value("PARLEY_BLOCKED_TERMS_FILE")

        settings.s3Directory = s3Directory ?? Environment.value("PARLEY_S3_DIRECTORY")
        settings.verifyLogDestinations =
            try verifyLogDestinations ?? Environment.boolean("PARLEY_VERIFY_LOG_DESTINATIONS") ?? settings.verifyLogDestinations
        settings.maximumLogOutboxBytes =
            try logOutboxBytes ?? Environment.integer("PARLEY_LOG_OUTBOX_BYTES") ?? settings.maximumLogOutboxBytes

        var logger = Logger(label: "parley")
        logger.logLevel = Environment.value("LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
        let app = try await buildApplication(settings, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A client that keeps a connection open must not hold a shutdown forever: past 5 seconds, what is left is cancelled.
        group.maximumGracefulShutdownDuration = .seconds(5)
        try await ServiceGroup(configuration: group).run()
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API access keys offline (the server need not run).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an access key and print its secret once.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let database = try await KeyStore.open(data.directory)
            let key = AccessKey.generate(at: Date())
            try await database.insertAccessKey(key)
            print("AccessKeyId: \(key.accessKeyID)")
            print("SecretAccessKey: \(key.secretAccessKey)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List access keys with their status.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let database = try await KeyStore.open(data.directory)
            for key in try await database.accessKeys() {
                let status = key.revokeTime == nil ? "active" : "revoked"
                print("\(key.accessKeyID)\t\(status)\tcreated \(Timestamp.format(key.createTime))")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an access key.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The access key id to revoke.") var accessKeyId: String

        func run() async throws {
            let database = try await KeyStore.open(data.directory)
            guard try await database.revokeAccessKey(accessKeyID: accessKeyId, at: Date()) else {
                throw ValidationError("No active access key \(accessKeyId).")
            }
            print("Revoked \(accessKeyId).")
        }
    }
}

struct Quotas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List service quotas, or adjust the adjustable ones (a running server applies changes within seconds).",
        subcommands: [List.self, Set.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every quota: value, default, adjustable.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let overrides = try await KeyStore.open(data.directory).quotaOverrides()
            for quota in Quota.allCases {
                let value = overrides[quota].map { "\($0) (adjusted)" } ?? "\(quota.defaultValue)"
                print(
                    "\(quota.rawValue)\t\(value)\tdefault \(quota.defaultValue)\t\(quota.isAdjustable ? "adjustable" : "fixed")\t\(quota.title)"
                )
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Adjust an adjustable quota.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The quota's name, as `parley quotas list` prints it.") var name: String
        @Argument(help: "The new value, a positive whole number.") var value: Int

        func run() async throws {
            guard let quota = Quota(rawValue: name) else {
                throw ValidationError("No quota \(name); `parley quotas list` names them.")
            }
            guard quota.isAdjustable else { throw ValidationError("\(name) is fixed and cannot be adjusted.") }
            guard value > 0 else { throw ValidationError("The value must be a positive whole number.") }
            let database = try await KeyStore.open(data.directory)
            try await database.setQuota(
                quota, to: value,
                entry: AuditEntry(time: Date(), actor: "cli", action: "SetQuota", target: quota.rawValue, detail: "\(value)"))
            print("\(quota.rawValue) = \(value)")
        }
    }
}

/// Opens a data directory's database for the offline key commands.
enum KeyStore {
    static func open(_ directory: String) async throws -> AppDatabase {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try AppDatabase.onDisk(
            path: (directory as NSString).appendingPathComponent("parley.sqlite"),
            serverKey: try DataDirectory.serverKey(directory))
        try await database.migrate()
        return database
    }
}

extension Environment {
    static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func boolean(_ name: String) throws -> Bool? {
        guard let text = value(name) else { return nil }
        guard let flag = Bool(text.lowercased()) else { throw ValidationError("\(name) must be true or false, got '\(text)'.") }
        return flag
    }

    static func integer(_ name: String) throws -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text) else { throw ValidationError("\(name) must be a whole number, got '\(text)'.") }
        return number
    }
}
