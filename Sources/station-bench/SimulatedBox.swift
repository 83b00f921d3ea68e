import NIOCore
import OutpostCore
import OutpostWire

/// One simulated box on a real TLS connection: sends `hello`, waits for `welcome` and for
/// ``start()``, then sends its batches keeping at most the station's window unacknowledged,
/// and finishes when every record is acknowledged (which the station does only after commit).
///
/// Lives on its channel's event loop: every method runs there.
final class SimulatedBox: ChannelInboundHandler, @unchecked Sendable {
  typealias InboundIn = WireMessage
  typealias OutboundOut = WireMessage

  let hello: Hello
  let batches: [Batch]
  let welcomed: EventLoopPromise<Void>
  let finished: EventLoopPromise<Void>
  private let total: Int
  private var window = 1
  private var next = 0
  private var inFlight = 0
  private var acknowledged = 0
  private var context: ChannelHandlerContext?
  private var isWelcomed = false
  private var done = false

  init(hello: Hello, batches: [Batch], eventLoop: any EventLoop) {
    self.hello = hello
    self.batches = batches
    total = batches.reduce(0) { $0 + $1.records.count }
    welcomed = eventLoop.makePromise()
    finished = eventLoop.makePromise()
  }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
  }

  func channelActive(context: ChannelHandlerContext) {
    context.writeAndFlush(wrapOutboundOut(.hello(hello)), promise: nil)
    context.fireChannelActive()
  }

  /// Sends the first batches (call once, on the event loop, after ``welcomed``).
  func start() {
    sendMore()
  }

  private func sendMore() {
    guard let context else { return }
    var wrote = false
    while inFlight < window && next < batches.count {
      context.write(wrapOutboundOut(.batch(batches[next])), promise: nil)
      next += 1
      inFlight += 1
      wrote = true
    }
    if wrote { context.flush() }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .welcome(let welcome):
      window = max(1, min(Int(welcome.window), 8))
      if !isWelcomed {
        isWelcomed = true
        welcomed.succeed()
      }
    case .ack(let ack):
      acknowledged += ack.ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound + 1) }
      inFlight -= 1
      if acknowledged >= total && !done {
        done = true
        finished.succeed()
      } else {
        sendMore()
      }
    case .ping(let nonce):
      context.writeAndFlush(wrapOutboundOut(.pong(nonce: nonce)), promise: nil)
    case .error(let report):
      fail(BenchError("the station refused \(hello.device): \(report)"))
    default:
      break
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    fail(error)
    context.close(promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    fail(BenchError("\(hello.device): connection closed"))
    context.fireChannelInactive()
  }

  private func fail(_ error: any Error) {
    if !isWelcomed {
      isWelcomed = true
      welcomed.fail(error)
    }
    guard !done else { return }
    done = true
    finished.fail(error)
  }
}
