import ArgumentParser
import Foundation
import SwitchboardApp
import SwitchboardCore
import SwitchboardStore

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage the team: add the first admin, list users, print a sign-in link.",
        subcommands: [Add.self, List.self, Link.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user and print a sign-in link for them (valid 15 minutes, single use).",
            discussion: "The first admin is made this way; admins invite everyone else from the Team screen."
        )

        @Argument(help: "The user's e-mail address.") var email: String
        @Flag(help: "Make the user an admin (default: agent).") var admin = false
        @Option(help: "The name shown to other agents.") var name: String?

        func run() async throws {
            guard let address = EmailAddress.normalized(email) else { throw ValidationError("'\(email)' is not an e-mail address.") }
            let link = try await withStore { store, configuration in
                guard let user = try await store.createUser(email: address, name: name, role: admin ? .admin : .agent) else {
                    throw ValidationError("\(address) already has an account; `switchboard user link \(address)` prints a sign-in link.")
                }
                try await store.audit(actor: "cli", action: "user.add", subject: user.id, detail: "\(address) as \(user.role.rawValue)")
                return try await Switchboard.signInLink(for: user, store: store, configuration: configuration, logger: makeLogger())
            }
            print("Added \(address) as \(admin ? "an admin" : "an agent"). Sign-in link (single use, 15 minutes):")
            print(link)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their roles.")

        func run() async throws {
            let users = try await withStore { store, _ in try await store.users() }
            if users.isEmpty { print("No users yet; add the first admin with `switchboard user add EMAIL --admin`.") }
            for user in users {
                let state = user.disabledAt == nil ? "" : " (disabled)"
                let pages = user.pageIds.map { " pages: \($0.joined(separator: ","))" } ?? ""
                print("\(user.id)\t\(user.role.rawValue)\t\(user.email)\(user.name.map { " (\($0))" } ?? "")\(state)\(pages)")
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a fresh sign-in link for an existing user (when mail is not set up or not arriving)."
        )

        @Argument(help: "The user's e-mail address.") var email: String

        func run() async throws {
            let address = EmailAddress.normalized(email) ?? email
            let link = try await withStore { store, configuration in
                guard let user = try await store.user(email: address), user.disabledAt == nil else {
                    throw ValidationError("No enabled user has the address \(address).")
                }
                try await store.audit(actor: "cli", action: "user.link", subject: user.id)
                return try await Switchboard.signInLink(for: user, store: store, configuration: configuration, logger: makeLogger())
            }
            print(link)
        }
    }
}
