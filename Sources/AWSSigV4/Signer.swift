import Foundation

/// Credentials to sign with.
public struct SigV4Credentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// Signs outgoing requests with AWS Signature Version 4 (Authorization-header form).
public struct SigV4Signer: Sendable {
    public var credentials: SigV4Credentials
    public var region: String
    public var service: String

    public init(credentials: SigV4Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The headers to add to `request` (`X-Amz-Date`, `X-Amz-Security-Token` if any, `Authorization`).
    /// `request.headers` must already hold `host` and every other header to be signed.
    public func signatureHeaders(for request: SignableRequest, at date: Date) -> [(name: String, value: String)] {
        let amzDate = SigV4.amzDate(date)
        var added: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        var signed = request
        signed.headers += added
        let signedHeaders = Array(Set(signed.headers.map { $0.name.lowercased() })).sorted()
        let day = String(amzDate.prefix(8))
        let scope = [day, region, service, "aws4_request"].joined(separator: "/")
        // Every signed header name comes from the request itself, so the canonical request always exists.
        let canonical = SigV4.canonicalRequest(signed, signedHeaders: signedHeaders, payloadHash: request.bodyHash)!
        let key = SigV4.signingKey(secret: credentials.secretAccessKey, date: day, region: region, service: service)
        let signature = SigV4.signature(
            stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical), key: key)
        added.append(
            (
                "Authorization",
                "\(SigV4.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)"
            ))
        return added
    }
}
