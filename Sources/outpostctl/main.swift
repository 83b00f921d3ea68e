print("outpostctl")
