import Buffers
import CSystem
import Glibc

/// The bytes waiting to go out on one socket, in order, written with writev.
///
/// Three kinds of chunk: bytes in the loop's arena (this turn's replies, no allocation), shared
/// immutable frames (one encoding queued to many connections), and the connection's own buffer
/// (what the socket did not take at the end of a turn: backpressure).
public struct OutboundQueue {
    enum Chunk {
        case arena(UnsafeRawPointer, Int)
        case shared(SharedBytes, offset: Int)
        case buffer(ByteBuffer)
    }

    public enum WriteResult: Equatable {
        /// Everything was written.
        case drained
        /// The socket is full; wait for EPOLLOUT.
        case wouldBlock
        case failed(Int32)
    }

    var chunks: [Chunk] = []
    /// Bytes queued and not yet written.
    public private(set) var pendingBytes = 0

    public init() {}

    public var isEmpty: Bool { pendingBytes == 0 }

    /// Returns space for `count` bytes at the end of the queue; the caller fills all of it now.
    public mutating func reserve(_ count: Int, arena: OutputArena) -> UnsafeMutableRawPointer {
        pendingBytes += count
        if let last = chunks.last {
            switch last {
            case .buffer(let buffer):
                buffer.reserveWritable(count)
                let pointer = buffer.writableSpace.baseAddress!
                buffer.commitWritten(count)
                return pointer
            case .arena(let start, let length) where start + length == UnsafeRawPointer(arena.head):
                if let pointer = arena.allocate(count) {
                    chunks[chunks.count - 1] = .arena(start, length + count)
                    return pointer
                }
            default:
                break
            }
        }
        if let pointer = arena.allocate(count) {
            chunks.append(.arena(UnsafeRawPointer(pointer), count))
            return pointer
        }
        let buffer = ByteBuffer(capacity: max(count, 4096))
        let pointer = buffer.writableSpace.baseAddress!
        buffer.commitWritten(count)
        chunks.append(.buffer(buffer))
        return pointer
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer, arena: OutputArena) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count, arena: arena).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }

    public mutating func append(_ shared: SharedBytes) {
        guard shared.count > 0 else { return }
        pendingBytes += shared.count
        chunks.append(.shared(shared, offset: 0))
    }

    /// Writes as much as the socket takes.
    mutating func write(to fd: Int32, iovecs: UnsafeMutablePointer<iovec>, maxIovecs: Int) -> WriteResult {
        while pendingBytes > 0 {
            var count = 0
            var requested = 0
            for chunk in chunks {
                if count == maxIovecs { break }
                switch chunk {
                case .arena(let start, let length):
                    iovecs[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: start), iov_len: length)
                case .shared(let bytes, let offset):
                    iovecs[count] = iovec(iov_base: bytes.base + offset, iov_len: bytes.count - offset)
                case .buffer(let buffer):
                    iovecs[count] = iovec(iov_base: buffer.mutableReadableView.baseAddress, iov_len: buffer.readableBytes)
                }
                requested += iovecs[count].iov_len
                count += 1
            }
            let written = writev(fd, iovecs, Int32(count))
            if written < 0 {
                let error = csystem_errno()
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
                return .failed(error)
            }
            consume(written)
            // A short write means the socket buffer is full: another writev would only say EAGAIN.
            if written < requested { return .wouldBlock }
        }
        return .drained
    }

    /// Writes as much as `sink` takes, each time the first bytes of the queue gathered into
    /// `staging`: for a transport that transforms the bytes and cannot take iovecs (TLS). `sink`
    /// returns how many bytes it took, 0 when it must wait for the socket, nil when it failed.
    /// Nothing is consumed until the sink takes it, so a retried write finds the same bytes first.
    mutating func write(through sink: (UnsafeRawBufferPointer) -> Int?, staging: UnsafeMutableRawBufferPointer) -> WriteResult {
        while pendingBytes > 0 {
            let count = gather(into: staging)
            guard let written = sink(UnsafeRawBufferPointer(rebasing: staging[0..<count])) else { return .failed(EIO) }
            if written == 0 { return .wouldBlock }
            consume(written)
        }
        return .drained
    }

    private func gather(into staging: UnsafeMutableRawBufferPointer) -> Int {
        var count = 0
        for chunk in chunks {
            let bytes: UnsafeRawBufferPointer
            switch chunk {
            case .arena(let start, let length): bytes = UnsafeRawBufferPointer(start: start, count: length)
            case .shared(let shared, let offset): bytes = UnsafeRawBufferPointer(start: shared.base + offset, count: shared.count - offset)
            case .buffer(let buffer): bytes = buffer.readableView
            }
            let take = min(bytes.count, staging.count - count)
            (staging.baseAddress! + count).copyMemory(from: bytes.baseAddress!, byteCount: take)
            count += take
            if count == staging.count { break }
        }
        return count
    }

    private mutating func consume(_ written: Int) {
        pendingBytes -= written
        var left = written
        var removed = 0
        for index in chunks.indices {
            guard left > 0 else { break }
            switch chunks[index] {
            case .arena(let start, let length):
                if left >= length { left -= length; removed += 1 } else {
                    chunks[index] = .arena(start + left, length - left); left = 0
                }
            case .shared(let bytes, let offset):
                let length = bytes.count - offset
                if left >= length { left -= length; removed += 1 } else {
                    chunks[index] = .shared(bytes, offset: offset + left); left = 0
                }
            case .buffer(let buffer):
                let length = buffer.readableBytes
                if left >= length { left -= length; removed += 1 } else {
                    buffer.consume(left); left = 0
                }
            }
        }
        if removed == chunks.count {
            chunks.removeAll(keepingCapacity: chunks.capacity <= 16)
        } else if removed > 0 {
            chunks.removeFirst(removed)
        }
    }

    /// Moves arena chunks into the connection's own buffer: the arena is reset at the end of the
    /// turn. Called only for a connection whose socket did not take everything (the slow path).
    mutating func spillArena() {
        var spilled: [Chunk] = []
        spilled.reserveCapacity(chunks.count)
        for chunk in chunks {
            guard case .arena(let start, let length) = chunk else { spilled.append(chunk); continue }
            if case .buffer(let buffer)? = spilled.last {
                buffer.write(UnsafeRawBufferPointer(start: start, count: length))
            } else {
                let buffer = ByteBuffer(capacity: max(length, 4096))
                buffer.write(UnsafeRawBufferPointer(start: start, count: length))
                spilled.append(.buffer(buffer))
            }
        }
        chunks = spilled
    }

    /// Drops everything (the connection is gone).
    public mutating func removeAll() {
        chunks = []
        pendingBytes = 0
    }
}
