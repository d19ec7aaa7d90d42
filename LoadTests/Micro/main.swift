import Buffers
import Glibc
import JSON
import Reactor
import WebSocket

// relay-micro: the hot code on its own — frame decoding and encoding, unmasking, UTF-8
// validation, command parsing — in ns per operation and GB/s, next to memcpy on the same
// machine, the physical ceiling for anything that touches every byte. Each case runs for a fixed
// time after a warm-up; the best of five runs is reported (the least disturbed by the rest of
// the machine). `relay-micro --quick` runs each case briefly (a smoke run).

let quick = CommandLine.arguments.contains("--quick")
let runSeconds = quick ? 0.02 : 0.3

/// Runs `body` (which does `operations` operations over `bytes` bytes) repeatedly; the best rate.
func measure(_ name: String, operations: Int, bytes: Int, _ body: () -> Void) -> (name: String, nsPerOp: Double, gbPerS: Double) {
    body()
    var best = Double.infinity
    for _ in 0..<5 {
        var rounds = 0
        let start = Clock.now()
        var elapsed: UInt64 = 0
        repeat {
            body()
            rounds += 1
            elapsed = Clock.now() - start
        } while Double(elapsed) < runSeconds * 1e9
        best = min(best, Double(elapsed) / Double(rounds))
    }
    return (name, best / Double(operations), Double(bytes) / best)
}

/// Keeps a result alive so the optimizer cannot drop the work.
@inline(never) func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

let block = 64 * 1024
let source = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: 64)
let target = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: 64)
for index in 0..<block { source[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) & 0x7F }

var results: [(name: String, nsPerOp: Double, gbPerS: Double)] = []

results.append(measure("memcpy 64 KiB", operations: 1, bytes: block) {
    memcpy(target.baseAddress!, source.baseAddress!, block)
    consume(target[block - 1])
})

results.append(measure("unmask 64 KiB", operations: 1, bytes: block) {
    consume(Masking.apply(key: 0x3A5C_9E11, phase: 0, to: target))
})

let ascii = UnsafeRawBufferPointer(source)
results.append(measure("UTF-8 validate 64 KiB ASCII", operations: 1, bytes: block) {
    var validator = UTF8Validator()
    consume(validator.validate(ascii))
})

let mixedText = Array(String(repeating: "Grüße, 世界! Привет 😀 ", count: block / 40).utf8.prefix(block - 8))
let mixed = mixedText.withUnsafeBytes { UnsafeRawBufferPointer(UnsafeMutableRawBufferPointer(mutating: $0)) }
results.append(measure("UTF-8 validate 64 KiB mixed", operations: 1, bytes: mixedText.count) {
    var validator = UTF8Validator()
    consume(validator.validate(mixed))
})

/// `count` masked binary frames of `size` bytes, back to back, as a client sends them.
func maskedFrames(count: Int, size: Int) -> [UInt8] {
    let payload = [UInt8](repeating: 0x61, count: size)
    var bytes: [UInt8] = []
    for index in 0..<count { bytes += FrameWriter.frame(.binary, payload: payload, maskKey: UInt32(truncatingIfNeeded: index &* 2_654_435_761)) }
    return bytes
}

for size in [20, 1024] {
    let count = max(1, block / (size + 6))
    var wire = maskedFrames(count: count, size: size)
    let wireBytes = wire.count
    results.append(measure("decode \(size) B frames", operations: count, bytes: wireBytes) {
        // Unmasking in place flips the payload each run; binary frames are not validated, so the
        // cost is the same every time.
        wire.withUnsafeMutableBytes { input in
            var reader = FrameReader(configuration: .init(maxFrameSize: 1 << 20, maxMessageSize: 1 << 20, requireMasked: true))
            var position = 0
            var frames = 0
            while case .message = reader.read(input, position: &position) { frames += 1 }
            consume(frames)
        }
    })
    let payload = [UInt8](repeating: 0x62, count: size)
    results.append(measure("encode \(size) B frames", operations: count, bytes: count * (size + 4)) {
        var offset = 0
        payload.withUnsafeBytes { body in
            for _ in 0..<count {
                let header = FrameWriter.writeHeader(into: target.baseAddress! + offset, opcode: .text, payloadLength: size)
                (target.baseAddress! + offset + header).copyMemory(from: body.baseAddress!, byteCount: size)
                offset += header + size
                if offset + size + 14 > block { offset = 0 }
            }
        }
        consume(offset)
    })
}

let command = Array(#"{"id":17,"cmd":"publish","channel":"conversation:42","data":{"text":"hello there, how are you?"},"key":"m-7f3a"}"#.utf8)
results.append(measure("parse a publish command (JSON)", operations: 1, bytes: command.count) {
    consume(try? JSONParser.parse(command))
})

/// Right-aligned, fixed decimals: Foundation's formatting is not linked here.
func column(_ value: Double, decimals: Int, width: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    var text = "\(scaled / Int(scale))"
    if decimals > 0 {
        let fraction = "\(scaled % Int(scale))"
        text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

print("case" + String(repeating: " ", count: 34) + "ns/op      GB/s")
for result in results {
    let name = result.name + String(repeating: " ", count: max(1, 34 - result.name.count))
    print(name + column(result.nsPerOp, decimals: 1, width: 9) + column(result.gbPerS, decimals: 2, width: 10))
}
