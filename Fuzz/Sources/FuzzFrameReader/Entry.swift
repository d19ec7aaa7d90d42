import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameReader(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzHarness.frameReader(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
