import Broker
import Buffers
import JSON
import Redis

/// A channel's presence from `relay_presence`: one `{"user", "info"?}` per connection, counted by user.
enum PresenceList {
    static func entries(from members: [RESPValue]) -> [PresenceEntry] {
        var byUser: [String: (connections: Int, info: String?)] = [:]
        for member in members {
            guard let bytes = member.bytes, let root = try? JSONParser.parse(bytes), let user = root["user"]?.string else { continue }
            var entry = byUser[user] ?? (0, nil)
            entry.connections += 1
            if let info = root["info"] { entry.info = String(decoding: bytes[info.range], as: UTF8.self) }
            byUser[user] = entry
        }
        return byUser.map { PresenceEntry(user: $0.key, connections: $0.value.connections, info: $0.value.info) }
            .sorted { $0.user < $1.user }
    }
}

/// Inbox entries from XAUTOCLAIM / XREADGROUP: `[[id, [field, value, ...]], ...]`.
enum InboxEntries {
    static func parse(_ entries: [RESPValue]) -> [InboxEntry] {
        entries.compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else { return nil }
            var values: [String: [UInt8]] = [:]
            var index = 0
            while index + 1 < fields.count {
                if let name = fields[index].string, let value = fields[index + 1].bytes { values[name] = value }
                index += 2
            }
            func text(_ name: String) -> String { String(decoding: values[name] ?? [], as: UTF8.self) }
            guard let data = values["data"], let offset = UInt64(text("offset")) else { return nil }
            return InboxEntry(id: id, message: InboxMessage(channel: text("channel"), offset: offset, epoch: text("epoch"),
                                                            user: text("user"), data: data, time: Int64(text("time")) ?? 0))
        }
    }

    /// `<milliseconds>-<sequence>`: anything else would make XACK fail for the whole batch.
    static func isStreamID(_ id: String) -> Bool {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.count <= 20 && $0.allSatisfy(\.isASCIIDigit) }
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// The payload of an unmasked frame the gateway encoded (a server frame's header is 2, 4 or 10
/// bytes, by its length byte).
enum FramePayload {
    static func of(_ frame: SharedBytes) -> UnsafeRawBufferPointer {
        let bytes = frame.bytes
        let length = bytes[1] & 0x7F
        let header = length < 126 ? 2 : length == 126 ? 4 : 10
        return UnsafeRawBufferPointer(rebasing: bytes[header...])
    }
}
