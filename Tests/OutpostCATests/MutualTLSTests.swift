import Foundation
import NIOCore
import NIOSSL
import OutpostCA
import OutpostEnrollment
import OutpostStation
import OutpostTestKit
import OutpostUplink
import Testing
import X509

@Suite("Mutual TLS between boxes and the station", .timeLimit(.minutes(1)))
struct MutualTLSTests {
  let directory = TemporaryDirectory("ca-tls")
  let ca: CertificateAuthority

  init() throws {
    ca = try CertificateAuthority.initialize(
      directory: directory.file("ca"), name: "Test post", stationNames: ["127.0.0.1"])
  }

  @Test("a device certificate from the CA completes TLS 1.3 and the station sees who it is")
  func deviceHandshake() async throws {
    let device = try ca.issueDevice(name: "box-0042")
    let outcome = try await LoopbackTLS.connect(
      server: try StationTLS.serverContext(ca: ca),
      client: try UplinkTLS.clientContext(bundle: bundle(device, name: "box-0042")),
      serverHostname: UplinkTLS.serverHostname)

    let station = try outcome.server.get()
    #expect(station.peer == PeerIdentity(commonName: "box-0042", serial: device.serial))
    #expect(station.version == .tlsv13)
    let box = try outcome.client.get()
    #expect(box.peer?.commonName == CertificateAuthority.stationHostname)
    #expect(box.version == .tlsv13)
  }

  @Test("the negotiated version is TLS 1.3")
  func negotiatesTLS13() async throws {
    let device = try ca.issueDevice(name: "box-7")
    // A client that allows 1.2 as well still ends up on 1.3: the station offers nothing older.
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.minimumTLSVersion = .tlsv12
    configuration.trustRoots = .certificates([try pemCertificate(ca.caCertificatePEM)])
    configuration.certificateChain = [.certificate(try pemCertificate(device.certificatePEM))]
    configuration.privateKey = .privateKey(try pemKey(device.privateKeyPEM))
    let outcome = try await LoopbackTLS.connect(
      server: try StationTLS.serverContext(ca: ca),
      client: try NIOSSLContext(configuration: configuration),
      serverHostname: UplinkTLS.serverHostname)
    #expect(try outcome.server.get().peer?.commonName == "box-7")
    #expect(try outcome.server.get().version == .tlsv13)
    #expect(try outcome.client.get().version == .tlsv13)
  }

  @Test("a client certificate from another CA is refused")
  func foreignDeviceRefused() async throws {
    let foreign = try CertificateAuthority.initialize(
      directory: directory.file("other-ca"), name: "Other post", stationNames: [])
    let impostor = try foreign.issueDevice(name: "box-0042")
    var credentials = bundle(impostor, name: "box-0042")
    // It trusts our station, so only the station's check can stop it.
    credentials.caCertificate = ca.caCertificatePEM
    let outcome = try await LoopbackTLS.connect(
      server: try StationTLS.serverContext(ca: ca),
      client: try UplinkTLS.clientContext(bundle: credentials),
      serverHostname: UplinkTLS.serverHostname)
    try expectTLSRefusal(outcome.server)
  }

  @Test("a client without a certificate is refused")
  func anonymousClientRefused() async throws {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.minimumTLSVersion = .tlsv13
    configuration.trustRoots = .certificates([try pemCertificate(ca.caCertificatePEM)])
    let outcome = try await LoopbackTLS.connect(
      server: try StationTLS.serverContext(ca: ca),
      client: try NIOSSLContext(configuration: configuration),
      serverHostname: UplinkTLS.serverHostname)
    try expectTLSRefusal(outcome.server)
  }

  @Test("a client limited to TLS 1.2 is refused")
  func tls12ClientRefused() async throws {
    let device = try ca.issueDevice(name: "old-box")
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.minimumTLSVersion = .tlsv12
    configuration.maximumTLSVersion = .tlsv12
    configuration.trustRoots = .certificates([try pemCertificate(ca.caCertificatePEM)])
    configuration.certificateChain = [.certificate(try pemCertificate(device.certificatePEM))]
    configuration.privateKey = .privateKey(try pemKey(device.privateKeyPEM))
    let outcome = try await LoopbackTLS.connect(
      server: try StationTLS.serverContext(ca: ca),
      client: try NIOSSLContext(configuration: configuration),
      serverHostname: UplinkTLS.serverHostname)
    try expectTLSRefusal(outcome.server)
    try expectTLSRefusal(outcome.client)
  }

  @Test("a box refuses a 'station' that presents a device certificate from the same CA")
  func deviceCertificateCannotPoseAsStation() async throws {
    let impostor = try ca.issueDevice(name: "rogue-box")
    let outcome = try await LoopbackTLS.connect(
      server: try impostorServer(
        certificatePEM: impostor.certificatePEM, keyPEM: impostor.privateKeyPEM),
      client: try UplinkTLS.clientContext(
        bundle: bundle(try ca.issueDevice(name: "box-1"), name: "box-1")),
      serverHostname: UplinkTLS.serverHostname)
    try expectTLSRefusal(outcome.client)
  }

  @Test("a box refuses a server certificate from the same CA without the station's name")
  func hostnameIsVerified() async throws {
    // A certificate fit for a server in every other way (serverAuth, signed by the CA), so
    // only the name check can refuse it.
    let key = try ca.issueDevice(name: "rogue-server").privateKeyPEM
    let certificate = try signedByCA(
      subjectKeyPEM: key, commonName: "rogue-server", dnsName: "rogue-server.outpost")
    let outcome = try await LoopbackTLS.connect(
      server: try impostorServer(certificatePEM: certificate, keyPEM: key),
      client: try UplinkTLS.clientContext(
        bundle: bundle(try ca.issueDevice(name: "box-2"), name: "box-2")),
      serverHostname: UplinkTLS.serverHostname)
    try expectTLSRefusal(outcome.client)

    // The same certificate with the station's name passes, so the name is what was refused.
    let named = try signedByCA(
      subjectKeyPEM: key, commonName: "rogue-server", dnsName: CertificateAuthority.stationHostname)
    let control = try await LoopbackTLS.connect(
      server: try impostorServer(certificatePEM: named, keyPEM: key),
      client: try UplinkTLS.clientContext(
        bundle: bundle(try ca.issueDevice(name: "box-3"), name: "box-3")),
      serverHostname: UplinkTLS.serverHostname)
    #expect(try control.client.get().peer?.commonName == "rogue-server")
  }

  @Test("the station certificate verifies under the address names given at init")
  func stationAddressNames() async throws {
    let device = try ca.issueDevice(name: "box-9")
    let outcome = try await LoopbackTLS.connect(
      server: try StationTLS.serverContext(ca: ca),
      client: try UplinkTLS.clientContext(bundle: bundle(device, name: "box-9")),
      serverHostname: nil)
    // Without SNI/hostname NIOSSL checks the IP SAN against the address it connected to.
    #expect(try outcome.client.get().peer?.commonName == CertificateAuthority.stationHostname)
    #expect(try outcome.server.get().peer?.commonName == "box-9")
  }

  // MARK: - Helpers

  private func bundle(_ issued: IssuedCertificate, name: String) -> EnrollmentBundle {
    EnrollmentBundle(
      device: name, deviceNumber: 1, stations: ["127.0.0.1:4443"],
      caCertificate: ca.caCertificatePEM, certificate: issued.certificatePEM,
      privateKey: issued.privateKeyPEM, datagramKeys: [], issuedAtMs: 0)
  }

  /// A TLS 1.3 server presenting `certificatePEM` and asking for no client certificate.
  private func impostorServer(certificatePEM: String, keyPEM: String) throws -> NIOSSLContext {
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: [.certificate(try pemCertificate(certificatePEM))],
      privateKey: .privateKey(try pemKey(keyPEM)))
    configuration.minimumTLSVersion = .tlsv13
    return try NIOSSLContext(configuration: configuration)
  }

  /// A serverAuth certificate for `subjectKeyPEM`, signed with the CA's key from its directory.
  private func signedByCA(subjectKeyPEM: String, commonName: String, dnsName: String) throws
    -> String
  {
    let caKey = try Certificate.PrivateKey(
      pemEncoded: String(contentsOfFile: directory.file("ca/ca.key"), encoding: .utf8))
    let caCertificate = try Certificate(pemEncoded: ca.caCertificatePEM)
    let subjectKey = try Certificate.PrivateKey(pemEncoded: subjectKeyPEM)
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(),
      publicKey: subjectKey.publicKey,
      notValidBefore: Date.now - 3600, notValidAfter: Date.now + 3600,
      issuer: caCertificate.subject,
      subject: try DistinguishedName { CommonName(commonName) },
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        try ExtendedKeyUsage([.serverAuth])
        SubjectAlternativeNames([.dnsName(dnsName)])
      },
      issuerPrivateKey: caKey)
    return try certificate.serializeAsPEM().pemString
  }
}

func pemCertificate(_ pem: String) throws -> NIOSSLCertificate {
  try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem)
}

func pemKey(_ pem: String) throws -> NIOSSLPrivateKey {
  try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem)
}

/// The side ended its handshake with a TLS error (not a hang and not a success).
func expectTLSRefusal(
  _ outcome: Result<CompletedHandshake, any Error>,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  switch outcome {
  case .success(let identity):
    Issue.record(
      "handshake succeeded with \(String(describing: identity))", sourceLocation: sourceLocation)
  case .failure(let error):
    #expect(!(error is HandshakeHung), "handshake hung", sourceLocation: sourceLocation)
    #expect(
      error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
        || error is ClosedBeforeHandshake,
      "unexpected error \(error)", sourceLocation: sourceLocation)
  }
}
