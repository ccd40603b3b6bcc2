import AsyncHTTPClient
import Foundation
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
            try? await Task.sleep(for: .seconds(1))
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
