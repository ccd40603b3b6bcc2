import AWSSigV4
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Where AWS services are reached and with which credentials, read the standard AWS way.
public struct AWSEnvironment: Sendable {
    public var region: String
    public var credentials: SigV4Credentials?
    /// Per-service endpoint overrides, keyed by the suffix of `AWS_ENDPOINT_URL_<SERVICE>`.
    public var endpoints: [String: String]
    /// `AWS_ENDPOINT_URL`, for every service without its own.
    public var defaultEndpoint: String?

    public init(region: String, credentials: SigV4Credentials?, endpoints: [String: String] = [:], defaultEndpoint: String? = nil) {
        self.region = region
        self.credentials = credentials
        self.endpoints = endpoints
        self.defaultEndpoint = defaultEndpoint
    }

    public static func fromEnvironment(
        region: String, _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> AWSEnvironment {
        let credentials = environment["AWS_ACCESS_KEY_ID"].flatMap { id in
            environment["AWS_SECRET_ACCESS_KEY"].map {
                SigV4Credentials(accessKeyID: id, secretAccessKey: $0, sessionToken: environment["AWS_SESSION_TOKEN"])
            }
        }
        var endpoints: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("AWS_ENDPOINT_URL_") {
            endpoints[String(name.dropFirst("AWS_ENDPOINT_URL_".count))] = value
        }
        return AWSEnvironment(
            region: environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? region, credentials: credentials,
            endpoints: endpoints, defaultEndpoint: environment["AWS_ENDPOINT_URL"])
    }

    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else `https://<host prefix>.<region>.amazonaws.com`.
    func endpoint(service: String, hostPrefix: String) -> String {
        let configured = endpoints[service] ?? defaultEndpoint ?? "https://\(hostPrefix).\(region).amazonaws.com"
        return configured.hasSuffix("/") ? String(configured.dropLast()) : configured
    }
}

/// An AWS answer, whole.
struct AWSResponse {
    var status: Int
    var body: Data
    var headers: HTTPHeaders

    /// The error code of a JSON (`__type`) or XML (`<Code>`) error body.
    var errorCode: String {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let type = object["__type"] as? String {
            return String(type.split(separator: "#").last ?? Substring(type))
        }
        let text = String(decoding: body, as: UTF8.self)
        if let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex) {
            return String(text[start.upperBound..<end.lowerBound])
        }
        return "HTTP \(status)"
    }
}

/// Sends SigV4-signed requests to AWS-compatible services.
struct AWSRequester: Sendable {
    let httpClient: HTTPClient
    let environment: AWSEnvironment

    func send(
        service: String, endpoint: String, method: HTTPMethod, path: String, headers: [(String, String)], body: Data,
        signPayloadHash: Bool = false, timeout: TimeAmount = .seconds(10)
    ) async throws(DestinationError) -> AWSResponse {
        guard let credentials = environment.credentials else {
            throw .init(.accessDenied, "No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for Parley.")
        }
        guard let url = URL(string: endpoint), let host = url.host else { throw .init(.other, "The endpoint \(endpoint) is not a URL.") }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        let target = url.path + path
        var signedHeaders: [(name: String, value: String)] = [("host", authority)] + headers.map { ($0.0, $0.1) }
        if signPayloadHash { signedHeaders.append(("x-amz-content-sha256", SigV4.hexSHA256(body))) }
        let signable = SignableRequest(method: method.rawValue, target: target, headers: signedHeaders, body: body)
        let signer = SigV4Signer(credentials: credentials, region: environment.region, service: service)
        var request = HTTPClientRequest(url: "\(url.scheme ?? "https")://\(authority)\(target)")
        request.method = method
        for (name, value) in signedHeaders.dropFirst() + signer.signatureHeaders(for: signable, at: Date()) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(data: body))
        do {
            let response = try await httpClient.execute(request, timeout: timeout)
            let answer = try await response.body.collect(upTo: 16 << 20)
            return AWSResponse(status: Int(response.status.code), body: Data(buffer: answer), headers: response.headers)
        } catch {
            throw .init(.other, "\(service) at \(endpoint) is unreachable: \(error)")
        }
    }

    /// A JSON 1.1 call (`X-Amz-Target`), as CloudWatch Logs and Firehose speak.
    func json(service: String, hostPrefix: String, endpointKey: String, target: String, _ payload: [String: Any])
        async throws(DestinationError) -> [String: Any]
    {
        // Only strings, numbers, arrays and dictionaries are passed in, which always serialize.
        let body = try! JSONSerialization.data(withJSONObject: payload)
        let response = try await send(
            service: service, endpoint: environment.endpoint(service: endpointKey, hostPrefix: hostPrefix), method: .POST, path: "/",
            headers: [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target)], body: body)
        guard (200..<300).contains(response.status) else { throw DestinationError(response: response) }
        return (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
    }
}

/// A delivery or check that failed, classified as the LogDestination* metrics count it.
public struct DestinationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case accessDenied
        case resourceNotFound
        case other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    init(response: AWSResponse) {
        let code = response.errorCode
        let kind: Kind =
            switch code {
            case "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch":
                .accessDenied
            case "NoSuchBucket", "ResourceNotFoundException": .resourceNotFound
            default: response.status == 403 ? .accessDenied : response.status == 404 ? .resourceNotFound : .other
            }
        self.init(kind, "\(code): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
    }

    public var description: String { message }
}
