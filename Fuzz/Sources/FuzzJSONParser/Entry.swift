import FuzzDriver
import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzHarness.jsonParser(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

@_cdecl("FuzzJSONParser_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSONParser)
}
