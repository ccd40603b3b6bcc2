import AWSSigV4
import Foundation
import Hummingbird
import ParleyDomain

/// A request context that remembers which access key signed the request.
public protocol SignedRequestContext: RequestContext {
    var accessKeyID: String? { get set }
}

/// Authenticates every API request with AWS Signature Version 4 against the stored access keys.
/// It reads the whole body (the signature covers it) and hands the request on with the body buffered.
struct SigV4AuthMiddleware<Context: SignedRequestContext>: RouterMiddleware {
    let verifier: SigV4Verifier
    let store: any ParleyStore
    let clock: any WallClock
    let maximumBodySize: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: maximumBodySize)
        var headers: [(name: String, value: String)] = []
        if let authority = request.head.authority { headers.append(("host", authority)) }
        for field in request.headers { headers.append((field.name.rawName, field.value)) }
        let signable = SignableRequest(
            method: request.method.rawValue, target: request.head.path ?? "/", headers: headers,
            body: Data(buffer: body, byteTransferStrategy: .noCopy))
        var context = context
        context.accessKeyID = try await verifier.verify(signable, now: clock.now()) { accessKeyID in
            try await store.activeSecret(accessKeyID: accessKeyID)
        }
        return try await next(request, context)
    }
}
