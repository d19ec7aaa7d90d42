import JSON
import WebSocket

/// What the fuzzers run on each input, shared with the regression tests that replay every crasher
/// the fuzzers ever found (Fuzz/regressions). Each checks the parsers' invariants, not just "no crash".
public enum FuzzHarness {
    /// The whole input parsed at once and byte by byte must give the same verdict.
    public static func httpParser(_ data: UnsafeRawBufferPointer) {
        var whole = HTTPRequestParser(limits: .init(maxHeadBytes: 4096, maxHeaderCount: 32))
        let wholeResult = whole.parse(data)
        var incremental = HTTPRequestParser(limits: .init(maxHeadBytes: 4096, maxHeaderCount: 32))
        var incrementalResult = HTTPRequestParser.Result.needMore
        for end in 0...data.count {
            incrementalResult = incremental.parse(UnsafeRawBufferPointer(rebasing: data[0..<end]))
            if case .needMore = incrementalResult { continue }
            break
        }
        switch (wholeResult, incrementalResult) {
        case (.needMore, .needMore):
            precondition(data.count < 4096, "needMore past the head limit")
        case let (.complete(a, consumedA), .complete(b, consumedB)):
            precondition(consumedA == consumedB && a.target == b.target && a.headers.count == b.headers.count)
            precondition(consumedA <= data.count)
            if case .success(let request) = Handshake.validate(a) {
                _ = Handshake.acceptResponse(for: request)
            }
        case let (.failure(a, _), .failure(b, _)):
            precondition(a == b, "whole and incremental parses disagree: \(a.code) vs \(b.code)")
        default:
            preconditionFailure("whole and incremental parses disagree")
        }
    }

    /// The input as a server's byte stream, fed in chunks whose sizes come from the first byte:
    /// the reader must consume monotonically, stay within the input, and never deliver more than
    /// its limits.
    public static func frameReader(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let chunk = Int(first) + 1
        let limit = 4096
        var reader = FrameReader(configuration: .init(maxFrameSize: limit, maxMessageSize: limit, requireMasked: first & 1 == 0))
        var pending: [UInt8] = []
        var failed = false
        var offset = 1
        while offset < data.count {
            let end = min(data.count, offset + chunk)
            pending.append(contentsOf: data[offset..<end])
            offset = end
            let consumed = pending.withUnsafeMutableBytes { input -> Int in
                var position = 0
                while true {
                    let before = position
                    let event = reader.read(input, position: &position)
                    precondition(position >= before && position <= input.count)
                    switch event {
                    case .needMore: return position
                    case .failure: failed = true; return position
                    case .message(_, let payload, _): precondition(payload.count <= limit)
                    case .ping(let payload), .pong(let payload): precondition(payload.count <= 125)
                    case .close(_, let reason): precondition(reason.count <= 123)
                    }
                }
            }
            pending.removeFirst(consumed)
            // The reader streams data payloads: what a caller must keep is a header or a control frame,
            // unless the reader failed and stopped consuming.
            precondition(pending.count <= 14 + 125 || failed)
        }
    }

    /// A client's JSON command: parsing must not crash and a refusal must point within the
    /// input. When it parses, every value's range lies within the input (children inside their
    /// parent, in order) and re-parses alone to the same value, and writing the value back with
    /// JSONWriter and parsing that gives an equal value, which writes back to the same bytes.
    public static func jsonParser(_ data: UnsafeRawBufferPointer) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(data)
        } catch {
            precondition(error.offset >= 0 && error.offset <= data.count, "error offset \(error.offset) outside the input")
            return
        }
        checkRanges(value, within: 0..<data.count, of: data)
        var writer = JSONWriter()
        writer.value(value)
        let written = writer.bytes
        guard let reparsed = try? JSONParser.parse(written) else {
            preconditionFailure("JSONWriter's output is refused: \(String(decoding: written, as: UTF8.self))")
        }
        precondition(reparsed == value, "written back and parsed, the value changed")
        var again = JSONWriter()
        again.value(reparsed)
        precondition(again.bytes == written, "writing is not a fixed point")
    }

    private static func checkRanges(_ value: JSONValue, within bounds: Range<Int>, of data: UnsafeRawBufferPointer) {
        let range = value.range
        precondition(!range.isEmpty && range.lowerBound >= bounds.lowerBound && range.upperBound <= bounds.upperBound,
                     "range \(range) outside \(bounds)")
        let first = data[range.lowerBound]
        let last = data[range.upperBound - 1]
        switch value.kind {
        case .null: precondition(range.count == 4 && first == UInt8(ascii: "n"))
        case .bool: precondition(first == (value.bool! ? UInt8(ascii: "t") : UInt8(ascii: "f")))
        case .number: precondition(first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first))
        case .string: precondition(range.count >= 2 && first == UInt8(ascii: "\"") && last == UInt8(ascii: "\""))
        case .array: precondition(first == UInt8(ascii: "[") && last == UInt8(ascii: "]"))
        case .object: precondition(first == UInt8(ascii: "{") && last == UInt8(ascii: "}"))
        }
        guard let alone = try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: data[range])), alone == value else {
            preconditionFailure("the bytes of \(range) alone do not parse to the same value")
        }
        var previousEnd = range.lowerBound
        let children = value.array ?? value.object?.map(\.value) ?? []
        for child in children {
            precondition(child.range.lowerBound > previousEnd, "children out of order")
            checkRanges(child, within: (previousEnd + 1)..<(range.upperBound - 1), of: data)
            previousEnd = child.range.upperBound
        }
    }
}
