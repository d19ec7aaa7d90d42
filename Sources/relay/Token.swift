import ArgumentParser
import Auth
import Foundation
import Gateway
import RelayServer

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a development token (HS256) signed with the config's secret.",
        discussion: "For trying Relay without the main API. In production the API issues every token."
    )

    @Option(name: .long, help: "Config file whose first HS256 key signs the token.")
    var config = "config/relay.dev.yaml"
    @Option(name: .long, help: "The user id (the sub claim).")
    var user: String
    @Option(name: .long, help: "Comma-separated channels or prefix patterns (ending in *) the user may join (the channels claim).")
    var channels: String?
    @Option(name: .long, help: "Make a subscription token for this channel (the channel claim).")
    var channel: String?
    @Option(name: .long, help: "Public profile shown in presence, as a JSON object (the info claim).")
    var info: String?
    @Option(name: .long, help: "Seconds until the token expires.")
    var ttl = 3600

    func run() throws {
        let settings = try loadRelayConfig(config)
        let secret: [UInt8]
        do {
            secret = try Gateway.developmentSecret(settings.gateway.auth)
        } catch let error as ConfigError {
            throw ValidationError("config: \(error)")
        }
        let now = Int(Date().timeIntervalSince1970)
        var claims: [String: Any] = ["sub": user, "iat": now, "exp": now + ttl]
        if let channels { claims["channels"] = channels.split(separator: ",").map(String.init) }
        if let channel { claims["channel"] = channel }
        if let info {
            guard let object = try? JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any] else {
                throw ValidationError("--info must be a JSON object")
            }
            claims["info"] = object
        }
        print(try DevelopmentToken.mint(claims: claims, secret: secret))
    }
}
