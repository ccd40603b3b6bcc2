import AWSSigV4
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ParleyDomain

/// Maps every error raised under the API to the AWS rest-json error shape: the model's status,
/// `x-amzn-ErrorType`, and a JSON body with `message` and the modelled members. Nothing leaks as an empty 500.
struct AWSErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, logger: context.logger)
        }
    }

    static func response(for error: any Error, logger: Logger) -> Response {
        switch error {
        case let error as ParleyError:
            return response(for: error)
        case let failure as SigV4Failure:
            switch failure {
            case .missingAuthentication:
                return awsError(.forbidden, "MissingAuthenticationTokenException", ["message": "Missing Authentication Token"])
            case .unrecognizedClient:
                return awsError(
                    .forbidden, "UnrecognizedClientException", ["message": "The security token included in the request is invalid."])
            case .invalidSignature(let message):
                return awsError(.forbidden, "InvalidSignatureException", ["message": message])
            }
        case let error as HTTPError where error.status == .contentTooLarge:
            return response(for: .validation(reason: .other, message: "The request body is too large.", fields: []))
        case is NIOTooManyBytesError:
            // A body over the limit is the client's mistake, not an internal error.
            return response(for: .validation(reason: .other, message: "The request body is too large.", fields: []))
        default:
            logger.error("Unexpected error in the API", metadata: ["error": "\(String(reflecting: error))"])
            return awsError(.internalServerError, "InternalServerException", ["message": "An internal error occurred; it has been logged."])
        }
    }

    static func response(for error: ParleyError) -> Response {
        switch error {
        case .validation(let reason, let message, let fields):
            var body: [String: any Sendable] = ["message": message, "reason": reason.rawValue]
            if !fields.isEmpty { body["fieldList"] = fields.map { ["name": $0.name, "message": $0.message] } }
            return awsError(.badRequest, "ValidationException", body)
        case .notFound(let kind, let id):
            return awsError(
                .notFound, "ResourceNotFoundException",
                ["message": error.message, "resourceId": id, "resourceType": kind.errorResourceType])
        case .conflict(let kind, let id, let message):
            return awsError(.conflict, "ConflictException", ["message": message, "resourceId": id, "resourceType": kind.errorResourceType])
        case .quotaExceeded(let kind, let id, let limit, let message):
            return awsError(
                .init(code: 402, reasonPhrase: "Payment Required"), "ServiceQuotaExceededException",
                ["message": message, "resourceId": id, "resourceType": kind.errorResourceType, "limit": limit])
        case .throttled(let kind, let id, let limit, let message):
            return awsError(
                .tooManyRequests, "ThrottlingException",
                ["message": message, "resourceId": id, "resourceType": kind.errorResourceType, "limit": limit])
        case .accessDenied(let message):
            return awsError(.forbidden, "AccessDeniedException", ["message": message])
        case .internal(let message):
            return awsError(.internalServerError, "InternalServerException", ["message": message])
        case .storageFull:
            // The model has no "unavailable" error; InternalServerException (a server fault, so clients retry) says why.
            // The store logs the episode once, so this answer is not logged per request.
            return awsError(.internalServerError, "InternalServerException", ["message": error.message])
        }
    }

    private static func awsError(_ status: HTTPResponse.Status, _ type: String, _ body: [String: any Sendable]) -> Response {
        // The body holds only strings, integers and arrays of string maps, which always serialize.
        let data = try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return Response(
            status: status,
            headers: [.contentType: "application/json", HTTPField.Name("x-amzn-ErrorType")!: type],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension ParleyError {
    /// A JSON decoding failure as the ValidationException it is to a client.
    init(decoding error: DecodingError) {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            self = .invalidField(path(context), "must be \(Self.jsonTypeName(type))")
        case .keyNotFound(let key, _):
            self = .invalidField(key.stringValue, "is required")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            self = .invalidField(path(context), "has an invalid value")
        default:
            self = .validation(reason: .other, message: "The request body is not valid JSON.", fields: [])
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is [String].Type: "a list of strings"
        case is [String: String].Type: "a map of strings to strings"
        default: "an object"
        }
    }
}
