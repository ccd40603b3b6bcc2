import Foundation

/// One change to the service: who did what to what, when and from where.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    public var time: Date
    /// An access key id, a console user, or `cli` for offline commands.
    public var actor: String
    public var action: String
    public var target: String
    public var detail: String
    public var address: String

    public init(id: Int64 = 0, time: Date, actor: String, action: String, target: String, detail: String = "", address: String = "") {
        self.id = id
        self.time = time
        self.actor = actor
        self.action = action
        self.target = target
        self.detail = detail
        self.address = address
    }
}
