public import SwitchboardCore

/// Who is calling: a signed-in user (by session cookie) or an integration (by API token).
/// REST and Socket.IO resolve callers to the same value and apply the same rules.
public enum Identity: Sendable, Equatable {
    case user(User, sessionId: Int64)
    case apiToken(name: String)

    /// The Pages the caller may see. API tokens are created by operators and see all.
    public var visibility: PageVisibility {
        switch self {
        case .user(let user, _): user.visiblePages
        case .apiToken: .all
        }
    }

    /// Admins and API tokens may manage the team and the Pages.
    public var isAdmin: Bool {
        switch self {
        case .user(let user, _): user.role == .admin
        case .apiToken: true
        }
    }

    /// How the caller appears in `authorId`, the audit log and typing events.
    public var principal: String {
        switch self {
        case .user(let user, _): "user:\(user.id)"
        case .apiToken(let name): "token:\(name)"
        }
    }

    /// The signed-in user, if a person is calling.
    public var user: User? {
        if case .user(let user, _) = self { return user }
        return nil
    }
}
