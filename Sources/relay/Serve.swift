import ArgumentParser
import RelayServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run Relay with a config file.")

    @Option(name: .long, help: "Path to the YAML or JSON config file (defaults apply when omitted).")
    var config: String?

    func run() throws {
        let settings = try loadConfig(config)
        let logger = makeLogger(level: settings.logLevel)
        // The gateway application arrives with the client protocol; until then the transport echoes.
        try runServer(settings, logger: logger) { _ in EchoApplication() }
    }
}
