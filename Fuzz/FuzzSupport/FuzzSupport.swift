import Dispatch
import Foundation

#if FUZZING
    import CLibFuzzer
#endif

/// What the fuzz targets share: replaying corpus files without libFuzzer, and running async code from the synchronous
/// `LLVMFuzzerTestOneInput`.
public enum FuzzReplay {
    /// Runs `test` on every file named in `arguments` (directories are read recursively, in name order); exits 1 when
    /// there is nothing to replay. A crash in `test` ends the process, which is the failure CI sees.
    public static func main(arguments: [String], test: (Data) -> Void) {
        var files: [URL] = []
        for argument in arguments where !argument.hasPrefix("-") {
            files += inputs(at: URL(fileURLWithPath: argument))
        }
        guard !files.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) FILE_OR_DIRECTORY...\n".utf8))
            exit(1)
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                FileHandle.standardError.write(Data("cannot read \(file.path)\n".utf8))
                exit(1)
            }
            test(data)
        }
        print("replayed \(files.count) inputs")
    }

    private static func inputs(at url: URL) -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [url] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().flatMap { inputs(at: url.appendingPathComponent($0)) }
    }
}

#if FUZZING
    /// Runs libFuzzer on `test` with the process's arguments: what a fuzz target's `main` does under `-DFUZZING`.
    public func runLibFuzzer(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, test)
    }
#endif

/// Runs `body` to completion and waits for it: the fuzz entry points are synchronous, the code under test is not.
/// The task starts on the calling thread, so code that never suspends runs without a thread hop.
public func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task.immediate {
        await body()
        done.signal()
    }
    done.wait()
}

/// Stops the run with a message libFuzzer (or the replay) reports as a crash: a broken invariant, not a refused input.
public func fuzzFailure(_ message: String, file: StaticString = #file, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
