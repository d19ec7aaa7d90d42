import Auth
import Glibc
import JSON

/// relay.v1 from a subscriber's side (docs/PROTOCOL.md): `connect` with a token minted for user
/// `swarm-N`, then, when channels are given, `subscribe` to channel N modulo their
/// number. Both commands go at once (the gateway answers in order), and the replies confirm them.
struct RelaySession {
    static let subprotocol = "relay.v1"
    let signer: TokenSigner
    let channels: [String]

    /// Replies a connection waits for before it counts as set up.
    var replyCount: Int { channels.isEmpty ? 1 : 2 }

    func commands(forUser number: Int) throws -> [[UInt8]] {
        let token = try signer.sign(claims: ["sub": "swarm-\(number)", "exp": time(nil) + 3600])
        var commands = [Self.command(id: 1, "connect") { $0.key("token"); $0.string(token) }]
        if !channels.isEmpty {
            let channel = channels[number % channels.count]
            commands.append(Self.command(id: 2, "subscribe") { $0.key("channel"); $0.string(channel) })
        }
        return commands
    }

    /// One relay.v1 command, `{"id": ID, "cmd": NAME, ...fields}`.
    static func command(id: Int64, _ name: String, _ fields: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("id"); writer.int(id)
        writer.key("cmd"); writer.string(name)
        fields(&writer)
        writer.endObject()
        return writer.bytes
    }

    enum Reply {
        case confirmed
        case refused(kind: String, message: String)
        /// A push, or anything that answers no command of ours.
        case other
    }

    /// Reads what arrived while the setup replies are awaited.
    static func reply(_ payload: UnsafeRawBufferPointer) -> Reply {
        guard let message = try? JSONParser.parse(payload), message["push"] == nil else { return .other }
        if message["result"] != nil { return .confirmed }
        guard let error = message["error"] else { return .other }
        let code = error["code"]?.string ?? "unknown"
        let reason = error["message"]?.string ?? ""
        let command = message["id"]?.int64 == 1 ? "connect" : message["id"]?.int64 == 2 ? "subscribe" : "command"
        return .refused(kind: "relay_\(command)_\(code)", message: "the \(command) command was refused: \(code)\(reason.isEmpty ? "" : " (\(reason))")")
    }
}
