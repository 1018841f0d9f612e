import HTTPTypes
import Hummingbird
import NIOCore

/// The server-rendered pages of signing in: the link's confirmation (a button, so mail
/// scanners that open links do not use them up) and the page for a used or expired link.
/// Their referrer policy is `same-origin`, not `no-referrer`: with `no-referrer` browsers
/// send `Origin: null` on the form's POST, which the origin check refuses.
/// The sign-in form itself is the dashboard's (`Dashboard/Assets/sign-in.html`).
enum AccountPages {
    static func confirm(token: String, email: String) -> Response {
        page(
            .ok,
            title: "Sign in to Switchboard",
            body: """
                <h1>Sign in to Switchboard</h1>
                <p>Signing in as <strong>\(HTML.escape(email))</strong>.</p>
                <form method="post" action="/auth/verify">
                  <input type="hidden" name="token" value="\(HTML.escape(token))">
                  <button type="submit" autofocus>Sign in</button>
                </form>
                """
        )
    }

    static var linkUnusable: Response {
        page(
            .gone,
            title: "This sign-in link cannot be used",
            body: """
                <h1>This sign-in link cannot be used</h1>
                <p>It was used already, it expired (links last 15 minutes), or it is not one we sent.</p>
                <p><a href="/sign-in">Ask for a new link</a></p>
                """
        )
    }

    private static func page(_ status: HTTPResponse.Status, title: String, body: String) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <meta name="referrer" content="same-origin"><title>\(HTML.escape(title))</title>
            <style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
            button{font:inherit;padding:.5rem 1.2rem;border:0;border-radius:6px;background:#2563eb;color:#fff;cursor:pointer}
            input{font:inherit;padding:.45rem;width:100%;box-sizing:border-box;margin:.3rem 0 .8rem}</style></head>
            <body>\(body)</body></html>
            """
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .referrerPolicy: "same-origin"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
