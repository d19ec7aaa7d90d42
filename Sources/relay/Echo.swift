import ArgumentParser
import RelayServer

struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a plain WebSocket echo endpoint (conformance suites, load tests of the transport)."
    )

    @Option(name: .long, help: "Config file for the settings not given here.")
    var config: String?
    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"
    @Option(name: .long, help: "TCP port (0 picks a free one and prints it).")
    var port = 9001
    @Option(name: .long, help: "Event loops (0: one per core).")
    var loops = 1
    @Option(name: .long, help: "Path that upgrades to WebSocket.")
    var path = "/"
    @Option(name: .long, help: "Largest message (and frame) accepted, in bytes.")
    var maxMessageSize = 16 * 1024 * 1024

    func run() throws {
        var settings = try loadConfig(config)
        settings.host = host
        settings.port = port
        settings.loops = loops
        settings.webSocketPath = path
        settings.maxMessageSize = maxMessageSize
        settings.maxFrameSize = maxMessageSize
        settings.maxOutboundBytes = max(settings.maxOutboundBytes, 2 * maxMessageSize + 1024)
        let logger = makeLogger(level: settings.logLevel)
        try runServer(settings, logger: logger) { _ in EchoApplication() }
    }
}
