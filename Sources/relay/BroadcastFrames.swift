import Broker
import Buffers
import WebSocket

/// The engine's encoding for `relay echo --broadcast`: a publication is the received message
/// itself, framed once as a server frame of the same opcode. The broker carries bytes, not frames,
/// so the opcode travels as the first byte of the published data: text and binary messages share
/// the one channel, and a sender's messages keep their order whatever their type.
struct BroadcastFrames: PushEncoding {
    /// What a received message is published as.
    static func data(_ opcode: Opcode, payload: UnsafeRawBufferPointer) -> [UInt8] {
        var data = [UInt8]()
        data.reserveCapacity(payload.count + 1)
        data.append(opcode.rawValue)
        data.append(contentsOf: payload)
        return data
    }

    func publication(channel: String, offset: UInt64, data: [UInt8], user: String?) -> Publication {
        let opcode = Opcode(rawValue: data[0])!
        let length = data.count - 1
        let header = FrameWriter.headerSize(payloadLength: length, masked: false)
        let frame = SharedBytes(count: header + length) { target in
            FrameWriter.writeHeader(into: target.baseAddress!, opcode: opcode, payloadLength: length)
            data.withUnsafeBytes { source in
                (target.baseAddress! + header).copyMemory(from: source.baseAddress! + 1, byteCount: length)
            }
        }
        return Publication(offset: offset, frame: frame, body: header..<frame.count)
    }

    // The broadcast channel tracks neither presence nor online status: the engine never asks.

    func join(channel: String, user: String, info: String?) -> SharedBytes {
        preconditionFailure("broadcast has no presence")
    }

    func leave(channel: String, user: String) -> SharedBytes {
        preconditionFailure("broadcast has no presence")
    }

    func status(user: String, online: Bool) -> SharedBytes {
        preconditionFailure("broadcast has no online status")
    }

    func frame(json: UnsafeRawBufferPointer) -> SharedBytes {
        preconditionFailure("broadcast runs on the in-memory engine: no push comes from another node")
    }
}
