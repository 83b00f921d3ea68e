import Glibc
import Synchronization

/// A TCP proxy on loopback that stands for the link between boxes and their station, and breaks
/// that link on command: it resets every connection, partitions the link (nothing moves either
/// way and nothing is closed, so both ends hold half-open connections), throttles it to a few
/// bytes per interval, and heals it. It counts the bytes it carried both ways.
///
/// Plain blocking-free sockets on threads of their own: one thread accepts, one thread runs
/// each connection. Nothing here runs on Swift concurrency's pool.
public final class FaultProxy: Sendable {
  /// What the link does now.
  public enum Condition: Sendable, Equatable, CustomStringConvertible {
    /// Bytes pass as fast as both ends take them.
    case healthy
    /// Nothing passes and nothing is closed: closes from either end are noticed (counted in
    /// ``Figures``) but not passed on, and new connections are accepted and held without
    /// reaching the station, as if their packets were lost.
    case partitioned
    /// At most `bytes` each way every `intervalMs` milliseconds.
    case throttled(bytes: Int, intervalMs: Int)

    /// "healthy", "partitioned", "throttled to N bytes every M ms".
    public var description: String {
      switch self {
      case .healthy: "healthy"
      case .partitioned: "partitioned"
      case .throttled(let bytes, let intervalMs):
        "throttled to \(bytes) bytes every \(intervalMs) ms"
      }
    }
  }

  /// What the proxy counted since it started.
  public struct Figures: Sendable, Equatable, CustomStringConvertible {
    /// Bytes carried from clients (boxes) to the upstream (station).
    public var toUpstream: UInt64 = 0
    /// Bytes carried from the upstream to clients.
    public var toClients: UInt64 = 0
    /// Connections accepted.
    public var accepted = 0
    /// Connections open now.
    public var open = 0
    /// Connections cut by ``resetAll()``.
    public var reset = 0
    /// Connections whose upstream could not be reached (the station was down); reset at once.
    public var refused = 0
    /// Connections whose client end closed while the link was partitioned (the box gave up on
    /// a half-open link).
    public var clientClosedWhilePartitioned = 0
    /// Connections whose upstream end closed while the link was partitioned (the station gave
    /// up on a half-open link).
    public var upstreamClosedWhilePartitioned = 0

    /// One line of every figure.
    public var description: String {
      "\(toUpstream) bytes up, \(toClients) bytes down, \(accepted) connections accepted, "
        + "\(open) open, \(reset) reset, \(refused) refused upstream, "
        + "\(clientClosedWhilePartitioned) closed by the client and "
        + "\(upstreamClosedWhilePartitioned) by the upstream while partitioned"
    }
  }

  /// The loopback port clients connect to.
  public let port: UInt16
  private let core: ProxyCore

  /// Listens on 127.0.0.1 (a port of the kernel's choosing) and forwards every connection to
  /// 127.0.0.1:`upstreamPort`, connecting there when the connection arrives (or, while
  /// partitioned, when the link heals).
  ///
  /// - Throws: ``SpawnError`` when the listening socket or the accepting thread cannot be made.
  public init(upstreamPort: UInt16) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SpawnError("socket", errno: errno) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    let named = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard bound == 0, named == 0, listen(fd, 64) == 0 else {
      let error = SpawnError("bind/listen on 127.0.0.1:0", errno: errno)
      close(fd)
      throw error
    }
    port = UInt16(bigEndian: address.sin_port)
    core = ProxyCore(upstreamPort: upstreamPort)
    let core = core
    do {
      try startThread { core.accept(on: fd) }
    } catch {
      close(fd)
      throw error
    }
  }

  deinit {
    core.stop()
  }

  /// What the link does now.
  public var condition: Condition { core.shared.withLock { $0.condition } }

  /// Makes the link behave as `condition` from now on, on open connections and new ones.
  public func set(_ condition: Condition) {
    core.shared.withLock { $0.condition = condition }
  }

  /// Cuts every open connection with a TCP reset on both ends (the box and the station both see
  /// the connection reset). The link's condition stays as it was.
  public func resetAll() {
    core.shared.withLock { $0.generation += 1 }
  }

  /// The figures so far.
  public var figures: Figures { core.shared.withLock { $0.figures } }

  /// Waits up to `timeoutMs` for `predicate` to hold of the figures; blocks the calling thread
  /// (call it from ``onOwnThread(_:)``).
  ///
  /// - Returns: the figures that satisfied it, or nil on timeout.
  public func waitFor(timeoutMs: UInt64, _ predicate: (Figures) -> Bool) -> Figures? {
    let deadline = monotonicMs() + timeoutMs
    while true {
      let now = figures
      if predicate(now) { return now }
      if monotonicMs() >= deadline { return nil }
      usleep(20_000)
    }
  }

  /// Stops accepting and resets every connection. Also done when the proxy is released.
  public func stop() {
    core.stop()
  }
}

/// What the proxy's threads share.
private struct ProxyState {
  var condition = FaultProxy.Condition.healthy
  var figures = FaultProxy.Figures()
  /// Bumped by `resetAll()`; a connection from an older generation resets itself.
  var generation = 0
  var stopped = false
}

/// The state and the work of the proxy's threads, apart from the `FaultProxy` value so that
/// releasing that value can stop them.
private final class ProxyCore: Sendable {
  let upstreamPort: UInt16
  let shared = Mutex(ProxyState())

  init(upstreamPort: UInt16) { self.upstreamPort = upstreamPort }

  func stop() { shared.withLock { $0.stopped = true } }

  /// Accepts connections until stopped, each on a thread of its own.
  func accept(on listener: Int32) {
    defer { close(listener) }
    while !shared.withLock({ $0.stopped }) {
      var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
      guard poll(&entry, 1, 50) > 0 else { continue }
      let client = acceptClosingOnExec(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
      guard client >= 0 else { continue }
      let generation = shared.withLock { state in
        state.figures.accepted += 1
        state.figures.open += 1
        return state.generation
      }
      let connection = ProxyConnection(core: self, client: client, generation: generation)
      do {
        try startThread { connection.run() }
      } catch {
        connection.abort()
      }
    }
  }

  /// Connects to the upstream; -1 when nobody listens there.
  func connectUpstream() -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var address = loopbackAddress(port: upstreamPort)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      close(fd)
      return -1
    }
    return fd
  }
}

/// One direction of a connection: bytes read from `source` and not yet written to `sink`.
private struct Flow {
  var pending: [UInt8] = []
  var written = 0
  /// The source sent its FIN (read returned 0).
  var sourceEnded = false
  /// The FIN was passed on (`shutdown(sink, SHUT_WR)`).
  var sinkShut = false
  /// Throttling: bytes still allowed in the current interval, and when it started.
  var allowance = 0
  var intervalStart: UInt64 = 0

  var hasPending: Bool { written < pending.count }
}

/// One proxied connection, run by its own thread from `run()` to the end.
private final class ProxyConnection: @unchecked Sendable {
  // Only the connection's thread touches these after `run()` starts.
  private let core: ProxyCore
  private let client: Int32
  private var upstream: Int32 = -1
  private let generation: Int
  private var up = Flow()
  private var down = Flow()
  private var noticedClientClose = false
  private var noticedUpstreamClose = false
  private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

  init(core: ProxyCore, client: Int32, generation: Int) {
    self.core = core
    self.client = client
    self.generation = generation
  }

  /// The thread could not be started: drop the client.
  func abort() {
    resetClose(client)
    core.shared.withLock { $0.figures.open -= 1 }
  }

  func run() {
    defer { core.shared.withLock { $0.figures.open -= 1 } }
    setNonBlocking(client)
    while true {
      let (condition, current, stopped) = core.shared.withLock {
        ($0.condition, $0.generation, $0.stopped)
      }
      if stopped || current != generation {
        resetBoth()
        if !stopped { core.shared.withLock { $0.figures.reset += 1 } }
        return
      }
      if condition == .partitioned {
        watchForCloses()
        continue
      }
      if upstream < 0 {
        upstream = core.connectUpstream()
        if upstream < 0 {
          resetClose(client)
          core.shared.withLock { $0.figures.refused += 1 }
          return
        }
        setNonBlocking(upstream)
      }
      if !step(condition) {
        return
      }
    }
  }

  /// While partitioned: reads and writes nothing, but notes when an end closes.
  private func watchForCloses() {
    let rdhup = Int16(0x2000)  // POLLRDHUP: the peer sent its FIN (or reset).
    var fds = [pollfd(fd: client, events: rdhup, revents: 0)]
    if upstream >= 0 { fds.append(pollfd(fd: upstream, events: rdhup, revents: 0)) }
    guard poll(&fds, nfds_t(fds.count), 20) > 0 else { return }
    let closed = Int16(POLLHUP) | Int16(POLLERR) | rdhup
    let clientClosed = fds[0].revents & closed != 0 && !noticedClientClose
    let upstreamClosed = fds.count > 1 && fds[1].revents & closed != 0 && !noticedUpstreamClose
    if clientClosed { noticedClientClose = true }
    if upstreamClosed { noticedUpstreamClose = true }
    if clientClosed || upstreamClosed {
      core.shared.withLock {
        if clientClosed { $0.figures.clientClosedWhilePartitioned += 1 }
        if upstreamClosed { $0.figures.upstreamClosedWhilePartitioned += 1 }
      }
    } else {
      // A closed end stays readable for poll; do not spin on it.
      usleep(20_000)
    }
  }

  /// Moves bytes once (waiting at most 20 ms for something to happen); false when the
  /// connection is over.
  private func step(_ condition: FaultProxy.Condition) -> Bool {
    let now = monotonicMs()
    var wait = 20
    if case .throttled(let bytes, let intervalMs) = condition {
      for index in 0..<2 {
        var flow = index == 0 ? up : down
        if now >= flow.intervalStart + UInt64(intervalMs) {
          flow.allowance = bytes
          flow.intervalStart = now
        }
        if flow.allowance == 0 {
          wait = min(wait, Int(flow.intervalStart + UInt64(intervalMs) - now) + 1)
        }
        if index == 0 { up = flow } else { down = flow }
      }
    } else {
      up.allowance = buffer.count
      down.allowance = buffer.count
    }
    var fds = [
      pollfd(fd: client, events: events(reading: up, writing: down), revents: 0),
      pollfd(fd: upstream, events: events(reading: down, writing: up), revents: 0),
    ]
    let ready = poll(&fds, 2, Int32(wait))
    if ready < 0 { return errno == EINTR }
    if ready == 0 { return true }
    if fds[0].revents & Int16(POLLOUT) != 0 && !write(&down, to: client) { return fail() }
    if fds[1].revents & Int16(POLLOUT) != 0 && !write(&up, to: upstream) { return fail() }
    let readable = Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)
    if fds[0].revents & readable != 0 && !read(from: client, into: &up) { return fail() }
    if fds[1].revents & readable != 0 && !read(from: upstream, into: &down) { return fail() }
    // Write what was just read without waiting for another round.
    if up.hasPending && !write(&up, to: upstream) { return fail() }
    if down.hasPending && !write(&down, to: client) { return fail() }
    if up.sourceEnded && !up.hasPending && !up.sinkShut {
      shutdown(upstream, Int32(SHUT_WR))
      up.sinkShut = true
    }
    if down.sourceEnded && !down.hasPending && !down.sinkShut {
      shutdown(client, Int32(SHUT_WR))
      down.sinkShut = true
    }
    if up.sinkShut && down.sinkShut {
      close(client)
      close(upstream)
      return false
    }
    return true
  }

  private func events(reading: Flow, writing: Flow) -> Int16 {
    var events: Int16 = 0
    if !reading.sourceEnded && !reading.hasPending && reading.allowance > 0 {
      events |= Int16(POLLIN)
    }
    if writing.hasPending { events |= Int16(POLLOUT) }
    return events
  }

  /// Reads what the allowance permits into `flow`; false on a reset or an error.
  private func read(from fd: Int32, into flow: inout Flow) -> Bool {
    guard !flow.sourceEnded && !flow.hasPending && flow.allowance > 0 else { return true }
    let limit = min(flow.allowance, buffer.count)
    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, limit) }
    if n > 0 {
      flow.pending = Array(buffer[0..<n])
      flow.written = 0
      flow.allowance -= n
      return true
    }
    if n == 0 {
      flow.sourceEnded = true
      return true
    }
    return errno == EAGAIN || errno == EINTR
  }

  /// Writes what `flow` holds to `fd`, counting it; false on a reset or an error.
  private func write(_ flow: inout Flow, to fd: Int32) -> Bool {
    guard flow.hasPending else { return true }
    let start = flow.written
    let n = flow.pending.withUnsafeBytes {
      send(fd, $0.baseAddress! + start, $0.count - start, Int32(MSG_NOSIGNAL))
    }
    if n < 0 { return errno == EAGAIN || errno == EINTR }
    flow.written += n
    let toUpstream = fd == upstream
    core.shared.withLock {
      if toUpstream {
        $0.figures.toUpstream += UInt64(n)
      } else {
        $0.figures.toClients += UInt64(n)
      }
    }
    return true
  }

  /// One end failed (reset, broken pipe): the other end is reset too, as a router would.
  private func fail() -> Bool {
    resetBoth()
    return false
  }

  private func resetBoth() {
    resetClose(client)
    if upstream >= 0 { resetClose(upstream) }
  }
}

/// `accept4(2)`, which Glibc's module leaves out (it is a GNU extension). The accepted socket
/// must be close-on-exec from the start: a daemon the test spawns at that moment would otherwise
/// inherit it and hold the connection open after the proxy resets it.
@_silgen_name("accept4")
private func acceptClosingOnExec(
  _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?,
  _ length: UnsafeMutablePointer<socklen_t>?,
  _ flags: Int32
) -> Int32

/// Closes `fd` with a TCP reset instead of an orderly FIN (linger on, zero seconds).
private func resetClose(_ fd: Int32) {
  var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
  close(fd)
}

private func setNonBlocking(_ fd: Int32) {
  _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
}

private func loopbackAddress(port: UInt16) -> sockaddr_in {
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = port.bigEndian
  address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
  return address
}

/// Runs `body` on a new detached thread.
private func startThread(_ body: @escaping @Sendable () -> Void) throws {
  let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
  var thread = pthread_t()
  let started = pthread_create(
    &thread, nil,
    { context in
      Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
      return nil
    }, context)
  guard started == 0 else {
    Unmanaged<ThreadBody>.fromOpaque(context).release()
    throw SpawnError("pthread_create", errno: started)
  }
  pthread_detach(thread)
}

private final class ThreadBody: Sendable {
  let body: @Sendable () -> Void
  init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
