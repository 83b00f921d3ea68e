import Logging
import NIOCore

/// The sources a configuration asks for.
enum Sources {
  static func make(
    _ configuration: AgentConfiguration, recorder: Recorder, eventLoops: any EventLoopGroup,
    logger: Logger
  ) -> [any FieldSource] {
    []
  }
}
