import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import SwitchboardApp

@Suite("Dashboard files")
struct DashboardRouteTests {
    @Test("the shell, the sign-in page and the assets: types, CSP, ETag and 304; nothing else")
    func servesTheBundledFiles() async throws {
        try await TestApp.with(.sqlite) { _, client in
            for (uri, type) in [
                ("/", "text/html; charset=utf-8"), ("/sign-in", "text/html; charset=utf-8"),
                ("/assets/app.js", "text/javascript; charset=utf-8"), ("/assets/socketio.js", "text/javascript; charset=utf-8"),
                ("/assets/app.css", "text/css; charset=utf-8"),
            ] {
                let answer = try await client.execute(uri: uri, method: .get)
                #expect(answer.status == .ok, "\(uri)")
                #expect(answer.headers[.contentType] == type, "\(uri)")
                let csp = try #require(answer.headers[.contentSecurityPolicy])
                #expect(csp.contains("script-src 'self';") && csp.contains("connect-src 'self';") && !csp.contains("unsafe-inline"))
                #expect(answer.headers[.xContentTypeOptions] == "nosniff")
                let etag = try #require(answer.headers[.eTag])
                let again = try await client.execute(uri: uri, method: .get, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified, "\(uri)")
                #expect(again.body.readableBytes == 0)
            }
            let shell = try await client.execute(uri: "/", method: .get)
            let html = String(buffer: shell.body)
            #expect(html.contains("<script type=\"module\" src=\"/assets/app.js\"></script>"))
            #expect(!html.contains("<script>") && !html.contains("style="), "no inline script or style")
            for missing in ["/assets/nope.js", "/assets/..%2FPackage.swift", "/assets/DashboardRoutes.swift"] {
                #expect(try await client.execute(uri: missing, method: .get).status == .notFound, "\(missing)")
            }
        }
    }

    @Test("no module sets innerHTML or uses eval: user content goes in as text")
    func noHTMLSinks() throws {
        let assets = DashboardAssets.bundled()
        #expect(assets.files.keys.contains("index.html") && assets.files.keys.contains("thread.js"))
        for (name, asset) in assets.files where name.hasSuffix(".js") || name.hasSuffix(".html") {
            let text = String(buffer: asset.body)
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
                #expect(!text.contains(sink), "\(name) uses \(sink)")
            }
        }
    }
}
