/// A timer owned by one loop. Connections keep one and re-arm it for whichever deadline is next
/// (handshake, ping, pong, close), so arming a timer never allocates.
public final class LoopTimer {
    let action: () -> Void
    var deadlineTick: UInt64 = 0
    var slot = -1
    var indexInSlot = -1
    /// Taken out of the wheel as due, not fired yet; cancelling or re-arming clears it.
    var firing = false

    public init(_ action: @escaping () -> Void) { self.action = action }

    public var isScheduled: Bool { slot >= 0 }
}

/// A hashed timer wheel (Varghese & Lauck): O(1) to arm and cancel, and a tick costs the timers of
/// one slot, so 100k connections with a timer each cost little. Resolution is one tick.
public final class TimerWheel {
    public let tickNanoseconds: UInt64
    private var slots: [[LoopTimer]]
    private let mask: Int
    private var currentTick: UInt64
    private var due: [LoopTimer] = []
    public private(set) var count = 0

    public init(tickNanoseconds: UInt64 = 10_000_000, slotCount: Int = 1024, now: UInt64 = Clock.now()) {
        precondition(slotCount > 0 && slotCount & (slotCount - 1) == 0, "slotCount must be a power of two")
        self.tickNanoseconds = tickNanoseconds
        slots = Array(repeating: [], count: slotCount)
        mask = slotCount - 1
        currentTick = now / tickNanoseconds
    }

    /// Arms `timer` to fire `delay` nanoseconds from `now` (re-arming it if it was armed).
    public func schedule(_ timer: LoopTimer, after delay: UInt64, now: UInt64) {
        cancel(timer)
        // Round up so a timer never fires early; at least one tick ahead.
        let tick = max((now + delay + tickNanoseconds - 1) / tickNanoseconds, currentTick + 1)
        timer.deadlineTick = tick
        let slot = Int(tick & UInt64(mask))
        timer.slot = slot
        timer.indexInSlot = slots[slot].count
        slots[slot].append(timer)
        count += 1
    }

    public func cancel(_ timer: LoopTimer) {
        timer.firing = false
        remove(timer)
    }

    private func remove(_ timer: LoopTimer) {
        guard timer.slot >= 0 else { return }
        let slot = timer.slot, index = timer.indexInSlot
        let last = slots[slot].removeLast()
        if index < slots[slot].count {
            slots[slot][index] = last
            last.indexInSlot = index
        }
        timer.slot = -1
        timer.indexInSlot = -1
        count -= 1
    }

    /// Milliseconds until the first slot that holds a timer (looking at most `maxLookahead`
    /// slots ahead), or -1 when nothing is armed: an idle loop with long timers sleeps instead of
    /// waking every tick.
    public func pollTimeout(now: UInt64, maxLookahead: Int = 128) -> Int32 {
        guard count > 0 else { return -1 }
        let nowTick = now / tickNanoseconds
        var ahead: UInt64 = 1
        // A timer is never due later than its slot's next visit, so the first non-empty slot is
        // a safe time to wake (possibly early, for a timer that is rounds away).
        while ahead < UInt64(min(maxLookahead, slots.count)), slots[Int((nowTick + ahead) & UInt64(mask))].isEmpty {
            ahead += 1
        }
        let wake = (nowTick + ahead) * tickNanoseconds
        return Int32((wake - now + 999_999) / 1_000_000)
    }

    /// Fires every timer whose deadline is at or before `now`.
    public func advance(to now: UInt64) {
        let nowTick = now / tickNanoseconds
        guard nowTick > currentTick else { return }
        let steps = min(nowTick - currentTick, UInt64(slots.count))
        for step in 1...steps {
            let slot = Int((currentTick + step) & UInt64(mask))
            for timer in slots[slot] where timer.deadlineTick <= nowTick { due.append(timer) }
        }
        currentTick = nowTick
        guard !due.isEmpty else { return }
        for timer in due {
            remove(timer)
            timer.firing = true
        }
        // An action may cancel or re-arm a timer that is due in this same batch: then it does not fire.
        for timer in due where timer.firing {
            timer.firing = false
            timer.action()
        }
        due.removeAll(keepingCapacity: true)
    }
}
