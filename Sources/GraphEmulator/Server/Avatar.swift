/// A small SVG avatar with the customer's initials, so `profile_pic` points at something
/// real that the dashboard can download and store.
enum Avatar {
    static func svg(first: String, last: String, seed: String) -> String {
        let initials = (first.prefix(1) + last.prefix(1)).uppercased()
        let palette = ["#4F46E5", "#0EA5E9", "#10B981", "#F59E0B", "#EF4444", "#8B5CF6", "#EC4899", "#14B8A6"]
        let hash = seed.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        let color = palette[Int(hash % UInt32(palette.count))]
        let escaped = initials.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">\
            <rect width="128" height="128" rx="64" fill="\(color)"/>\
            <text x="64" y="64" dy=".35em" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" \
            font-size="52" fill="#fff">\(escaped)</text></svg>
            """
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
