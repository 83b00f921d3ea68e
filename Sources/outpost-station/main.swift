import OutpostStation

print("outpost-station")
