import CLinuxGPIO
