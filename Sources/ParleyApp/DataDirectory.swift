import Foundation
import ParleyDomain

/// A data directory's files.
public enum DataDirectory {
    /// The server key: `server.key` in the data directory, created on first use, readable by the owner only.
    public static func serverKey(_ directory: String) throws -> ServerKey {
        let path = (directory as NSString).appendingPathComponent("server.key")
        if let data = FileManager.default.contents(atPath: path) {
            return try ServerKey(rawRepresentation: data)
        }
        let key = ServerKey.generate()
        guard FileManager.default.createFile(atPath: path, contents: key.rawRepresentation, attributes: [.posixPermissions: 0o600]) else {
            throw StartupError("Cannot write the server key at \(path).")
        }
        return key
    }
}

extension DataDirectory {
    /// The webhook review secret: `review-webhook.secret` in the data directory, created on first use.
    public static func reviewWebhookSecret(_ directory: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent("review-webhook.secret")
        if let data = FileManager.default.contents(atPath: path), let secret = String(data: data, encoding: .utf8), !secret.isEmpty {
            return secret.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let secret = Base64URL.encode(ServerKey.generate().rawRepresentation)
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw StartupError("Cannot write the review webhook secret at \(path).")
        }
        return secret
    }
}

/// A reason the server cannot start, said plainly.
public struct StartupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
