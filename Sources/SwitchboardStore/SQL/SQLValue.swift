/// A value bound into or read out of SQL, the common ground of SQLite and PostgreSQL:
/// integers (times are milliseconds), text, bytes, and null.
public enum SQLValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case bytes([UInt8])

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(nilLiteral: ()) { self = .null }

    public init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
    public init(_ value: Int64?) { self = value.map(SQLValue.int) ?? .null }
    public init(_ value: Int?) { self = value.map { .int(Int64($0)) } ?? .null }
    public init(_ value: Bool) { self = .int(value ? 1 : 0) }

    public var int: Int64? {
        switch self {
        case .int(let v): v
        case .double(let d): Int64(d)
        case .text(let s): Int64(s)
        case .null, .bytes: nil
        }
    }

    public var string: String? {
        switch self {
        case .text(let s): s
        case .int(let v): String(v)
        case .double(let d): String(d)
        case .bytes(let b): String(decoding: b, as: UTF8.self)
        case .null: nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .bytes(let b): b
        case .text(let s): Array(s.utf8)
        case .null, .int, .double: nil
        }
    }

    public var isNull: Bool { self == .null }
}

/// One result row; columns are looked up by the name the query gave them.
public struct SQLRow: Sendable {
    public var columns: [String]
    public var values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ name: String) -> SQLValue {
        guard let index = columns.firstIndex(of: name) else { return .null }
        return values[index]
    }

    public func int(_ name: String) -> Int64? { self[name].int }
    public func string(_ name: String) -> String? { self[name].string }
}
