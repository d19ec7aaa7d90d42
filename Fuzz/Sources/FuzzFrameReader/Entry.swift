import FuzzDriver
import FuzzHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameReader(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzHarness.frameReader(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

@_cdecl("FuzzFrameReader_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzFrameReader)
}
