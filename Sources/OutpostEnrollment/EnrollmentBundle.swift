import FoundationEssentials
import Glibc

/// Everything a box needs to talk to its station, in one file: what
/// `outpost-station device add … --bundle FILE` writes and `outpostctl enroll FILE` installs.
///
/// The file is JSON (`format` `outpost-enrollment-1`), holds the box's private key, and is
/// therefore written with owner-only permissions on both ends.
public struct EnrollmentBundle: Codable, Sendable, Hashable {
  /// The format tag every bundle carries.
  public static let formatTag = "outpost-enrollment-1"

  public var format: String
  /// The device name: its certificate's common name and the name in `hello`.
  public var device: String
  /// The device number the station assigned (datagram headers carry it).
  public var deviceNumber: UInt32
  /// Stations to try in order, `HOST:PORT`.
  public var stations: [String]
  /// The station CA's certificate, PEM: the box trusts stations whose certificate it signed.
  public var caCertificate: String
  /// The box's certificate, PEM.
  public var certificate: String
  /// The box's private key, PEM (PKCS#8).
  public var privateKey: String
  /// The datagram secrets, by key index.
  public var datagramKeys: [DatagramSecret]
  /// When the bundle was made, ms since the Unix epoch.
  public var issuedAtMs: Int64

  public init(
    device: String, deviceNumber: UInt32, stations: [String], caCertificate: String,
    certificate: String, privateKey: String, datagramKeys: [DatagramSecret], issuedAtMs: Int64
  ) {
    self.format = Self.formatTag
    self.device = device
    self.deviceNumber = deviceNumber
    self.stations = stations
    self.caCertificate = caCertificate
    self.certificate = certificate
    self.privateKey = privateKey
    self.datagramKeys = datagramKeys
    self.issuedAtMs = issuedAtMs
  }

  enum CodingKeys: String, CodingKey {
    case format, device, stations, certificate
    case deviceNumber = "device_number"
    case caCertificate = "ca_certificate"
    case privateKey = "private_key"
    case datagramKeys = "datagram_keys"
    case issuedAtMs = "issued_at_ms"
  }

  /// One datagram secret: 32 random bytes with their key index.
  public struct DatagramSecret: Codable, Sendable, Hashable {
    /// 0–127.
    public var index: UInt8
    /// 64 lowercase hex digits.
    public var secret: String

    public init(index: UInt8, secret: [UInt8]) {
      self.index = index
      self.secret = secret.map { byte in
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
      }.joined()
    }

    /// The secret's bytes, or nil when `secret` is not 64 hex digits.
    public var bytes: [UInt8]? {
      let digits = Array(secret.utf8)
      guard digits.count == 64 else { return nil }
      var result: [UInt8] = []
      result.reserveCapacity(32)
      var index = 0
      while index < 64 {
        guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1])
        else { return nil }
        result.append(high << 4 | low)
        index += 2
      }
      return result
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
      switch digit {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
      default: nil
      }
    }
  }

  /// The bundle as pretty-printed JSON with sorted keys.
  public func encoded() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    // Strings, integers and arrays of them always encode.
    return Array((try? encoder.encode(self)) ?? Data())
  }

  /// Reads and checks the bundle in the file at `path` (at most 1 MiB).
  ///
  /// - Throws: ``EnrollmentError`` naming the file and what is wrong with it.
  public static func load(path: String) throws(EnrollmentError) -> EnrollmentBundle {
    try decode(read(path: path), source: path)
  }

  /// The bytes of the bundle file at `path`, unchecked (at most 1 MiB).
  ///
  /// - Throws: ``EnrollmentError`` naming the file when it cannot be read or is too large.
  public static func read(path: String) throws(EnrollmentError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw EnrollmentError("\(path): cannot open: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
      let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw EnrollmentError("\(path): cannot read: \(String(cString: strerror(errno)))")
      }
      if count == 0 { break }
      bytes += chunk[..<count]
      guard bytes.count <= 1 << 20 else {
        throw EnrollmentError("\(path): larger than 1 MiB; not an enrollment bundle")
      }
    }
    return bytes
  }

  /// Reads and checks a bundle.
  ///
  /// - Throws: ``EnrollmentError`` naming what is wrong.
  public static func decode(_ bytes: [UInt8], source: String) throws(EnrollmentError)
    -> EnrollmentBundle
  {
    let bundle: EnrollmentBundle
    do {
      bundle = try JSONDecoder().decode(EnrollmentBundle.self, from: Data(bytes))
    } catch {
      throw EnrollmentError("\(source): not an enrollment bundle: \(error)")
    }
    guard bundle.format == formatTag else {
      throw EnrollmentError(
        "\(source): format \"\(bundle.format)\" is not \"\(formatTag)\"; made by a newer station?")
    }
    guard !bundle.device.isEmpty, bundle.device.utf8.count <= 64 else {
      throw EnrollmentError("\(source): device name must be 1 to 64 bytes")
    }
    guard !bundle.stations.isEmpty else {
      throw EnrollmentError("\(source): no station addresses")
    }
    for station in bundle.stations where (StationAddress(station)?.port ?? 0) == 0 {
      throw EnrollmentError("\(source): station address \"\(station)\" is not HOST:PORT")
    }
    for (name, pem) in [
      ("ca_certificate", bundle.caCertificate), ("certificate", bundle.certificate),
      ("private_key", bundle.privateKey),
    ] where !pem.contains("-----BEGIN ") {
      throw EnrollmentError("\(source): \(name) is not PEM")
    }
    for key in bundle.datagramKeys where key.index > 127 || key.bytes == nil {
      throw EnrollmentError(
        "\(source): datagram key \(key.index): index must be 0–127 and secret 64 hex digits")
    }
    return bundle
  }
}

/// A bundle or credential problem, with what and where.
public struct EnrollmentError: Error, Sendable, Hashable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// `HOST:PORT`, with `[v6]:PORT` for IPv6 literals.
public struct StationAddress: Sendable, Hashable, CustomStringConvertible {
  public var host: String
  public var port: Int

  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// Parses `HOST:PORT` or `[V6]:PORT`; nil when malformed or the port is not 0–65535 (0, "any
  /// free port", only makes sense for listening).
  public init?(_ text: String) {
    var host: Substring
    let portText: Substring
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]") else { return nil }
      host = text[text.index(after: text.startIndex)..<close]
      let rest = text[text.index(after: close)...]
      guard rest.hasPrefix(":") else { return nil }
      portText = rest.dropFirst()
    } else {
      guard let colon = text.lastIndex(of: ":") else { return nil }
      host = text[..<colon]
      portText = text[text.index(after: colon)...]
      if host.contains(":") { return nil }
    }
    guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
    host = host.trimmingPrefix(" ")
    self.host = String(host)
    self.port = port
  }

  public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
