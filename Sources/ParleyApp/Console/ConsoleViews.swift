import Foundation
import Hummingbird
import Mustache

/// The console's templates, loaded once at start from `Templates/`; a missing template stops the server from starting.
struct ConsoleViews: Sendable {
    static let required = [
        "layout", "sign-in", "error", "dashboard", "rooms/index", "rooms/form", "rooms/show", "logging/index", "logging/form",
        "handlers", "quotas", "metrics", "keys", "users", "audit",
    ]

    let library: MustacheLibrary

    init(directory: String) async throws {
        library = try await MustacheLibrary(directory: directory)
        let missing = Self.required.filter { library.getTemplate(named: $0) == nil }
        guard missing.isEmpty else {
            throw StartupError("The console templates \(missing.joined(separator: ", ")) are missing from \(directory).")
        }
    }

    /// An HTML page from `template` with `model`.
    func page(_ template: String, _ model: some Sendable, status: HTTPResponse.Status = .ok) -> Response {
        let html = library.render(model, withTemplate: template) ?? "<!doctype html><title>Parley</title><p>Template \(template) failed."
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
