import AWSSigV4
import Foundation
import Hummingbird
import NIOCore
import ParleyDomain

/// A URL-encoded form body (or query), with repeated fields kept.
struct FormData: Sendable {
    private var fields: [(String, String)]

    init(_ encoded: String) {
        fields = encoded.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { SigV4.percentDecode(text.replacingOccurrences(of: "+", with: " ")) }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static func body(of request: Request) async throws -> FormData {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        return FormData(String(buffer: buffer))
    }

    static func query(of request: Request) -> FormData {
        FormData(request.uri.query ?? "")
    }

    subscript(name: String) -> String? { fields.first { $0.0 == name }?.1 }

    func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }

    /// A trimmed, non-empty value.
    func text(_ name: String) -> String? {
        self[name].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Errors the console shows as pages.
enum ConsoleError: Error {
    case notFound(String)
    case forbidden(String)
    case badRequest(String)
}

/// Renders every error under the console as an HTML page; the API keeps its JSON errors.
struct ConsoleErrorMiddleware: RouterMiddleware {
    let views: ConsoleViews

    func handle(
        _ request: Request, context: ParleyRequestContext, next: (Request, ParleyRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let page = context.consoleSession.map { PageChrome(title: "Error", session: $0, section: "") }
            let (status, heading, message): (HTTPResponse.Status, String, String) =
                switch error {
                case ConsoleError.notFound(let message): (.notFound, "Not found", message)
                case ConsoleError.forbidden(let message): (.forbidden, "Not allowed", message)
                case ConsoleError.badRequest(let message): (.badRequest, "Bad request", message)
                case ParleyError.notFound(let kind, let id): (.notFound, "Not found", "No \(kind.errorResourceType.lowercased()) \(id).")
                case ParleyError.storageFull:
                    (.serviceUnavailable, "Disk full", "\(ParleyError.storageFull.message) Try again once space has been freed.")
                case let error as ParleyError: (.badRequest, "That did not work", error.message)
                case let error as HTTPError: (error.status, "Error \(error.status.code)", error.body ?? error.status.reasonPhrase)
                case is NIOTooManyBytesError: (.contentTooLarge, "Too large", "The form was larger than the console accepts.")
                default:
                    (.internalServerError, "Something went wrong", "The error has been logged; try again.")
                }
            if status == .internalServerError { context.logger.error("Console error", metadata: ["error": "\(String(reflecting: error))"]) }
            return views.page("error", ErrorModel(page: page, status: Int(status.code), heading: heading, message: message), status: status)
        }
    }
}

/// Requires a signed-in operator for every console page but sign-in, and the session's CSRF token on every POST
/// (for the JSON `fetch()` endpoint, `ChatTokenFetch`'s header and Origin check instead).
struct ConsoleAuthMiddleware: RouterMiddleware {
    let sessions: ConsoleSessions
    /// Client addresses (for the sign-in throttle and the audit log) as the chat endpoint finds them: behind a trusted
    /// proxy, from `X-Forwarded-For`.
    let clientAddresses: ClientAddressResolver

    func handle(
        _ request: Request, context: ParleyRequestContext, next: (Request, ParleyRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.resolvedClientAddress = clientAddresses.clientAddress(peer: context.remoteAddress, headers: request.headers)
        if request.uri.path == ConsoleURL.signIn.path {
            // Login CSRF: another site must not sign a browser in to an account of its choosing.
            if request.method == .post, let refusal = ChatTokenFetch.crossSiteRefusal(request) {
                throw ConsoleError.forbidden("Sign in from this console's own page. \(refusal)")
            }
            return try await next(request, context)
        }
        let isFetchEndpoint = request.uri.path == ConsoleURL.chatToken.path
        guard let session = try await sessions.open(request) else {
            if isFetchEndpoint { return ChatTokenFetch.signedOut }
            if request.method == .get {
                let target = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
                let next = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/console"
                return Response(status: .seeOther, headers: [.location: ConsoleURL.signIn.path + "?next=" + next])
            }
            throw ConsoleError.forbidden("Your session has ended; sign in again.")
        }
        context.consoleSession = session
        var request = request
        if request.method == .post, isFetchEndpoint {
            // JSON from fetch(): a custom header and this server's Origin instead of the form's CSRF token.
            if let refusal = ChatTokenFetch.refusal(request) { return .json(["error": refusal], status: .forbidden) }
        } else if request.method == .post {
            let buffer = try await request.collectBody(upTo: 1 << 20)
            guard FormData(String(buffer: buffer))["csrf"] == session.csrf else {
                throw ConsoleError.forbidden(
                    "The form had expired or did not come from this console (CSRF check failed). Reload and try again.")
            }
        }
        return try await next(request, context)
    }
}

extension ParleyRequestContext {
    /// The signed-in operator; the auth middleware guarantees one on every page but sign-in.
    func session() throws -> ConsoleSession {
        guard let consoleSession else { throw ConsoleError.forbidden("Sign in first.") }
        return consoleSession
    }

    /// The operator, if their role is at least `role`.
    func session(atLeast role: ConsoleRole) throws -> ConsoleSession {
        let session = try session()
        guard session.role >= role else {
            throw ConsoleError.forbidden("This needs the \(role.rawValue) role; you are \(session.role.rawValue).")
        }
        return session
    }

    /// The client's address: the peer's, or behind a trusted proxy the forwarded one.
    var clientAddress: String { resolvedClientAddress ?? remoteAddress?.ipAddress ?? "" }
}

extension Response {
    /// A 303 to a console page, as after every successful form.
    static func redirect(to url: ConsoleURL, notice: String? = nil) -> Response {
        let query = notice.map { "?notice=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? ""
        return Response(status: .seeOther, headers: [.location: url.path + query])
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        // Strings, numbers, booleans, arrays and maps of them always serialize.
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
