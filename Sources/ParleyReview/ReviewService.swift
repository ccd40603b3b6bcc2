import AWSSigV4
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ParleyDomain
import Synchronization

/// Calls rooms' message review handlers: http(s) webhooks, Lambda functions and the built-in blocked-terms filter.
/// Every call has the same deadline (200 ms by default, IVS Chat's fixed quota); a handler that fails, times out
/// or answers invalidly gets the room's fallback result.
public struct ReviewService: MessageReviewer {
    public let statistics = ReviewStatistics()
    private let httpClient: HTTPClient
    private let namespace: ResourceNamespace
    private let webhookSecret: String
    private let lambda: LambdaSettings
    private let blockedTerms: BlockedTerms
    private let timeout: TimeAmount
    private let logger: Logger

    /// Where and as whom Lambda functions are invoked.
    public struct LambdaSettings: Sendable {
        /// Overrides the region's endpoint (`AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`).
        public var endpoint: String?
        public var credentials: SigV4Credentials?

        public init(endpoint: String? = nil, credentials: SigV4Credentials? = nil) {
            self.endpoint = endpoint
            self.credentials = credentials
        }

        /// From the standard AWS environment variables.
        public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> LambdaSettings {
            let credentials = environment["AWS_ACCESS_KEY_ID"].flatMap { id in
                environment["AWS_SECRET_ACCESS_KEY"].map {
                    SigV4Credentials(accessKeyID: id, secretAccessKey: $0, sessionToken: environment["AWS_SESSION_TOKEN"])
                }
            }
            return LambdaSettings(
                endpoint: environment["AWS_ENDPOINT_URL_LAMBDA"] ?? environment["AWS_ENDPOINT_URL"], credentials: credentials)
        }
    }

    public init(
        httpClient: HTTPClient, namespace: ResourceNamespace, webhookSecret: String, lambda: LambdaSettings, blockedTerms: BlockedTerms,
        timeout: TimeAmount = .milliseconds(200), logger: Logger
    ) {
        self.httpClient = httpClient
        self.namespace = namespace
        self.webhookSecret = webhookSecret
        self.lambda = lambda
        self.blockedTerms = blockedTerms
        self.timeout = timeout
        self.logger = logger
    }

    public func review(_ request: ReviewRequest, handler: MessageReviewHandler, maximumMessageLength: Int) async -> ReviewVerdict {
        if handler.uri == RoomRules.blockedTermsHandlerURI {
            return blockedTerms.review(request)
        }
        let started = ContinuousClock.now
        let outcome: Result<ReviewVerdict, ReviewFailure>
        do {
            let body = ReviewPayload.encode(request, roomARN: namespace.arn(.room, id: request.roomID))
            let answer = try await withDeadline { try await invoke(handler.uri, body: body) }
            outcome = ReviewPayload.decode(answer, maximumMessageLength: maximumMessageLength)
        } catch let failure as ReviewFailure {
            outcome = .failure(failure)
        } catch {
            outcome = .failure(.invocation("\(error)"))
        }
        statistics.record(uri: handler.uri, latency: ContinuousClock.now - started, failure: outcome.failureValue)
        switch outcome {
        case .success(let verdict):
            return verdict
        case .failure(let failure):
            logger.warning("Message review handler failed", metadata: ["uri": "\(handler.uri)", "error": "\(failure)"])
            switch handler.fallbackResult {
            case .allow: return .allow(content: request.content, attributes: request.attributes)
            case .deny: return .deny(reason: "The message review handler is unavailable.")
            }
        }
    }

    /// Runs `call` with the review timeout covering everything, the answer's body included. Whichever comes first, the
    /// answer or the timeout, is returned at once: a call still winding down after its cancellation (a connection being
    /// torn down on a busy event loop) is not waited for, so the fallback goes out on time.
    private func withDeadline(_ call: @escaping @Sendable () async throws -> Data) async throws -> Data {
        let race = FirstOutcome()
        let timeout = timeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let work = Task {
                    do { race.settle(.success(try await call())) } catch { race.settle(.failure(error)) }
                }
                let deadline = Task {
                    try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                    race.settle(.failure(ReviewFailure.invocation("no answer within \(timeout.nanoseconds / 1_000_000) ms")))
                }
                race.wait(continuation, cancelling: [work, deadline])
            }
        } onCancel: {
            race.settle(.failure(CancellationError()))
        }
    }

    /// Sends the payload to the handler and returns its answer's body.
    private func invoke(_ uri: String, body: Data) async throws -> Data {
        var request: HTTPClientRequest
        if uri.hasPrefix("http://") || uri.hasPrefix("https://") {
            request = HTTPClientRequest(url: uri)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            for (name, value) in WebhookSignature.headers(body: body, secret: webhookSecret, at: Date()) {
                request.headers.add(name: name, value: value)
            }
        } else {
            request = try lambdaRequest(functionARN: uri, body: body)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw ReviewFailure.invocation("\(error)")
        }
        let answer = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw ReviewFailure.invocation("the handler answered \(response.status.code)")
        }
        if let functionError = response.headers.first(name: "X-Amz-Function-Error") {
            throw ReviewFailure.invocation("the function failed: \(functionError)")
        }
        return Data(buffer: answer)
    }

    /// A Lambda Invoke request (`POST /2015-03-31/functions/<arn>/invocations`), SigV4-signed for the function's region.
    private func lambdaRequest(functionARN: String, body: Data) throws -> HTTPClientRequest {
        let region = functionARN.split(separator: ":")[3]
        guard let credentials = lambda.credentials else {
            throw ReviewFailure.invocation("no AWS credentials in the environment to invoke \(functionARN)")
        }
        let endpoint = lambda.endpoint ?? "https://lambda.\(region).amazonaws.com"
        guard let url = URL(string: endpoint), let host = url.host else {
            throw ReviewFailure.invocation("the Lambda endpoint \(endpoint) is not a URL")
        }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        let basePath = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
        let path = basePath + "/2015-03-31/functions/" + SigV4.uriEncode(functionARN) + "/invocations"
        let unsigned = SignableRequest(
            method: "POST", target: path, headers: [("host", authority), ("content-type", "application/json")], body: body)
        let signer = SigV4Signer(credentials: credentials, region: String(region), service: "lambda")
        var request = HTTPClientRequest(url: "\(url.scheme ?? "https")://\(authority)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in signer.signatureHeaders(for: unsigned, at: Date()) {
            request.headers.add(name: name, value: value)
        }
        return request
    }
}

/// How a handler call failed; counted by kind.
public enum ReviewFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Timeout, transport error, non-2xx answer or a failed function: an InvocationError.
    case invocation(String)
    /// An answer that breaks the response contract: a ResponseValidationError.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .invocation(let reason): "invocation error: \(reason)"
        case .invalidResponse(let reason): "invalid response: \(reason)"
        }
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}

/// The first of several outcomes to arrive: it resumes the waiting caller and cancels the tasks still running.
private final class FirstOutcome: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Data, any Error>?
        var outcome: Result<Data, any Error>?
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Hands over the caller and the racing tasks; an outcome that is already there resumes the caller now.
    func wait(_ continuation: CheckedContinuation<Data, any Error>, cancelling tasks: [Task<Void, Never>]) {
        let settled = state.withLock { state -> Result<Data, any Error>? in
            if state.outcome == nil {
                state.continuation = continuation
                state.tasks = tasks
            }
            return state.outcome
        }
        if let settled {
            tasks.forEach { $0.cancel() }
            continuation.resume(with: settled)
        }
    }

    /// Records an outcome; only the first counts.
    func settle(_ outcome: Result<Data, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<Data, any Error>?, [Task<Void, Never>]) in
            guard state.outcome == nil else { return (nil, []) }
            state.outcome = outcome
            defer {
                state.continuation = nil
                state.tasks = []
            }
            return (state.continuation, state.tasks)
        }
        tasks.forEach { $0.cancel() }
        continuation?.resume(with: outcome)
    }
}
