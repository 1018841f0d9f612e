import Foundation
import Messenger

/// The webhook payload corpus in `Tests/Fixtures/webhooks` (shared with the Messenger tests).
enum Corpus {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/webhooks")

    static func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
    }

    static func body(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Bodies that decode as a Messenger batch (the rest are the malformed ones).
    static func decodable() throws -> [(String, [UInt8])] {
        try names().compactMap { name in
            let body = try body(name)
            return (try? WebhookBatch.decode(body)) != nil ? (name, body) : nil
        }
    }

    static func undecodable() throws -> [(String, [UInt8])] {
        try names().compactMap { name in
            let body = try body(name)
            return (try? WebhookBatch.decode(body)) == nil ? (name, body) : nil
        }
    }
}

/// Builds webhook bodies in Meta's shape.
enum Webhook {
    static let page = "100200300400500"

    static func message(psid: String, mid: String, text: String, timestamp: Int64, page: String = page) -> String {
        #"{"sender":{"id":"\#(psid)"},"recipient":{"id":"\#(page)"},"timestamp":\#(timestamp),"message":{"mid":"\#(mid)","text":"\#(text)"}}"#
    }

    /// A message the Page sent from another app (Meta's inbox): stored as sent, no metadata.
    static func echo(psid: String, mid: String, text: String, timestamp: Int64, page: String = page) -> String {
        #"{"sender":{"id":"\#(page)"},"recipient":{"id":"\#(psid)"},"timestamp":\#(timestamp),"message":{"is_echo":true,"app_id":263902037430900,"mid":"\#(mid)","text":"\#(text)"}}"#
    }

    static func delivery(psid: String, watermark: Int64, mids: [String], page: String = page) -> String {
        let listed = mids.map { "\"\($0)\"" }.joined(separator: ",")
        return
            #"{"sender":{"id":"\#(psid)"},"recipient":{"id":"\#(page)"},"timestamp":\#(watermark + 1),"delivery":{"mids":[\#(listed)],"watermark":\#(watermark)}}"#
    }

    static func body(_ events: [String], page: String = page) -> [UInt8] {
        Array(#"{"object":"page","entry":[{"id":"\#(page)","time":1800000000000,"messaging":[\#(events.joined(separator: ","))]}]}"#.utf8)
    }
}

/// A deterministic random source, so shuffles are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
