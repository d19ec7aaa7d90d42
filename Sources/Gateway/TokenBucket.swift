/// A token bucket: `rate` tokens a second up to `burst`; a command takes one. Time is passed in
/// (monotonic seconds), so the bucket is plain arithmetic and tests need no clock.
struct TokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var updatedAt: Double

    init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        updatedAt = now
    }

    /// Takes a token if there is one.
    mutating func take(now: Double) -> Bool {
        tokens = min(burst, tokens + (now - updatedAt) * rate)
        updatedAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
