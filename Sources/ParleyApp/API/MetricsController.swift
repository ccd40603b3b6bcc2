import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyDomain
import ParleyMessaging
import ParleyMetrics

/// Metrics and quotas over HTTP: the GetMetricData-shaped query and the quota list (SigV4, under the API), and
/// the Prometheus exposition at `/metrics`.
struct MetricsController<Context: RequestContext & RemoteAddressRequestContext> {
    let query: MetricsQuery
    let exporter: PrometheusExporter
    let quotas: QuotaBook
    let store: any ParleyStore
    let live: LiveRooms
    let metricsToken: String?

    /// `POST /metrics/GetMetricData` and `POST /quotas/ListServiceQuotas`, on the signed API group.
    func addAPIRoutes(to router: RouterGroup<Context>) {
        router.post("metrics/GetMetricData") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: .max)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .custom { decoder in
                let container = try decoder.singleValueContainer()
                if let seconds = try? container.decode(Double.self) { return Date(timeIntervalSince1970: seconds) }
                let text = try container.decode(String.self)
                guard let date = ISO8601DateFormatter.flexible(text) else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time")
                }
                return date
            }
            let input: GetMetricDataInput
            do {
                input = try decoder.decode(GetMetricDataInput.self, from: Data(buffer: body))
            } catch let error as DecodingError {
                throw ParleyError(decoding: error)
            }
            return try Response.apiJSON(try await query.run(input))
        }
        router.post("quotas/ListServiceQuotas") { _, _ -> Response in
            try Response.apiJSON(["Quotas": try await quotaReport()])
        }
    }

    /// `GET /metrics`: open to loopback clients, or to anyone with the bearer token when one is set.
    func addExpositionRoute(to router: Router<Context>) {
        router.get("metrics") { request, context -> Response in
            if let metricsToken {
                guard constantTimeEqual(request.headers[.authorization] ?? "", "Bearer \(metricsToken)") else {
                    return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"])
                }
            } else {
                let peer = context.remoteAddress?.ipAddress ?? ""
                // A reverse proxy on this host connects from loopback on behalf of anyone: forwarded requests are remote.
                let forwarded =
                    request.headers[HTTPField.Name("X-Forwarded-For")!] != nil || request.headers[HTTPField.Name("Forwarded")!] != nil
                guard !forwarded, peer == "127.0.0.1" || peer == "::1" || peer.hasPrefix("127.") else {
                    return Response(
                        status: .forbidden,
                        body: .init(byteBuffer: ByteBuffer(string: "Set PARLEY_METRICS_TOKEN to read /metrics remotely.\n")))
                }
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: exporter.render())))
        }
    }

    /// Every quota with its value, default, adjustability and (where it has one) current usage.
    func quotaReport() async throws -> [QuotaReportEntry] {
        let usage: [Quota: Int] = [
            .concurrentChatConnections: live.connectionCount, .rooms: try await store.roomCount(),
            .loggingConfigurations: try await store.loggingConfigurationCount(),
        ]
        let values = quotas.values
        return Quota.allCases.map {
            QuotaReportEntry(
                QuotaName: $0.rawValue, Title: $0.title, Value: values[$0], DefaultValue: $0.defaultValue, Adjustable: $0.isAdjustable,
                Usage: usage[$0], Description: $0.description)
        }
    }
}

struct QuotaReportEntry: Codable {
    var QuotaName: String
    var Title: String
    var Value: Int
    var DefaultValue: Int
    var Adjustable: Bool
    var Usage: Int?
    var Description: String
}

extension ISO8601DateFormatter {
    /// Parses ISO 8601 times with or without fractional seconds.
    static func flexible(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// Compares two strings in time that depends on their lengths only, not on where they first differ.
func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
    let left = Array(lhs.utf8)
    let right = Array(rhs.utf8)
    var difference = UInt8(left.count == right.count ? 0 : 1)
    for index in 0..<max(left.count, right.count) {
        difference |= (index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0)
    }
    return difference == 0
}
