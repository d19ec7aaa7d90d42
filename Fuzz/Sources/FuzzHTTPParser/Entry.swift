import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzHarness.httpParser(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
