import ArgumentParser

@main
struct Relay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "A realtime WebSocket gateway.",
        subcommands: [Serve.self, Echo.self, Token.self]
    )
}
