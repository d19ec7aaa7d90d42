import ArgumentParser
import Broker
import RelayServer

struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a plain WebSocket echo endpoint (conformance suites, load tests of the transport).",
        discussion: "Without --config: 127.0.0.1:9001, one loop, path /, messages up to 16 MiB. With --config, the file's transport settings apply, and any flag given overrides its setting. With --broadcast, every message goes to every connected client, its sender included, through the gateway's fan-out (the in-memory engine, no client protocol): the target of raw-frame broadcast benchmarks."
    )

    @Option(name: .long, help: "Config file for the transport settings (its gateway sections are checked, not used).")
    var config: String?
    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?
    @Option(name: .long, help: "TCP port; 0 picks a free one and prints it (default 9001).")
    var port: Int?
    @Option(name: .long, help: "Event loops; 0: one per core (default 1).")
    var loops: Int?
    @Option(name: .long, help: "Path that upgrades to WebSocket (default /).")
    var path: String?
    @Option(name: .long, help: "Largest message and frame accepted, in bytes (default 16 MiB).")
    var maxMessageSize: Int?
    @Flag(name: .long, help: "Send every message to every connected client, its sender included, instead of back to its sender.")
    var broadcast = false

    func run() throws {
        var settings: ServerConfig
        if let config {
            settings = try loadRelayConfig(config).server
        } else {
            settings = ServerConfig()
            settings.host = "127.0.0.1"
            settings.port = 9001
            settings.loops = 1
            settings.webSocketPath = "/"
            // A conformance and benchmark target: browsers' test pages may connect from anywhere.
            settings.allowedOrigins = ["*"]
            settings.drainTimeout = 0
            settings.maxMessageSize = 16 * 1024 * 1024
            settings.maxFrameSize = settings.maxMessageSize
        }
        if let host { settings.host = host }
        if let port { settings.port = port }
        if let loops { settings.loops = loops }
        if let path { settings.webSocketPath = path }
        if let maxMessageSize {
            settings.maxMessageSize = maxMessageSize
            settings.maxFrameSize = maxMessageSize
        }
        // Echo replies are as large as the requests: let a whole message be in flight each way.
        settings.maxOutboundBytes = max(settings.maxOutboundBytes, 2 * settings.maxMessageSize + 1024)
        let logger = makeLogger(settings)
        guard broadcast else {
            try runServer(settings, logger: logger) { _ in EchoApplication() }
            return
        }
        let engine = MemoryEngine(loops: settings.effectiveLoops, encoder: BroadcastFrames())
        try runServer(settings, logger: logger, makeApplication: { BroadcastApplication(broker: engine.makeMemoryBroker(on: $0)) },
                      beforeAccepting: { engine.activate($0) })
    }
}
