import ArgumentParser
import Gateway
import Prometheus
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
            let registry = PrometheusCollectorRegistry()
            var metrics = PrometheusMetricsFactory(registry: registry)
            // Fan-out on one node takes microseconds to milliseconds, not the default's 5 ms to 10 s.
            metrics.durationHistogramBuckets[Gateway.fanOutMetric] = [
                .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
            ]
            gateway = try Gateway(config: settings.gateway, loops: settings.server.effectiveLoops, metrics: metrics) {
                var text: [UInt8] = []
                registry.emit(into: &text)
                return text
            }
        } catch let error as ConfigError {
            throw ValidationError("config: \(error)")
        }
        try runServer(settings.server, logger: logger, makeApplication: { try gateway.makeLoop($0) },
                      beforeAccepting: { gateway.activate($0) },
                      onHangup: { [config] server in gateway.reload(configPath: config, running: settings.server, logger: logger, transport: server) },
                      announce: ((gateway.adminPort.map { ["relay admin listening on http://\(settings.gateway.admin.host):\($0)"] } ?? [])
                          + ["relay engine: \(gateway.engineDescription)"] + gateway.devDescription).joined(separator: "\n"))
    }
}
