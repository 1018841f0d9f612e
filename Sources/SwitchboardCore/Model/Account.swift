public import Foundation

/// What a person may do: admins manage the team and the Pages, agents work the inbox.
public enum UserRole: String, Sendable, Codable, CaseIterable {
    case admin
    case agent
}

/// A member of the team (docs/accounts-realtime.md, "Users and roles").
public struct User: Sendable, Equatable, Codable {
    public var id: String
    public var email: String
    public var name: String?
    public var role: UserRole
    public var createdAt: String
    public var disabledAt: String?
    /// The Pages an agent may see; `nil` means every Page. Admins always see every Page.
    public var pageIds: [String]?

    public init(
        id: String,
        email: String,
        name: String?,
        role: UserRole,
        createdAt: String,
        disabledAt: String? = nil,
        pageIds: [String]? = nil
    ) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.disabledAt = disabledAt
        self.pageIds = pageIds
    }

    /// The Pages this user is limited to, or `nil` when they see every Page.
    public var visiblePages: PageVisibility {
        guard role == .agent, let pageIds else { return .all }
        return .only(Set(pageIds))
    }

    /// How the user is shown to other agents: the name, else the address.
    public var displayName: String { name.flatMap { $0.isEmpty ? nil : $0 } ?? email }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(disabledAt, forKey: .disabledAt)
        try container.encode(pageIds, forKey: .pageIds)
    }
}

/// Which Pages a caller may see; REST and Socket.IO apply the same rule.
public enum PageVisibility: Sendable, Equatable {
    case all
    case only(Set<String>)

    public func allows(_ pageId: String) -> Bool {
        switch self {
        case .all: true
        case .only(let pages): pages.contains(pageId)
        }
    }
}

/// Normalises and checks an e-mail address the way sign-in compares them: trimmed,
/// lower-cased, one `@` with something on both sides and a dot in the domain.
public enum EmailAddress {
    public static func normalized(_ raw: String) -> String? {
        let address = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard address.count <= 254, !address.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," }) else {
            return nil
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else {
            return nil
        }
        return address
    }
}

/// A live session: who it belongs to and until when.
public struct SessionRecord: Sendable, Equatable {
    public var id: Int64
    public var user: User
    public var expiresAt: Date

    public init(id: Int64, user: User, expiresAt: Date) {
        self.id = id
        self.user = user
        self.expiresAt = expiresAt
    }
}

/// Recent sign-in link requests for an address and from an IP, for the rate limits: how
/// many since the window's start, and when the oldest of them was made.
public struct SignInRequestHistory: Sendable, Equatable {
    public var byEmail: [Date]
    public var byIP: [Date]

    public init(byEmail: [Date], byIP: [Date]) {
        self.byEmail = byEmail
        self.byIP = byIP
    }
}
