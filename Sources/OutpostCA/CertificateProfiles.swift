import Crypto
import Foundation
import Glibc
import X509

/// What the three kinds of certificate the CA makes look like.
///
/// The CA signs only these shapes: its own root, the station's server certificate and device
/// client certificates. The extended key usages keep the roles apart on their own (a device
/// certificate is refused as a server and a station certificate as a client), and the station's
/// DNS name keeps them apart a second time on the box's side.
enum CertificateProfiles {
  /// How long the CA certificate is valid: longer than anything it signs.
  static let caLifetime: TimeInterval = 30 * 365.25 * 86_400
  /// How long a device or station certificate is valid.
  static let leafLifetime: TimeInterval = 10 * 365.25 * 86_400

  /// The start of every validity period: 2020-01-01T00:00:00Z, or a day before `now` if that
  /// is earlier.
  ///
  /// A box may come up without a set clock (no real-time clock, no GPS fix or NTP yet; systemd
  /// starts it at its build date) and must still accept its station, because an SOS cannot wait
  /// for the clock. Only the start is backdated; the end is counted from `now`.
  static func validFrom(_ now: Date) -> Date {
    min(Date(timeIntervalSince1970: 1_577_836_800), now - 86_400)
  }

  /// A self-signed CA certificate: basicConstraints CA (critical), keyCertSign and cRLSign.
  static func authority(name: String, key: P256.Signing.PrivateKey, now: Date) throws
    -> Certificate
  {
    let subject = try DistinguishedName { CommonName(name) }
    let publicKey = Certificate.PublicKey(key.publicKey)
    return try Certificate(
      version: .v3,
      serialNumber: randomSerial(),
      publicKey: publicKey,
      notValidBefore: validFrom(now),
      notValidAfter: now + caLifetime,
      issuer: subject,
      subject: subject,
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        SubjectKeyIdentifier(hash: publicKey)
      },
      issuerPrivateKey: Certificate.PrivateKey(key)
    )
  }

  /// The station's server certificate: DNS name ``CertificateAuthority/stationHostname`` and
  /// `extraNames` (IP literals as IP addresses), serverAuth.
  static func station(
    extraNames: [String], key: P256.Signing.PublicKey, issuer: Certificate,
    issuerKey: P256.Signing.PrivateKey, now: Date
  ) throws -> Certificate {
    var names: [GeneralName] = [.dnsName(CertificateAuthority.stationHostname)]
    for name in extraNames {
      let generalName = try subjectAlternativeName(name)
      if !names.contains(generalName) { names.append(generalName) }
    }
    return try leaf(
      commonName: CertificateAuthority.stationHostname, key: key, usage: .serverAuth,
      alternativeNames: SubjectAlternativeNames(names), issuer: issuer, issuerKey: issuerKey,
      now: now)
  }

  /// A device's client certificate: common name `name`, clientAuth.
  static func device(
    name: String, key: P256.Signing.PublicKey, issuer: Certificate,
    issuerKey: P256.Signing.PrivateKey, now: Date
  ) throws -> Certificate {
    try leaf(
      commonName: name, key: key, usage: .clientAuth, alternativeNames: nil, issuer: issuer,
      issuerKey: issuerKey, now: now)
  }

  /// 16 random bytes, the first one in 0x40...0x7F: positive as a DER INTEGER and never
  /// shortened by a leading zero, so every serial is 32 hex digits. 126 bits are random.
  static func randomSerial() -> Certificate.SerialNumber {
    var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
    bytes[0] = bytes[0] & 0x3F | 0x40
    return Certificate.SerialNumber(bytes: bytes)
  }

  /// A name for the station certificate: an IPv4 or IPv6 literal becomes an IP address entry,
  /// anything else a DNS name.
  static func subjectAlternativeName(_ name: String) throws -> GeneralName {
    if let address = ipAddressBytes(name) {
      return .ipAddress(.init(contentBytes: address[...]))
    }
    let isHostname =
      !name.isEmpty && name.utf8.count <= 253
      && name.utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
          UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
          UInt8(ascii: "*"):
          true
        default: false
        }
      }
    guard isHostname else {
      throw CAError(
        "station name \"\(name)\" is neither an IP address nor a DNS name (letters, digits, "
          + "'-' and '.'; write international names in their xn-- form)")
    }
    return .dnsName(name)
  }

  private static func leaf(
    commonName: String, key: P256.Signing.PublicKey, usage: ExtendedKeyUsage.Usage,
    alternativeNames: SubjectAlternativeNames?, issuer: Certificate,
    issuerKey: P256.Signing.PrivateKey, now: Date
  ) throws -> Certificate {
    let publicKey = Certificate.PublicKey(key)
    let issuerKeyIdentifier = try issuer.extensions.subjectKeyIdentifier?.keyIdentifier
    return try Certificate(
      version: .v3,
      serialNumber: randomSerial(),
      publicKey: publicKey,
      notValidBefore: validFrom(now),
      notValidAfter: now + leafLifetime,
      issuer: issuer.subject,
      subject: try DistinguishedName { CommonName(commonName) },
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true))
        try ExtendedKeyUsage([usage])
        SubjectKeyIdentifier(hash: publicKey)
        AuthorityKeyIdentifier(keyIdentifier: issuerKeyIdentifier)
        if let alternativeNames { alternativeNames }
      },
      issuerPrivateKey: Certificate.PrivateKey(issuerKey)
    )
  }

  private static func ipAddressBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      return withUnsafeBytes(of: &v4) { Array($0) }
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { Array($0) }
    }
    return nil
  }
}
