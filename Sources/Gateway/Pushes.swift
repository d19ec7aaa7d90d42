import Broker
import Buffers
import JSON
import WebSocket

/// Server-initiated messages, each encoded once into a complete text frame that is queued as is
/// to every connection that gets it.
struct Pushes: PushEncoding {
    static func frame(_ json: [UInt8]) -> SharedBytes {
        json.withUnsafeBytes { frame(json: $0) }
    }

    static func frame(json: UnsafeRawBufferPointer) -> SharedBytes {
        let header = FrameWriter.headerSize(payloadLength: json.count, masked: false)
        return SharedBytes(count: header + json.count) { target in
            FrameWriter.writeHeader(into: target.baseAddress!, opcode: .text, payloadLength: json.count)
            if json.count > 0 { (target.baseAddress! + header).copyMemory(from: json.baseAddress!, byteCount: json.count) }
        }
    }

    func frame(json: UnsafeRawBufferPointer) -> SharedBytes { Self.frame(json: json) }

    /// `{"push":"publication","channel":C,"pub":{"offset":N,"user":U,"data":D}}`; the `pub`
    /// object is the publication's body, which history replies embed as is.
    func publication(channel: String, offset: UInt64, data: [UInt8], user: String?) -> Publication {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("push"); writer.string("publication")
        writer.key("channel"); writer.string(channel)
        writer.key("pub")
        let bodyStart = writer.bytes.count
        writer.beginObject()
        // Offset 0: a publication outside the stream (a plain PUBLISH by the main API).
        if offset > 0 { writer.key("offset"); writer.int(Int64(offset)) }
        if let user { writer.key("user"); writer.string(user) }
        writer.key("data"); data.withUnsafeBytes { writer.raw($0) }
        writer.endObject()
        let bodyEnd = writer.bytes.count
        writer.endObject()
        let frame = Self.frame(writer.bytes)
        let header = frame.count - writer.bytes.count
        return Publication(offset: offset, frame: frame, body: (header + bodyStart)..<(header + bodyEnd))
    }

    func join(channel: String, user: String, info: String?) -> SharedBytes {
        Self.frame(Self.single("join") { writer in
            writer.key("channel"); writer.string(channel)
            writer.key("user"); writer.string(user)
            if let info { writer.key("info"); Array(info.utf8).withUnsafeBytes { writer.raw($0) } }
        })
    }

    func leave(channel: String, user: String) -> SharedBytes {
        Self.frame(Self.single("leave") { writer in
            writer.key("channel"); writer.string(channel)
            writer.key("user"); writer.string(user)
        })
    }

    func status(user: String, online: Bool) -> SharedBytes {
        Self.frame(Self.single("status") { writer in
            writer.key("user"); writer.string(user)
            writer.key("online"); writer.bool(online)
        })
    }

    /// A push's JSON: `{"push":NAME, ...fields}`.
    static func single(_ name: String, _ fields: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("push"); writer.string(name)
        fields(&writer)
        writer.endObject()
        return writer.bytes
    }
}

/// Replies to commands: `{"id":ID,"result":{...}}` or `{"id":ID,"error":{"code":C,"message":M}}`.
enum Reply {
    /// A bare object, for the server API's responses.
    static func object(_ fields: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        fields(&writer)
        writer.endObject()
        return writer.bytes
    }

    /// A presence list: `[{"user", "connections", "info"?}]`.
    static func write(_ entries: [PresenceEntry], to writer: inout JSONWriter) {
        writer.beginArray()
        for entry in entries {
            writer.beginObject()
            writer.key("user"); writer.string(entry.user)
            writer.key("connections"); writer.int(Int64(entry.connections))
            if let info = entry.info { writer.key("info"); Array(info.utf8).withUnsafeBytes { writer.raw($0) } }
            writer.endObject()
        }
        writer.endArray()
    }

    static func result(id: CommandID, _ fields: (inout JSONWriter) -> Void) -> Message {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("id")
        if let json = id.json { json.withUnsafeBytes { writer.raw($0) } } else { writer.null() }
        writer.key("result")
        writer.beginObject()
        fields(&writer)
        writer.endObject()
        writer.endObject()
        return Message(json: writer.bytes, kind: id.kind, error: nil)
    }

    static func error(id: CommandID, _ error: ProtocolError, _ message: String) -> Message {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("id")
        if let json = id.json { json.withUnsafeBytes { writer.raw($0) } } else { writer.null() }
        writer.key("error")
        writer.beginObject()
        writer.key("code"); writer.string(error.rawValue)
        writer.key("message"); writer.string(message)
        writer.endObject()
        writer.endObject()
        return Message(json: writer.bytes, kind: id.kind, error: error)
    }

    /// A reply's JSON, and what it answers, for the metrics.
    struct Message {
        let json: [UInt8]
        let kind: CommandKind
        let error: ProtocolError?
    }
}
