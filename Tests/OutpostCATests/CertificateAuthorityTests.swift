import Foundation
import Glibc
import OutpostCA
import OutpostEnrollment
import OutpostTestKit
import Testing
import X509

@Suite("The station's certificate authority", .timeLimit(.minutes(1)))
struct CertificateAuthorityTests {
  let directory = TemporaryDirectory("ca")

  private var caDirectory: String { directory.file("state/ca") }

  @Test("initialize creates the directory 0700 and the keys 0600")
  func filesAndPermissions() throws {
    let previous = umask(0o022)
    defer { umask(previous) }
    _ = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    #expect(try mode(caDirectory) == 0o700)
    #expect(try mode("\(caDirectory)/ca.key") == 0o600)
    #expect(try mode("\(caDirectory)/station.key") == 0o600)
    #expect(try mode("\(caDirectory)/ca.pem") == 0o644)
    #expect(try mode("\(caDirectory)/station.pem") == 0o644)
    // No temporary files are left behind.
    let names = try FileManager.default.contentsOfDirectory(atPath: caDirectory).sorted()
    #expect(names == ["ca.key", "ca.pem", "station.key", "station.pem"])
    let key = try String(contentsOfFile: "\(caDirectory)/ca.key", encoding: .utf8)
    #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----"))
  }

  @Test("initialize makes an existing, empty directory owner-only")
  func existingDirectoryTightened() throws {
    try FileManager.default.createDirectory(
      atPath: caDirectory, withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o755])
    _ = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    #expect(try mode(caDirectory) == 0o700)
  }

  @Test("initialize refuses a directory that already holds a CA, and leaves it untouched")
  func initializeTwiceRefuses() throws {
    let first = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    let error = #expect(throws: CAError.self) {
      try CertificateAuthority.initialize(
        directory: caDirectory, name: "Test post", stationNames: [])
    }
    #expect(error?.description.contains("already exists") == true)
    let again = try CertificateAuthority.load(directory: caDirectory)
    #expect(again.caCertificatePEM == first.caCertificatePEM)
    #expect(again.stationPrivateKeyPEM == first.stationPrivateKeyPEM)
  }

  @Test("initialize refuses a directory holding any one CA file")
  func initializeRefusesPartialCA() throws {
    try FileManager.default.createDirectory(
      atPath: caDirectory, withIntermediateDirectories: true)
    #expect(FileManager.default.createFile(atPath: "\(caDirectory)/ca.key", contents: Data()))
    #expect(throws: CAError.self) {
      try CertificateAuthority.initialize(
        directory: caDirectory, name: "Test post", stationNames: [])
    }
  }

  @Test("load of a missing directory names the file and the command to run")
  func loadMissing() throws {
    let error = #expect(throws: CAError.self) {
      try CertificateAuthority.load(directory: caDirectory)
    }
    let message = error?.description ?? ""
    #expect(message.contains("\(caDirectory)/ca.key"))
    #expect(message.contains("missing"))
    #expect(message.contains("run `outpost-station ca init`"))
  }

  @Test("load names the one missing file of an incomplete CA")
  func loadIncomplete() throws {
    _ = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    unlink("\(caDirectory)/station.pem")
    let error = #expect(throws: CAError.self) {
      try CertificateAuthority.load(directory: caDirectory)
    }
    #expect(error?.description.contains("\(caDirectory)/station.pem: missing") == true)
  }

  @Test("load names a file that is not what it should be")
  func loadMalformed() throws {
    _ = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    try Data("not a certificate\n".utf8).write(
      to: URL(fileURLWithPath: "\(caDirectory)/ca.pem"))
    let error = #expect(throws: CAError.self) {
      try CertificateAuthority.load(directory: caDirectory)
    }
    #expect(error?.description.hasPrefix("\(caDirectory)/ca.pem: not a PEM certificate") == true)
  }

  @Test("load refuses a station key that does not belong to the station certificate")
  func loadMismatchedKey() throws {
    _ = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    let other = try CertificateAuthority.initialize(
      directory: directory.file("other"), name: "Other post", stationNames: [])
    try Data(other.stationPrivateKeyPEM.utf8).write(
      to: URL(fileURLWithPath: "\(caDirectory)/station.key"))
    let error = #expect(throws: CAError.self) {
      try CertificateAuthority.load(directory: caDirectory)
    }
    #expect(error?.description.contains("does not belong") == true)
  }

  @Test("load gives back what initialize made, and can issue with the loaded key")
  func loadRoundTrip() throws {
    let made = try CertificateAuthority.initialize(
      directory: caDirectory + "/", name: "Test post", stationNames: ["10.0.0.1"])
    let loaded = try CertificateAuthority.load(directory: caDirectory)
    #expect(loaded.caCertificatePEM == made.caCertificatePEM)
    #expect(loaded.stationCertificatePEM == made.stationCertificatePEM)
    #expect(loaded.stationPrivateKeyPEM == made.stationPrivateKeyPEM)
    let issued = try loaded.issueDevice(name: "box-1")
    let certificate = try Certificate(pemEncoded: issued.certificatePEM)
    let root = try Certificate(pemEncoded: made.caCertificatePEM)
    #expect(root.publicKey.isValidSignature(certificate.signature, for: certificate))
  }

  @Test("the CA certificate is a CA for signing certificates and CRLs only")
  func caCertificateShape() throws {
    let ca = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    let root = try Certificate(pemEncoded: ca.caCertificatePEM)
    #expect(root.subject == root.issuer)
    #expect(identify(root).commonName == "Test post")
    guard case .isCertificateAuthority = try root.extensions.basicConstraints else {
      Issue.record("not a CA: \(String(describing: try root.extensions.basicConstraints))")
      return
    }
    #expect(try root.extensions.keyUsage == KeyUsage(keyCertSign: true, cRLSign: true))
  }

  @Test("the station certificate carries station.outpost and the given names, for servers")
  func stationCertificateShape() throws {
    let ca = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post",
      stationNames: [
        "post.example.org", "192.168.7.1", "fd00::1", CertificateAuthority.stationHostname,
      ])
    let station = try Certificate(pemEncoded: ca.stationCertificatePEM)
    let names = Array(try station.extensions.subjectAlternativeNames ?? SubjectAlternativeNames())
    #expect(
      names == [
        .dnsName("station.outpost"), .dnsName("post.example.org"),
        .ipAddress(.init(contentBytes: [192, 168, 7, 1])),
        .ipAddress(.init(contentBytes: [0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
      ])
    #expect(try station.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth]))
    #expect(try station.extensions.basicConstraints == .notCertificateAuthority)
    let root = try Certificate(pemEncoded: ca.caCertificatePEM)
    #expect(station.issuer == root.subject)
    #expect(root.publicKey.isValidSignature(station.signature, for: station))
  }

  @Test("a station name that is neither a DNS name nor an IP address is refused, leaving no CA")
  func badStationName() throws {
    #expect(throws: CAError.self) {
      try CertificateAuthority.initialize(
        directory: caDirectory, name: "Test post", stationNames: ["not a host"])
    }
    #expect(!FileManager.default.fileExists(atPath: "\(caDirectory)/ca.key"))
  }

  @Test("a device certificate: its name, a 16-byte serial, clientAuth, ten years")
  func deviceCertificateShape() throws {
    let now = Date(timeIntervalSince1970: 1_780_000_000)
    let ca = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [], now: now)
    let issued = try ca.issueDevice(name: "box-0042", now: now)
    let certificate = try Certificate(pemEncoded: issued.certificatePEM)
    let identity = identify(certificate)
    #expect(identity == PeerIdentity(commonName: "box-0042", serial: issued.serial))
    #expect(issued.serial.utf8.count == 32)
    #expect(issued.serial == issued.serial.lowercased())
    #expect(try certificate.extensions.extendedKeyUsage == ExtendedKeyUsage([.clientAuth]))
    #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)
    let tenYears = certificate.notValidAfter.timeIntervalSince(now) / (365.25 * 86_400)
    #expect(abs(tenYears - 10) < 0.01)
    // Valid before now, so a box whose clock is not set yet still gets through.
    #expect(certificate.notValidBefore <= Date(timeIntervalSince1970: 1_577_836_800))
    #expect(issued.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))

    let second = try ca.issueDevice(name: "box-0042", now: now)
    #expect(second.serial != issued.serial)
  }

  @Test("device names must be 1 to 64 bytes without control characters")
  func badDeviceNames() throws {
    let ca = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    for name in ["", String(repeating: "x", count: 65), "box\n1"] {
      #expect(throws: CAError.self) { try ca.issueDevice(name: name) }
    }
    #expect(try ca.issueDevice(name: "Бат-Эрдэнэ гэр").certificatePEM.contains("CERTIFICATE"))
  }

  @Test("identify refuses bytes that are not a certificate")
  func identifyGarbage() {
    #expect(throws: CAError.self) {
      try CertificateAuthority.identify(certificateDER: [0x30, 0x03, 0x02, 0x01, 0x01])
    }
  }

  @Test("an enrollment bundle made from issueDevice survives encoded() and decode()")
  func bundleRoundTrip() throws {
    let ca = try CertificateAuthority.initialize(
      directory: caDirectory, name: "Test post", stationNames: [])
    let issued = try ca.issueDevice(name: "box-0042")
    let bundle = EnrollmentBundle(
      device: "box-0042", deviceNumber: 42, stations: ["10.0.0.1:4443", "[fd00::1]:4443"],
      caCertificate: ca.caCertificatePEM, certificate: issued.certificatePEM,
      privateKey: issued.privateKeyPEM,
      datagramKeys: [.init(index: 0, secret: Array(repeating: 7, count: 32))],
      issuedAtMs: 1_780_000_000_000)
    let decoded = try EnrollmentBundle.decode(bundle.encoded(), source: "bundle.json")
    #expect(decoded == bundle)
    let certificate = try Certificate(pemEncoded: decoded.certificate)
    #expect(identify(certificate).serial == issued.serial)
  }

  private func identify(_ certificate: Certificate) -> PeerIdentity {
    do {
      return try CertificateAuthority.identify(
        certificateDER: certificate.serializeAsPEM().derBytes)
    } catch {
      Issue.record("identify: \(error)")
      return PeerIdentity(commonName: "", serial: "")
    }
  }

  private func mode(_ path: String) throws -> UInt32 {
    var info = stat()
    guard stat(path, &info) == 0 else { throw CAError("\(path): stat failed") }
    return UInt32(info.st_mode) & 0o7777
  }
}
