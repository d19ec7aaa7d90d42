/// A stack whose top values can be moved, not copied, into an Array of exactly their count.
///
/// The parser keeps the values of every open container here; closing one hands its values to
/// their final array. With an Array as the stack, that would copy each value out and destroy the
/// original, a retain and a release per string, array or object in the document.
struct MoveStack<Element>: ~Copyable {
    private var storage: UnsafeMutablePointer<Element>?
    private var capacity = 0
    private(set) var count = 0

    init() {}

    deinit {
        if let storage {
            storage.deinitialize(count: count)
            storage.deallocate()
        }
    }

    mutating func push(_ element: consuming Element) {
        if count == capacity { grow() }
        (storage.unsafelyUnwrapped + count).initialize(to: element)
        count += 1
    }

    /// The element at `position`, read and written in place.
    subscript(position: Int) -> Element {
        unsafeAddress { UnsafePointer(storage.unsafelyUnwrapped + position) }
        nonmutating unsafeMutableAddress { storage.unsafelyUnwrapped + position }
    }

    /// Removes and returns the top element.
    mutating func pop() -> Element {
        count -= 1
        return (storage.unsafelyUnwrapped + count).move()
    }

    /// Moves the elements from `first` to the top into a new Array, in order.
    mutating func popArray(from first: Int) -> [Element] {
        let moved = count - first
        guard moved > 0 else { return [] }
        let source = storage.unsafelyUnwrapped + first
        count = first
        return [Element](unsafeUninitializedCapacity: moved) { buffer, initialized in
            buffer.baseAddress.unsafelyUnwrapped.moveInitialize(from: source, count: moved)
            initialized = moved
        }
    }

    private mutating func grow() {
        let newCapacity = Swift.max(16, capacity * 2)
        let newStorage = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        if let storage {
            newStorage.moveInitialize(from: storage, count: count)
            storage.deallocate()
        }
        storage = newStorage
        capacity = newCapacity
    }
}
