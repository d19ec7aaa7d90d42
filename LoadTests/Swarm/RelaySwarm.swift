import ArgumentParser

@main
struct RelaySwarm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-swarm",
        abstract: "Load Relay (or any RFC 6455 server) from many client connections on this machine.",
        discussion: """
        Each scenario is bounded in connections and time, prints a progress line every second and a \
        report on stderr, and one JSON object as the last line on stdout. Setup failures (connection \
        refused, TLS handshake failed, upgrade refused, token refused) end the run with a message and \
        exit status 1.
        """,
        subcommands: [Fanout.self, Storm.self, Chat.self, Echo.self, Idle.self, Connect.self]
    )
}
