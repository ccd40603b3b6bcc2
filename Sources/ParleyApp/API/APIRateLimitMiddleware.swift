import Foundation
import Hummingbird
import ParleyDomain
import ParleyMessaging

/// The API call rate quotas: each operation has its own bucket (room operations 5 TPS each, logging configuration
/// operations 3, tag operations 10, CreateChatToken 200). SendEvent, DeleteMessage and DisconnectUser are limited
/// by the live rooms, across both planes. Over the rate: ThrottlingException.
struct APIRateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    private let buckets: [String: (bucket: SharedTokenBucket, limit: Int)]
    private let clock: any WallClock

    init(quotas: QuotaValues, clock: any WallClock) {
        self.clock = clock
        var buckets: [String: (SharedTokenBucket, Int)] = [:]
        func add(_ operations: [String], _ quota: Quota) {
            for operation in operations {
                buckets[operation] = (SharedTokenBucket(ratePerSecond: quotas[quota], now: clock.now()), quotas[quota])
            }
        }
        add(["CreateRoom", "DeleteRoom", "GetRoom", "ListRooms", "UpdateRoom"], .roomOperationsTPS)
        add(
            [
                "CreateLoggingConfiguration", "DeleteLoggingConfiguration", "GetLoggingConfiguration", "ListLoggingConfigurations",
                "UpdateLoggingConfiguration",
            ], .loggingConfigurationOperationsTPS)
        add(["GET tags", "POST tags", "DELETE tags"], .tagOperationsTPS)
        add(["CreateChatToken"], .createChatTokenTPS)
        self.buckets = buckets
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/")
        let operation = segments.first == "tags" ? "\(request.method.rawValue) tags" : String(segments.first ?? "")
        if let (bucket, limit) = buckets[operation], !bucket.take(now: clock.now()) {
            throw ParleyError.throttled(
                kind: .room, id: "none", limit: limit, message: "\(operation) is limited to \(limit) calls a second.")
        }
        return try await next(request, context)
    }
}
