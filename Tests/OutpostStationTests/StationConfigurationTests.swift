import OutpostConfig
import OutpostEnrollment
import Testing

@testable import OutpostStation

/// The `[datagram]` table of the station's configuration.
@Suite struct StationConfigurationTests {
  @Test func datagramsFollowTheListenAddressesUnlessTold() throws {
    let defaults = try StationConfiguration.parse("")
    #expect(defaults.datagram.enabled && defaults.datagram.listen.isEmpty)
    let own = try StationConfiguration.parse(
      """
      [datagram]
      listen = ["0.0.0.0:7411", "[::]:7411"]
      """)
    #expect(
      own.datagram.listen == [
        StationAddress(host: "0.0.0.0", port: 7411), StationAddress(host: "::", port: 7411),
      ])
    let off = try StationConfiguration.parse("[datagram]\nenabled = false\n")
    #expect(!off.datagram.enabled)
  }

  @Test func aBadDatagramKeyIsNamedWithItsLine() {
    #expect {
      try StationConfiguration.parse("[datagram]\nlisten = [\"nowhere\"]\n")
    } throws: { error in
      "\(error)".contains("datagram.listen") && "\(error)".contains("is not HOST:PORT")
        && (error as? ConfigError)?.line == 2
    }
    #expect {
      try StationConfiguration.parse("[datagram]\nenabled = \"yes\"\n")
    } throws: { error in
      "\(error)".contains("datagram.enabled") && "\(error)".contains("true or false")
    }
    #expect {
      try StationConfiguration.parse("[datagram]\nport = 7411\n")
    } throws: { error in
      "\(error)".contains("datagram.port: unknown key; valid keys here: enabled, listen")
    }
  }
}
