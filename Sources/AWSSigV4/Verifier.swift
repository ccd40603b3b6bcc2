import Crypto
import Foundation
import Synchronization

/// Why a request's signature was refused; each maps to the AWS error of the same name.
public enum SigV4Failure: Error, Sendable, Equatable {
    /// No Authorization header and no presigned query: `MissingAuthenticationTokenException`.
    case missingAuthentication
    /// The access key is unknown or revoked: `UnrecognizedClientException`.
    case unrecognizedClient
    /// Malformed, mismatched, expired or skewed: `InvalidSignatureException`.
    case invalidSignature(String)
}

/// Verifies AWS Signature Version 4 on incoming requests, in the Authorization-header and the query-string (presigned) forms.
public struct SigV4Verifier: Sendable {
    public let service: String
    /// The region requests must be scoped to.
    public let region: String
    /// How far a request's signing time may be from the server's clock (AWS allows 15 minutes).
    public let allowedClockSkew: TimeInterval
    private let signingKeys = SigningKeyCache()

    public init(service: String, region: String, allowedClockSkew: TimeInterval = 15 * 60) {
        self.service = service
        self.region = region
        self.allowedClockSkew = allowedClockSkew
    }

    /// The access key id a request was signed with, once its signature checks out.
    /// - Parameter secretFor: the secret of an active access key, or nil if there is none.
    public func verify(
        _ request: SignableRequest, now: Date, secretFor: (String) async throws -> String?
    ) async throws -> String {
        let claim = try parse(request)
        guard claim.scope.service == service, claim.scope.terminator == "aws4_request" else {
            throw SigV4Failure.invalidSignature("Credential should be scoped to correct service: '\(service)'.")
        }
        guard claim.scope.region == region else {
            throw SigV4Failure.invalidSignature("Credential should be scoped to a valid region: '\(region)'.")
        }
        guard let signedAt = SigV4.parseAmzDate(claim.amzDate), claim.scope.date == String(claim.amzDate.prefix(8)) else {
            throw SigV4Failure.invalidSignature("X-Amz-Date is malformed or does not match the credential scope date.")
        }
        if let expires = claim.expiresSeconds {
            guard (1...604_800).contains(expires) else {
                throw SigV4Failure.invalidSignature("X-Amz-Expires must be between 1 and 604800 seconds.")
            }
            guard now <= signedAt + TimeInterval(expires), signedAt <= now + allowedClockSkew else {
                throw SigV4Failure.invalidSignature("Signature expired: the presigned request is no longer valid.")
            }
        } else if abs(now.timeIntervalSince(signedAt)) > allowedClockSkew {
            throw SigV4Failure.invalidSignature(
                "Signature expired: \(claim.amzDate) is now outside the allowed \(Int(allowedClockSkew / 60))-minute window of \(SigV4.amzDate(now))."
            )
        }
        guard claim.signedHeaders.contains("host") else {
            throw SigV4Failure.invalidSignature("The host header must be signed.")
        }
        guard let secret = try await secretFor(claim.accessKeyID) else { throw SigV4Failure.unrecognizedClient }

        let key = signingKeys.key(secret: secret, date: claim.scope.date, region: claim.scope.region, service: service)
        let scope = claim.scope.text
        for payloadHash in payloadHashes(request, presigned: claim.expiresSeconds != nil) {
            guard let canonical = SigV4.canonicalRequest(request, signedHeaders: claim.signedHeaders, payloadHash: payloadHash)
            else { throw SigV4Failure.invalidSignature("A header named in SignedHeaders is missing from the request.") }
            let expected = SigV4.signature(
                stringToSign: SigV4.stringToSign(amzDate: claim.amzDate, scope: scope, canonicalRequest: canonical), key: key)
            if constantTimeEqual(expected, claim.signature) { return claim.accessKeyID }
        }
        throw SigV4Failure.invalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
        )
    }

    /// A presigned request may sign the body's hash or `UNSIGNED-PAYLOAD`; a header-signed one says which in `x-amz-content-sha256`.
    private func payloadHashes(_ request: SignableRequest, presigned: Bool) -> [String] {
        if let declared = request.header("x-amz-content-sha256") {
            return declared == SigV4.unsignedPayload || declared == request.bodyHash ? [declared] : []
        }
        return presigned ? [request.bodyHash, SigV4.unsignedPayload] : [request.bodyHash]
    }

    private struct Scope {
        var date: String
        var region: String
        var service: String
        var terminator: String
        var text: String { [date, region, service, terminator].joined(separator: "/") }
    }

    private struct Claim {
        var accessKeyID: String
        var scope: Scope
        var signedHeaders: [String]
        var signature: String
        var amzDate: String
        var expiresSeconds: Int?
    }

    private func parse(_ request: SignableRequest) throws(SigV4Failure) -> Claim {
        if let authorization = request.header("authorization") {
            return try parseAuthorizationHeader(authorization, request)
        }
        let query = Dictionary(request.queryItems.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard let algorithm = query["X-Amz-Algorithm"] else { throw .missingAuthentication }
        guard algorithm == SigV4.algorithm, let credential = query["X-Amz-Credential"],
            let signedHeaders = query["X-Amz-SignedHeaders"], let signature = query["X-Amz-Signature"],
            let amzDate = query["X-Amz-Date"], let expires = query["X-Amz-Expires"].flatMap({ Int($0) })
        else { throw .invalidSignature("The presigned query is incomplete or malformed.") }
        let (accessKeyID, scope) = try parseCredential(credential)
        return Claim(
            accessKeyID: accessKeyID, scope: scope, signedHeaders: signedHeaders.split(separator: ";").map(String.init),
            signature: signature, amzDate: amzDate, expiresSeconds: expires)
    }

    private func parseAuthorizationHeader(_ value: String, _ request: SignableRequest) throws(SigV4Failure) -> Claim {
        let trimmed = Self.trimmingSpaces(value[...])
        guard trimmed.hasPrefix(SigV4.algorithm + " ") else {
            throw .invalidSignature("Only \(SigV4.algorithm) is supported in the Authorization header.")
        }
        var fields: [String: String] = [:]
        for part in trimmed.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
            let pair = Self.trimmingSpaces(part).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else { throw .invalidSignature("Authorization header requires Credential, SignedHeaders and Signature.") }
        guard let amzDate = request.header("x-amz-date") ?? request.header("date").flatMap(Self.httpDateAsAmzDate) else {
            throw .invalidSignature("Authorization requires an X-Amz-Date header.")
        }
        let (accessKeyID, scope) = try parseCredential(credential)
        return Claim(
            accessKeyID: accessKeyID, scope: scope, signedHeaders: signedHeaders.split(separator: ";").map(String.init),
            signature: signature, amzDate: amzDate, expiresSeconds: nil)
    }

    /// Spaces and tabs off both ends (Foundation's `trimmingCharacters` is slow on the path of every request).
    private static func trimmingSpaces(_ text: Substring) -> Substring {
        let isSpace = { (character: Character) in character == " " || character == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return text[first...last]
    }

    private func parseCredential(_ credential: String) throws(SigV4Failure) -> (String, Scope) {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, !parts[0].isEmpty else {
            throw .invalidSignature("Credential must be <access key>/<date>/<region>/<service>/aws4_request.")
        }
        return (parts[0], Scope(date: parts[1], region: parts[2], service: parts[3], terminator: parts[4]))
    }

    /// `Date: Sun, 29 Nov 2026 04:00:00 GMT` (or `-0000`, as botocore writes it), accepted where X-Amz-Date is absent.
    private static func httpDateAsAmzDate(_ value: String) -> String? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEE, dd MMM yyyy HH:mm:ss Z"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) { return SigV4.amzDate(date) }
        }
        return nil
    }

    private func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

/// A signing key changes once a day per secret, region and service: each is derived once (four HMACs), not per request.
final class SigningKeyCache: Sendable {
    private let keys = Mutex<[String: SymmetricKey]>([:])

    func key(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        let name = [secret, date, region, service].joined(separator: "\n")
        if let key = keys.withLock({ $0[name] }) { return key }
        let key = SigV4.signingKey(secret: secret, date: date, region: region, service: service)
        keys.withLock { keys in
            // Old days and revoked secrets age out wholesale; a bounded map is enough.
            if keys.count >= 256 { keys.removeAll() }
            keys[name] = key
        }
        return key
    }
}
