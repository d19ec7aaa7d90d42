import CHiredis

/// Turns bytes from a Redis connection into replies, with hiredis's RESP parser (the system's
/// libhiredis): feed what the socket gave, then take complete replies until none is left. Pure
/// code over bytes; the connection owns the socket.
public final class RESPReader {
    public struct ProtocolError: Error, CustomStringConvertible {
        public let description: String
    }

    private let reader: UnsafeMutablePointer<redisReader>

    public init() {
        reader = redisReaderCreate()
    }

    deinit { redisReaderFree(reader) }

    public func feed(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        let status = redisReaderFeed(reader, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        guard status == REDIS_OK else { throw ProtocolError(description: errorText) }
    }

    /// The next complete reply, or nil when more bytes are needed.
    public func next() throws -> RESPValue? {
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &reply) == REDIS_OK else { throw ProtocolError(description: errorText) }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return Self.value(reply.assumingMemoryBound(to: redisReply.self).pointee)
    }

    private var errorText: String {
        withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func value(_ reply: redisReply) -> RESPValue {
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(reply))
        case REDIS_REPLY_STATUS:
            return .simple(String(decoding: bytes(reply), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(reply), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            return .array((0..<reply.elements).map { value(reply.element[$0]!.pointee) })
        default:
            // REDIS_REPLY_NIL: hiredis reports null bulk strings and null arrays alike.
            return .bulk(nil)
        }
    }

    private static func bytes(_ reply: redisReply) -> [UInt8] {
        guard reply.len > 0, let pointer = reply.str else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: reply.len))
    }
}
