import AWSSigV4
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ParleyApp
import ParleyDomain

/// The access key every test server is started with.
let testCredentials = SigV4Credentials(accessKeyID: "AKIDPARLEYTEST", secretAccessKey: "test-secret-0123456789")

/// The console's `admin` password on every test server.
let testAdminPassword = "admin-password-for-tests"

/// Settings for an in-memory test server.
func testSettings(_ configure: (inout ParleySettings) -> Void = { _ in }) -> ParleySettings {
    var settings = ParleySettings()
    settings.dataDirectory = nil
    settings.port = 0
    settings.adminAccessKey = (testCredentials.accessKeyID, testCredentials.secretAccessKey)
    settings.adminPassword = testAdminPassword
    settings.bcryptCost = 4
    configure(&settings)
    return settings
}

/// A decoded API answer.
struct APIResponse {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var json: [String: Any]

    var errorType: String? { headers[HTTPField.Name("x-amzn-ErrorType")!] }
    subscript(key: String) -> Any? { json[key] }
}

/// Calls the control-plane API as an AWS SDK would: JSON body, SigV4-signed with `credentials` (the admin key unless
/// told otherwise) at the clock's time.
func callAPI(
    _ client: some TestClientProtocol, _ target: String, method: HTTPRequest.Method = .post, body: [String: Any]? = [:],
    rawBody: String? = nil, clock: any WallClock, signed: Bool = true, credentials: SigV4Credentials = testCredentials
) async throws -> APIResponse {
    let bytes = try rawBody.map { Data($0.utf8) } ?? body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
    var headers: HTTPFields = [.contentType: "application/json"]
    if signed {
        let signable = SignableRequest(
            method: method.rawValue, target: target, headers: [("host", "localhost"), ("content-type", "application/json")], body: bytes)
        for (name, value) in SigV4Signer(credentials: credentials, region: "us-east-1", service: "ivschat")
            .signatureHeaders(for: signable, at: clock.now())
        {
            headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
    }
    let response = try await client.execute(uri: target, method: method, headers: headers, body: ByteBuffer(bytes: bytes))
    let json = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
    return APIResponse(status: response.status, headers: response.headers, json: json)
}
