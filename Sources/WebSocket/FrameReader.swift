import Buffers

/// Decodes frames and assembles messages (RFC 6455 §5 and §6.2), sans I/O.
///
/// The caller passes the bytes it has, starting at `position`; the reader consumes whole headers
/// and control frames, and streams data payloads: a data frame that is complete in the input and
/// is a whole message is unmasked in place and delivered without a copy, anything else is
/// unmasked, validated and appended to the message buffer as it arrives. So the bytes a caller
/// must keep after `.needMore` are at most a header or a control frame (139 bytes), and a text
/// message with invalid UTF-8 fails at the first bad byte, even in the middle of a frame.
///
/// With permessage-deflate negotiated (RSV1 allowed) a message whose first frame sets RSV1 is
/// delivered still compressed and flagged so; its text is validated by the caller once inflated.
public struct FrameReader {
    public struct Configuration: Sendable {
        public var maxFrameSize: Int
        public var maxMessageSize: Int
        /// Servers require masked frames, clients refuse them (§5.1).
        public var requireMasked: Bool
        /// RSV bits an extension negotiated; others fail. 0x40 is permessage-deflate's "compressed"
        /// bit (RFC 7692 §6): it is then legal on the first frame of a data message only.
        public var allowedReservedBits: UInt8

        public init(maxFrameSize: Int = 1 << 20, maxMessageSize: Int = 1 << 20, requireMasked: Bool = true,
                    allowedReservedBits: UInt8 = 0) {
            self.maxFrameSize = maxFrameSize
            self.maxMessageSize = maxMessageSize
            self.requireMasked = requireMasked
            self.allowedReservedBits = allowedReservedBits
        }
    }

    /// A data frame whose payload is still arriving.
    struct PartialFrame {
        var remaining: Int
        var maskKey: UInt32
        var phase: Int
        var fin: Bool
    }

    public let configuration: Configuration
    var partial: PartialFrame?
    /// The opcode of the message being assembled from several frames or reads, if any.
    var messageOpcode: Opcode?
    /// Whether the message being assembled had RSV1 on its first frame (permessage-deflate).
    var messageCompressed = false
    var messageSize = 0
    var utf8 = UTF8Validator()
    var messageBuffer: ByteBuffer?
    var clearMessageOnNextRead = false
    var failed = false

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The bytes held for a message in progress (bounded by `maxMessageSize`).
    public var bufferedMessageBytes: Int { messageBuffer?.readableBytes ?? 0 }

    public mutating func read(_ input: UnsafeMutableRawBufferPointer, position: inout Int) -> InboundEvent {
        if clearMessageOnNextRead {
            clearMessageOnNextRead = false
            // An idle connection holds no message buffer: assembling is the rare path, and a buffer
            // kept per connection would cost memory on every one of them.
            messageBuffer = nil
        }
        if failed { return .needMore }
        while true {
            if var frame = partial {
                let available = input.count - position
                let count = min(available, frame.remaining)
                if count > 0 {
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: input[position..<(position + count)])
                    frame.phase = Masking.apply(key: frame.maskKey, phase: frame.phase, to: chunk)
                    if messageOpcode == .text, !messageCompressed, !utf8.validate(UnsafeRawBufferPointer(chunk)) {
                        return fail(.invalidPayload, "invalid UTF-8 in text message")
                    }
                    appendToMessage(UnsafeRawBufferPointer(chunk))
                    position += count
                    frame.remaining -= count
                }
                if frame.remaining > 0 {
                    partial = frame
                    return .needMore
                }
                partial = nil
                if frame.fin {
                    let opcode = messageOpcode!
                    if opcode == .text, !messageCompressed, !utf8.isComplete {
                        return fail(.invalidPayload, "text message ends inside a UTF-8 sequence")
                    }
                    messageOpcode = nil
                    clearMessageOnNextRead = true
                    return .message(opcode, messageBuffer.map { $0.readableView } ?? UnsafeRawBufferPointer(start: nil, count: 0),
                                    compressed: messageCompressed)
                }
                continue
            }
            if let event = readFrameStart(input, position: &position) { return event }
        }
    }

    /// Reads one frame header; returns an event, or nil when a data payload is now streaming.
    private mutating func readFrameStart(_ input: UnsafeMutableRawBufferPointer, position: inout Int) -> InboundEvent? {
        let available = input.count - position
        guard available >= 2 else { return .needMore }
        let b0 = input[position], b1 = input[position + 1]
        let fin = b0 & 0x80 != 0
        if b0 & 0x70 & ~configuration.allowedReservedBits != 0 { return fail(.protocolError, "reserved bits set") }
        // Past the check above, RSV1 means permessage-deflate was negotiated.
        let compressed = b0 & 0x40 != 0
        guard let opcode = Opcode(rawValue: b0 & 0x0F) else { return fail(.protocolError, "unknown opcode \(b0 & 0x0F)") }
        let masked = b1 & 0x80 != 0
        let length7 = Int(b1 & 0x7F)
        if opcode.isControl {
            if !fin { return fail(.protocolError, "fragmented control frame") }
            if length7 > 125 { return fail(.protocolError, "control frame longer than 125 bytes") }
            if b0 & 0x70 != 0 { return fail(.protocolError, "reserved bits set on a control frame") }
        } else if opcode == .continuation {
            if messageOpcode == nil { return fail(.protocolError, "continuation frame without a message to continue") }
            // RFC 7692 §6.1: the first frame says whether the whole message is compressed.
            if compressed { return fail(.protocolError, "RSV1 set on a continuation frame") }
        } else if messageOpcode != nil {
            return fail(.protocolError, "new data frame inside a fragmented message")
        }
        if masked != configuration.requireMasked {
            return fail(.protocolError, masked ? "masked frame from the server" : "unmasked frame from the client")
        }
        let headerLength = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0)
        guard available >= headerLength else { return .needMore }
        let base = input.baseAddress! + position
        var payloadLength = length7
        var offset = 2
        if length7 == 126 {
            payloadLength = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            offset = 4
        } else if length7 == 127 {
            let length64 = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            if length64 >> 63 != 0 { return fail(.protocolError, "payload length with the most significant bit set") }
            if length64 > UInt64(configuration.maxFrameSize) { return fail(.messageTooBig, "frame larger than \(configuration.maxFrameSize) bytes") }
            payloadLength = Int(length64)
            offset = 10
        }
        if payloadLength > configuration.maxFrameSize {
            return fail(.messageTooBig, "frame larger than \(configuration.maxFrameSize) bytes")
        }
        let maskKey = masked ? UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) : 0

        if opcode.isControl {
            guard available >= headerLength + payloadLength else { return .needMore }
            let payload = UnsafeMutableRawBufferPointer(start: base + headerLength, count: payloadLength)
            if masked { Masking.apply(key: maskKey, phase: 0, to: payload) }
            position += headerLength + payloadLength
            return controlEvent(opcode, UnsafeRawBufferPointer(payload))
        }

        let continuing = opcode == .continuation
        let sizeSoFar = continuing ? messageSize : 0
        if sizeSoFar + payloadLength > configuration.maxMessageSize {
            return fail(.messageTooBig, "message larger than \(configuration.maxMessageSize) bytes")
        }
        position += headerLength
        if fin, !continuing, input.count - position >= payloadLength {
            // The common case: a whole message in one frame, all of it here. No copy.
            let payload = UnsafeMutableRawBufferPointer(start: base + headerLength, count: payloadLength)
            if masked { Masking.apply(key: maskKey, phase: 0, to: payload) }
            position += payloadLength
            if opcode == .text, !compressed {
                var validator = UTF8Validator()
                if !validator.validate(UnsafeRawBufferPointer(payload)) || !validator.isComplete {
                    return fail(.invalidPayload, "invalid UTF-8 in text message")
                }
            }
            return .message(opcode, UnsafeRawBufferPointer(payload), compressed: compressed)
        }
        if !continuing {
            messageOpcode = opcode
            messageCompressed = compressed
            messageSize = 0
            utf8.reset()
            messageBuffer?.clear()
        }
        partial = PartialFrame(remaining: payloadLength, maskKey: maskKey, phase: 0, fin: fin)
        return nil
    }

    private mutating func controlEvent(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> InboundEvent {
        switch opcode {
        case .ping: return .ping(payload)
        case .pong: return .pong(payload)
        default:
            if payload.count == 0 { return .close(nil, reason: payload) }
            if payload.count == 1 { return fail(.protocolError, "close frame with a one-byte payload") }
            let code = CloseCode(rawValue: UInt16(payload[0]) << 8 | UInt16(payload[1]))
            if !code.isValidOnWire { return fail(.protocolError, "invalid close code \(code.rawValue)") }
            let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
            var validator = UTF8Validator()
            if !validator.validate(reason) || !validator.isComplete { return fail(.invalidPayload, "close reason is not UTF-8") }
            return .close(code, reason: reason)
        }
    }

    private mutating func appendToMessage(_ bytes: UnsafeRawBufferPointer) {
        messageSize += bytes.count
        let buffer: ByteBuffer
        if let existing = messageBuffer {
            buffer = existing
        } else {
            buffer = ByteBuffer(capacity: max(bytes.count, 4096))
            messageBuffer = buffer
        }
        buffer.write(bytes)
    }

    private mutating func fail(_ code: CloseCode, _ reason: String) -> InboundEvent {
        failed = true
        partial = nil
        messageOpcode = nil
        messageBuffer = nil
        return .failure(code, reason)
    }
}
