import OutpostTestKit
import Testing
