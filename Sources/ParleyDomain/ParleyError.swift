/// Why a request failed validation, as the model's `ValidationExceptionReason`.
public enum ValidationReason: String, Sendable {
    case unknownOperation = "UNKNOWN_OPERATION"
    case fieldValidationFailed = "FIELD_VALIDATION_FAILED"
    case other = "OTHER"
}

/// One field that failed validation.
public struct FieldProblem: Sendable, Equatable {
    public var name: String
    public var message: String

    public init(name: String, message: String) {
        self.name = name
        self.message = message
    }
}

/// The errors of Parley's domain. Each surface (API, WebSocket, console) maps them to its own shape in one place.
public enum ParleyError: Error, Sendable, Equatable {
    case validation(reason: ValidationReason, message: String, fields: [FieldProblem])
    case notFound(kind: ResourceKind, id: String)
    case conflict(kind: ResourceKind, id: String, message: String)
    case quotaExceeded(kind: ResourceKind, id: String, limit: Int, message: String)
    case throttled(kind: ResourceKind, id: String, limit: Int, message: String)
    case accessDenied(message: String)
    case `internal`(message: String)
    /// The data directory's disk is full: the store refused a write and nothing of it was kept.
    case storageFull

    /// A validation error for a single field.
    public static func invalidField(_ name: String, _ message: String) -> ParleyError {
        .validation(reason: .fieldValidationFailed, message: "\(name): \(message)", fields: [FieldProblem(name: name, message: message)])
    }

    /// A human sentence describing the error.
    public var message: String {
        switch self {
        case .validation(_, let message, _): message
        case .notFound(let kind, let id): "\(kind.errorResourceType.lowercased()) \(id) not found"
        case .conflict(_, _, let message), .quotaExceeded(_, _, _, let message), .throttled(_, _, _, let message),
            .accessDenied(let message), .internal(let message):
            message
        case .storageFull: "The server cannot store this change: its disk is full."
        }
    }
}

extension Error {
    /// Whether this is the store's full-disk error. The store logs a full disk once per episode, so code that logs the
    /// errors it catches skips this one: otherwise every write refused during the episode would add a line.
    public var isStorageFull: Bool { (self as? ParleyError) == .storageFull }
}
