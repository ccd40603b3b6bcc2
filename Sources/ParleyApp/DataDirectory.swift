import Foundation
import ParleyDomain

/// A data directory's files.
public enum DataDirectory {
    /// The server key: `server.key` in the data directory, created on first use, readable by the owner only.
    /// Makes the directory (and what it holds) private to the owner first: see `ownerOnly(_:)`.
    public static func serverKey(_ directory: String) throws -> ServerKey {
        try ownerOnly(directory)
        let path = (directory as NSString).appendingPathComponent("server.key")
        try ownerOnlyFile(path)
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
        try ownerOnlyFile(path)
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

extension DataDirectory {
    /// Creates the data directory with mode 0700, or takes group and other permissions off an existing one: it holds
    /// the server key, the webhook secret and the database (password hashes, sealed API secrets, the audit log).
    /// A directory this user cannot change (not its owner) is left as it is; the files in it are still owner-only.
    public static func ownerOnly(_ directory: String) throws {
        let files = FileManager.default
        if !files.fileExists(atPath: directory) {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return
        }
        if let mode = (try? files.attributesOfItem(atPath: directory))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            try? files.setAttributes([.posixPermissions: mode & 0o700], ofItemAtPath: directory)
        }
    }

    /// Takes group and other permissions off an existing secret file (one written by hand, or by an older version).
    static func ownerOnlyFile(_ path: String) throws {
        let files = FileManager.default
        guard let mode = (try? files.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 else { return }
        try files.setAttributes([.posixPermissions: mode & 0o700], ofItemAtPath: path)
    }
}

/// A reason the server cannot start, said plainly.
public struct StartupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
