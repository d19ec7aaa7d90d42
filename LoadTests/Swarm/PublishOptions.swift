import ArgumentParser
import Reactor

/// How the coordinator publishes: the server API it goes through (the admin listener and its
/// key), and how many publications may be unanswered at once.
struct PublishOptions: ParsableArguments {
    @Option(help: "The admin listener, http://HOST:PORT, where /api/publish is (fanout with --publish-via api, storm, chat).")
    var apiUrl: String?
    @Option(help: "The server API key (fanout with --publish-via api, storm, chat).")
    var apiKey: String?
    @Option(help: "Publications unanswered at once (the server API takes one request per connection).")
    var publishConcurrency = 8

    func validate() throws {
        guard publishConcurrency >= 1 else { throw ValidationError("--publish-concurrency must be positive") }
    }

    var viaServerAPI: Bool { apiUrl != nil && apiKey != nil }

    func serverAPI(loop: EventLoop) throws -> ServerAPITransport {
        guard let apiUrl, let apiKey else { throw ValidationError("give the server API with --api-url and --api-key") }
        return ServerAPITransport(loop: loop, api: try Endpoint(parsing: apiUrl, scheme: "http"), apiKey: apiKey,
                                  concurrency: publishConcurrency)
    }
}
