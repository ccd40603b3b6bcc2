import AsyncHTTPClient
import Foundation
import HummingbirdBcrypt
import Logging
import ParleyDomain
import ParleyMessaging
import ServiceLifecycle

/// Ends chat sessions at their `sessionExpirationTime` and forgets redeemed tokens once they have expired.
struct SessionSweeper: Service {
    let live: LiveRooms
    let store: any ParleyStore
    let clock: any WallClock

    func run() async throws {
        var sweeps = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            live.closeExpiredSessions()
            sweeps += 1
            if sweeps % 600 == 0 {
                try? await store.forgetRedeemedChatTokens(expiredBefore: clock.now())
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}

/// Ends every activity subscription (the console's live streams) when the server shuts down gracefully.
struct ActivityFeedShutdown: Service {
    let feed: ActivityFeed

    func run() async throws {
        try? await gracefulShutdown()
        feed.finish()
    }
}

/// Shuts the outbound HTTP client (review handlers, log destinations) down after the server stops.
struct HTTPClientShutdown: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// Makes sure the console's `admin` user exists at start.
struct ConsoleUserBootstrap {
    let store: any ParleyStore
    let clock: any WallClock
    let bcryptCost: UInt8
    let output: @Sendable (String) -> Void

    /// With a configured password, `admin` has it; without one and with no users yet, a password is made and printed once.
    func ensureAdmin(password configured: String?) async throws {
        let existing = try await store.consoleUser(name: "admin")
        if let configured {
            guard existing.map({ !Bcrypt.verify(configured, hash: $0.passwordHash) || $0.role != .admin }) ?? true else { return }
            try await store.saveConsoleUser(
                ConsoleUser(name: "admin", passwordHash: Bcrypt.hash(configured, cost: bcryptCost), role: .admin, createTime: clock.now()))
            return
        }
        guard try await store.consoleUsers().isEmpty else { return }
        let password = Base64URL.encode(ServerKey.generate().rawRepresentation.prefix(15))
        try await store.saveConsoleUser(
            ConsoleUser(name: "admin", passwordHash: Bcrypt.hash(password, cost: bcryptCost), role: .admin, createTime: clock.now()))
        output(
            """
            Created the console user admin. Its password is shown only this once (set PARLEY_ADMIN_PASSWORD to choose it):
              admin / \(password)
            Sign in at http://127.0.0.1:8080/console
            """)
    }
}

/// Makes sure an admin access key exists at start.
struct AccessKeyBootstrap {
    let store: any ParleyStore
    let clock: any WallClock
    let namespace: ResourceNamespace
    let output: @Sendable (String) -> Void

    /// Stores the configured key; with none configured and none stored, creates one and prints it once.
    func ensureAdminKey(_ configured: (id: String, secret: String)?) async throws {
        if let configured {
            if try await store.activeSecret(accessKeyID: configured.id) != configured.secret {
                try await store.insertAccessKey(
                    AccessKey(accessKeyID: configured.id, secretAccessKey: configured.secret, createTime: clock.now()))
            }
            return
        }
        guard try await store.accessKeys().isEmpty else { return }
        let key = AccessKey.generate(at: clock.now())
        try await store.insertAccessKey(key)
        output(
            """
            Created the first Parley API access key. The secret is shown only this once:
              AccessKeyId: \(key.accessKeyID)
              SecretAccessKey: \(key.secretAccessKey)
            Use it with the AWS CLI, for example:
              AWS_ACCESS_KEY_ID=\(key.accessKeyID) AWS_SECRET_ACCESS_KEY=\(key.secretAccessKey) aws ivschat list-rooms --region \(namespace.region) --endpoint-url http://127.0.0.1:8080
            """)
    }
}
