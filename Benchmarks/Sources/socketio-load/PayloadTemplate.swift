/// A JSON text with placeholders, filled per emit: `$NOW` (wall-clock milliseconds since
/// the epoch, with fractions), `$SEQ` (the emit's sequence number), `$ROOM` (the client's
/// room from `--rooms`) and `$CLIENT` (the client's index). Split once, so filling is cheap.
struct PayloadTemplate: Sendable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case now, sequence, room, client
    }

    let parts: [Part]

    init(_ text: String) {
        let names: [(String, Part)] = [("$NOW", .now), ("$SEQ", .sequence), ("$ROOM", .room), ("$CLIENT", .client)]
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        outer: while let first = rest.first {
            if first == "$" {
                for (name, part) in names where rest.hasPrefix(name) {
                    if !literal.isEmpty { parts.append(.literal(literal)) }
                    literal = ""
                    parts.append(part)
                    rest = rest.dropFirst(name.count)
                    continue outer
                }
            }
            literal.append(first)
            rest = rest.dropFirst()
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    func fill(now: Double, sequence: Int, room: String, client: Int) -> String {
        var text = ""
        for part in parts {
            switch part {
            case .literal(let literal): text += literal
            case .now: text += String(now)
            case .sequence: text += String(sequence)
            case .room: text += room
            case .client: text += String(client)
            }
        }
        return text
    }
}
