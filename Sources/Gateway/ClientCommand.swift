import Broker
import JSON

/// A command as a client sent it (docs/PROTOCOL.md). Parsing checks shape and types only;
/// permissions and limits are the gateway's business.
enum ClientCommand {
    case connect(token: String)
    case subscribe(channel: String, token: String?, since: StreamPosition?)
    case unsubscribe(channel: String)
    /// `data` is the byte range of the data value in the frame: forwarded as is.
    case publish(channel: String, data: Range<Int>, key: String?)
    case presence(channel: String)
    case history(channel: String, limit: Int?, before: UInt64?)
    case refresh(token: String)
    case typing(channel: String, started: Bool)
    case online(users: [String], watch: Bool)
    case ping

    /// A parsed frame: the command, and the id to echo.
    struct Envelope {
        let id: CommandID
        let command: ClientCommand
    }

    /// Why a frame is not a command; `id.json` is set when the frame had a usable id.
    struct Failure: Error {
        let id: CommandID
        let error: ProtocolError
        let message: String
    }

    static func parse(_ frame: UnsafeRawBufferPointer) -> Result<Envelope, Failure> {
        let root: JSONValue
        do {
            root = try JSONParser.parse(frame)
        } catch {
            return .failure(Failure(id: CommandID(json: nil, kind: .invalid), error: .badRequest, message: "not JSON: \(error)"))
        }
        let name = root["cmd"]?.string
        let kind = name.flatMap(CommandKind.init(name:)) ?? .invalid
        guard root.object != nil else {
            return .failure(Failure(id: CommandID(json: nil, kind: kind), error: .badRequest, message: "a command is a JSON object"))
        }
        guard let idValue = root["id"], idValue.int64 != nil || idValue.string != nil else {
            return .failure(Failure(id: CommandID(json: nil, kind: kind), error: .badRequest,
                                    message: "every command needs an id (an integer or a string)"))
        }
        let id = CommandID(json: Array(UnsafeRawBufferPointer(rebasing: frame[idValue.range])), kind: kind)
        func fail(_ message: String, _ error: ProtocolError = .badRequest) -> Result<Envelope, Failure> {
            .failure(Failure(id: id, error: error, message: message))
        }
        guard let name else { return fail("missing cmd") }
        let reader = FieldReader(root: root)
        let command: ClientCommand
        do {
            switch name {
            case "connect": command = .connect(token: try reader.string("token"))
            case "subscribe":
                var since: StreamPosition?
                if let position = root["since"], !position.isNull {
                    guard let offset = position["offset"]?.int64, offset >= 0, let epoch = position["epoch"]?.string else {
                        return fail("since must be {\"offset\": integer, \"epoch\": string}")
                    }
                    since = StreamPosition(offset: UInt64(offset), epoch: epoch)
                }
                command = .subscribe(channel: try reader.string("channel"), token: try reader.optionalString("token"), since: since)
            case "unsubscribe": command = .unsubscribe(channel: try reader.string("channel"))
            case "publish":
                guard let data = root["data"] else { return fail("missing data") }
                let key = try reader.optionalString("key")
                if let key, key.utf8.count > PublishRequest.maxKeyBytes { return fail("key must be at most \(PublishRequest.maxKeyBytes) bytes") }
                command = .publish(channel: try reader.string("channel"), data: data.range, key: key)
            case "presence": command = .presence(channel: try reader.string("channel"))
            case "history":
                let limit = try reader.optionalInt("limit")
                let before = try reader.optionalInt("before")
                if let limit, limit < 1 { return fail("limit must be at least 1") }
                if let before, before < 1 { return fail("before must be at least 1") }
                command = .history(channel: try reader.string("channel"), limit: limit.map(Int.init), before: before.map(UInt64.init))
            case "refresh": command = .refresh(token: try reader.string("token"))
            case "online":
                guard let list = root["users"]?.array, !list.isEmpty else { return fail("users must be a non-empty list of user ids") }
                let users = list.compactMap(\.string)
                guard users.count == list.count else { return fail("users must be strings") }
                let watch = root["watch"]?.bool ?? false
                if let value = root["watch"], !value.isNull, value.bool == nil { return fail("watch must be true or false") }
                command = .online(users: users, watch: watch)
            case "typing":
                let state = try reader.string("state")
                guard state == "start" || state == "stop" else { return fail("state must be start or stop") }
                command = .typing(channel: try reader.string("channel"), started: state == "start")
            case "ping": command = .ping
            default: return fail("unknown command \(name.prefix(32))", .unknownCommand)
            }
        } catch let error as FieldReader.Missing {
            return fail(error.message)
        } catch {
            return fail("\(error)")
        }
        return .success(Envelope(id: id, command: command))
    }
}

/// The commands, for counting replies (`invalid`: no known `cmd`). Integer raw values index the
/// reply counters directly: counting a reply hashes nothing.
enum CommandKind: Int, CaseIterable {
    case connect, subscribe, unsubscribe, publish, presence, history, refresh, typing, online, ping, invalid

    var name: String { "\(self)" }

    private static let byName = Dictionary(uniqueKeysWithValues: allCases.map { ($0.name, $0) })

    init?(name: String) {
        guard let kind = Self.byName[name] else { return nil }
        self = kind
    }
}

/// A command's id as the client sent it (its JSON text: an integer or a string; nil when the
/// frame had none), and the kind of command, so that its reply can be counted by both.
struct CommandID {
    let json: [UInt8]?
    let kind: CommandKind
}

/// Typed field access with messages that name the field.
private struct FieldReader {
    struct Missing: Error { let message: String }
    let root: JSONValue

    func string(_ key: String) throws -> String {
        guard let value = root[key]?.string else { throw Missing(message: "\(key) must be a string") }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = root[key], !value.isNull else { return nil }
        guard let string = value.string else { throw Missing(message: "\(key) must be a string") }
        return string
    }

    func optionalInt(_ key: String) throws -> Int64? {
        guard let value = root[key], !value.isNull else { return nil }
        guard let number = value.int64 else { throw Missing(message: "\(key) must be an integer") }
        return number
    }
}
