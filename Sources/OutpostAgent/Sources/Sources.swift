import Logging
import NIOCore

/// The sources a configuration asks for, in a fixed order: buttons, card readers, GPS,
/// sensors, the box's health.
enum Sources {
  static func make(
    _ configuration: AgentConfiguration, recorder: Recorder, eventLoops: any EventLoopGroup,
    logger: Logger
  ) -> [any FieldSource] {
    var sources: [any FieldSource] = []
    for input in configuration.inputDevices {
      sources.append(
        InputDeviceSource(
          settings: input, recorder: recorder, eventLoops: eventLoops, logger: logger))
    }
    for button in configuration.gpioButtons {
      sources.append(
        GPIOButtonSource(
          settings: button, recorder: recorder, eventLoops: eventLoops, logger: logger))
    }
    for reader in configuration.cardReaders {
      sources.append(
        CardReaderSource(
          settings: reader, recorder: recorder, eventLoops: eventLoops, logger: logger))
    }
    if let gps = configuration.gps {
      let sink = FixSink(
        name: "gps", recorder: recorder, settings: configuration.positions, logger: logger)
      switch gps {
      case .gpsd(let host, let port):
        sources.append(
          GPSDSource(
            host: host, port: port, recorder: recorder, sink: sink, eventLoops: eventLoops,
            logger: logger))
      case .serial(let path, let baud):
        sources.append(
          SerialNMEASource(
            path: path, baud: baud, recorder: recorder, sink: sink, eventLoops: eventLoops,
            logger: logger))
      }
    }
    for sensor in configuration.sensors {
      sources.append(SensorSource(settings: sensor, recorder: recorder, logger: logger))
    }
    sources.append(HealthSource(settings: configuration.health, recorder: recorder, logger: logger))
    return sources
  }
}
