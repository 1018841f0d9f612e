/// One line of JSON with keys in the order they were added (scripts read it, people too).
struct LoadReport {
    private var fields: [(String, String)] = []

    mutating func add(_ key: String, _ value: Int) { fields.append((key, String(value))) }

    mutating func add(_ key: String, _ value: Double?, digits: Int = 2) {
        guard let value, value.isFinite else {
            fields.append((key, "null"))
            return
        }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        fields.append((key, rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)))
    }

    mutating func add(_ key: String, _ value: String) { fields.append((key, quoted(value))) }

    mutating func add(_ key: String, _ counts: [String: Int]) {
        let body = counts.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\($0.value)" }.joined(separator: ",")
        fields.append((key, "{\(body)}"))
    }

    /// A count, its rate over `seconds`, and the p50, p99 and max of its latencies (ms).
    mutating func add(_ name: String, count: Int, over seconds: Double, latencies: [Double]) {
        let percentiles = Percentiles(latencies)
        add(name, count)
        add(name + "_per_s", Double(count) / seconds, digits: 0)
        add("p50_ms", percentiles.at(0.5))
        add("p99_ms", percentiles.at(0.99))
        add("max_ms", percentiles.max)
    }

    var json: String { "{" + fields.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}" }

    private func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Nearest-rank percentiles of a sample, in its units.
struct Percentiles {
    private let sorted: [Double]

    init(_ values: [Double]) { sorted = values.sorted() }

    func at(_ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        return sorted[min(sorted.count - 1, Int((fraction * Double(sorted.count - 1)).rounded()))]
    }

    var max: Double? { sorted.last }
}
