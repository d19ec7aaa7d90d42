import FuzzDriver
import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzHarness.httpParser(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

@_cdecl("FuzzHTTPParser_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzHTTPParser)
}
