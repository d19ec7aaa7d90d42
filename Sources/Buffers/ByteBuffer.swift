/// A growable byte buffer with a read and a write index, owned by one loop. Used where bytes must
/// outlive one read: a partial handshake, a fragmented message, output that could not be written.
///
/// A class, so that ownership is explicit and an idle connection holds none (its buffers are nil).
public final class ByteBuffer {
    public private(set) var storage: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public private(set) var readerIndex = 0
    public private(set) var writerIndex = 0

    public init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    @inlinable public var readableBytes: Int { writerIndex - readerIndex }
    @inlinable public var isEmpty: Bool { writerIndex == readerIndex }

    public var readableView: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + readerIndex, count: readableBytes)
    }

    public var mutableReadableView: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage + readerIndex, count: readableBytes)
    }

    /// Makes room for `count` more bytes after the writer index, compacting or growing as needed.
    public func reserveWritable(_ count: Int) {
        if capacity - writerIndex >= count { return }
        if readerIndex > 0 {
            let live = readableBytes
            if live > 0 { (storage).copyMemory(from: storage + readerIndex, byteCount: live) }
            readerIndex = 0
            writerIndex = live
            if capacity - writerIndex >= count { return }
        }
        var newCapacity = capacity
        while newCapacity - writerIndex < count { newCapacity *= 2 }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newStorage.copyMemory(from: storage, byteCount: writerIndex)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserveWritable(bytes.count)
        (storage + writerIndex).copyMemory(from: base, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Space after the writer index for a caller that fills it directly (e.g. `read(2)`);
    /// follow with `commitWritten`.
    public var writableSpace: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage + writerIndex, count: capacity - writerIndex)
    }

    public func commitWritten(_ count: Int) {
        precondition(count >= 0 && writerIndex + count <= capacity)
        writerIndex += count
    }

    public func consume(_ count: Int) {
        precondition(count >= 0 && count <= readableBytes)
        readerIndex += count
        if readerIndex == writerIndex { readerIndex = 0; writerIndex = 0 }
    }

    public func clear() {
        readerIndex = 0
        writerIndex = 0
    }
}
