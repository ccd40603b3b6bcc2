/// Every console page and form target: links and routes come from here, so they cannot drift apart.
enum ConsoleURL {
    case dashboard
    case signIn
    case signOut
    case rooms
    case newRoom
    case room(String)
    case editRoom(String)
    case deleteRoom(String)
    case roomEvents(String)
    case roomModeration(String, action: String)
    case roomTestToken(String)
    case chatToken
    case loggingConfigurations
    case newLoggingConfiguration
    case loggingConfiguration(String)
    case editLoggingConfiguration(String)
    case deleteLoggingConfiguration(String)
    case handlers
    case quotas
    case quota(String)
    case metrics
    case keys
    case revokeKey(String)
    case users
    case audit

    var path: String {
        switch self {
        case .dashboard: "/console"
        case .signIn: "/console/sign-in"
        case .signOut: "/console/sign-out"
        case .rooms: "/console/rooms"
        case .newRoom: "/console/rooms/new"
        case .room(let id): "/console/rooms/\(id)"
        case .editRoom(let id): "/console/rooms/\(id)/edit"
        case .deleteRoom(let id): "/console/rooms/\(id)/delete"
        case .roomEvents(let id): "/console/rooms/\(id)/events"
        case .roomModeration(let id, let action): "/console/rooms/\(id)/moderation/\(action)"
        case .roomTestToken(let id): "/console/rooms/\(id)/test-token"
        case .chatToken: "/console/chat-token"
        case .loggingConfigurations: "/console/logging"
        case .newLoggingConfiguration: "/console/logging/new"
        case .loggingConfiguration(let id): "/console/logging/\(id)"
        case .editLoggingConfiguration(let id): "/console/logging/\(id)/edit"
        case .deleteLoggingConfiguration(let id): "/console/logging/\(id)/delete"
        case .handlers: "/console/handlers"
        case .quotas: "/console/quotas"
        case .quota(let name): "/console/quotas/\(name)"
        case .metrics: "/console/metrics"
        case .keys: "/console/keys"
        case .revokeKey(let id): "/console/keys/\(id)/revoke"
        case .users: "/console/users"
        case .audit: "/console/audit"
        }
    }
}
