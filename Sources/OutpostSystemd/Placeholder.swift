enum OutpostSystemdPlaceholder {}
