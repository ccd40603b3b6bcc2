/// Resource identifiers: the 12-character ids and the ARNs built from them.
public enum ResourceID {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A fresh 12-character `[a-zA-Z0-9]` id, as IVS Chat uses for rooms, messages and events.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// A 12-character id drawn from `generator`: two 64-bit draws (ten base-62 digits fit in one), not one per character,
    /// because every message and event takes an id and each draw from the system generator is a system call.
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 12)
        var value = generator.next()
        for index in bytes.indices {
            if index == 10 { value = generator.next() }
            bytes[index] = alphabet[Int(value % 62)]
            value /= 62
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `value` has the shape of an id: exactly 12 characters of `[a-zA-Z0-9]`.
    public static func isValid(_ value: String) -> Bool {
        value.utf8.count == 12 && value.utf8.allSatisfy(isAlphanumeric)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}

/// The kinds of resource that have ARNs.
public enum ResourceKind: String, Sendable, CaseIterable {
    case room
    case loggingConfiguration = "logging-configuration"

    /// The `resourceType` named in error bodies.
    public var errorResourceType: String {
        switch self {
        case .room: "ROOM"
        case .loggingConfiguration: "LOGGING_CONFIGURATION"
        }
    }
}

/// The region and account that ARNs are minted in: server settings.
public struct ResourceNamespace: Sendable, Equatable {
    public var region: String
    public var accountID: String

    public init(region: String, accountID: String) {
        self.region = region
        self.accountID = accountID
    }

    /// `arn:aws:ivschat:<region>:<account>:<kind>/<id>`.
    public func arn(_ kind: ResourceKind, id: String) -> String {
        "arn:aws:ivschat:\(region):\(accountID):\(kind.rawValue)/\(id)"
    }
}

/// A parsed `arn:aws:ivschat:<region>:<account>:<kind>/<id>`.
public struct ResourceARN: Sendable, Equatable {
    public var region: String
    public var accountID: String
    public var kind: ResourceKind
    public var id: String

    /// Parses an ivschat ARN following the model's patterns
    /// (`arn:aws:ivschat:[a-z0-9-]+:[0-9]+:<kind>/[a-zA-Z0-9-]+`, at most 128 characters).
    public init?(_ text: String) {
        guard text.utf8.count <= 128 else { return nil }
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "ivschat" else { return nil }
        let region = parts[3]
        let account = parts[4]
        guard !region.isEmpty, region.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
        else { return nil }
        guard !account.isEmpty, account.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let resource = parts[5].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard resource.count == 2, let kind = ResourceKind(rawValue: String(resource[0])) else { return nil }
        let id = resource[1]
        guard !id.isEmpty, id.utf8.allSatisfy({ ResourceID.isAlphanumeric($0) || $0 == 0x2D }) else { return nil }
        self.region = String(region)
        self.accountID = String(account)
        self.kind = kind
        self.id = String(id)
    }
}
