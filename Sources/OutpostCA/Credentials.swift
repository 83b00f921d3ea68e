/// A device's credentials as the CA issued them: what goes into its enrollment bundle.
public struct IssuedCertificate: Sendable, Hashable {
  /// The device certificate, PEM (`CERTIFICATE`).
  public var certificatePEM: String
  /// The device's private key, PEM (PKCS#8 `PRIVATE KEY`). Secret: whoever holds it is the device.
  public var privateKeyPEM: String
  /// The certificate's serial number, lowercase hex, as ``PeerIdentity/serial`` reports it.
  public var serial: String

  public init(certificatePEM: String, privateKeyPEM: String, serial: String) {
    self.certificatePEM = certificatePEM
    self.privateKeyPEM = privateKeyPEM
    self.serial = serial
  }
}

/// Who is at the other end of a verified TLS connection: the certificate's common name (the
/// device name) and its serial number (what revocation is keyed on).
public struct PeerIdentity: Sendable, Hashable {
  /// The subject's common name.
  public var commonName: String
  /// The serial number, lowercase hex without separators.
  public var serial: String

  public init(commonName: String, serial: String) {
    self.commonName = commonName
    self.serial = serial
  }
}
