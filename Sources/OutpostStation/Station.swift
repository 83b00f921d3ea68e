enum StationPlaceholder {}
