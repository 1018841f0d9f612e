import Foundation
public import Hummingbird
import Logging
import NIOCore
public import SwitchboardCore

/// An error answered as `{"error":{"code","message"}}` with its HTTP status
/// (`shared/design/api.md`). This is the only place codes meet statuses.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let body = try JSONEncoder().encode(["error": ["code": code, "message": message]])
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Array(body))))
    }

    /// The HTTP face of a domain error.
    public init(_ error: SwitchboardError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .notFound, .conversationNotFound: .notFound
            case .invalidArgument: .badRequest
            case .unauthorized: .unauthorized
            case .conflict: .conflict
            case .storageUnavailable, .migrationsPending, .migrationsAhead: .serviceUnavailable
            default: .internalServerError
            }
        self.init(status, error.code.rawValue.replacingOccurrences(of: ".", with: "_"), error.message)
    }
}

/// Turns every error a route throws into the API's JSON error shape, logging each once:
/// client mistakes at `notice`, server faults at `error`.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            log(error, request, context)
            return try error.response(from: request, context: context)
        } catch let error as SwitchboardError {
            let api = APIError(error)
            log(api, request, context)
            return try api.response(from: request, context: context)
        } catch let error as HTTPError {
            let api = APIError(error.status, Self.code(for: error.status), error.body ?? error.status.reasonPhrase)
            log(api, request, context)
            return try api.response(from: request, context: context)
        } catch is DecodingError {
            let api = APIError(.badRequest, "invalid_json", "The request body is not the JSON this route expects.")
            log(api, request, context)
            return try api.response(from: request, context: context)
        } catch {
            let api = APIError(.internalServerError, "internal_error", "Something went wrong on our side; it has been logged.")
            context.logger.error("unhandled error", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try api.response(from: request, context: context)
        }
    }

    private func log(_ error: APIError, _ request: Request, _ context: Context) {
        context.logger.log(
            level: error.status.code >= 500 ? .error : .notice,
            "request refused",
            metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(error.status.code)", "code": "\(error.code)"]
        )
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 413: "payload_too_large"
        case 400: "bad_request"
        case 401: "unauthorized"
        default: status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
        }
    }
}
