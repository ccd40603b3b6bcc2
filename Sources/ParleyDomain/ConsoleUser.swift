import Foundation

/// What a console user may do.
public enum ConsoleRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Reads everything, changes nothing.
    case viewer
    /// Rooms and moderation.
    case moderator
    /// Everything, including keys, quotas, users and logging.
    case admin

    public static func < (lhs: ConsoleRole, rhs: ConsoleRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// An operator who signs in to the console.
public struct ConsoleUser: Sendable, Equatable {
    public var name: String
    /// bcrypt.
    public var passwordHash: String
    public var role: ConsoleRole
    public var createTime: Date

    public init(name: String, passwordHash: String, role: ConsoleRole, createTime: Date) {
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
        self.createTime = createTime
    }
}
