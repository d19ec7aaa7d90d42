import Auth
import Glibc
import JSON

/// relay.v1 from a subscriber's side (docs/PROTOCOL.md): `connect` with a token minted for user
/// `swarm-N`, then, when channels are given, `subscribe` to channel N modulo their number, from a
/// position when reconnecting. Both commands go at once (the gateway answers in order), and the
/// replies confirm them.
struct RelaySession {
    static let subprotocol = "relay.v1"
    private static let connectID: Int64 = 1
    private static let subscribeID: Int64 = 2
    let signer: TokenSigner
    let channels: [String]

    /// A subscriber's place in its channel: the offset of the last publication it has and the
    /// channel's epoch, what `since` gives when it subscribes again.
    struct Position {
        var offset: UInt64
        var epoch: String
    }

    /// Replies a connection waits for before it counts as set up.
    var replyCount: Int { channels.isEmpty ? 1 : 2 }

    /// User `swarm-N`'s token, valid for an hour: a reconnection offers it again.
    func token(forUser number: Int) throws -> String {
        try signer.sign(claims: ["sub": "swarm-\(number)", "exp": time(nil) + 3600])
    }

    /// `connect` with `token`, then `subscribe`; with `since`, the gateway replays the
    /// publications after it before any live one.
    func commands(forUser number: Int, token: String, since: Position?) -> [[UInt8]] {
        var commands = [Self.command(id: Self.connectID, "connect") { $0.key("token"); $0.string(token) }]
        if !channels.isEmpty {
            let channel = channels[number % channels.count]
            commands.append(Self.command(id: Self.subscribeID, "subscribe") { writer in
                writer.key("channel"); writer.string(channel)
                guard let since else { return }
                writer.key("since")
                writer.beginObject()
                writer.key("offset"); writer.int(Int64(since.offset))
                writer.key("epoch"); writer.string(since.epoch)
                writer.endObject()
            })
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
        /// The subscribe reply: the channel's position now, and, when `since` was given, whether
        /// every publication after it is replayed (`recovered`; nil without `since`).
        case subscribed(Position, recovered: Bool?)
        case refused(kind: String, message: String)
        /// A push, or anything that answers no command of ours.
        case other
    }

    /// Reads what arrived while the setup replies are awaited.
    static func reply(_ payload: UnsafeRawBufferPointer) -> Reply {
        guard let message = try? JSONParser.parse(payload), message["push"] == nil else { return .other }
        let id = message["id"]?.int64
        if let result = message["result"] {
            guard id == subscribeID, let offset = result["offset"]?.int64, let epoch = result["epoch"]?.string else { return .confirmed }
            return .subscribed(Position(offset: UInt64(max(0, offset)), epoch: epoch), recovered: result["recovered"]?.bool)
        }
        guard let error = message["error"] else { return .other }
        let code = error["code"]?.string ?? "unknown"
        let reason = error["message"]?.string ?? ""
        let command = id == connectID ? "connect" : id == subscribeID ? "subscribe" : "command"
        return .refused(kind: "relay_\(command)_\(code)", message: "the \(command) command was refused: \(code)\(reason.isEmpty ? "" : " (\(reason))")")
    }
}
