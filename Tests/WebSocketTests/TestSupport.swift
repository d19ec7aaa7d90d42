import TestSupport
import WebSocket
import XCTest

// Helpers shared by the WebSocket tests: a seeded random generator, an owned copy of the reader's
// events, a simulated connection input buffer, and frame builders.

// MARK: - Reader events as values

/// An `InboundEvent` with its bytes copied out, so it outlives the next `read` and compares
/// with `==`. A failure compares by close code only; its reason is kept for messages.
enum Event: Equatable, CustomStringConvertible {
    /// `compressed`: RSV1 was set (permessage-deflate) and the payload is still compressed.
    case message(Opcode, [UInt8], compressed: Bool = false)
    case ping([UInt8])
    case pong([UInt8])
    case close(CloseCode?, reason: [UInt8])
    case failure(CloseCode, reason: String)

    /// nil for `.needMore`.
    init?(_ event: InboundEvent) {
        switch event {
        case .needMore: return nil
        case let .message(opcode, payload, compressed): self = .message(opcode, Array(payload), compressed: compressed)
        case let .ping(payload): self = .ping(Array(payload))
        case let .pong(payload): self = .pong(Array(payload))
        case let .close(code, reason): self = .close(code, reason: Array(reason))
        case let .failure(code, reason): self = .failure(code, reason: reason)
        }
    }

    static func text(_ text: String) -> Event { .message(.text, Array(text.utf8)) }
    static func binary(_ bytes: [UInt8]) -> Event { .message(.binary, bytes) }
    static func compressed(_ opcode: Opcode, _ bytes: [UInt8]) -> Event { .message(opcode, bytes, compressed: true) }
    static func failure(_ code: CloseCode) -> Event { .failure(code, reason: "") }

    static func == (lhs: Event, rhs: Event) -> Bool {
        switch (lhs, rhs) {
        case let (.message(a, x, c), .message(b, y, d)): return a == b && x == y && c == d
        case let (.ping(x), .ping(y)), let (.pong(x), .pong(y)): return x == y
        case let (.close(a, x), .close(b, y)): return a == b && x == y
        case let (.failure(a, _), .failure(b, _)): return a == b
        default: return false
        }
    }

    var description: String {
        func show(_ bytes: [UInt8]) -> String {
            let prefix = bytes.prefix(16).map { String($0, radix: 16) }.joined(separator: " ")
            return "\(bytes.count) bytes [\(prefix)\(bytes.count > 16 ? " …" : "")]"
        }
        switch self {
        case let .message(opcode, payload, compressed):
            return "message(\(opcode), \(show(payload))\(compressed ? ", compressed" : ""))"
        case let .ping(payload): return "ping(\(show(payload)))"
        case let .pong(payload): return "pong(\(show(payload)))"
        case let .close(code, reason): return "close(\(code.map(String.init(describing:)) ?? "nil"), \(show(reason)))"
        case let .failure(code, reason): return "failure(\(code), \"\(reason)\")"
        }
    }
}

// MARK: - A connection's input buffer

extension FrameReader.Configuration {
    /// What a server uses: clients must mask.
    static let server = FrameReader.Configuration()
    /// What a client uses: servers must not mask.
    static let client = FrameReader.Configuration(requireMasked: false)
}

/// Plays the part of a connection's input buffer, following the contract of `FrameReader.read`:
/// bytes the reader did not consume are kept and presented again, followed by each new chunk,
/// and the reader is called until it needs more.
struct Connection {
    private(set) var reader: FrameReader
    /// Bytes received but not consumed by the reader yet.
    private(set) var unconsumed: [UInt8] = []

    init(_ configuration: FrameReader.Configuration) {
        reader = FrameReader(configuration: configuration)
    }

    /// Delivers `bytes` as one read from the socket and returns the events they complete.
    mutating func receive(_ bytes: some Sequence<UInt8>) -> [Event] {
        var input = unconsumed
        input.append(contentsOf: bytes)
        var reader = self.reader
        var position = 0
        var events: [Event] = []
        input.withUnsafeMutableBytes { buffer in
            while let event = Event(reader.read(buffer, position: &position)) {
                events.append(event)
                if events.count > 10_000 {
                    XCTFail("the reader keeps returning events without needing more input")
                    break
                }
            }
        }
        self.reader = reader
        unconsumed = Array(input[position...])
        return events
    }
}

/// The events `bytes` produce when they arrive in one piece at a fresh reader.
func events(_ bytes: [UInt8], _ configuration: FrameReader.Configuration = .server) -> [Event] {
    var connection = Connection(configuration)
    return connection.receive(bytes)
}

// MARK: - Frames

/// The masking key of the RFC 6455 §5.7 examples, 37 fa 21 3d on the wire.
let rfcMaskKey = Masking.key(0x37, 0xFA, 0x21, 0x3D)

/// A frame as a client sends it (masked), built by `FrameWriter`.
func clientFrame(_ opcode: Opcode, _ payload: [UInt8], fin: Bool = true, key: UInt32 = rfcMaskKey) -> [UInt8] {
    FrameWriter.frame(opcode, payload: payload, fin: fin, maskKey: key)
}

func clientFrame(_ opcode: Opcode, _ text: String, fin: Bool = true) -> [UInt8] {
    clientFrame(opcode, Array(text.utf8), fin: fin)
}

/// A frame built by hand, for headers `FrameWriter` does not produce (reserved bits, unknown
/// opcodes, lengths it would never choose). `firstByte` is FIN, RSV1-3 and the opcode.
func rawFrame(firstByte: UInt8, payload: [UInt8], maskKey: [UInt8]? = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
    let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
    var frame = [firstByte]
    switch payload.count {
    case ..<126: frame.append(maskBit | UInt8(payload.count))
    case ...0xFFFF: frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default: frame += [maskBit | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
    }
    guard let maskKey else { return frame + payload }
    return frame + maskKey + payload.enumerated().map { $0.element ^ maskKey[$0.offset % 4] }
}

func hex(_ text: String) -> [UInt8] {
    text.split(separator: " ").map { UInt8($0, radix: 16)! }
}
