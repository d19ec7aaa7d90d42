import JSON
import Reactor

/// Publications through the server API, `POST /api/publish`, each request on its own TCP
/// connection (the admin listener answers one request per connection).
final class ServerAPITransport: PublicationTransport {
    private unowned let loop: EventLoop
    private let api: Endpoint
    private let apiKey: String
    private let requestTimeout: UInt64 = 10_000_000_000
    let capacity: Int

    init(loop: EventLoop, api: Endpoint, apiKey: String, concurrency: Int) {
        self.loop = loop
        self.api = api
        self.apiKey = apiKey
        capacity = concurrency
    }

    /// Every request opens its own connection: nothing to set up.
    func open(ready: @escaping () -> Void, failed: @escaping (String) -> Void) { ready() }

    func publish(channel: String, sequence: UInt64, sentAt: UInt64, answered: @escaping (PublishOutcome) -> Void) {
        var body = JSONWriter()
        body.beginObject()
        body.key("channel"); body.string(channel)
        body.key("data")
        PublicationPayload.writeJSON(into: &body, sentAt: sentAt, sequence: sequence)
        body.endObject()
        let request = HTTPExchange.post(api, path: "/api/publish", bearer: apiKey, json: body.bytes)
        do {
            _ = try HTTPExchange(loop: loop, endpoint: api, request: request, timeout: requestTimeout) { [api] outcome in
                switch outcome {
                case .response(200, _): answered(.accepted)
                case .response(let status, let body):
                    answered(.refused(kind: "publish_http_\(status)", message: "the server API refused the publication: HTTP \(status) \(body)"))
                case .failed(let kind, let message): answered(.refused(kind: "publish_\(kind)", message: "cannot publish through \(api): \(message)"))
                }
            }
        } catch {
            answered(.refused(kind: "publish_connect_\(ErrnoName.of(error.errno))", message: "cannot publish through \(api): \(error)"))
        }
    }
}
