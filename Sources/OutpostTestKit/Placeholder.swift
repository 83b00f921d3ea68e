enum OutpostTestKitPlaceholder {}
