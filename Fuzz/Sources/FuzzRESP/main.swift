// libFuzzer target for the RESP parser. Build (from the repository root):
//   swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library --product FuzzRESP
// Properties checked on every input:
//   - parsing never crashes, hangs or allocates without bound (the limits hold);
//   - parsing the input whole and reading it split into chunks (sizes taken from the input)
//     with RESPReader, as a connection does, give the same values, and fail alike: the
//     parser is truly incremental and the reader keeps every byte it was given.
import FuzzDriver
import NIOCore
import RESP

let limits = RESPParserLimits(
    maximumDepth: 16,
    maximumBulkLength: 1 << 20,
    maximumAggregateCount: 1 << 16,
    maximumLineLength: 1 << 12
)

struct Outcome: Equatable {
    var values: [RESPValue] = []
    var failed = false
}

func parseWhole(_ bytes: UnsafeRawBufferPointer) -> Outcome {
    var parser = RESPParser(limits: limits)
    var buffer = ByteBuffer(bytes: bytes)
    var outcome = Outcome()
    do {
        while let value = try parser.next(from: &buffer) { outcome.values.append(value) }
    } catch {
        outcome.failed = true
    }
    return outcome
}

func read(_ bytes: UnsafeRawBufferPointer, chunkSizes: [Int]) -> Outcome {
    var reader = RESPReader(limits: limits)
    var outcome = Outcome()
    var offset = 0
    var chunk = 0
    while offset < bytes.count {
        let size = max(1, chunkSizes[chunk % chunkSizes.count])
        chunk += 1
        let end = min(bytes.count, offset + size)
        reader.append(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<end])))
        offset = end
        do {
            while let value = try reader.next() { outcome.values.append(value) }
        } catch {
            outcome.failed = true
            return outcome
        }
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let whole = parseWhole(bytes)
    // Chunk sizes from the first bytes, so the fuzzer explores split points too.
    let sizes = bytes.prefix(4).map { Int($0 % 16) + 1 }
    let split = read(bytes, chunkSizes: sizes)
    let byteByByte = read(bytes, chunkSizes: [1])
    // NaN doubles never compare equal; compare their descriptions instead.
    func same(_ a: Outcome, _ b: Outcome) -> Bool {
        a.failed == b.failed && a.values.map(\.description) == b.values.map(\.description)
    }
    precondition(same(whole, split), "split parse differs from whole parse")
    precondition(same(whole, byteByByte), "byte-by-byte parse differs from whole parse")
    return 0
}

// SwiftPM aliases `main` to `FuzzRESP_main`: hand the process to libFuzzer.
@_cdecl("FuzzRESP_main")
public func fuzzRESPMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzzRESP(data, size) }
}
