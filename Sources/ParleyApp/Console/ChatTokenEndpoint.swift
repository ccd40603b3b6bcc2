import Foundation
import HTTPTypes
import Hummingbird
import ParleyDomain

/// `POST /console/chat-token`: CreateChatToken for the console's signed-in moderators, called with `fetch()` from pages
/// served by Parley (the Chatterbox example, the JavaScript SDK's tests). It plays the seed's "local authentication/
/// authorization server": the browser never holds an API key, only its console session.
///
/// The body is CreateChatToken's JSON (`roomIdentifier` may also be a bare room id); the answer is CreateChatToken's
/// `{token, tokenExpirationTime, sessionExpirationTime}`. Failures are JSON `{"error": "..."}`: 401 signed out,
/// 403 CSRF check failed or role too low, 400 invalid, 404 no such room.
extension ConsoleController {
    func addChatTokenRoute(to router: RouterGroup<ParleyRequestContext>) {
        router.post("chat-token") { request, context in try await chatToken(request, context) }
    }

    private func chatToken(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        guard let session = context.consoleSession else { return ChatTokenFetch.signedOut }
        guard session.role >= .moderator else {
            return .json(["error": "Creating chat tokens needs the moderator role; you are \(session.role.rawValue)."], status: .forbidden)
        }
        guard tokenLimiter.take(user: session.user, now: clock.now()) else {
            return .json(["error": tokenLimiter.refusal], status: .tooManyRequests)
        }
        var request = request
        guard let body = try? await request.collectBody(upTo: 64 * 1_024) else {
            return .json(["error": "The body is larger than 64 KiB."], status: .contentTooLarge)
        }
        guard var input = try? JSONDecoder().decode(CreateChatTokenInput.self, from: Data(buffer: body)) else {
            return .json(
                ["error": "The body must be CreateChatToken's JSON: {roomIdentifier, userId, capabilities, ...}."], status: .badRequest)
        }
        if let identifier = input.roomIdentifier, ResourceID.isValid(identifier) {
            input.roomIdentifier = controlPlane.namespace.arn(.room, id: identifier)
        }
        do {
            let token = try await controlPlane.createChatToken(input)
            try await audit(context, "CreateChatToken", input.roomIdentifier ?? "", input.userId ?? "")
            var response = CreateChatTokenOutput(token).response
            response.headers[.cacheControl] = "no-store"
            return response
        } catch let error as ParleyError {
            let status: HTTPResponse.Status =
                switch error {
                case .notFound: .notFound
                case .accessDenied: .forbidden
                case .internal: .internalServerError
                default: .badRequest
                }
            return .json(["error": error.message], status: status)
        }
    }
}

/// The CSRF defence of the console's `fetch()` endpoints, which take JSON rather than forms carrying the session's
/// CSRF token: the request must carry `X-Parley-CSRF: 1` (a custom header: another origin could only send it after a
/// CORS preflight, which Parley never grants), and its `Origin` must be this server (with `Sec-Fetch-Site`, when the
/// browser sends it, `same-origin`). The session cookie is SameSite=Strict as well.
enum ChatTokenFetch {
    static let csrfHeader = HTTPField.Name("X-Parley-CSRF")!

    static var signedOut: Response {
        .json(["error": "Sign in to the Parley console first (\(ConsoleURL.signIn.path))."], status: .unauthorized)
    }

    /// Why the request is refused, or nil when it may proceed.
    static func refusal(_ request: Request) -> String? {
        guard request.headers[csrfHeader] == "1" else {
            return "Send the header X-Parley-CSRF: 1 (CSRF check failed)."
        }
        if let site = request.headers[secFetchSite], site != "same-origin" {
            return "Requests from other sites are refused (CSRF check failed)."
        }
        guard let origin = request.headers[originHeader], isThisServer(origin, request) else {
            return "The request's Origin is not this server (CSRF check failed)."
        }
        return nil
    }

    /// The sign-in form's defence (it has no session, so no CSRF token yet): a browser that says where the form came
    /// from must say this server. Clients that send neither header (scripts, old browsers) are let through.
    static func crossSiteRefusal(_ request: Request) -> String? {
        if let site = request.headers[secFetchSite], site != "same-origin", site != "none" {
            return "Requests from other sites are refused (CSRF check failed)."
        }
        if let origin = request.headers[originHeader], !isThisServer(origin, request) {
            return "The request's Origin is not this server (CSRF check failed)."
        }
        return nil
    }

    private static func isThisServer(_ origin: String, _ request: Request) -> Bool {
        guard let host = request.head.authority ?? request.headers[hostHeader], let schemeEnd = origin.range(of: "://") else {
            return false
        }
        return origin[schemeEnd.upperBound...].lowercased() == host.lowercased()
    }

    private static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    private static let originHeader = HTTPField.Name("Origin")!

    private static let hostHeader = HTTPField.Name("Host")!
}
