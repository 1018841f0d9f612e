import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Threads for the worker's tasks that the kernel runs behind the rest of the process
/// when the CPU is contended, and as fast as any other thread when it is not.
///
/// Webhooks must be acknowledged quickly (Meta gives up after 20 s and expects well under
/// one), while applying them may lag: a stored webhook is safe. On a busy machine the
/// worker and the acknowledgements share the CPU, and above what both sustain the
/// acknowledgements slowed to seconds. Run under ``withTaskExecutorPreference(_:isolation:operation:)``,
/// the worker's own work (decoding, building statements, encoding events) runs here at a
/// higher nice value, so the kernel gives the acknowledgements' threads the CPU first and
/// a burst becomes a backlog instead of slow acknowledgements. Nothing has to judge
/// whether the machine is busy: an idle CPU runs these threads at once.
///
/// On Linux a nice value belongs to a thread, so only these threads are lowered. Elsewhere
/// the threads run at the process's priority.
public final class BackgroundExecutor: TaskExecutor, Sendable {
    private let queue = Mutex(FIFO<UnownedJob>())
    private let ready = DispatchSemaphore(value: 0)
    /// The nice value the threads set for themselves.
    public let niceness: Int32

    private static let shared = Mutex<[Int32: BackgroundExecutor]>([:])

    /// The process's executor at nice value `niceness` (1–19), with a thread per core,
    /// started on first use. Its threads live as long as the process.
    public static func shared(niceness: Int32) -> BackgroundExecutor {
        shared.withLock { executors in
            if let executor = executors[niceness] { return executor }
            let executor = BackgroundExecutor(threads: ProcessInfo.processInfo.activeProcessorCount, niceness: niceness)
            executors[niceness] = executor
            return executor
        }
    }

    private init(threads: Int, niceness: Int32) {
        self.niceness = niceness
        for _ in 0..<max(1, threads) {
            Thread { [self] in runJobs() }.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.withLock { $0.push(job) }
        ready.signal()
    }

    private func runJobs() {
        #if canImport(Glibc)
        // `who` 0 is the calling thread on Linux, not the whole process.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        // The name `top -H` and /proc show (a new thread inherits its creator's).
        try? "sb-background".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        #endif
        let executor = asUnownedTaskExecutor()
        while true {
            ready.wait()
            if let job = queue.withLock({ $0.pop() }) {
                job.runSynchronously(on: executor)
            }
        }
    }
}

/// A first-in, first-out queue whose storage stays in proportion to what it holds, however
/// long it is never empty.
struct FIFO<Element> {
    private var elements: [Element] = []
    private var head = 0

    var count: Int { elements.count - head }
    /// Slots held, taken or not (for tests).
    var storage: Int { elements.count }

    mutating func push(_ element: Element) { elements.append(element) }

    mutating func pop() -> Element? {
        guard head < elements.count else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= elements.count {
            elements.removeFirst(head)
            head = 0
        }
        return element
    }
}
