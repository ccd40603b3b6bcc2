/// Why a request failed: the server's `ERROR` frame for it, or the connection it was sent on went away.
public struct ChatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, from the `ERROR` frame's `ErrorCode`.
    public enum Code: Sendable, Hashable {
        /// 400: the request was malformed or a field is invalid (for example, content over the room's length limit).
        case invalidParameter
        /// 401: the session has expired or the token was missing.
        case unauthorized
        /// 403: the token lacks the capability the request needs.
        case forbidden
        /// 404: the room or the message does not exist.
        case notFound
        /// 406: the room's review handler denied the message; ``ChatError/errorMessage`` carries its reason.
        case rejected
        /// 413: a field is too large (for example, the attributes).
        case tooLarge
        /// 429: a rate limit was exceeded.
        case tooManyRequests
        /// 500: the server failed.
        case internalServerError
        /// The room was not connected when the request was made, or the connection closed before the answer came.
        case notConnected
        /// Another `ErrorCode`.
        case other(Int)

        /// Maps a server `ErrorCode`.
        public init(serverCode: Int) {
            switch serverCode {
            case 400: self = .invalidParameter
            case 401: self = .unauthorized
            case 403: self = .forbidden
            case 404: self = .notFound
            case 406: self = .rejected
            case 413: self = .tooLarge
            case 429: self = .tooManyRequests
            case 500: self = .internalServerError
            default: self = .other(serverCode)
            }
        }

        /// The server's `ErrorCode` for this kind, if it has one.
        public var serverCode: Int? {
            switch self {
            case .invalidParameter: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .rejected: 406
            case .tooLarge: 413
            case .tooManyRequests: 429
            case .internalServerError: 500
            case .notConnected: nil
            case .other(let code): code
            }
        }
    }

    /// What kind of failure.
    public var errorCode: Code
    /// The server's explanation.
    public var errorMessage: String
    /// The `ERROR` frame's id, when the server sent one.
    public var id: String?
    /// The request the error answers.
    public var requestId: String?

    /// Creates an error.
    public init(errorCode: Code, errorMessage: String, id: String? = nil, requestId: String? = nil) {
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.id = id
        self.requestId = requestId
    }

    /// `ChatError(forbidden): The token lacks the SEND_MESSAGE capability.`
    public var description: String { "ChatError(\(errorCode)): \(errorMessage)" }

    static func notConnected(_ message: String, requestId: String? = nil) -> ChatError {
        ChatError(errorCode: .notConnected, errorMessage: message, requestId: requestId)
    }
}
