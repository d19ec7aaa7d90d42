import Auth
import Glibc
import JSON

/// relay.v1 from a subscriber's side (docs/PROTOCOL.md): `connect` with a token minted for user
/// `swarm-N`, then `subscribe` to each of the user's channels, from a position in each when
/// reconnecting. The commands go at once (the gateway answers them in order), and the replies
/// confirm them.
struct RelaySession {
    static let subprotocol = "relay.v1"
    private static let connectID: Int64 = 1
    /// The subscribes take the ids after connect's, in the order of the user's channels.
    private static let firstSubscribeID: Int64 = 2
    let signer: TokenSigner
    /// The channels user N subscribes to, in order.
    let channels: (Int) -> [String]
    /// The channels user N's token grants in its `channels` claim, for namespaces whose
    /// subscribe rule is `claim` (chat's conversations); nil: no such claim.
    let granted: ((Int) -> [String])?

    init(signer: TokenSigner, channels: @escaping (Int) -> [String], granted: ((Int) -> [String])?) {
        self.signer = signer
        self.channels = channels
        self.granted = granted
    }

    /// User N subscribes to one of `channels`, N modulo their number (none when empty).
    init(signer: TokenSigner, channels: [String]) {
        self.init(signer: signer, channels: { channels.isEmpty ? [] : [channels[$0 % channels.count]] }, granted: nil)
    }

    /// A subscriber's place in a channel: the offset of the last publication it has and the
    /// channel's epoch, what `since` gives when it subscribes again.
    struct Position {
        var offset: UInt64
        var epoch: String
    }

    /// Replies user N's connection waits for before it counts as set up.
    func replyCount(forUser number: Int) -> Int { 1 + channels(number).count }

    /// User `swarm-N`'s token, valid for an hour: a reconnection offers it again.
    func token(forUser number: Int) throws -> String {
        var claims: [String: Any] = ["sub": "swarm-\(number)", "exp": time(nil) + 3600]
        if let granted { claims["channels"] = granted(number) }
        return try signer.sign(claims: claims)
    }

    /// `connect` with `token`, then a `subscribe` to each channel; with `since` (a position per
    /// channel), the gateway replays the publications after it before any live one.
    func commands(forUser number: Int, token: String, since: [Position]?) -> [[UInt8]] {
        var commands = [Self.command(id: Self.connectID, "connect") { $0.key("token"); $0.string(token) }]
        for (index, channel) in channels(number).enumerated() {
            commands.append(Self.command(id: Self.firstSubscribeID + Int64(index), "subscribe") { writer in
                writer.key("channel"); writer.string(channel)
                guard let since = since?[index] else { return }
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
        /// The subscribe reply for the user's channel at `index`: the channel's position now,
        /// and, when `since` was given, whether every publication after it is replayed
        /// (`recovered`; nil without `since`).
        case subscribed(index: Int, Position, recovered: Bool?)
        case refused(kind: String, message: String)
        /// A push, or anything that answers no command of ours.
        case other
    }

    /// Reads what arrived while the setup replies are awaited.
    static func reply(_ payload: UnsafeRawBufferPointer) -> Reply {
        guard let message = try? JSONParser.parse(payload), message["push"] == nil else { return .other }
        let id = message["id"]?.int64
        if let result = message["result"] {
            guard let id, id >= firstSubscribeID, let offset = result["offset"]?.int64, let epoch = result["epoch"]?.string else {
                return .confirmed
            }
            return .subscribed(index: Int(id - firstSubscribeID), Position(offset: UInt64(max(0, offset)), epoch: epoch),
                               recovered: result["recovered"]?.bool)
        }
        guard let error = message["error"] else { return .other }
        let code = error["code"]?.string ?? "unknown"
        let reason = error["message"]?.string ?? ""
        let command = id == connectID ? "connect" : (id ?? 0) >= firstSubscribeID ? "subscribe" : "command"
        return .refused(kind: "relay_\(command)_\(code)", message: "the \(command) command was refused: \(code)\(reason.isEmpty ? "" : " (\(reason))")")
    }
}
