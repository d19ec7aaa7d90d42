import ArgumentParser
import Gateway
import RelayServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Relay gateway with a config file.")

    @Option(name: .long, help: "Path to the YAML or JSON config file.")
    var config = "config/relay.yaml"

    func run() throws {
        let settings = try loadRelayConfig(config)
        let logger = makeLogger(settings.server)
        let gateway: Gateway
        do {
            gateway = try Gateway(config: settings.gateway, loops: settings.server.effectiveLoops)
        } catch let error as ConfigError {
            throw ValidationError("config: \(error)")
        }
        try runServer(settings.server, logger: logger, makeApplication: { try gateway.makeLoop($0) },
                      beforeAccepting: { gateway.activate($0) },
                      announce: gateway.adminPort.map { "relay admin listening on http://\(settings.gateway.admin.host):\($0)" })
    }
}
