import Broker
import JSON

/// A message on one of Relay's pub/sub channels, version 1: JSON with `"v": 1` and a `type`.
/// docs/REDIS.md documents every field; the main API publishes `pub` envelopes itself (plain
/// `PUBLISH` for fire-and-forget events) and `disconnect` / `unsubscribe` on the control channel.
enum Envelope: Equatable {
    /// A publication: `offset` and `epoch` are set when it went through `relay_publish` (and so
    /// has a place in the channel's stream); `data` is the raw JSON of the payload.
    case publication(offset: UInt64?, epoch: String?, user: String?, data: [UInt8])
    /// `member` (`<node>/<connection>`) is the connection that joined, which does not get it.
    case join(user: String, info: String?, member: String?)
    case leave(user: String)
    case status(online: Bool)
    /// A frame for a channel's subscribers that is not stored (typing): the push's JSON, and who
    /// sent it (a node and one of its connections), who does not get it back.
    case ephemeral(node: String, sender: UInt64, push: [UInt8])
    case control(ControlCommand)

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let version = 1

    static func decode(_ bytes: [UInt8]) throws -> Envelope {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw Invalid("not JSON: \(error)")
        }
        guard root.object != nil else { throw Invalid("not a JSON object") }
        guard root["v"]?.int64 == Int64(version) else { throw Invalid("\"v\" must be \(version)") }
        guard let type = root["type"]?.string else { throw Invalid("no \"type\"") }
        func raw(_ value: JSONValue) -> [UInt8] { Array(bytes[value.range]) }
        func user() throws -> String {
            guard let user = root["user"]?.string, !user.isEmpty else { throw Invalid("\(type): no \"user\"") }
            return user
        }
        switch type {
        case "pub":
            guard let data = root["data"] else { throw Invalid("pub: no \"data\"") }
            var offset: UInt64?
            if let value = root["offset"] {
                guard let number = value.int64, number > 0 else { throw Invalid("pub: \"offset\" must be a positive integer") }
                offset = UInt64(number)
            }
            let epoch = root["epoch"]?.string
            guard (offset == nil) == (epoch == nil) else { throw Invalid("pub: \"offset\" and \"epoch\" go together") }
            return .publication(offset: offset, epoch: epoch, user: root["user"]?.string, data: raw(data))
        case "join":
            return .join(user: try user(), info: root["info"].map { String(decoding: raw($0), as: UTF8.self) }, member: root["member"]?.string)
        case "leave":
            return .leave(user: try user())
        case "status":
            guard let online = root["online"]?.bool else { throw Invalid("status: no \"online\"") }
            return .status(online: online)
        case "ephemeral":
            guard let node = root["node"]?.string, let sender = root["sender"]?.int64, let push = root["push"], push.object != nil else {
                throw Invalid("ephemeral: needs \"node\", \"sender\" and a \"push\" object")
            }
            return .ephemeral(node: node, sender: UInt64(bitPattern: sender), push: raw(push))
        case "disconnect":
            var after: Int?
            if let value = root["reconnect_after_ms"] {
                guard let number = value.int64, (0...3_600_000).contains(number) else {
                    throw Invalid("disconnect: \"reconnect_after_ms\" must be 0 to 3600000")
                }
                after = Int(number)
            }
            return .control(.disconnect(user: try user(), reason: root["reason"]?.string ?? "disconnected_by_server", reconnectAfter: after))
        case "unsubscribe":
            guard let channel = root["channel"]?.string else { throw Invalid("unsubscribe: no \"channel\"") }
            return .control(.unsubscribe(user: try user(), channel: channel))
        default:
            throw Invalid("unknown type \(type)")
        }
    }

    /// The JSON of the envelopes Relay itself publishes outside the Redis functions.
    func encoded() -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("v"); writer.int(Int64(Self.version))
        switch self {
        case .ephemeral(let node, let sender, let push):
            writer.key("type"); writer.string("ephemeral")
            writer.key("node"); writer.string(node)
            writer.key("sender"); writer.int(Int64(bitPattern: sender))
            writer.key("push"); push.withUnsafeBytes { writer.raw($0) }
        case .control(.disconnect(let user, let reason, let after)):
            writer.key("type"); writer.string("disconnect")
            writer.key("user"); writer.string(user)
            writer.key("reason"); writer.string(reason)
            if let after { writer.key("reconnect_after_ms"); writer.int(Int64(after)) }
        case .control(.unsubscribe(let user, let channel)):
            writer.key("type"); writer.string("unsubscribe")
            writer.key("user"); writer.string(user)
            writer.key("channel"); writer.string(channel)
        case .publication, .join, .leave, .status:
            preconditionFailure("the Redis functions publish these")
        }
        writer.endObject()
        return writer.bytes
    }
}
