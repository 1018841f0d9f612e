import Foundation
import Hummingbird
import SwitchboardCore

/// `GET /api/conversations`' query string as a `ConversationQuery`: the filters the inbox
/// offers (unread, mine, unassigned, bot-handled, needs human, window closing, open or
/// resolved), search and
/// paging. A value it does not know is a 400 naming the parameter, never ignored.
enum ConversationListQuery {
    /// Hours left in the 24-hour window under which `window=closing` counts a conversation.
    static let defaultClosingHours = 4.0

    static func parse(_ query: Parameters, caller: Identity) throws -> ConversationQuery {
        var filter = ConversationQuery(
            pageId: query["pageId"].map(String.init),
            visibility: caller.visibility,
            unreadOnly: try flag(query, "unread"),
            search: query["q"].map(String.init),
            limit: try APIRoutes.limit(query["limit"]),
            cursor: query["cursor"].map(String.init)
        )
        filter.assignee = try assignee(query["assignee"].map(String.init), caller: caller)
        if let raw = query["bot"] {
            guard let state = ConversationQuery.BotState(rawValue: String(raw)) else {
                throw invalid("bot must be active, paused or off.")
            }
            filter.bot = state
        }
        if try flag(query, "needsHuman") {
            guard filter.bot == nil || filter.bot == .paused else { throw invalid("needsHuman=true is bot=paused; give one of them.") }
            filter.bot = .paused
        }
        filter.window = try window(query)
        if let raw = query["status"] {
            guard let status = ConversationStatus(rawValue: String(raw)) else { throw invalid("status must be open or resolved.") }
            filter.status = status
        }
        return filter
    }

    private static func flag(_ query: Parameters, _ name: String) throws -> Bool {
        switch query[Substring(name)].map(String.init) {
        case nil, "", "false": return false
        case "true": return true
        default: throw invalid("\(name) must be true or false.")
        }
    }

    private static func assignee(_ raw: String?, caller: Identity) throws -> ConversationQuery.Assignee? {
        switch raw {
        case nil, "": return nil
        case "none": return ConversationQuery.Assignee.nobody
        case "me":
            guard let user = caller.user else { throw invalid("assignee=me needs a signed-in user; an API token gives a user id.") }
            return .user(user.id)
        case let id?:
            guard Int64(id) != nil else { throw invalid("assignee must be me, none or a user id.") }
            return .user(id)
        }
    }

    private static func window(_ query: Parameters) throws -> ConversationQuery.Window? {
        let hours = try query["closingWithinHours"].map { raw -> Double in
            guard let hours = Double(String(raw)), (0...24).contains(hours) else {
                throw invalid("closingWithinHours must be a number of hours from 0 to 24.")
            }
            return hours
        }
        switch query["window"].map(String.init) {
        case nil, "": return nil
        case "open": return .open
        case "human_agent": return .humanAgent
        case "closed": return .closed
        case "closing": return .closing(within: (hours ?? defaultClosingHours) * 3600)
        default: throw invalid("window must be open, human_agent, closed or closing.")
        }
    }

    private static func invalid(_ message: String) -> APIError {
        APIError(.badRequest, "invalid_argument", message)
    }
}
