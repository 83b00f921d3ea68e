import Crypto
import Foundation
import X509

/// The station's own small certificate authority.
///
/// It lives in one directory (`STATE/ca`, mode 0700):
///
/// | file | what | mode |
/// | --- | --- | --- |
/// | `ca.key` | the CA's P-256 private key, PKCS#8 PEM | 0600 |
/// | `ca.pem` | the CA's self-signed certificate | 0644 |
/// | `station.key` | the station's TLS private key, PKCS#8 PEM | 0600 |
/// | `station.pem` | the station's server certificate, signed by the CA | 0644 |
///
/// Boxes trust exactly this CA and accept a server only if its certificate carries
/// ``stationHostname``; the station accepts a client only if its certificate chains to this CA.
/// A device is its certificate: its common name is the device name and its serial is what
/// revocation names.
public struct CertificateAuthority: Sendable {
  /// The DNS name every station certificate carries and every box verifies.
  public static let stationHostname = "station.outpost"

  /// The file names inside the CA directory.
  public enum FileName {
    public static let caKey = "ca.key"
    public static let caCertificate = "ca.pem"
    public static let stationKey = "station.key"
    public static let stationCertificate = "station.pem"
    static let all = [caKey, caCertificate, stationKey, stationCertificate]
  }

  /// The CA directory this authority was created in or loaded from.
  public let directory: String
  /// The CA certificate, PEM: what every box and the station trust.
  public let caCertificatePEM: String
  /// The station's server certificate, PEM.
  public let stationCertificatePEM: String
  /// The station's private key, PEM (PKCS#8).
  public let stationPrivateKeyPEM: String

  private let caKey: P256.Signing.PrivateKey
  private let caCertificate: Certificate

  private init(
    directory: String, caKey: P256.Signing.PrivateKey, caCertificate: Certificate,
    caCertificatePEM: String, stationCertificatePEM: String, stationPrivateKeyPEM: String
  ) {
    self.directory = directory
    self.caKey = caKey
    self.caCertificate = caCertificate
    self.caCertificatePEM = caCertificatePEM
    self.stationCertificatePEM = stationCertificatePEM
    self.stationPrivateKeyPEM = stationPrivateKeyPEM
  }

  /// Creates a new CA and the station's certificate in `directory`.
  ///
  /// The directory is created with mode 0700 if missing; keys are created 0600, certificates
  /// 0644, each written atomically. The CA certificate is valid for 30 years, the station
  /// certificate for 10.
  ///
  /// - Parameters:
  ///   - directory: the CA directory, normally `STATE/ca`.
  ///   - name: the CA's common name, e.g. the post's name; 1 to 64 bytes.
  ///   - stationNames: further names boxes may use to reach the station, put into the station
  ///     certificate besides ``stationHostname``; IP literals become IP address entries.
  ///   - now: the issuing time.
  /// - Throws: ``CAError`` when a CA (or any of its files) already exists there, a name is
  ///   invalid, or a file cannot be written.
  public static func initialize(
    directory: String, name: String, stationNames: [String], now: Date = .now
  ) throws -> CertificateAuthority {
    let directory = normalized(directory)
    try checkName(name, what: "CA name")
    let existing = FileName.all.filter { CAFiles.exists("\(directory)/\($0)") }
    guard existing.isEmpty else {
      throw CAError(
        "\(directory): a CA already exists there (\(existing.joined(separator: ", "))); "
          + "refusing to replace it, which would cut off every enrolled box. Use another "
          + "directory, or remove this one only if no box depends on it")
    }
    // Everything is made before anything is written, so a bad station name leaves no trace.
    let caKey = P256.Signing.PrivateKey()
    let caCertificate = try CertificateProfiles.authority(name: name, key: caKey, now: now)
    let stationKey = P256.Signing.PrivateKey()
    let stationCertificate = try CertificateProfiles.station(
      extraNames: stationNames, key: stationKey.publicKey, issuer: caCertificate,
      issuerKey: caKey, now: now)
    let authority = CertificateAuthority(
      directory: directory, caKey: caKey, caCertificate: caCertificate,
      caCertificatePEM: try caCertificate.serializeAsPEM().pemString + "\n",
      stationCertificatePEM: try stationCertificate.serializeAsPEM().pemString + "\n",
      stationPrivateKeyPEM: stationKey.pemRepresentation + "\n")

    try CAFiles.makeDirectory(directory)
    // ca.pem goes last: a CA directory interrupted half way fails `load` by naming the
    // missing file, and `initialize` refuses it rather than silently minting a second CA.
    try CAFiles.writeAtomically(
      Array((caKey.pemRepresentation + "\n").utf8), to: "\(directory)/\(FileName.caKey)",
      mode: 0o600)
    try CAFiles.writeAtomically(
      Array(authority.stationPrivateKeyPEM.utf8), to: "\(directory)/\(FileName.stationKey)",
      mode: 0o600)
    try CAFiles.writeAtomically(
      Array(authority.stationCertificatePEM.utf8),
      to: "\(directory)/\(FileName.stationCertificate)", mode: 0o644)
    try CAFiles.writeAtomically(
      Array(authority.caCertificatePEM.utf8), to: "\(directory)/\(FileName.caCertificate)",
      mode: 0o644)
    return authority
  }

  /// Loads the CA made by ``initialize(directory:name:stationNames:now:)``.
  ///
  /// Checks that each key belongs to its certificate and that the station certificate is
  /// signed by the CA.
  ///
  /// - Throws: ``CAError`` naming the missing, unreadable or malformed file, and telling to run
  ///   `outpost-station ca init` when the CA is not there.
  public static func load(directory: String) throws -> CertificateAuthority {
    let directory = normalized(directory)
    func path(_ name: String) -> String { "\(directory)/\(name)" }
    func text(_ name: String) throws(CAError) -> String {
      String(decoding: try CAFiles.contents(of: path(name)), as: UTF8.self)
    }
    // Every file is read before any is judged, so a CA that is not there is reported as
    // missing rather than as malformed.
    let caKeyPEM = try text(FileName.caKey)
    let caCertificatePEM = try text(FileName.caCertificate)
    let stationKeyPEM = try text(FileName.stationKey)
    let stationCertificatePEM = try text(FileName.stationCertificate)

    func certificate(_ pem: String, from name: String) throws(CAError) -> Certificate {
      do {
        return try Certificate(pemEncoded: pem)
      } catch {
        throw CAError("\(path(name)): not a PEM certificate: \(error)")
      }
    }
    func key(_ pem: String, from name: String) throws(CAError) -> P256.Signing.PrivateKey {
      do {
        return try P256.Signing.PrivateKey(pemRepresentation: pem)
      } catch {
        throw CAError("\(path(name)): not a PEM P-256 private key: \(error)")
      }
    }
    let caKey = try key(caKeyPEM, from: FileName.caKey)
    let caCertificate = try certificate(caCertificatePEM, from: FileName.caCertificate)
    let stationKey = try key(stationKeyPEM, from: FileName.stationKey)
    let stationCertificate = try certificate(
      stationCertificatePEM, from: FileName.stationCertificate)

    guard caCertificate.publicKey == Certificate.PublicKey(caKey.publicKey) else {
      throw CAError(
        "\(path(FileName.caKey)) does not belong to \(path(FileName.caCertificate))")
    }
    guard stationCertificate.publicKey == Certificate.PublicKey(stationKey.publicKey) else {
      throw CAError(
        "\(path(FileName.stationKey)) does not belong to \(path(FileName.stationCertificate))")
    }
    guard
      caCertificate.publicKey.isValidSignature(
        stationCertificate.signature, for: stationCertificate)
    else {
      throw CAError(
        "\(path(FileName.stationCertificate)) is not signed by \(path(FileName.caCertificate))")
    }
    return CertificateAuthority(
      directory: directory, caKey: caKey, caCertificate: caCertificate,
      caCertificatePEM: caCertificatePEM, stationCertificatePEM: stationCertificatePEM,
      stationPrivateKeyPEM: stationKeyPEM)
  }

  /// Issues a device certificate with a new P-256 key.
  ///
  /// The certificate's common name is `name`, its serial 16 random bytes, its extended key
  /// usage clientAuth only; it is valid for 10 years from `now`. Nothing is written to disk:
  /// the caller puts the result into the device's enrollment bundle and records the serial.
  ///
  /// - Parameters:
  ///   - name: the device name, 1 to 64 bytes without control characters (what the bundle and
  ///     `hello` carry).
  ///   - now: the issuing time.
  /// - Throws: ``CAError`` when the name is invalid.
  public func issueDevice(name: String, now: Date = .now) throws -> IssuedCertificate {
    try Self.checkName(name, what: "device name")
    let key = P256.Signing.PrivateKey()
    let certificate = try CertificateProfiles.device(
      name: name, key: key.publicKey, issuer: caCertificate, issuerKey: caKey, now: now)
    return IssuedCertificate(
      certificatePEM: try certificate.serializeAsPEM().pemString + "\n",
      privateKeyPEM: key.pemRepresentation + "\n",
      serial: Self.hex(certificate.serialNumber.bytes))
  }

  /// The common name and serial of a certificate, as a peer presented it.
  ///
  /// Call it only on a certificate the TLS handshake verified against this CA: it checks
  /// nothing but the encoding.
  ///
  /// - Parameter certificateDER: the certificate, DER.
  /// - Returns: the subject's common name and the serial in lowercase hex.
  /// - Throws: ``CAError`` when the bytes are not a certificate or the subject has no common
  ///   name.
  public static func identify(certificateDER: [UInt8]) throws -> PeerIdentity {
    let certificate: Certificate
    do {
      certificate = try Certificate(derEncoded: certificateDER)
    } catch {
      throw CAError("peer certificate is not a DER X.509 certificate: \(error)")
    }
    for relativeName in certificate.subject {
      for attribute in relativeName where attribute.type == .RDNAttributeType.commonName {
        if let commonName = String(attribute.value) {
          return PeerIdentity(
            commonName: commonName, serial: hex(certificate.serialNumber.bytes))
        }
      }
    }
    throw CAError("peer certificate \(certificate.subject) has no common name")
  }

  private static func checkName(_ name: String, what: String) throws(CAError) {
    guard !name.isEmpty, name.utf8.count <= 64 else {
      throw CAError("\(what) \"\(name)\" must be 1 to 64 bytes")
    }
    guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
    else {
      throw CAError("\(what) \"\(name)\" contains control characters")
    }
  }

  private static func normalized(_ directory: String) -> String {
    var directory = directory
    while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
    return directory
  }

  static func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 15)])
    }
    return String(decoding: text, as: UTF8.self)
  }
}
