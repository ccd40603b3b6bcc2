import AWSSigV4
import Foundation
import FuzzSupport

// Fuzzes the SigV4 verifier on arbitrary requests: Authorization header parsing, presigned query parsing, the canonical
// request (path normalisation, query decoding and sorting, header folding), date parsing and the signature check.
//
// An input is an HTTP request as text:
//
//     METHOD TARGET
//     Name: value
//     ...
//     (empty line)
//     body
//
// Invariants beyond "no crash": the verifier only ever throws `SigV4Failure`; a request signed by `SigV4Signer` (after
// dropping any signature headers it already had) always verifies (checked for inputs whose length is a multiple of 4);
// `percentDecode(uriEncode(s)) == s` for the target, the method and the first header's value.

let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
/// The fixtures' signing time (Tests/AWSSigV4Tests/Fixtures), so that botocore-signed seeds verify.
let now = Date(timeIntervalSince1970: 1_795_924_800)
/// `FUZZ_VERBOSE=1`: print each input's verification outcome (for looking at a corpus in replay mode).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil
let verifier = SigV4Verifier(service: "ivschat", region: "us-east-1")
let signer = SigV4Signer(
    credentials: SigV4Credentials(accessKeyID: "AKIDPARLEYEXAMPLE", secretAccessKey: secret), region: "us-east-1", service: "ivschat")

/// Splits the input into request line, header lines and body, leniently: every input is some request.
func parseRequest(_ data: Data) -> (method: String, target: String, headers: [(name: String, value: String)], body: Data) {
    let bytes = [UInt8](data)
    var headEnd = bytes.count
    var bodyStart = bytes.count
    for index in bytes.indices where bytes[index] == 0x0A {
        if index + 1 < bytes.count, bytes[index + 1] == 0x0A {
            headEnd = index
            bodyStart = index + 2
            break
        }
        if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A {
            headEnd = index
            bodyStart = index + 3
            break
        }
    }
    let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
    var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.hasSuffix("\r") ? line.dropLast() : line
    }
    let requestLine = lines.isEmpty ? "" : lines.removeFirst()
    let parts = requestLine.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
    let method = String(parts[0])
    let target = parts.count > 1 ? String(parts[1]) : "/"
    let headers = lines.filter { !$0.isEmpty }.map { line -> (name: String, value: String) in
        let pair = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(pair[0]), pair.count > 1 ? pair[1].trimmingCharacters(in: CharacterSet(charactersIn: " \t")) : "")
    }
    return (method, target, headers, Data(bytes[bodyStart...]))
}

/// RFC 9110 token characters: what a header name can be on the wire.
func isToken(_ name: String) -> Bool {
    !name.isEmpty
        && name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
}

func verify(_ request: SignableRequest) async -> Result<String, SigV4Failure> {
    do {
        return .success(try await verifier.verify(request, now: now) { keyID in keyID == "AKIDUNKNOWN" ? nil : secret })
    } catch let failure as SigV4Failure {
        return .failure(failure)
    } catch {
        fuzzFailure("the verifier threw \(error), not a SigV4Failure")
    }
}

func fuzz(_ data: Data) {
    let parsed = parseRequest(data)
    let request = SignableRequest(method: parsed.method, target: parsed.target, headers: parsed.headers, body: parsed.body)

    for text in [parsed.target, parsed.method] + parsed.headers.prefix(1).map(\.value) {
        guard SigV4.percentDecode(SigV4.uriEncode(text)) == text else { fuzzFailure("percent-encoding does not round-trip: \(text)") }
    }
    _ = request.queryItems

    // What a client sent, as it is.
    runBlocking {
        let outcome = await verify(request)
        if verbose { print(outcome) }
    }

    // The same request signed by Parley's own signer verifies; checked on every fourth input length, as signing and
    // verifying again triples the cost of an input.
    guard data.count % 4 == 0 else { return }
    let signatureHeaders: Set<String> = ["authorization", "x-amz-date", "date", "x-amz-security-token", "x-amz-content-sha256"]
    var unsigned = request
    unsigned.headers = request.headers.filter { isToken($0.name) && !signatureHeaders.contains($0.name.lowercased()) }
    if !unsigned.headers.contains(where: { $0.name.lowercased() == "host" }) {
        unsigned.headers.append(("Host", "127.0.0.1:8080"))
    }
    var signed = unsigned
    signed.headers += signer.signatureHeaders(for: unsigned, at: now)
    let resigned = signed
    runBlocking {
        guard case .success("AKIDPARLEYEXAMPLE") = await verify(resigned) else {
            fuzzFailure("a request signed by SigV4Signer does not verify: \(resigned.method) \(resigned.path)?\(resigned.query)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzz(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

#if FUZZING
    /// The process's `main` (SwiftPM links `main` to `<module>_main`): libFuzzer's driver.
    @_cdecl("FuzzSigV4_main")
    public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        runLibFuzzer(argc, argv, fuzzerTestOneInput)
    }
#else
    @main
    enum Replay {
        static func main() {
            FuzzReplay.main(arguments: Array(CommandLine.arguments.dropFirst()), test: fuzz)
        }
    }
#endif
