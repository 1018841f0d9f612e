import Crypto
import Foundation
import Messenger
import NIOCore

/// The dashboard's static files (HTML, CSS, ES modules, no build step), read once from the
/// target's resource bundle: SwiftPM copies `Dashboard/Assets` into
/// `switchboard_SwitchboardApp.resources` next to the binary, which is where an installed
/// binary finds it too (`docs/dashboard.md`). Files are kept in memory with a strong ETag.
struct DashboardAssets: Sendable {
    /// One file: its bytes, its type and its ETag (a hash of the bytes).
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    let files: [String: Asset]

    /// The bundled files by name (the directory is flat: names are the whole key).
    static func bundled() -> DashboardAssets {
        let bundle = Bundle.module
        guard let directory = bundle.url(forResource: "Assets", withExtension: nil) ?? bundle.resourceURL?.appendingPathComponent("Assets") else {
            return DashboardAssets(files: [:])
        }
        return load(directory: directory)
    }

    static func load(directory: URL) -> DashboardAssets {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var files: [String: Asset] = [:]
        for name in names where !name.hasPrefix(".") {
            guard let type = contentType(of: name), let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
            else { continue }
            let digest = Hex.lowercase(SHA256.hash(data: data).prefix(12))
            files[name] = Asset(body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(digest)\"")
        }
        return DashboardAssets(files: files)
    }

    static func contentType(of name: String) -> String? {
        switch name.split(separator: ".").last {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "json": "application/json"
        default: nil
        }
    }
}
