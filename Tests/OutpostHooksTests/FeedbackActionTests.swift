import Testing

@testable import OutpostHooks
