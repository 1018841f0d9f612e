import Foundation

/// What nodes say to each other over pub/sub: questions (which of your sockets match,
/// which rooms do you have), their answers, and commands for every node.
enum ClusterMessage: Sendable {
    struct Question: Codable, Sendable {
        var id: String
        var from: String
        var namespace: String
        var rooms: [String]
        var except: [String]
        var asksRooms: Bool
    }

    struct Answer: Codable, Sendable {
        var id: String
        var node: String
        var values: [String]
    }

    struct Command: Codable, Sendable {
        var name: String
        var argument: String
    }

    case question(Question)
    case answer(Answer)
    case command(Command)

    private struct Envelope: Codable {
        var question: Question?
        var answer: Answer?
        var command: Command?
    }

    var encoded: String {
        let envelope: Envelope
        switch self {
        case .question(let question): envelope = Envelope(question: question)
        case .answer(let answer): envelope = Envelope(answer: answer)
        case .command(let command): envelope = Envelope(command: command)
        }
        return String(decoding: (try? JSONEncoder().encode(envelope)) ?? Data("{}".utf8), as: UTF8.self)
    }

    init?(_ text: String) {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(text.utf8)) else { return nil }
        if let question = envelope.question {
            self = .question(question)
        } else if let answer = envelope.answer {
            self = .answer(answer)
        } else if let command = envelope.command {
            self = .command(command)
        } else {
            return nil
        }
    }
}
