/// What a chat user sends besides its setup (docs/PROTOCOL.md): a message, a typing indicator,
/// a look at who is in the conversation, whether its peers are online.
enum ChatCommand {
    enum Kind: String, CaseIterable {
        case publish, typing, presence, online
    }

    /// The message's data is its send time and sequence, as a fan-out publication's, under an
    /// idempotency key.
    case publish(channel: String, ChatOutbox.Message, key: String)
    case typing(channel: String)
    case presence(channel: String)
    case online(users: [String])

    var kind: Kind {
        switch self {
        case .publish: return .publish
        case .typing: return .typing
        case .presence: return .presence
        case .online: return .online
        }
    }

    func frame(id: Int64) -> [UInt8] {
        RelaySession.command(id: id, kind.rawValue) { writer in
            switch self {
            case .publish(let channel, let message, let key):
                writer.key("channel"); writer.string(channel)
                writer.key("data")
                PublicationPayload.writeJSON(into: &writer, sentAt: message.sentAt, sequence: message.sequence)
                writer.key("key"); writer.string(key)
            case .typing(let channel):
                writer.key("channel"); writer.string(channel)
                writer.key("state"); writer.string("start")
            case .presence(let channel):
                writer.key("channel"); writer.string(channel)
            case .online(let users):
                writer.key("users")
                writer.beginArray()
                for user in users { writer.string(user) }
                writer.endArray()
            }
        }
    }
}
